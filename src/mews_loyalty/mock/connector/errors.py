"""The one exception every layer of the Connector mock raises to answer with an error.

    raise ConnectorError(BAD_REQUEST, "Invalid Limitation: Count must be at most 1000")
    raise ConnectorError(FORBIDDEN, "Loyalty program ... still has 3 active memberships.")

The request pipeline turns it into a ``ConnectorApiExceptionResult`` body with the request's id, so
every error of every operation has one shape.

Which status, decided once for the whole mock:

- 400 when the spec itself rejects the request: malformed JSON, a body that is not an object, or
  anything the request schema forbids (types, formats, bounds, required and unknown properties,
  ``dependentRequired``). A client that validates against the spec never sees one.
- 400 (``UNKNOWN_ID``) for an identifier of a record that does not exist (or was deleted, or lies
  outside the token's chains), as "Invalid {Parameter}": Mews' reference gives 400 to "an invalid
  identifier of a resource" (specs/README.md, deliberate choices).
- 401 for missing, empty or unknown ``ClientToken`` / ``AccessToken``.
- 403 for a request the spec accepts but a business rule refuses: a program that still has active
  memberships, an interval longer than ``x-max-interval-in-months`` or ending before it starts, a
  missing or unreachable ``ChainId`` with a portfolio token. Mews words these for end users.
- 408 / 429 / 500 for timeouts, the rate limit and server faults (real or injected).
"""

from __future__ import annotations

from typing import Any

BAD_REQUEST = 400
UNAUTHORIZED = 401
FORBIDDEN = 403
UNKNOWN_ID = BAD_REQUEST  # an identifier of no record the token can see
NOT_FOUND = 404
METHOD_NOT_ALLOWED = 405
REQUEST_TIMEOUT = 408
TOO_MANY_REQUESTS = 429
INTERNAL_SERVER_ERROR = 500


class ConnectorError(Exception):
    """An error answer: status, a message for people, optional diagnostic details and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}
