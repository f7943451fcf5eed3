"""Starting servers as child processes: a child that never announces itself must not hang the parent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mews_loyalty.mock._server import serve_in_process

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
