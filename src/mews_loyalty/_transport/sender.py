"""Sending one operation's request: pacing, the retry loop, logging, and turning failures into errors.

``Sender`` (httpx.Client) and ``AsyncSender`` (httpx.AsyncClient) differ only in blocking or awaiting;
what to do after each attempt is decided once, in the shared ``_SenderBase`` and the ``_retry`` policy.
Sleeping and the clock are injected, so tests drive retries and pacing without waiting.

Every call is bounded, whatever the server does (``bounded.send``/``asend``):

* ``timeout`` is a deadline on each whole attempt: connect, send and every read, headers and body.
  A server dripping one byte a second cannot hold an attempt past it (``ApiTimeoutError``).
* ``max_response_bytes`` caps each answer's body once decompressed (``ResponseTooLargeError``), so a
  gzip bomb or an endless chunked answer never grows the process.
* ``max_retry_wait`` caps the seconds one call sleeps between its attempts (one page of an
  ``iter_all``); pacing waits do not count. A ``Retry-After`` longer than what is left of it raises
  the ``RateLimitError`` at once, its ``retry_after`` set, to schedule around.

Log lines go to the ``mews_loyalty`` logger: operation, method, path, status, Request-Id, timings.
Never a body, a header value or a full URL, so no token can reach a log.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import random
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import httpx

from mews_loyalty._errors import (
    REQUEST_ID_HEADER,
    ApiTimeoutError,
    ClientClosedError,
    ConfigurationError,
    MewsConnectionError,
    ResponseTooLargeError,
    error_from_response,
)
from mews_loyalty._spec.catalog import Operation
from mews_loyalty._transport import bounded
from mews_loyalty._transport.pacing import Pacer, RateLimit, SharedRateLimit, shared_pacer
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._transport.retry import NOT_SENT_ERRORS, retry_after_seconds, wait_before_retry
from mews_loyalty._version import __version__

logger = logging.getLogger("mews_loyalty")
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRY_WAIT_SECONDS = 60.0
DEFAULT_MAX_RESPONSE_BYTES = bounded.DEFAULT_MAX_BYTES
DEFAULT_BOUNDS = bounded.Bounds(DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_SECONDS)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]
HeaderSource = Callable[[], Mapping[str, str]]
Timeout = float | httpx.Timeout  # seconds, or httpx's per-phase timeouts


def _no_headers() -> Mapping[str, str]:
    return {}


async def asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def user_agent() -> str:
    return f"mews-loyalty-python/{__version__}"


@dataclass(frozen=True)
class BorrowedClient:
    """Where requests go and what they carry when the httpx client is the caller's (``http_client=``)."""

    base_url: str
    headers: Mapping[str, str]


def borrow(
    http_client: object, expected: type[Any], *, transport: object, base_url: str, headers: Mapping[str, str]
) -> BorrowedClient | None:
    """How to use a caller's configured httpx client (proxies, certificates, event hooks), if any."""
    if http_client is None:
        return None
    if transport is not None:
        raise ConfigurationError("pass either http_client= or transport=, not both")
    if not isinstance(http_client, expected):
        raise ConfigurationError(
            f"http_client must be an httpx.{expected.__name__}, got {type(http_client).__name__}"
        )
    return BorrowedClient(base_url, headers)


HttpClientT = TypeVar("HttpClientT", httpx.Client, httpx.AsyncClient)
# A client's httpx.Client keywords (base URL, timeout, transport, headers) for a transport and timeout.
HttpArgs = Callable[[Any, float | httpx.Timeout], dict[str, Any]]


def open_http(
    kind: type[HttpClientT], options: ClientOptions[Any, HttpClientT, Any], http_args: HttpArgs
) -> tuple[HttpClientT, BorrowedClient | None]:
    """The httpx client a client sends through: the caller's ``options.http_client`` (borrowed, never
    closed) or a new one built from ``http_args(options.transport, options.timeout)``."""
    ours = http_args(None, options.timeout)
    borrowed = borrow(
        options.http_client,
        kind,
        transport=options.transport,
        base_url=ours["base_url"],
        headers=ours["headers"],
    )
    if options.http_client is not None:
        return options.http_client, borrowed
    transport = options.transport
    if transport is None and kind is httpx.Client and not proxied_by_environment():
        transport = bounded.BoundedTransport()  # its sockets never wait past an attempt's deadline
    return kind(**http_args(transport, options.timeout)), borrowed


def proxied_by_environment() -> bool:
    """Whether ``HTTP(S)_PROXY``/``ALL_PROXY`` name a proxy: httpx then builds its own proxied
    transports (so the SDK keeps them, and a blocking attempt's deadline holds within about twice)."""
    return any(scheme in urllib.request.getproxies() for scheme in ("http", "https", "all"))


