"""Wall time of the whole embedded contract run (``nox -s contract``: both mocks, every phase), beside
the same run done the way it was before (one run after the other, one schemathesis worker each).

Both are measured here, alternately, best of ``ROUNDS``: the machine is shared, and a neighbour's
load falls on both. The CPU seconds of each (all its processes, mocks included) are in the notes.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from bench._measure import Section

ROUNDS = 2
SEQUENTIAL = (
    "import sys\n"
    "from contract_tests.__main__ import verify_connector_mock, verify_reverse_mock\n"
    "codes = [verify_connector_mock(['--workers', '1', '--quiet']), verify_reverse_mock(['--workers', '1'])]\n"
    "sys.exit(max(codes))\n"
)
COMMANDS = {
    "one after the other, 1 worker (before)": [sys.executable, "-c", SEQUENTIAL],
    "python -m contract_tests (nox -s contract)": [sys.executable, "-m", "contract_tests"],
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cpu, started = _children_cpu(), time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, capture_output=True, timeout=900)
        return time.perf_counter() - started, _children_cpu() - cpu


def run() -> Section:
    baseline = next(iter(COMMANDS))
    section = Section("contract run: both embedded mocks, all phases", baseline, "s")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(ROUNDS):
        for label, command in COMMANDS.items():
            wall, cpu = _timed(command)
            if label not in best or wall < best[label][0]:
                best[label] = (wall, cpu)
    for label, (wall, cpu) in best.items():
        section.rows[label] = wall
        section.notes.append(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (best of {ROUNDS})")
    return section
