"""Starting servers as child processes: a child that never announces itself must not hang the parent."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from mews_loyalty._asgi import _listen, serve_in_process

# Runs in the child before `mews_loyalty._cli`: stands for a server stuck at startup (a blocked
# import, a port bind that never returns), silent on stdout.
STUCK_AT_STARTUP = """
import os, pathlib, time
pathlib.Path(os.environ["STUCK_CHILD_PID_FILE"]).write_text(str(os.getpid()))
time.sleep(120)
"""


@pytest.mark.timeout(30)
def test_a_child_that_never_announces_itself_is_ended_and_reported(tmp_path: Path):
    # CI and the contract suite start mocks this way; a silent child used to block them for ever.
    (tmp_path / "sitecustomize.py").write_text(STUCK_AT_STARTUP, encoding="utf-8")
    pid_file = tmp_path / "pid"
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path, "STUCK_CHILD_PID_FILE": str(pid_file)}
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match=r"did not announce itself within 1 s"),
        serve_in_process(["mock", "connector"], env=env, startup_seconds=1.0),
    ):
        pass
    assert time.monotonic() - started < 15
    with pytest.raises(ProcessLookupError):  # ended and reaped, not left running
        os.kill(int(pid_file.read_text()), 0)


def test_connections_the_servers_accept_send_without_nagle_delays():
    # The CLI's servers listen on a socket bound by _listen. asyncio turns Nagle's algorithm off only on
    # sockets whose proto says TCP; without that, a response's last segment waits for the client's
    # delayed ACK (40 ms on Linux) and a contract run against the mock crawls.
    async def accepted_nodelay() -> int:
        listener = _listen("127.0.0.1", 0)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(
                writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            )
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            value = await asyncio.wait_for(seen, 10)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0