def attempt_deadline(timeout: float | httpx.Timeout) -> float:
    """The seconds one whole attempt may take: ``timeout`` itself, or the longest part of an
    ``httpx.Timeout`` (its parts then also bound each wait, as httpx does)."""
    if isinstance(timeout, httpx.Timeout):
        parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t is not None]
        return max(parts, default=DEFAULT_TIMEOUT_SECONDS)
    if not timeout > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def request_headers(sender: _SenderBase) -> Mapping[str, str]:
    """The headers of one request: the borrowed client's fixed ones, then the per-request secrets."""
    secret = sender._secret_headers()
    return {**sender._headers, **secret} if sender._headers else secret


@dataclass(frozen=True)
class SendSettings:
    """What both senders share: retry budget, pacing, time, jitter, and the secrets to keep out of messages."""

    max_retries: int
    pacer: Pacer | None
    clock: Clock
    rng: random.Random
    redactor: Redactor
    secret_headers: HeaderSource = _no_headers  # e.g. the bearer token, built per request
    bounds: bounded.Bounds = DEFAULT_BOUNDS
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {self.max_retries}")
        if self.max_retry_wait < 0:
            raise ConfigurationError(f"max_retry_wait must be 0 or more seconds, got {self.max_retry_wait}")


# What tells a blocking client's options from an async one's: its transport, httpx client and sleep.
TransportT = TypeVar("TransportT")
HttpT = TypeVar("HttpT")
SleepT = TypeVar("SleepT")


@dataclass(frozen=True, kw_only=True)
class ClientOptions(Generic[TransportT, HttpT, SleepT]):
    """The keywords every client's constructor ends with: how it sends, not what to.

    Built by keyword only, so no field can take another's value. ``sleep`` is ``None`` for the
    client's own (``time.sleep``, or ``asyncio.sleep`` for an async client).
    """

    max_retries: int
    rate_limit: RateLimit | SharedRateLimit | None
    timeout: float | httpx.Timeout
    transport: TransportT | None
    http_client: HttpT | None
    sleep: SleepT | None
    clock: Clock
    rng: random.Random | None
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def send_settings(
        self, token: str, redactor: Redactor, secret_headers: HeaderSource = _no_headers
    ) -> SendSettings:
        """The senders' settings, paced per ``token`` (the one whose limit the server counts)."""
        if self.max_response_bytes < 1:
            raise ConfigurationError(f"max_response_bytes must be 1 or more, got {self.max_response_bytes}")
        pacer = None
        if self.rate_limit is not None:
            pacer = shared_pacer(token, self.rate_limit, clock=self.clock)
        return SendSettings(
            max_retries=self.max_retries,
            pacer=pacer,
            clock=self.clock,
            rng=self.rng or random.Random(),  # noqa: S311 - backoff jitter, not cryptography
            redactor=redactor,
            secret_headers=secret_headers,
            bounds=bounded.Bounds(self.max_response_bytes, attempt_deadline(self.timeout)),
            max_retry_wait=self.max_retry_wait,
        )


@dataclass(frozen=True)
class CallOptions:
    """What one call may set for itself (``timeout=``, ``max_retries=`` on every method); ``None`` keeps
    the client's setting. A client's ``with_options()`` copy holds its own defaults the same way."""

    timeout: Timeout | None = None
    max_retries: int | None = None

    def __post_init__(self) -> None:
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")

    def over(self, defaults: CallOptions) -> CallOptions:
        """These options, falling back to ``defaults`` where not set."""
        return CallOptions(
            timeout=defaults.timeout if self.timeout is None else self.timeout,
            max_retries=defaults.max_retries if self.max_retries is None else self.max_retries,
        )


DEFAULT_CALL = CallOptions()


# What one attempt ended with: the server's response, or the transport failure that stopped it.
Outcome = httpx.Response | httpx.TransportError
# What a bounded attempt raises instead of answering (``_SenderBase._failure`` says what each means).
AttemptFailure = (httpx.TransportError, bounded.BoundExceeded, bounded.UndecodableAnswer)


