"""Bounded exchanges: a cap on each answer's decompressed size and a deadline on each whole exchange.

A server is untrusted input. Without bounds, an endless chunked answer or a 2 MB gzip bomb grows the
reader to gigabytes, and a server dripping one byte a second holds a read forever (httpx's and
urllib3's timeouts are per read: every byte starts a new one). Here every exchange has

* a **deadline** (``Bounds.deadline`` seconds) on the whole of it: connect, send and every read,
  headers and body; past it the exchange raises ``DeadlinePassed``;
* a **cap** (``Bounds.max_bytes``, default 32 MiB) on the answer's body *after* decompression;
  past it the exchange raises ``AnswerTooLarge``. Bodies are read incrementally and decompressed
  here with an output limit per step (``Decoder``), so no more than the cap is ever held, whatever
  the compression ratio or the number of stacked ``Content-Encoding`` layers.

The pieces, shared by every client of the project:

* ``send`` / ``asend``: one bounded exchange on an ``httpx.Client`` / ``httpx.AsyncClient``; they
  return an ``httpx.Response`` whose body is read and decoded (its ``Content-Encoding`` and
  ``Content-Length`` headers removed, as they describe bytes no longer there). ``asend`` holds its
  deadline exactly (the whole exchange runs under ``anyio.fail_after``). ``send`` holds it exactly
  on a client whose transport is a ``BoundedTransport`` (its sockets never wait past the deadline);
  on any other client each wait is capped at the time left when the exchange began, so it ends
  within about twice the deadline.
* ``read_body``: the body loop itself (raw chunks in, the decoded body out), for other stacks (the
  contract suite feeds it urllib3's raw reads for what schemathesis sends).
* ``Deadline``, ``Decoder``, ``Bounds`` and the errors, all independent of any HTTP library.
"""

from __future__ import annotations

import contextvars
import datetime
import time
import zlib
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_DEADLINE_SECONDS = 30.0
# Headers that describe the body as sent, not as decoded: dropped from the decoded response.
ENCODING_HEADERS = frozenset({"content-encoding", "content-length"})

Clock = Callable[[], float]


class BoundExceeded(Exception):
    """An exchange went past one of its bounds; ``bound`` is the limit it passed."""

    def __init__(self, message: str, bound: float) -> None:
        super().__init__(message)
        self.bound = bound


class AnswerTooLarge(BoundExceeded):
    """The answer's decompressed body is larger than ``Bounds.max_bytes``."""


class DeadlinePassed(BoundExceeded):
    """The whole exchange (connect, send, every read) took longer than ``Bounds.deadline``."""


class UndecodableAnswer(ValueError):
    """The body is not valid in the ``Content-Encoding`` its headers name."""


@dataclass(frozen=True)
class Bounds:
    """The limits of one exchange."""

    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float = DEFAULT_DEADLINE_SECONDS

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or not self.deadline > 0:
            raise ValueError(f"bounds must be positive, got {self.max_bytes} bytes and {self.deadline} s")

    def too_large(self) -> AnswerTooLarge:
        return AnswerTooLarge(
            f"the answer is larger than {self.max_bytes} bytes once decompressed", self.max_bytes
        )


