"""Running an ASGI app as a real HTTP server: from the CLI, in a thread, or as a child process.

    run_server(app, "127.0.0.1", 8080)                    # blocks, prints the listening line
    return serve_command(app, host, port)                 # CLI: the same, a port in use is one line
    with serve_in_thread(app) as base_url: ...            # tests: free loopback port, stopped after
    with serve_in_process(["mock", "connector"]) as base_url: ...   # a separate process, stopped after
    with serve_child([sys.executable, "-c", script]) as child: ...   # any command; child.url, child.pid

Every server announces itself with one line on stdout, ``<LISTENING_PREFIX> http://HOST:PORT``, so a
parent process can start it with ``--port 0`` and learn the port.

Every server holds to ``ServerLimits`` (docs/servers.md), which a hostile client cannot talk it out of:
a request head (line and headers) past ``max_head_bytes`` is a 431, a request not complete within
``request_seconds`` a 408, a connection idle between requests is closed after ``keep_alive_seconds``,
and past ``max_connections`` open at once (never more than half the file descriptors the process may
open) the connection that has waited longest for its request is closed to make room, so idle
half-sent requests cannot keep a normal client out. uvicorn's httptools parser caps none of this (its
h11 parser caps the head, at a third of httptools' speed), so ``GuardedHttp`` adds it to httptools.
A server run by ``run_server`` also shows the package's own errors on stderr (the traceback behind a
500) when nothing else is configured to show them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import IO, Any, ClassVar

import uvicorn
from starlette.requests import Request
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mews_loyalty._entry import USAGE_ERROR

LISTENING_PREFIX = "mews-loyalty listening on"
STARTUP_SECONDS = 20.0
# Set by ``serve_in_process`` for its child: stop once standard input ends, that is once the parent
# is gone, however it ended (the child has its own process group, so nothing else would stop it).
STOP_WITH_PARENT = "MEWS_LOYALTY_STOP_WITH_PARENT"


class ServerStartError(OSError):
    """The server cannot listen where it was asked to (a port in use, an address not of this host)."""


class BodyTooLarge(Exception):
    """A request body declared or read past the server's limit (each server answers it its own way)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refused as soon as its Content-Length or its bytes pass ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class ServerLimits:
    """What any one client may hold of a server the package runs (documented in docs/servers.md)."""

    max_head_bytes: int = 64 * 1024
    """Request line and headers together; past them the answer is 431 and the connection closes."""
    request_seconds: float = 30.0
    """From a connection, or a next request's first byte, to the request's last byte; then 408."""
    keep_alive_seconds: int = 5
    """Idle time allowed between requests on one connection (uvicorn's ``timeout_keep_alive``)."""
    max_connections: int = 1000
    """Connections open at once, and never more than half the process's file descriptors (the
    rest stay for files and a proxy's upstream connections); past it the connection that has waited
    longest for its request is closed, or the new one when every connection is being answered."""

    def sweep_seconds(self) -> float:
        """How often requests are checked against ``request_seconds`` (so they end up to this late)."""
        return min(1.0, self.request_seconds / 4)

    def connection_cap(self) -> int:
        """``max_connections``, lowered to half the file descriptors this process may open."""
        if sys.platform == "win32":
            return self.max_connections
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return min(self.max_connections, soft // 2)


LINGER_SECONDS = 2.0  # a refused client still sending is read (and dropped) this long, so it reads the 431


def _plain_answer(status: HTTPStatus, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete ``text/plain`` answer closing the connection: the server's own, no app involved."""
    body = f"{status.phrase}\n".encode()
    lines = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"content-type: text/plain; charset=utf-8", b"content-length: %d" % len(body)]
    lines += [b"connection: close", b"", body]
    return b"\r\n".join(lines)


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol held to ``ServerLimits`` (one subclass per server, by ``guarded``).

    A connection is *waiting* from its start, and again from each answer's end, until its next
    request's last byte: only waiting connections are closed to make room, so none is cut while the
    app answers it. A request is timed from the connection, or from its first byte, to its last; one
    sweep a server (each ``sweep_seconds``) ends those past the deadline, so a request costs a clock
    reading rather than a timer. The head's bytes are counted as they arrive, before the parser
    buffers them.
    """

    limits: ClassVar[ServerLimits]
    cap: ClassVar[int]
    waiting: ClassVar[dict[GuardedHttp, None]]  # this server's waiting connections, oldest first
    sweeper: ClassVar[asyncio.TimerHandle | None]

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_bytes = 0  # of the head being read, counted while it is incomplete
        self._heads = 0  # heads read on this connection
        self._reading_head = True
        self._since: float | None = None  # when the request under way began (loop time)
        self._refused = False  # answered by the guard: what still arrives is dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting[self] = None
        self._since = self.loop.time()
        if self.sweeper is None:
            type(self).sweeper = self._next_sweep(self.loop, self.connections)
        if len(self.connections) > self.cap:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._since is None and self in self.waiting:
            self._since = self.loop.time()  # a next request begins
        heads, reading_head = self._heads, self._reading_head
        super().data_received(data)
        if reading_head and self._reading_head and self._heads == heads:  # all of it is head
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head_bytes:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, linger=True)

    def on_headers_complete(self) -> None:
        self._reading_head, self._head_bytes = False, 0
        self._heads += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_head, self._since = True, None
        if self.cycle is None or not self.cycle.response_complete:
            self.waiting.pop(self, None)  # complete: the app answers it now
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self.waiting.pop(self, None)
            self.waiting[self] = None  # waiting again, the newest

    @classmethod
    def _sweep(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """End the requests past their deadline; again after ``sweep_seconds`` while the server has
        connections (one that is answered now may wait for a next request later)."""
        expired = loop.time() - cls.limits.request_seconds
        for connection in [c for c in cls.waiting if c._since is not None and c._since < expired]:
            connection._refuse(HTTPStatus.REQUEST_TIMEOUT, linger=False)
        cls.sweeper = cls._next_sweep(loop, connections) if connections else None

    @classmethod
    def _next_sweep(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> asyncio.TimerHandle:
        return loop.call_later(cls.limits.sweep_seconds(), cls._sweep, loop, connections)

    def _make_room(self) -> None:
        oldest = next((other for other in self.waiting if other is not self), self)
        self.waiting.pop(oldest, None)
        oldest.connections.discard(oldest)  # closing: it no longer counts
        oldest.transport.close()

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, status: HTTPStatus, *, linger: bool) -> None:
        """Answer ``status`` (unless an answer is under way) and close, after a linger when asked."""
        self.waiting.pop(self, None)
        self._refused = True
        if not self._answering():
            self.transport.write(_plain_answer(status, self.server_state.default_headers))
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def guarded(limits: ServerLimits, cap: int) -> type[GuardedHttp]:
    """A ``GuardedHttp`` of its own for one server (the waiting connections are the server's)."""

    class Guarded(GuardedHttp):
        pass

    Guarded.limits, Guarded.cap, Guarded.waiting, Guarded.sweeper = limits, cap, {}, None
    return Guarded


def _config(
    app: Any, host: str, port: int, server_headers: bool = True, limits: ServerLimits | None = None
) -> uvicorn.Config:
    limits = limits or ServerLimits()
    cap = limits.connection_cap()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="error",  # fuzzing sends malformed HTTP on purpose; uvicorn would warn for each
        access_log=False,
        lifespan="off",
        http=guarded(limits, cap),
        timeout_keep_alive=limits.keep_alive_seconds,
        # asyncio accepts up to the backlog each turn of its loop, and a connection it accepts can be
        # closed to make room only three turns later: an eighth of the cap keeps those bursts and the
        # cap's connections inside the descriptors (the cap is at most half of them)
        backlog=max(16, min(2048, cap // 8)),
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        # uvicorn's own Date and Server headers, added to every answer; a proxy passes its upstream's
        server_header=server_headers,
        date_header=server_headers,
    )


def _bound_url(server: uvicorn.Server, host: str) -> str:
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://{host}:{port}"


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (bound here, so a failure is an error, not uvicorn's exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn chooses
    # IPPROTO_TCP said, not left 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it Nagle's algorithm holds a response's last segment until the client's delayed ACK
    # (40 ms on Linux): a fuzzing run slowed to a crawl.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":  # as uvicorn and asyncio do: a restarted server can take its port back
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)  # uvicorn's default backlog
    except OSError as error:
        listener.close()
        reason = error.strerror or str(error)
        raise ServerStartError(error.errno, f"cannot listen on {host}:{port}: {reason}") from None
    return listener


class _Unclaimed(logging.Filter):
    """Passes a record only when no logger between its own and the package's has a handler showing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        while name.startswith(f"{_PACKAGE_LOGGER}."):
            handlers = logging.getLogger(name).handlers
            if any(not isinstance(handler, logging.NullHandler) for handler in handlers):
                return False
            name = name.rpartition(".")[0]
        return True


class _Seldom(logging.Filter):
    """Passes a message starting with ``prefix`` once per ``seconds``; any other, always."""

    def __init__(self, prefix: str, seconds: float) -> None:
        super().__init__()
        self.prefix, self.seconds = prefix, seconds
        self.last = -seconds

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self.prefix):
            return True
        now = time.monotonic()
        shown = now - self.last >= self.seconds
        self.last = now if shown else self.last
        return shown


_PACKAGE_LOGGER = "mews_loyalty"
# asyncio logs it for each failed accept, every turn of the loop: megabytes a second once a process
# runs out of file descriptors (the connection cap keeps the servers below that; anything else may not)
_ACCEPT_FAILED = "socket.accept() out of system resource"


@contextlib.contextmanager
def _server_logging() -> Iterator[None]:
    """While a server runs: the package's errors on stderr unless something is set up to show them
    (the root logger or a handler nearer the source), and a failing accept logged once a minute."""
    package, asyncio_logger = logging.getLogger(_PACKAGE_LOGGER), logging.getLogger("asyncio")
    handler: logging.Handler | None = None
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.ERROR)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_Unclaimed())
        package.addHandler(handler)
    seldom = _Seldom(_ACCEPT_FAILED, 60.0)
    asyncio_logger.addFilter(seldom)
    try:
        yield
    finally:
        asyncio_logger.removeFilter(seldom)
        if handler is not None:
            package.removeHandler(handler)


def run_server(
    app: Any, host: str, port: int, *, server_headers: bool = True, limits: ServerLimits | None = None
) -> None:
    """Serve until interrupted, announcing the bound address on stdout once listening.

    Raises ``ServerStartError`` when the address cannot be bound (the port is in use, say).
    ``server_headers=False`` leaves out uvicorn's own Date and Server headers (a proxy's answers are
    its upstream's, headers included). ``limits`` defaults to ``ServerLimits()``.
    """
    listener = _listen(host, port)
    server = uvicorn.Server(_config(app, host, port, server_headers, limits))
    if os.environ.get(STOP_WITH_PARENT):
        _stop_when_stdin_ends(server)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"{LISTENING_PREFIX} {_bound_url(server, host)}", flush=True)
        await task

    with listener, _server_logging(), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def _stop_when_stdin_ends(server: uvicorn.Server) -> None:
    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        server.should_exit = True

    threading.Thread(target=watch, name="mews-loyalty-parent-watch", daemon=True).start()


def serve_command(app: Any, host: str, port: int) -> int:
    """``run_server`` for a command line: an address that cannot be bound is one line on stderr, exit 2."""
    try:
        run_server(app, host, port)
    except ServerStartError as error:
        print(f"mews-loyalty: {error.strerror}", file=sys.stderr)
        return USAGE_ERROR
    return 0


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    server_headers: bool = True,
    limits: ServerLimits | None = None,
) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a background thread; yields the base URL."""
    server = uvicorn.Server(_config(app, host, port, server_headers, limits))
    thread = threading.Thread(target=server.run, name="mews-loyalty-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield _bound_url(server, host)
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)


def _first_line(stream: IO[str], seconds: float) -> str | None:
    """The first line of ``stream``, or None when none came within ``seconds`` (the reader may stay
    blocked until the stream closes, which it does once the caller ends the child)."""
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    reader = threading.Thread(
        target=lambda: lines.put(stream.readline()), name="mews-loyalty-first-line", daemon=True
    )
    reader.start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        return None


@dataclass(frozen=True)
class ServerChild:
    """A server running as a child process: its base URL and process id."""

    url: str
    pid: int


@contextlib.contextmanager
def serve_child(
    argv: list[str], *, name: str = "the server", startup_seconds: float = STARTUP_SECONDS, **popen: Any
) -> Iterator[ServerChild]:
    """Start the server command ``argv`` (one announcing itself) as a child process; stopped after.

    ``popen`` goes to ``subprocess.Popen`` (``env``, ``stderr``, ...); stdout is the parent's to read.
    A child that neither announces itself nor exits within ``startup_seconds`` is ended and reported
    (as ``name``). The child has its own process group, so a Ctrl-C at the terminal reaches only the
    parent, which still needs the server for its clean-up; the child stops when the parent ends it,
    or when its standard input closes because the parent is gone.
    """
    popen["env"] = {**popen.get("env", os.environ), STOP_WITH_PARENT: "1"}
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        process_group=0 if os.name == "posix" else None,
        **popen,
    )
    try:
        assert proc.stdout is not None
        line = _first_line(proc.stdout, startup_seconds)
        if line is None:
            raise RuntimeError(f"{name} did not announce itself within {startup_seconds:g} s")
        if not line.startswith(LISTENING_PREFIX):
            raise RuntimeError(f"{name} did not start (first line: {line!r})")
        yield ServerChild(line.removeprefix(LISTENING_PREFIX).strip(), proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serve_in_process(
    cli_args: list[str], env: dict[str, str] | None = None, startup_seconds: float = STARTUP_SECONDS
) -> Iterator[str]:
    """Start ``mews-loyalty <cli_args> --port 0`` as a child process; yields its base URL."""
    argv = [sys.executable, "-m", "mews_loyalty._cli", *cli_args, "--host", "127.0.0.1", "--port", "0"]
    environment = {**os.environ, **(env or {})}
    with serve_child(
        argv, name=f"server {cli_args}", startup_seconds=startup_seconds, env=environment
    ) as child:
        yield child.url


def add_server_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """``--host`` and ``--port``, alike for every server the package serves."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"port to listen on; 0 picks a free one (default {default_port})",
    )


def add_repeated_argument(parser: argparse.ArgumentParser, flag: str, *, metavar: str, help: str) -> None:
    """An option that may be given several times, collected in a list (tokens, mostly)."""
    parser.add_argument(flag, action="append", default=[], metavar=metavar, help=help)
