"""Wall time of the whole embedded contract run (``nox -s contract``: both mocks, every phase), beside
ways to spread it over more of the machine: two schemathesis workers per run, and the Connector and
Reverse runs side by side in two processes (schemathesis' hooks allow one run per process).

All are measured here, alternately, best of ``ROUNDS``: the machine is shared, and a neighbour's
load falls on each. The CPU seconds of each (all its processes, mocks included) are in the notes: on
a machine whose cores are busy, only less CPU makes a run faster.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from bench._measure import Section

ROUNDS = 2
BASELINE = "python -m mews_loyalty.contract (nox -s contract)"


def _mock_run(workers: int, *functions: str) -> list[str]:
    """A process verifying the embedded mocks ``functions`` one after the other."""
    calls = ", ".join(f"{function}(['--workers', '{workers}', '--quiet'])" for function in functions)
    code = f"import sys\nfrom mews_loyalty.contract._embedded import {', '.join(functions)}\nsys.exit(max([{calls}]))\n"
    return [sys.executable, "-c", code]


COMMANDS: dict[str, list[list[str]]] = {  # label -> commands started together
    BASELINE: [[sys.executable, "-m", "mews_loyalty.contract"]],
    "2 workers each, one after the other": [_mock_run(2, "verify_connector_mock", "verify_reverse_mock")],
    "side by side (two processes), 1 worker each": [
        _mock_run(1, "verify_connector_mock"),
        _mock_run(1, "verify_reverse_mock"),
    ],
    "side by side (two processes), 2 workers each": [
        _mock_run(2, "verify_connector_mock"),
        _mock_run(2, "verify_reverse_mock"),
    ],
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(commands: list[list[str]]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cpu, started = _children_cpu(), time.perf_counter()
        running = [
            subprocess.Popen(c, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for c in commands
        ]
        codes = [process.wait(900) for process in running]
        if any(codes):
            raise RuntimeError(f"a contract run failed: exit codes {codes}")
        return time.perf_counter() - started, _children_cpu() - cpu


def run() -> Section:
    section = Section("contract run: both embedded mocks, all phases", BASELINE, "s")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(ROUNDS):
        for label, commands in COMMANDS.items():
            wall, cpu = _timed(commands)
            if label not in best or wall < best[label][0]:
                best[label] = (wall, cpu)
    for label, (wall, cpu) in best.items():
        section.rows[label] = wall
        section.notes.append(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (best of {ROUNDS})")
    return section
