"""Running an ASGI app as a real HTTP server: from the CLI, in a thread, or as a child process.

    run_server(app, "127.0.0.1", 8080)                    # blocks, prints the listening line
    return serve_command(app, host, port)                 # CLI: the same, a port in use is one line
    with serve_in_thread(app) as base_url: ...            # tests: free loopback port, stopped after
    with serve_in_process(["mock", "connector"]) as base_url: ...   # a separate process, stopped after

Every server announces itself with one line on stdout, ``<LISTENING_PREFIX> http://HOST:PORT``, so a
parent process can start it with ``--port 0`` and learn the port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import uvicorn
from starlette.requests import Request

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


def _config(app: Any, host: str, port: int, server_headers: bool = True) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="error",  # fuzzing sends malformed HTTP on purpose; uvicorn would warn for each
        access_log=False,
        lifespan="off",
        http="httptools",
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


def run_server(app: Any, host: str, port: int, *, server_headers: bool = True) -> None:
    """Serve until interrupted, announcing the bound address on stdout once listening.

    Raises ``ServerStartError`` when the address cannot be bound (the port is in use, say).
    ``server_headers=False`` leaves out uvicorn's own Date and Server headers (a proxy's answers are
    its upstream's, headers included).
    """
    listener = _listen(host, port)
    server = uvicorn.Server(_config(app, host, port, server_headers))
    if os.environ.get(STOP_WITH_PARENT):
        _stop_when_stdin_ends(server)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"{LISTENING_PREFIX} {_bound_url(server, host)}", flush=True)
        await task

    with listener, contextlib.suppress(KeyboardInterrupt):
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
    app: Any, host: str = "127.0.0.1", port: int = 0, *, server_headers: bool = True
) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a background thread; yields the base URL."""
    server = uvicorn.Server(_config(app, host, port, server_headers))
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


@contextlib.contextmanager
def serve_in_process(
    cli_args: list[str], env: dict[str, str] | None = None, startup_seconds: float = STARTUP_SECONDS
) -> Iterator[str]:
    """Start ``mews-loyalty <cli_args> --port 0`` as a child process; yields its base URL.

    A child that neither announces itself nor exits within ``startup_seconds`` is ended and reported.
    The child has its own process group, so a Ctrl-C at the terminal reaches only the parent, which
    still needs the server for its clean-up; the child stops when the parent ends it, or when its
    standard input closes because the parent is gone.
    """
    argv = [sys.executable, "-m", "mews_loyalty._cli", *cli_args, "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env={**os.environ, **(env or {}), STOP_WITH_PARENT: "1"},
        process_group=0 if os.name == "posix" else None,
    )
    try:
        assert proc.stdout is not None
        line = _first_line(proc.stdout, startup_seconds)
        if line is None:
            raise RuntimeError(f"server {cli_args} did not announce itself within {startup_seconds:g} s")
        if not line.startswith(LISTENING_PREFIX):
            raise RuntimeError(f"server {cli_args} did not start (first line: {line!r})")
        yield line.removeprefix(LISTENING_PREFIX).strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
