"""The Reverse API's public types: what results are made of and what write rows may be.

    from mews_loyalty.reverse import Membership, MembershipStatus, Member

* the attrs models and enums of results (``Membership``, ``MembershipStatus``, ``Member``, ...); a field
  the answer left out reads as ``None``;
* the TypedDicts and Literals that type request arguments, and the typed resource classes.

Everything here is generated from ``specs/reverse/openapi.yaml``; the clients are in ``mews_loyalty``.
"""

from mews_loyalty._generated.reverse import *  # noqa: F403  (the generated package's __all__)
from mews_loyalty._generated.reverse import __all__ as __all__
