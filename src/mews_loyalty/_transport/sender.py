"""Sending one operation's request: pacing, the retry loop, logging, and turning failures into errors.

``Sender`` (httpx.Client) and ``AsyncSender`` (httpx.AsyncClient) differ only in blocking or awaiting;
what to do after each attempt is decided once, in the shared ``_SenderBase`` and the ``_retry`` policy.
Sleeping and the clock are injected, so tests drive retries and pacing without waiting.

Log lines go to the ``mews_loyalty`` logger: operation, method, path, status, Request-Id, timings.
Never a body, a header value or a full URL, so no token can reach a log.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import httpx

from mews_loyalty._errors import (
    REQUEST_ID_HEADER,
    MewsConnectionError,
    error_from_response,
)
from mews_loyalty._spec.catalog import Operation
from mews_loyalty._transport.pacing import Pacer, RateLimit, SharedRateLimit, shared_pacer
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._transport.retry import NOT_SENT_ERRORS, retry_after_seconds, wait_before_retry
from mews_loyalty._version import __version__

logger = logging.getLogger("mews_loyalty")
DEFAULT_TIMEOUT_SECONDS = 60.0

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
        raise ValueError("pass either http_client= or transport=, not both")
    if not isinstance(http_client, expected):
        raise TypeError(f"http_client must be an httpx.{expected.__name__}, got {type(http_client).__name__}")
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
    return kind(**http_args(options.transport, options.timeout)), borrowed


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

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")


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

    def send_settings(
        self, token: str, redactor: Redactor, secret_headers: HeaderSource = _no_headers
    ) -> SendSettings:
        """The senders' settings, paced per ``token`` (the one whose limit the server counts)."""
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

    def configured(self, options: CallOptions) -> Self:
        """A copy whose calls default to ``options`` (over this sender's), sharing this sender's httpx
        client (its connection pool) and pacer (its rate-limit window); closing the copy closes nothing."""
        twin = copy.copy(self)
        twin._defaults = options.over(self._defaults)
        twin._owns_http = False
        return twin

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

    def _wait_before_retry(
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
            # `from None`: httpx's exception carries the request, and the request carries the tokens.
            raise MewsConnectionError(
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
        options, retry_number = self._call(call), 0
        max_retries = int(options.max_retries or 0)
        while True:
            while (pause := self._pacing_wait()) > 0:
                self._sleep(pause)
            request, started = self._request(op, body, retry_number, options), self._clock()
            try:
                outcome: Outcome = self._http.send(request)
            except httpx.TransportError as error:
                outcome = error
            outcome = self._outcome(op, started, outcome)
            wait = self._wait_before_retry(op, retry_number, outcome, max_retries)
            if wait is None:
                return self._result(op, outcome)
            self._sleep(wait)
            retry_number += 1


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
        options, retry_number = self._call(call), 0
        max_retries = int(options.max_retries or 0)
        while True:
            while (pause := self._pacing_wait()) > 0:
                await self._sleep(pause)
            request, started = self._request(op, body, retry_number, options), self._clock()
            try:
                outcome: Outcome = await self._http.send(request)
            except httpx.TransportError as error:
                outcome = error
            outcome = self._outcome(op, started, outcome)
            wait = self._wait_before_retry(op, retry_number, outcome, max_retries)
            if wait is None:
                return self._result(op, outcome)
            await self._sleep(wait)
            retry_number += 1