class _SenderBase:
    """Everything a sender decides, once for both: the subclasses only block or await its I/O.

    One ``send`` is: wait for a pacing slot (``_pacing_wait``), send ``_request`` and log its
    ``_outcome``, then ``_wait_before_retry`` says how long to sleep before the next attempt, or
    ``None`` to stop, when ``_result`` returns the response or raises the error it stands for.
    """

    _http: httpx.Client | httpx.AsyncClient

    def __init__(self, settings: SendSettings, *, borrowed: BorrowedClient | None = None) -> None:
        # A caller's own httpx client (``http_client=``) knows neither our base URL nor our headers,
        # so each request carries them; the caller closes that client, not us.
        self._url_prefix = borrowed.base_url if borrowed else ""
        self._headers = dict(borrowed.headers) if borrowed else {}
        self._owns_http = borrowed is None
        self._max_retries = settings.max_retries
        self._pacer = settings.pacer
        self._clock = settings.clock
        self._rng = settings.rng
        self._redactor = settings.redactor
        self._secret_headers = settings.secret_headers
        self._defaults = DEFAULT_CALL  # a with_options() copy's own timeout and max_retries
        self._bounds = settings.bounds
        self._max_retry_wait = settings.max_retry_wait

    def configured(self, options: CallOptions) -> Self:
        """A copy whose calls default to ``options`` (over this sender's), sharing this sender's httpx
        client (its connection pool) and pacer (its rate-limit window); closing the copy closes nothing."""
        twin = copy.copy(self)
        twin._defaults = options.over(self._defaults)
        twin._owns_http = False
        return twin

    def _check_open(self, op: Operation) -> None:
        if self._http.is_closed:
            raise ClientClosedError(
                f"{op.operation_id}: this client is closed; make calls inside its `with` block, "
                "or create a new client (a closed one cannot be reopened)"
            )

    def _failure(self, op: Operation, error: Exception) -> Outcome:
        """The outcome a failed attempt stands for: a transport error (retried or raised as the
        connection errors are), or, for an answer that cannot be taken, the error raised at once."""
        if isinstance(error, bounded.DeadlinePassed):
            # A missed deadline is a timeout like httpx's: retried on reads, ApiTimeoutError at the end.
            return httpx.ReadTimeout(str(error))
        if isinstance(error, bounded.AnswerTooLarge):
            raise ResponseTooLargeError(
                f"{error}; raise max_response_bytes= if the answer is expected to be this large",
                operation_id=op.operation_id,
                limit=self._bounds.max_bytes,
            ) from None
        if isinstance(error, bounded.UndecodableAnswer):
            raise MewsConnectionError(str(error), operation_id=op.operation_id, may_have_reached_server=True)
        assert isinstance(error, httpx.TransportError)
        return error

    def _pacing_wait(self) -> float:
        """Seconds to sleep before a slot in the rate-limit window is free; 0 when one was taken."""
        wait = self._pacer.reserve() if self._pacer is not None else 0.0
        if wait > 0:
            logger.debug("pacing: waiting %.2f s for a slot in the rate-limit window", wait)
        return wait

    def _request(self, op: Operation, body: bytes, retry_number: int, call: CallOptions) -> httpx.Request:
        """The request of one attempt, logged; built anew each time (the secret headers are per request)."""
        logger.debug("%s: %s %s (attempt %d)", op.operation_id, op.method, op.path, retry_number + 1)
        return self._http.build_request(
            op.method,
            self._url_prefix + op.path,
            content=body,
            headers=request_headers(self),
            timeout=httpx.USE_CLIENT_DEFAULT if call.timeout is None else call.timeout,
        )

    def _call(self, call: CallOptions | None) -> CallOptions:
        """One call's options over the sender's (``with_options``) over the client's retry budget."""
        return (call or DEFAULT_CALL).over(self._defaults).over(CallOptions(max_retries=self._max_retries))

    def _bounds_for(self, call: CallOptions) -> bounded.Bounds:
        """The answer cap and the attempt's deadline: a per-call ``timeout=`` replaces the client's."""
        if call.timeout is None:
            return self._bounds
        return dataclasses.replace(self._bounds, deadline=attempt_deadline(call.timeout))

    def _wait_before_retry(
        self, op: Operation, retry_number: int, outcome: Outcome, max_retries: int, waited: float = 0.0
    ) -> float | None:
        """Seconds to sleep before the next attempt, or ``None`` to stop: the retry policy's wait,
        unless it would take the call's retry waits (``waited`` so far) past ``max_retry_wait``."""
        wait = self._policy_wait(op, retry_number, outcome, max_retries)
        if wait is not None and waited + wait > self._max_retry_wait:
            logger.info(
                "%s: a retry would wait %.2f s, past the call's max_retry_wait of %g s; giving up",
                op.operation_id,
                wait,
                self._max_retry_wait,
            )
            return None
        return wait

    def _policy_wait(
        self, op: Operation, retry_number: int, outcome: Outcome, max_retries: int
    ) -> float | None:
        response = outcome if isinstance(outcome, httpx.Response) else None
        error = None if isinstance(outcome, httpx.Response) else outcome
        wait = wait_before_retry(
            status=None if response is None else response.status_code,
            error=error,
            retry_after=None if response is None else response.headers.get("Retry-After"),
            idempotent=op.idempotent,
            retry_number=retry_number,
            max_retries=max_retries,
            now=self._clock(),
            jitter=self._rng.random(),
        )
        if wait is not None:
            what = f"HTTP {response.status_code}" if response is not None else type(error).__name__
            logger.info(
                "%s: %s; retrying in %.2f s (retry %d of %d)",
                op.operation_id,
                what,
                wait,
                retry_number + 1,
                max_retries,
            )
        return wait

    def _result(self, op: Operation, outcome: Outcome) -> httpx.Response:
        """The successful response, or the error the final outcome stands for."""
        if not isinstance(outcome, httpx.Response):
            text = self._redactor.text(str(outcome)) or "no details"
            kind = ApiTimeoutError if isinstance(outcome, httpx.TimeoutException) else MewsConnectionError
            # `from None`: httpx's exception carries the request, and the request carries the tokens.
            raise kind(
                f"{type(outcome).__name__}: {text}",
                operation_id=op.operation_id,
                may_have_reached_server=not isinstance(outcome, NOT_SENT_ERRORS),
            ) from None
        if outcome.is_success:
            return outcome
        retry_after = retry_after_seconds(outcome.headers.get("Retry-After"), self._clock())
        raise error_from_response(
            outcome, operation_id=op.operation_id, redactor=self._redactor, retry_after=retry_after
        )

    def _outcome(self, op: Operation, started: float, outcome: Outcome) -> Outcome:
        """``outcome``, logged with the time since ``started``."""
        elapsed = self._clock() - started
        if isinstance(outcome, httpx.Response):
            logger.debug(
                "%s: HTTP %d in %.3f s (Request-Id %s)",
                op.operation_id,
                outcome.status_code,
                elapsed,
                outcome.headers.get(REQUEST_ID_HEADER, "none"),
            )
        else:
            logger.debug("%s: %s after %.3f s", op.operation_id, type(outcome).__name__, elapsed)
        return outcome


