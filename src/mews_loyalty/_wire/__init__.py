"""What goes on the wire: arguments to validated JSON bytes (``encode``), answers to typed results
(``decode``), and the rules the generated models cannot hold (string ``formats``, property ``combinations``)."""
