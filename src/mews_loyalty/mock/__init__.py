"""Servers that speak the two APIs: the stateful Connector mock and the reference loyalty provider.

Needs the ``mock`` extra (``pip install 'mews-loyalty[mock]'``).
"""