class Sender(_SenderBase):
    """Sends requests with a blocking httpx.Client: the loop of ``_SenderBase``, blocking."""

    _http: httpx.Client

    def __init__(
        self,
        http: httpx.Client,
        settings: SendSettings,
        *,
        sleep: Sleep,
        borrowed: BorrowedClient | None = None,
    ) -> None:
        super().__init__(settings, borrowed=borrowed)
        self._http = http
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def send(self, op: Operation, body: bytes, call: CallOptions | None = None) -> httpx.Response:
        options, retry_number, waited = self._call(call), 0, 0.0
        max_retries, bounds = int(options.max_retries or 0), self._bounds_for(options)
        while True:
            while (pause := self._pacing_wait()) > 0:
                self._sleep(pause)
            self._check_open(op)
            request, started = self._request(op, body, retry_number, options), self._clock()
            try:
                outcome: Outcome = bounded.send(self._http, request, bounds)
            except AttemptFailure as error:
                outcome = self._failure(op, error)
            outcome = self._outcome(op, started, outcome)
            wait = self._wait_before_retry(op, retry_number, outcome, max_retries, waited)
            if wait is None:
                return self._result(op, outcome)
            self._sleep(wait)
            retry_number, waited = retry_number + 1, waited + wait


class AsyncSender(_SenderBase):
    """Sends requests with an httpx.AsyncClient: the loop of ``Sender``, awaited."""

    _http: httpx.AsyncClient

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: SendSettings,
        *,
        sleep: AsyncSleep,
        borrowed: BorrowedClient | None = None,
    ) -> None:
        super().__init__(settings, borrowed=borrowed)
        self._http = http
        self._sleep = sleep

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send(self, op: Operation, body: bytes, call: CallOptions | None = None) -> httpx.Response:
        options, retry_number, waited = self._call(call), 0, 0.0
        max_retries, bounds = int(options.max_retries or 0), self._bounds_for(options)
        while True:
            while (pause := self._pacing_wait()) > 0:
                await self._sleep(pause)
            self._check_open(op)
            request, started = self._request(op, body, retry_number, options), self._clock()
            try:
                outcome: Outcome = await bounded.asend(self._http, request, bounds)
            except AttemptFailure as error:
                outcome = self._failure(op, error)
            outcome = self._outcome(op, started, outcome)
            wait = self._wait_before_retry(op, retry_number, outcome, max_retries, waited)
            if wait is None:
                return self._result(op, outcome)
            await self._sleep(wait)
            retry_number, waited = retry_number + 1, waited + wait
