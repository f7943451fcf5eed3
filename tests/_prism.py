"""Stoplight Prism's mock, the stand-in for a server nobody here wrote: one way to start it, for the
tests and the benchmarks.

    with serve_prism(spec_path) as url:   # raises PrismUnavailable(reason) when it cannot be had
        ...

Prism runs through ``npx --yes`` (the first start downloads it from the npm registry; ``.ci/run``
warms that cache) in its own process group, so that stopping it stops Prism's node process too and
not only the npx wrapper, which would leave Prism listening.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRISM = "@stoplight/prism-cli@5.16.0"
START_SECONDS = 180.0  # a cold start downloads Prism from the npm registry


class PrismUnavailable(Exception):
    """Prism cannot be installed or started here; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_prism(spec: Path, *, start_seconds: float = START_SECONDS) -> Iterator[str]:
    """Prism's mock serving ``spec`` on a free loopback port; yields its base URL."""
    if shutil.which("npx") is None:
        raise PrismUnavailable("npx is not installed (Node.js and npm are needed for Prism)")
    port = _free_port()
    # Prism's output goes to a file, for the reason when it does not start.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            ["npx", "--yes", PRISM, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_listening(proc, port, log, start_seconds)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: IO[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
            state = f"exited with {proc.returncode}" if proc.poll() is not None else "did not listen"
            raise PrismUnavailable(f"Prism {state} within {seconds:.0f} s: {' | '.join(tail)}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop npx and Prism's node process under it (the whole process group started for it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue
