"""The Connector API's public types: what results are made of and what write rows may be.

    from mews_loyalty.connector import LoyaltyMembership, LoyaltyMembershipAddParametersDict, ActivityState

* the attrs models and enums of results (``LoyaltyMembership``, ``LoyaltyMembershipState``, ...); a field
  the answer left out reads as ``None``;
* the TypedDicts and Literals that type write rows and filters (``LoyaltyMembershipAddParametersDict``,
  ``ActivityStateLiteral``, ...), and the typed resource classes (``LoyaltyMembershipsResource``).

Everything here is generated from ``specs/connector/openapi.yaml``; the clients are in ``mews_loyalty``.
"""

from mews_loyalty._generated.connector import *  # noqa: F403  (the generated package's __all__)
from mews_loyalty._generated.connector import __all__ as __all__
