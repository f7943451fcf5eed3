"""Bearer token check (RFC 6750) against the tokens a provider currently accepts.

Several tokens are accepted at once so that a token can be rotated: configure the old and the new
one, hand the new one to Mews, then drop the old one. The tokens may be given as a callable, called
again on every request, so a rotation needs no restart. Only SHA-256 digests of the tokens are kept,
the presented token is compared against every one of them in constant time, and nothing here ever
prints, logs or echoes a token: a token is named by its fingerprint, the first 8 hex digits of its
SHA-256 (``fingerprint("secret")``), which tells which token Mews used without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from typing import TypeAlias

from mews_loyalty.provider._problems import unauthorized

Tokens: TypeAlias = str | Iterable[str]
TokenSource: TypeAlias = Tokens | Callable[[], Tokens]

# RFC 6750, section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_CHALLENGE = 'Bearer realm="mews-loyalty"'


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("latin-1")).digest()


def _fingerprint(digest: bytes) -> str:
    return digest.hex()[:8]


def fingerprint(token: str) -> str:
    """The first 8 hex digits of the token's SHA-256: names a token in logs without revealing it."""
    return _fingerprint(_digest(token))


def _digests(tokens: Tokens) -> tuple[bytes, ...]:
    listed = [tokens] if isinstance(tokens, str) else list(tokens)
    if not listed:
        raise ValueError("at least one bearer token is required")
    for position, token in enumerate(listed, start=1):
        if not isinstance(token, str) or not _B64TOKEN.fullmatch(token):
            raise ValueError(
                f"bearer token #{position} is empty or has characters a bearer token cannot carry "
                "(allowed: letters, digits and - . _ ~ + / with trailing =)"
            )
    return tuple(_digest(token) for token in listed)


class BearerTokens:
    """The accepted bearer tokens: ``BearerTokens(["old", "new"]).check(header)`` -> the fingerprint used.

    ``tokens`` may be a callable returning them: it is called once here (a token it cannot give is a
    ``ValueError`` now) and again on every check, so what it returns may change while the app runs.
    """

    __slots__ = ("_digests", "_source")

    def __init__(self, tokens: TokenSource) -> None:
        self._source = tokens if callable(tokens) else None
        self._digests = _digests(tokens() if callable(tokens) else tokens)

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        source = ", re-read on each request" if self._source is not None else ""
        return f"<BearerTokens: {len(self._digests)} accepted{source}>"

    def _current(self) -> tuple[bytes, ...]:
        if self._source is not None:
            self._digests = _digests(self._source())
        return self._digests

    def check(self, authorization: str | None) -> str:
        """The fingerprint of the accepted token the ``Authorization`` header carries; a 401 problem otherwise."""
        if authorization is None or not authorization.strip():
            raise unauthorized("detail.missing-credentials", _CHALLENGE)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip(" ")
        if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
            raise unauthorized("detail.malformed-credentials", f'{_CHALLENGE}, error="invalid_request"')
        presented = _digest(token)
        accepted = False
        for digest in self._current():  # no early exit: every accepted token is compared every time
            accepted |= hmac.compare_digest(digest, presented)
        if not accepted:
            raise unauthorized("detail.invalid-credentials", f'{_CHALLENGE}, error="invalid_token"')
        return _fingerprint(presented)
