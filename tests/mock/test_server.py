"""Starting servers as child processes: a child that never announces itself must not hang the parent."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
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


# A parent that starts a mock and outlives a Ctrl-C (SIGINT to its process group), as the contract
# run does to clean up through the mock.
PARENT = """
import signal, time
from mews_loyalty._asgi import serve_in_process
signal.signal(signal.SIGINT, lambda *_: print("interrupted", flush=True))
with serve_in_process(["mock", "connector", "--rate-limit", "off"]) as url:
    print(url, flush=True)
    time.sleep(120)
"""


def _answered(url: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT to a group are POSIX")
@pytest.mark.timeout(60)
def test_a_ctrl_c_at_the_terminal_reaches_the_parent_not_the_mock_it_started(tmp_path: Path):
    # `python -m mews_loyalty.contract` cleans up through the mocks it started after a Ctrl-C; the
    # terminal sends SIGINT to the whole foreground group, which used to kill the mocks first.
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    )
    try:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        os.killpg(parent.pid, signal.SIGINT)
        assert parent.stdout.readline() == "interrupted\n"
        time.sleep(0.5)
        assert _answered(url)  # the mock outlived the Ctrl-C sent to its parent's group
    finally:
        parent.kill()  # no clean-up at all: the mock must notice its parent is gone
        parent.wait()
    deadline = time.monotonic() + 15
    while _answered(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _answered(url)
