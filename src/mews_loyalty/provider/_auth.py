"""Bearer token check (RFC 6750) against the tokens a provider currently accepts.

Several tokens are accepted at once so that a token can be rotated: configure the old and the new
one, hand the new one to Mews, then drop the old one. Only SHA-256 digests of the tokens are kept,
the presented token is compared against every one of them in constant time, and nothing here ever
prints, logs or echoes a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from mews_loyalty.provider._problems import unauthorized

# RFC 6750, section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_CHALLENGE = 'Bearer realm="mews-loyalty"'


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("latin-1")).digest()


class BearerTokens:
    """The set of accepted bearer tokens: ``BearerTokens(["old", "new"]).check(header)``."""

    __slots__ = ("_digests",)

    def __init__(self, tokens: str | Iterable[str]) -> None:
        listed = [tokens] if isinstance(tokens, str) else list(tokens)
        if not listed:
            raise ValueError("at least one bearer token is required")
        for position, token in enumerate(listed, start=1):
            if not isinstance(token, str) or not _B64TOKEN.fullmatch(token):
                raise ValueError(
                    f"bearer token #{position} is empty or has characters a bearer token cannot carry "
                    "(allowed: letters, digits and - . _ ~ + / with trailing =)"
                )
        self._digests = tuple(_digest(token) for token in listed)

    def __len__(self) -> int:
        return len(self._digests)

    def __repr__(self) -> str:
        return f"<BearerTokens: {len(self._digests)} accepted>"

    def check(self, authorization: str | None) -> None:
        """Return when the ``Authorization`` header carries an accepted token; raise a 401 problem otherwise."""
        if authorization is None or not authorization.strip():
            raise unauthorized("detail.missing-credentials", _CHALLENGE)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip(" ")
        if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
            raise unauthorized("detail.malformed-credentials", f'{_CHALLENGE}, error="invalid_request"')
        presented = _digest(token)
        accepted = False
        for digest in self._digests:  # no early exit: every accepted token is compared every time
            accepted |= hmac.compare_digest(digest, presented)
        if not accepted:
            raise unauthorized("detail.invalid-credentials", f'{_CHALLENGE}, error="invalid_token"')
