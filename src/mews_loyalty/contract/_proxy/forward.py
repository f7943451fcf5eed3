"""The forwarding half of the validating proxy: an ASGI app passing each exchange on unchanged.

    app = ForwardingProxy("https://provider.example/mews", judge=judge.judge)
    run_server(app, "127.0.0.1", 8080, server_headers=False)   # no Date/Server of its own

Each request goes to the upstream URL joined with the path and query exactly as received; its
headers and body pass as sent, and so do the answer's: status, headers, body, compression. Only what
any HTTP proxy must rewrite is rewritten: ``Host`` (the upstream's) and the hop-by-hop headers
(``Connection`` and the headers it names, ``Keep-Alive``, ``Proxy-*``, ``TE``, ``Trailer``,
``Transfer-Encoding``, ``Upgrade``), which describe one connection, not the message. Bodies stream
through: nothing waits for a whole body before passing it on.

A copy of each body is kept for the judge, up to ``max_bytes`` (past it the copy is dropped and the
passage says so); the copy of the answer is its raw bytes, decoded later by the judge with the
bounded reader, so no decompression ever happens on the forwarding path. Once the answer has been
forwarded, ``judge`` runs on the passage in a worker thread: a client gets its answer before the
judging starts.

Each exchange has a deadline (``timeout`` seconds, from the request's arrival to the answer's last
byte). An upstream that cannot be reached is answered 502, one past the deadline before its answer
began 504 (both ``text/plain``, the proxy's only own answers); an answer cut or late once it began
is cut for the client too (the connection closes). Each is a finding for the judge.
"""

from __future__ import annotations

import datetime
import http.cookiejar
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import httpx

from mews_loyalty._transport import bounded

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Headers of one connection, not of the message (RFC 9110 7.6.1), and Host, which names the server.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host"}
)
BAD_GATEWAY, GATEWAY_TIMEOUT = 502, 504


@dataclass
class Passage:
    """One exchange as it passed through the proxy: what the judge sees."""

    method: str
    path: str  # the request's path, decoded: the operation it names
    url: str  # where it was forwarded
    headers: list[tuple[str, str]]  # as the client sent them
    body: bytes | None = b""  # None: larger than the copy's cap
    status: int | None = None  # None: no answer began
    answer_headers: list[tuple[str, str]] = field(default_factory=list)
    answer: list[bytes] | None = field(default_factory=list)  # raw chunks; None: past the cap
    problem: tuple[str, str] | None = None  # (check, message): the answer did not come whole
    elapsed: datetime.timedelta = datetime.timedelta(0)  # from the request's arrival to the answer's end


class _Copy:
    """A copy of a body as it streams by, dropped once it passes ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] | None = []
        self._size = 0
        self._limit = limit

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self.chunks is not None and self._size <= self._limit:
            self.chunks.append(chunk)
        else:
            self.chunks = None


class ClientGone(Exception):
    """The client went away before its request was whole."""


def end_to_end(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` without the hop-by-hop ones (those ``Connection`` names included)."""
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [
        (name, value)
        for name, value in pairs
        if name.lower() not in HOP_BY_HOP
        and name.lower() not in named
        and not name.lower().startswith(b"proxy-")
    ]


def _text(pairs: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: each client's cookies are its own, never the proxy's."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class ForwardingProxy:
    """The ASGI app: forwards every HTTP exchange to ``upstream``, then hands it to ``judge``."""

    def __init__(
        self,
        upstream: str,
        judge: Callable[[Passage], None],
        *,
        timeout: float = bounded.DEFAULT_DEADLINE_SECONDS,
        max_bytes: int = bounded.DEFAULT_MAX_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.judge = judge
        self.timeout = timeout
        self.max_bytes = max_bytes
        # No default headers, no cookies kept, no redirects followed, no environment proxies: the
        # request goes out as it came in. Connections are pooled, as any proxy's.
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            cookies=_no_cookies(),
            trust_env=False,
            timeout=httpx.Timeout(timeout),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are no part of either API
        passage = self._passage(scope)
        try:
            await self._forward(scope, receive, send, passage)
        except ClientGone:
            return  # nothing to judge: the request never reached its end
        await anyio.to_thread.run_sync(self.judge, passage)

    def _passage(self, scope: Scope) -> Passage:
        query = scope.get("query_string") or b""
        target = (scope.get("raw_path") or scope["path"].encode()) + (b"?" + query if query else b"")
        url = self.upstream.copy_with(raw_path=self.upstream.raw_path.rstrip(b"/") + target)
        return Passage(scope["method"], scope["path"], str(url), _text(scope["headers"]))

    async def _forward(self, scope: Scope, receive: Receive, send: Send, passage: Passage) -> None:
        copy = _Copy(self.max_bytes)
        request = httpx.Request(
            scope["method"],
            passage.url,
            headers=end_to_end(scope["headers"]),
            content=_request_body(scope, receive, copy),
        )
        started, began = False, time.monotonic()
        try:
            with anyio.fail_after(self.timeout):
                response = await self._client.send(request, stream=True)
                started = True
                await self._answer(response, send, passage)
        except (TimeoutError, httpx.TimeoutException):
            message = f"no whole answer within {self.timeout:g} s"
            await self._fail(send, passage, started, ("response_deadline", message), GATEWAY_TIMEOUT)
        except httpx.HTTPError as error:
            message = f"no answer: {type(error).__name__}: {error}"
            await self._fail(send, passage, started, ("answers", message), BAD_GATEWAY)
        passage.body = b"".join(copy.chunks) if copy.chunks is not None else None
        passage.elapsed = datetime.timedelta(seconds=time.monotonic() - began)

    async def _answer(self, response: httpx.Response, send: Send, passage: Passage) -> None:
        passage.status = response.status_code
        headers = end_to_end(response.headers.raw)
        passage.answer_headers = _text(headers)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        copy = _Copy(self.max_bytes)
        try:
            async for chunk in response.aiter_raw():
                copy.add(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await response.aclose()
        passage.answer = copy.chunks
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _fail(
        send: Send, passage: Passage, started: bool, problem: tuple[str, str], status: int
    ) -> None:
        """No whole answer: the proxy's own answer when none began (else the connection is cut)."""
        passage.problem = problem
        if started:
            return
        text = f"mews-loyalty proxy: {problem[1]}\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(text))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": text, "more_body": False})

    async def aclose(self) -> None:
        await self._client.aclose()


def _request_body(scope: Scope, receive: Receive, copy: _Copy) -> AsyncIterator[bytes] | bytes:
    """The request body as it arrives (streamed on), copied for the judge; empty bytes when the
    request announces none, so that none is sent (not an empty chunked one)."""
    names = {name.lower() for name, _ in scope["headers"]}
    if b"content-length" not in names and b"transfer-encoding" not in names:
        return b""

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            copy.add(chunk)
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    return chunks()