class Deadline:
    """The moment an exchange must be over, and the time left until then."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0

    def error(self) -> DeadlinePassed:
        return DeadlinePassed(f"no whole answer within {self.seconds:g} s", self.seconds)

    def check(self) -> None:
        if self.passed:
            raise self.error()

    def limit(self, timeout: float | None) -> float:
        """``timeout`` cut to the time left (raises ``DeadlinePassed`` when none is left)."""
        left = self.remaining()
        if left <= 0:
            raise self.error()
        return left if timeout is None else min(timeout, left)


# --- decompression with an output limit -------------------------------------------------------


class _Inflate:
    """One zlib stream (gzip or deflate), decompressed at most ``limit`` bytes at a time."""

    def __init__(self, wbits: int, *, sniff: bool = False) -> None:
        self._wbits = wbits
        self._sniff = sniff  # deflate: zlib-wrapped or raw, decided by the first bytes (as httpx does)
        self._zlib = zlib.decompressobj(wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        try:
            return self._zlib.decompress(data, limit + 1)
        except zlib.error:
            if not self._sniff:
                raise
            self._sniff = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._zlib.decompress(data, limit + 1)
        finally:
            self._sniff = False

    def pending(self) -> bytes:
        """Input fed but not yet decompressed (the limit stopped it)."""
        return self._zlib.unconsumed_tail

    def flush(self, limit: int) -> bytes:
        return self._zlib.flush(limit + 1) if limit >= 0 else b""


def _stage(encoding: str) -> _Inflate | None:
    if encoding in {"gzip", "x-gzip"}:
        return _Inflate(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return _Inflate(zlib.MAX_WBITS, sniff=True)
    return None  # identity, and encodings we never ask for (kept as they are, as httpx does)


class Decoder:
    """Decodes a body in its ``Content-Encoding`` layers, never producing more than ``max_bytes``.

    Every layer's output counts against the cap, so stacked layers (``gzip, gzip``) cannot multiply
    their way past it between two checks.
    """

    def __init__(self, content_encoding: str, max_bytes: int, error: Callable[[], Exception]) -> None:
        names = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
        # Layers are listed in the order they were applied: undo them last first.
        self._stages = [stage for stage in map(_stage, reversed(names)) if stage is not None]
        self._max = max_bytes
        self._error = error
        self.size = 0

    def feed(self, raw: bytes) -> bytes:
        try:
            return self._through(0, raw, final=False)
        except zlib.error as failure:
            raise UndecodableAnswer(f"the body is not valid in its Content-Encoding: {failure}") from None

    def flush(self) -> bytes:
        try:
            return self._through(0, b"", final=True)
        except zlib.error as failure:
            raise UndecodableAnswer(f"the body is not valid in its Content-Encoding: {failure}") from None

    def _through(self, index: int, data: bytes, *, final: bool) -> bytes:
        if index == len(self._stages):
            self.size += len(data)
            if self.size > self._max:
                raise self._error()
            return data
        stage = self._stages[index]
        out = [self._through(index + 1, self._step(stage, data), final=False)]
        while stage.pending():
            out.append(self._through(index + 1, self._step(stage, stage.pending()), final=False))
        if final:
            out.append(
                self._through(index + 1, self._checked(stage.flush(self._max - self.size)), final=True)
            )
        return b"".join(out)

    def _step(self, stage: _Inflate, data: bytes) -> bytes:
        return self._checked(stage.feed(data, self._max - self.size))

    def _checked(self, produced: bytes) -> bytes:
        if self.size + len(produced) > self._max:
            raise self._error()
        return produced


class _Body:
    """The decoded body as it is read, within ``bounds``.

    An error's traceback keeps the frames it passed, and callers keep errors (schemathesis caches
    each case's outcome): on any error what was read is dropped, and a bound's error leaves without
    the decoder's frames (they hold up to the cap in flight), so nothing read stays alive with it.
    """

    def __init__(self, content_encoding: str, bounds: Bounds, deadline: Deadline) -> None:
        self._decoder = Decoder(content_encoding, bounds.max_bytes, bounds.too_large)
        self._deadline = deadline
        self._parts: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        self._parts.append(self._cut_loose(self._feed, chunk))

    def whole(self) -> bytes:
        self._parts.append(self._cut_loose(lambda _: self._decoder.flush(), b""))
        return b"".join(self._parts)

    def drop(self) -> None:
        self._parts.clear()

    def _feed(self, chunk: bytes) -> bytes:
        self._deadline.check()
        return self._decoder.feed(chunk)

    @staticmethod
    def _cut_loose(step: Callable[[bytes], bytes], chunk: bytes) -> bytes:
        try:
            return step(chunk)
        except (BoundExceeded, UndecodableAnswer) as error:
            raise error.with_traceback(None) from None


def read_body(chunks: Iterable[bytes], content_encoding: str, bounds: Bounds, deadline: Deadline) -> bytes:
    """The decoded body from its raw ``chunks``, within ``bounds`` (checked after every chunk)."""
    body = _Body(content_encoding, bounds, deadline)
    try:
        for chunk in chunks:
            body.add(chunk)
        return body.whole()
    except BaseException:
        body.drop()
        raise


async def aread_body(
    chunks: AsyncIterable[bytes], content_encoding: str, bounds: Bounds, deadline: Deadline
) -> bytes:
    """``read_body`` for an async stream of raw chunks."""
    body = _Body(content_encoding, bounds, deadline)
    try:
        async for chunk in chunks:
            body.add(chunk)
        return body.whole()
    except BaseException:
        body.drop()
        raise


# --- httpx ------------------------------------------------------------------------------------

# The deadline of the exchange running in this context: the sockets of a BoundedTransport read it.
_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("mews_deadline", default=None)


@contextmanager
def _running(deadline: Deadline) -> Iterator[None]:
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _cut(timeout: float | None) -> float | None:
    """``timeout`` cut to the running exchange's deadline (httpcore's timeout error past it)."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise httpcore.ReadTimeout(str(deadline.error()))
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection's stream whose every read and write waits no longer than the deadline allows."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _cut(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _cut(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _cut(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(path, _cut(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class BoundedTransport(httpx.HTTPTransport):
    """httpx's own transport whose sockets never wait past the deadline of the exchange ``send`` runs.

    Outside ``send`` it behaves exactly as ``httpx.HTTPTransport`` (same arguments).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool._network_backend = _DeadlineBackend(self._pool._network_backend)


def _timeouts(deadline: Deadline, asked: Any = None) -> dict[str, float]:
    """Each of httpx's waits: the one the request asked for (``httpx.Timeout`` parts), cut to what is
    left of the deadline; a part not asked for gets all that is left."""
    parts = asked if isinstance(asked, dict) else {}
    return {name: deadline.limit(parts.get(name)) for name in ("connect", "read", "write", "pool")}


def _decoded(response: httpx.Response, content: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ENCODING_HEADERS]
    decoded = httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=response.request,
        extensions=response.extensions,
    )
    decoded.elapsed = response.elapsed  # the exchange's, set when its stream closed
    return decoded


def _read_in_process(response: httpx.Response, bounds: Bounds, deadline: Deadline) -> httpx.Response:
    """An answer an in-process transport (``httpx.MockTransport``, ASGI) handed over already read:
    no socket to bound, but the cap holds all the same."""
    try:
        response.elapsed  # noqa: B018  (httpx sets it only for answers it read itself)
    except RuntimeError:
        response.elapsed = datetime.timedelta(seconds=deadline.seconds - deadline.remaining())
    if len(response.content) > bounds.max_bytes:
        raise bounds.too_large()
    return response


def _reraise(error: httpx.TimeoutException, deadline: Deadline) -> None:
    if deadline.passed:
        raise deadline.error() from error


def send(
    client: httpx.Client, request: httpx.Request, bounds: Bounds, clock: Clock = time.monotonic
) -> httpx.Response:
    """Send ``request`` on ``client`` and read the whole answer within ``bounds``.

    Raises ``DeadlinePassed``, ``AnswerTooLarge``, ``UndecodableAnswer``, or httpx's errors for
    everything else that keeps an answer from arriving (refused, reset, a timeout before the deadline).
    """
    deadline = Deadline(bounds.deadline, clock)
    request.extensions["timeout"] = _timeouts(deadline, request.extensions.get("timeout"))
    with _running(deadline):
        try:
            response = client.send(request, stream=True)
            if response.is_stream_consumed:
                return _read_in_process(response, bounds, deadline)
            try:
                content = read_body(
                    response.iter_raw(), response.headers.get("content-encoding", ""), bounds, deadline
                )
            finally:
                response.close()
        except httpx.TimeoutException as error:
            _reraise(error, deadline)
            raise
    return _decoded(response, content)


async def asend(
    client: httpx.AsyncClient, request: httpx.Request, bounds: Bounds, clock: Clock = time.monotonic
) -> httpx.Response:
    """``send`` for an ``httpx.AsyncClient``; the deadline holds exactly, whatever its transport."""
    deadline = Deadline(bounds.deadline, clock)
    request.extensions["timeout"] = _timeouts(deadline, request.extensions.get("timeout"))
    try:
        with anyio.fail_after(deadline.limit(None)):
            response = await client.send(request, stream=True)
            if response.is_stream_consumed:
                return _read_in_process(response, bounds, deadline)
            try:
                encoding = response.headers.get("content-encoding", "")
                content = await aread_body(response.aiter_raw(), encoding, bounds, deadline)
            finally:
                await response.aclose()
    except TimeoutError as error:
        raise deadline.error() from error
    except httpx.TimeoutException as error:
        _reraise(error, deadline)
        raise
    return _decoded(response, content)
