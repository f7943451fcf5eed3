"""When a request is tried again, and how long to wait first: the SDK's whole retry policy.

An operation the spec marks ``x-idempotent: true`` (the paged queries, the Reverse list, the link PUT)
is retried on 408, 429, 5xx and transport errors. Any other (add, update, delete, and whatever a
future spec adds without the mark) is retried only when the server provably did not act on it: a 429
(turned away before any work) or a connection that was never opened. So no retry can create a
membership twice.

    wait_before_retry(status=429, error=None, retry_after="3", idempotent=False, retry_number=0,
                      max_retries=5, now=..., jitter=0.5)   # -> 3.0
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

DEFAULT_MAX_RETRIES = 5
BACKOFF_FIRST_SECONDS = 0.5  # doubled on every retry ...
BACKOFF_CAP_SECONDS = 30.0  # ... up to one full rate-limit window
LONGEST_RETRY_AFTER_SECONDS = (
    120.0  # a server asking for a longer pause gets the error back, to schedule around
)
# Failures before a connection existed: not one byte of the request can have reached the server.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures of the client itself (bad URL scheme, a request h11 refuses to write): they would fail again.
CLIENT_FAULT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def should_retry(*, status: int | None, error: Exception | None, idempotent: bool) -> bool:
    """Whether trying the same request again is both useful and safe."""
    if isinstance(error, CLIENT_FAULT_ERRORS):
        return False  # the same request would fail the same way
    if status == 429:
        return True  # the server turned it away before doing any work
    if isinstance(error, NOT_SENT_ERRORS):
        return True  # no connection was made, so the server never saw the request
    if not idempotent:
        return False  # the server may have applied this write: a second try could duplicate it
    if error is not None:
        return isinstance(error, httpx.TransportError)  # reading again changes nothing
    return status == 408 or (status is not None and status >= 500)  # transient trouble on a harmless read


def backoff_seconds(retry_number: int, jitter: float) -> float:
    """Capped exponential backoff with "equal jitter": between half and all of the step, never less.

    ``jitter`` is a number in [0, 1) (``random.random()``), spreading clients that failed together.
    """
    step = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2.0**retry_number)
    return step / 2 + step / 2 * jitter


def retry_after_seconds(value: str | None, now: float, *, strict: bool = False) -> float | None:
    """The wait a ``Retry-After`` header asks for: delta-seconds or an HTTP-date (RFC 9110), else None.

    ``now`` is the current time in seconds since the epoch, to turn a date into a wait. The SDK reads
    tolerantly (``"1.5"`` waits 1.5 s); ``strict`` takes only RFC 9110's forms, as the contract suite
    does when it judges what a server sent.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    if not strict:
        try:
            return max(0.0, float(text))
        except ValueError:
            pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def wait_before_retry(
    *,
    status: int | None,
    error: Exception | None,
    retry_after: str | None,
    idempotent: bool,
    retry_number: int,
    max_retries: int,
    now: float,
    jitter: float,
) -> float | None:
    """Seconds to wait before the next attempt, or None when the outcome stands."""
    if retry_number >= max_retries or not should_retry(status=status, error=error, idempotent=idempotent):
        return None
    asked = retry_after_seconds(retry_after, now)  # sent with 429, and by some servers with 503
    if asked is not None:
        return asked if asked <= LONGEST_RETRY_AFTER_SECONDS else None
    return backoff_seconds(retry_number, jitter)
