"""Servers on 127.0.0.1 that misbehave on purpose, for the bounded-exchange tests.

Each answers every request (any method, any path) the same hostile way, on its own thread per
connection, until the test stops it:

* ``endless``: a 200 JSON answer in chunks that never end;
* ``bomb``: a 200 answer of about 2 MB, gzip-compressed from 2 GiB of zeros;
* ``drip``: a 200 answer whose body arrives one byte a second;
* ``silent``: reads the request and never answers;
* ``throttle``: a 429 with ``Retry-After: 119`` to every request, for ever;
* ``deep``: a 200 JSON answer of 100 000 nested arrays (a few hundred kB), past any decoder's recursion;
* ``deep_error``: the same body with a 400.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

BEHAVIOURS = ("endless", "bomb", "drip", "silent", "throttle", "deep", "deep_error")
DEPTH = 100_000
BOMB_INFLATED = 2 << 30  # bytes the bomb inflates to


@cache
def gzip_bomb(blocks: int = BOMB_INFLATED >> 24) -> bytes:
    """A valid gzip body of ``blocks`` times 16 MiB of zeros, about 16 kB per block.

    The deflate stream is reset after every block (a full flush), so each block compresses to the
    same bytes: compressing once and repeating is as good as compressing it all, in milliseconds.
    """
    zeros = bytes(1 << 24)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, (blocks << 24) & 0xFFFFFFFF)
    return header + block * blocks + compressor.flush() + trailer


def _read_request(connection: socket.socket) -> bool:
    """Read one request (headers and a Content-Length body); False when the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def _headers(extra: str = "", status: str = "200 OK") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nRequest-Id: hostile\r\n" + extra + "\r\n"
    ).encode()


class _Handler(socketserver.BaseRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        connection: socket.socket = self.request
        try:
            while _read_request(connection) and not self.server.stopping.is_set():
                getattr(self, self.server.behaviour)(connection)
        except OSError:
            pass  # the client gave up: what these servers are for

    def endless(self, connection: socket.socket) -> None:
        connection.sendall(_headers("Transfer-Encoding: chunked\r\n") + b"1\r\n[\r\n")
        chunk = b"0," * 32768
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while not self.server.stopping.is_set():
            connection.sendall(frame)

    def bomb(self, connection: socket.socket) -> None:
        body = gzip_bomb()
        connection.sendall(_headers(f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n") + body)

    def drip(self, connection: socket.socket) -> None:
        connection.sendall(_headers("Content-Length: 1000000\r\n"))
        while not self.server.stopping.is_set():
            connection.sendall(b" ")
            self.server.stopping.wait(1.0)

    def throttle(self, connection: socket.socket) -> None:
        self.server.requests += 1
        body = b'{"Message": "Too many requests."}'
        head = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 119\r\n"
        connection.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def deep(self, connection: socket.socket, status: str = "200 OK") -> None:
        body = b"[" * DEPTH + b"]" * DEPTH
        connection.sendall(_headers(f"Content-Length: {len(body)}\r\n", status) + body)

    def deep_error(self, connection: socket.socket) -> None:
        self.deep(connection, "400 Bad Request")

    def silent(self, connection: socket.socket) -> None:
        self.server.stopping.wait()


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.requests = 0  # counted by the behaviours that answer at once

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def hostile_server(behaviour: str) -> Iterator[HostileServer]:
    """A running ``behaviour`` server on a free port of 127.0.0.1, stopped on exit."""
    if behaviour == "bomb":
        gzip_bomb()  # built before the clock of any test starts
    server = HostileServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
