"""A server command asked for a port another program holds: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mews_loyalty._entry import USAGE_ERROR


@pytest.fixture
def taken_port() -> Iterator[int]:
    holder = socket.create_server(("127.0.0.1", 0))
    with holder:
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", [["mock", "connector"], ["mock", "reverse", "--token", "T"]])
def test_a_port_in_use_is_one_line_and_exit_2(command: list[str], taken_port: int) -> None:
    # The real command in its own process, as a user starts it beside a server already running.
    argv = [
        sys.executable,
        "-m",
        "mews_loyalty._cli",
        *command,
        "--host",
        "127.0.0.1",
        "--port",
        str(taken_port),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == USAGE_ERROR
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mews-loyalty: cannot listen on 127.0.0.1:")
    assert str(taken_port) in lines[0]
    assert "in use" in lines[0]
    assert done.stdout == ""  # never announced as listening
