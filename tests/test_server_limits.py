"""Every server the package ships, against hostile clients: the Connector mock and the proxy as the CLI
runs them, the provider kit as ``serve()`` runs it, each a real process on 127.0.0.1. A huge request
head is refused without costing memory, idle half-sent requests neither keep a normal client out nor
fill stderr, a request too slow to arrive is cut, JSON nested past the documented depth is a 400, and
a 500's traceback reaches stderr. The limits themselves are ``ServerLimits`` (docs/servers.md)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mews_loyalty._asgi import ServerLimits, serve_child, serve_in_thread
from mews_loyalty._wire.nesting import MAX_DEPTH, NestedTooDeep, check_nesting
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

TOKEN = "server-limits-token-0123456789abcdef"
GET_ALL = "/api/connector/v1/loyaltyPrograms/getAll"
SEARCH = "/members/search"
ENTERPRISE = "0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11"
CONNECTOR_BODY = {
    "ClientToken": DEMO_CLIENT_TOKEN,
    "AccessToken": DEMO_ACCESS_TOKEN,
    "Client": "limits",
    "Limitation": {"Count": 1},
}
# Loaded by the mock's process before the CLI runs: a defect the mock itself never has, a request
# whose Client is "on fire" raises inside the pipeline (so the 500 and its logging are the real ones).
ON_FIRE = """
from mews_loyalty.mock.connector import app
authenticate = app.ConnectorPipeline._authenticate
def on_fire(self, data):
    if data.get("Client") == "on fire":
        raise RuntimeError("the mock is on fire")
    return authenticate(self, data)
app.ConnectorPipeline._authenticate = on_fire
"""
# The provider kit as a provider runs it: serve() around a backend, here one whose search fails.
SERVE_KIT = """
import sys
from mews_loyalty.mock.reverse import InMemoryProvider
from mews_loyalty.provider import create_provider_app, serve

class OnFire(InMemoryProvider):
    async def search_members(self, request):
        raise RuntimeError("the backend is on fire")

serve(create_provider_app(OnFire(), [sys.argv[1]]), port=0)
"""


@dataclass
class Running:
    url: str
    pid: int
    stderr: Path

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@contextlib.contextmanager
def running(
    argv: list[str], stderr: Path, env: dict[str, str] | None = None, nofile: int | None = None
) -> Iterator[Running]:
    """A server process (``argv``), its stderr in a file, at most ``nofile`` descriptors open."""

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
            )

    with (
        stderr.open("wb") as errors,
        serve_child(argv, env={**os.environ, **(env or {})}, stderr=errors, preexec_fn=limit_files) as child,
    ):
        yield Running(child.url, child.pid, stderr)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mews_loyalty._cli", *args, "--host", "127.0.0.1", "--port", "0"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="module")
def connector(folder: Path) -> Iterator[Running]:
    (folder / "sitecustomize.py").write_text(ON_FIRE, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    with running(cli("mock", "connector"), folder / "connector.err", {"PYTHONPATH": path}) as server:
        yield server


@pytest.fixture(scope="module")
def kit(folder: Path) -> Iterator[Running]:
    with running([sys.executable, "-c", SERVE_KIT, TOKEN], folder / "kit.err") as server:
        yield server


@pytest.fixture(scope="module")
def proxy(folder: Path, kit: Running) -> Iterator[Running]:
    argv = cli("proxy", "reverse", "--upstream", kit.url, "--token", TOKEN, "--quiet")
    with running([*argv, "--report-dir", str(folder / "reports")], folder / "proxy.err") as server:
        yield server


SERVERS = ("connector", "kit", "proxy")


def send_head(server: Running, header_bytes: int) -> bytes:
    """A request whose one header holds ``header_bytes`` bytes; the start of the answer."""
    with socket.create_connection(server.address, timeout=30) as client:
        client.sendall(f"POST {SEARCH} HTTP/1.1\r\nHost: x\r\nX-Padding: ".encode())
        chunk = b"a" * (1 << 20)
        with contextlib.suppress(OSError):  # the server may stop reading once it has answered
            for _ in range(header_bytes // len(chunk)):
                client.sendall(chunk)
            client.sendall(b"\r\n\r\n")
        return client.recv(200)


@pytest.mark.parametrize("name", SERVERS)
def test_a_huge_request_head_is_a_431_and_costs_no_memory(name: str, request: pytest.FixtureRequest) -> None:
    # httptools buffered any head: a 100 MB header was answered 200, eight unfinished 50 MB ones took
    # 400 MB. Past 64 KiB the answer is 431 and the rest is read and dropped.
    server: Running = request.getfixturevalue(name)
    assert send_head(server, 1 << 20).startswith(b"HTTP/1.1 431 ")
    before = server.rss_kib()
    assert send_head(server, 100 << 20).startswith(b"HTTP/1.1 431 ")
    assert server.rss_kib() - before < 20_000  # kB; the head alone is 100 MB


def idle_connections(address: tuple[str, int], count: int) -> list[socket.socket]:
    """``count`` connections, each with half a request head sent and nothing more."""
    sockets = []
    for _ in range(count):
        client = socket.socket()
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(address)
        sockets.append(client)
    time.sleep(0.2)  # not timing: lets most connects complete, so most half heads are sent
    for client in sockets:
        with contextlib.suppress(OSError):
            client.send(f"POST {GET_ALL} HTTP/1.1\r\nHost: x\r\n".encode())
    return sockets


@contextlib.contextmanager
def open_files(needed: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the hard open-file limit ({hard}) is below the {needed} this test holds")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_5000_idle_connections_leave_a_normal_client_served(tmp_path: Path) -> None:
    # 20,100 half-sent requests took every descriptor of the mock: a normal client timed out and
    # 74.6 MB of "Too many open files" went to stderr. The mock here may open 1024 (a common
    # default): it keeps at most half open, the connection waiting longest making room for a new one.
    with open_files(5000 + 1000), running(cli("mock", "connector"), tmp_path / "err", nofile=1024) as server:
        idle = idle_connections(server.address, 5000)
        try:
            answer = httpx.post(server.url + GET_ALL, json=CONNECTOR_BODY, timeout=30)
        finally:
            for client in idle:
                client.close()
        assert answer.status_code == 200
    assert "Too many open files" not in server.stderr.read_text()


def raw_answer(client: socket.socket) -> bytes:
    client.settimeout(30)
    return client.recv(200)


def trickle(client: socket.socket) -> bytes:
    """Send a request head a byte at a time until an answer comes; the answer's start."""
    client.settimeout(0.1)
    for byte in f"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: {'a' * 1000}".encode():
        with contextlib.suppress(OSError):
            client.send(bytes([byte]))
        with contextlib.suppress(TimeoutError):
            return client.recv(200)
    return b""


def test_a_request_not_complete_in_time_is_a_408_however_it_trickles() -> None:
    # uvicorn's keep-alive timer restarts with each byte: a request trickling in held its connection
    # for ever. The deadline runs from the connection (or the request's first byte) to its last byte.
    limits = ServerLimits(request_seconds=0.5)
    with serve_in_thread(_answer_ok, limits=limits) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port))) as silent:
            assert raw_answer(silent).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection((host, int(port))) as trickling:
            assert trickle(trickling).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection((host, int(port))) as kept_alive:  # a next request, as slow
            kept_alive.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert raw_answer(kept_alive).startswith(b"HTTP/1.1 200 ")
            assert trickle(kept_alive).startswith(b"HTTP/1.1 408 ")


def test_a_connection_idle_after_its_answer_is_closed() -> None:
    with serve_in_thread(_answer_ok, limits=ServerLimits(keep_alive_seconds=1)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port))) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert raw_answer(client).startswith(b"HTTP/1.1 200 ")
            assert raw_answer(client) == b""  # closed by the server, not by the 30 s timeout


def test_past_the_cap_the_longest_waiting_connection_makes_room_and_no_answer_is_cut() -> None:
    entered, release = threading.Event(), threading.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/slow":
            entered.set()
            while not release.is_set():
                await _sleep(0.01)
        await _answer_ok(scope, receive, send)

    with serve_in_thread(slow, limits=ServerLimits(max_connections=8)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port))) as answering:
            answering.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            assert entered.wait(30)
            idle = idle_connections((host, int(port)), 20)
            try:
                assert httpx.get(url + "/", timeout=30).status_code == 200
                release.set()
                assert raw_answer(answering).startswith(b"HTTP/1.1 200 ")
                assert raw_answer(_blocking(idle[0])) == b""  # the oldest idle one: closed, unanswered
            finally:
                release.set()
                for client in idle:
                    client.close()


def _blocking(client: socket.socket) -> socket.socket:
    client.setblocking(True)
    return client


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def _answer_ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def nested(depth: int) -> str:
    """A JSON value nesting arrays and objects ``depth`` levels deep (built as text: json recurses)."""
    opening = "".join('{"k": ' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return opening + "1" + closing


def test_nesting_is_counted_on_the_bytes_and_refused_past_the_limit() -> None:
    check_nesting(nested(MAX_DEPTH).encode())
    with pytest.raises(NestedTooDeep):
        check_nesting(nested(MAX_DEPTH + 1).encode())
    # brackets inside strings, escaped quotes and backslashes included, are text
    check_nesting(json.dumps(["[" * 100, '\\"[' * 100, "\\" * 3 + "{" * 100]).encode())
    with pytest.raises(NestedTooDeep):
        check_nesting(f'["\\\\", {nested(MAX_DEPTH)}]'.encode())


def test_json_nested_too_deep_is_each_apis_400(connector: Running, kit: Running) -> None:
    # A body nested 1000 deep was a RecursionError, a 500, in the Connector mock.
    body = json.dumps(CONNECTOR_BODY)[:-1] + f', "Extra": {nested(1000)}}}'
    answer = httpx.post(connector.url + GET_ALL, content=body, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["Message"] == "The request body nests arrays and objects deeper than 64 levels."
    body = f'{{"mewsEnterpriseId": "{ENTERPRISE}", "memberFilter": {nested(1000)}}}'
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    answer = httpx.post(kit.url + SEARCH, content=body, headers=headers, timeout=30)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "https://purl.mews.com/problem/core/bad-request"
    assert "64 levels" in answer.json()["detail"]


def test_a_500_shows_its_traceback_on_stderr_once(connector: Running, kit: Running) -> None:
    answer = httpx.post(connector.url + GET_ALL, json={**CONNECTOR_BODY, "Client": "on fire"}, timeout=30)
    assert answer.status_code == 500
    answer = httpx.post(
        kit.url + SEARCH,
        json={"mewsEnterpriseId": ENTERPRISE, "memberFilter": {"email": "a@example.com"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 500
    for server, cause in ((connector, "the mock is on fire"), (kit, "the backend is on fire")):
        shown = _eventually(lambda server=server: server.stderr.read_text())
        assert "Traceback (most recent call last)" in shown
        assert shown.count(f"RuntimeError: {cause}") == 1


def _eventually(read: Any) -> str:
    """What ``read`` returns once it is non-empty (a child's stderr is written as it goes)."""
    for _ in range(300):
        text: str = read()
        if text:
            return text
        time.sleep(0.1)
    return ""
