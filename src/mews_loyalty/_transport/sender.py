"""Sending one operation's request: pacing, the retry loop, logging, and turning failures into errors.

``Sender`` (httpx.Client) and ``AsyncSender`` (httpx.AsyncClient) differ only in blocking or awaiting;
what to do after each attempt is decided once, in the shared ``_SenderBase`` and the ``_retry`` policy.
Sleeping and the clock are injected, so tests drive retries and pacing without waiting.

Log lines go to the ``mews_loyalty`` logger: operation, method, path, status, Request-Id, timings.
Never a body, a header value or a full URL, so no token can reach a log.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
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


def open_http(
    kind: type[HttpClientT],
    http_client: HttpClientT | None,
    *,
    transport: object,
    timeout: float | httpx.Timeout,
    http_args: Callable[[Any, float | httpx.Timeout], dict[str, Any]],
) -> tuple[HttpClientT, BorrowedClient | None]:
    """The httpx client a client sends through: the caller's (borrowed, never closed) or a new one
    built from ``http_args(transport, timeout)``."""
    ours = http_args(None, timeout)
    borrowed = borrow(
        http_client, kind, transport=transport, base_url=ours["base_url"], headers=ours["headers"]
    )
    if http_client is not None:
        return http_client, borrowed
    return kind(**http_args(transport, timeout)), borrowed


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


@dataclass(frozen=True)
class ClientOptions(Generic[TransportT, HttpT, SleepT]):
    """The keywords every client's constructor ends with, in this order: how it sends, not what to.

    Each client spells them out in its own signature (what users and type checkers see) and hands
    them on as one of these, positionally; ``tests/runtime/test_client_options.py`` holds the four
    signatures' last keywords equal to these fields, name by name.
    """

    max_retries: int
    rate_limit: RateLimit | SharedRateLimit | None
    timeout: float | httpx.Timeout
    transport: TransportT | None
    http_client: HttpT | None
    sleep: SleepT
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


class _SenderBase:
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

    def _wait_before_retry(
        self, op: Operation, retry_number: int, response: httpx.Response | None, error: Exception | None
    ) -> float | None:
        wait = wait_before_retry(
            status=None if response is None else response.status_code,
            error=error,
            retry_after=None if response is None else response.headers.get("Retry-After"),
            idempotent=op.idempotent,
            retry_number=retry_number,
            max_retries=self._max_retries,
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
                self._max_retries,
            )
        return wait

    def _result(
        self, op: Operation, response: httpx.Response | None, error: Exception | None
    ) -> httpx.Response:
        """The successful response, or the error the final outcome stands for."""
        if response is None:
            text = self._redactor.text(str(error)) or "no details"
            # `from None`: httpx's exception carries the request, and the request carries the tokens.
            raise MewsConnectionError(
                f"{type(error).__name__}: {text}",
                operation_id=op.operation_id,
                may_have_reached_server=not isinstance(error, NOT_SENT_ERRORS),
            ) from None
        if response.is_success:
            return response
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        raise error_from_response(
            response, operation_id=op.operation_id, redactor=self._redactor, retry_after=retry_after
        )

    def _log_sending(self, op: Operation, retry_number: int) -> float:
        logger.debug("%s: %s %s (attempt %d)", op.operation_id, op.method, op.path, retry_number + 1)
        return self._clock()

    def _log_outcome(
        self, op: Operation, started: float, response: httpx.Response | None, error: Exception | None
    ) -> None:
        elapsed = self._clock() - started
        if response is not None:
            logger.debug(
                "%s: HTTP %d in %.3f s (Request-Id %s)",
                op.operation_id,
                response.status_code,
                elapsed,
                response.headers.get(REQUEST_ID_HEADER, "none"),
            )
        else:
            logger.debug("%s: %s after %.3f s", op.operation_id, type(error).__name__, elapsed)


class Sender(_SenderBase):
    """Sends requests with a blocking httpx.Client."""

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

    def send(self, op: Operation, body: bytes) -> httpx.Response:
        retry_number = 0
        while True:
            self._pace()
            response, error = self._attempt(op, body, retry_number)
            wait = self._wait_before_retry(op, retry_number, response, error)
            if wait is None:
                return self._result(op, response, error)
            self._sleep(wait)
            retry_number += 1

    def _pace(self) -> None:
        while self._pacer is not None and (wait := self._pacer.reserve()) > 0:
            logger.debug("pacing: waiting %.2f s for a slot in the rate-limit window", wait)
            self._sleep(wait)

    def _attempt(
        self, op: Operation, body: bytes, retry_number: int
    ) -> tuple[httpx.Response | None, Exception | None]:
        started = self._log_sending(op, retry_number)
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = self._http.request(
                op.method, self._url_prefix + op.path, content=body, headers=request_headers(self)
            )
        except httpx.TransportError as failure:
            error = failure
        self._log_outcome(op, started, response, error)
        return response, error


class AsyncSender(_SenderBase):
    """Sends requests with an httpx.AsyncClient."""

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

    async def send(self, op: Operation, body: bytes) -> httpx.Response:
        retry_number = 0
        while True:
            await self._pace()
            response, error = await self._attempt(op, body, retry_number)
            wait = self._wait_before_retry(op, retry_number, response, error)
            if wait is None:
                return self._result(op, response, error)
            await self._sleep(wait)
            retry_number += 1

    async def _pace(self) -> None:
        while self._pacer is not None and (wait := self._pacer.reserve()) > 0:
            logger.debug("pacing: waiting %.2f s for a slot in the rate-limit window", wait)
            await self._sleep(wait)

    async def _attempt(
        self, op: Operation, body: bytes, retry_number: int
    ) -> tuple[httpx.Response | None, Exception | None]:
        started = self._log_sending(op, retry_number)
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = await self._http.request(
                op.method, self._url_prefix + op.path, content=body, headers=request_headers(self)
            )
        except httpx.TransportError as failure:
            error = failure
        self._log_outcome(op, started, response, error)
        return response, error


HttpArgs = Callable[[Any, float | httpx.Timeout], dict[str, Any]]


class BlockingClient:
    """What every blocking client shares about its Sender: opening it, ``close()`` and ``with``."""

    _sender: Sender
    _send_settings: SendSettings

    def _open_sender(
        self, options: ClientOptions[httpx.BaseTransport, httpx.Client, Sleep], http_args: HttpArgs
    ) -> Sender:
        http, borrowed = open_http(
            httpx.Client,
            options.http_client,
            transport=options.transport,
            timeout=options.timeout,
            http_args=http_args,
        )
        self._sender = Sender(http, self._send_settings, sleep=options.sleep, borrowed=borrowed)
        return self._sender

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """The async twin of ``BlockingClient``: ``aclose()`` and ``async with``."""

    _sender: AsyncSender
    _send_settings: SendSettings

    def _open_sender(
        self,
        options: ClientOptions[httpx.AsyncBaseTransport, httpx.AsyncClient, AsyncSleep],
        http_args: HttpArgs,
    ) -> AsyncSender:
        http, borrowed = open_http(
            httpx.AsyncClient,
            options.http_client,
            transport=options.transport,
            timeout=options.timeout,
            http_args=http_args,
        )
        self._sender = AsyncSender(http, self._send_settings, sleep=options.sleep, borrowed=borrowed)
        return self._sender

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
