"""Wall time of the whole embedded contract run (``nox -s contract``: both mocks, every phase), beside
the ways it was run before and the ways it could spread over more of the machine.

- the baseline, ``python -m mews_loyalty.contract`` as shipped: the Reverse run in a second process
  beside the Connector's, the Connector mock limited to 300 requests/s, schemathesis' HAR recording;
- ``nox -s contract`` itself: the same plus nox and uv checking the session's environment;
- the two runs one after the other, in one process;
- the run as it was before (one after the other, 50 examples per operation and phase, the mock
  limited to 400 per 2 s so that pacing held the suite at 180 requests/s, all three recordings, every
  module compiled from source in every process as PYTHONDONTWRITEBYTECODE left it);
- side by side with 50 examples, the count the embedded run used before it took the command's
  default (25);
- two schemathesis workers per run.

All are measured here, alternately, best of ``ROUNDS``: the machine is shared, and a neighbour's load
falls on each. The CPU seconds of each (all its processes, mocks included) are in the notes: on a
machine whose cores are busy, only less CPU makes a run faster.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._measure import Section

ROUNDS = 2
ROOT = Path(__file__).resolve().parent.parent
BASELINE = "python -m mews_loyalty.contract (side by side)"
NOX = "nox -s contract (nox and uv included)"
BEFORE = "before: one after the other, 50 examples, 400/2 s, HAR+VCR+NDJSON, no .pyc"


def _embedded(*calls: str, setup: str = "") -> list[str]:
    """A process running ``calls`` of ``mews_loyalty.contract._run.embedded`` one after the other."""
    code = (
        f"import sys\nimport mews_loyalty.contract._run.embedded as embedded\n{setup}\n"
        f"sys.exit(max([{', '.join(f'embedded.{call}' for call in calls)}]))\n"
    )
    return [sys.executable, "-c", code]


def _commands(empty_cache: str) -> dict[str, tuple[list[list[str]], dict[str, str] | None]]:
    """label -> (commands started together, environment or None for this one)."""
    all_recordings = "['--quiet', '--recordings', 'har,vcr,ndjson', '--max-examples', '50']"
    commands: dict[str, tuple[list[list[str]], dict[str, str] | None]] = {
        BASELINE: ([[sys.executable, "-m", "mews_loyalty.contract"]], None),
        "one after the other": (
            [_embedded("verify_connector_mock(['--quiet'])", "verify_reverse_mock(['--quiet'])")],
            None,
        ),
        BEFORE: (
            [
                _embedded(
                    f"verify_connector_mock({all_recordings})",
                    f"verify_reverse_mock({all_recordings})",
                    setup="embedded.MOCK_RATE_LIMIT = '400/2'",
                )
            ],
            # Byte code looked up in an empty folder and never written: every module from source.
            {**os.environ, "PYTHONPYCACHEPREFIX": empty_cache, "PYTHONDONTWRITEBYTECODE": "1"},
        ),
        "side by side, 50 examples (the run's count until now)": (
            [
                _embedded("verify_connector_mock(['--quiet', '--max-examples', '50'])"),
                _embedded("verify_reverse_mock(['--quiet', '--max-examples', '50'])"),
            ],
            None,
        ),
        "side by side, 2 workers each": (
            [
                _embedded("verify_connector_mock(['--quiet', '--workers', '2'])"),
                _embedded("verify_reverse_mock(['--quiet', '--workers', '2'])"),
            ],
            None,
        ),
    }
    nox = shutil.which("nox")
    if nox:
        commands[NOX] = ([[nox, "-s", "contract", "-f", str(ROOT / "noxfile.py")]], None)
    return commands


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(commands: list[list[str]], env: dict[str, str] | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        outputs = [Path(tmp, f"output-{i}.txt") for i in range(len(commands))]
        cpu, started = _children_cpu(), time.perf_counter()
        running = [
            subprocess.Popen(c, cwd=tmp, env=env, stdout=out.open("wb"), stderr=subprocess.STDOUT)
            for c, out in zip(commands, outputs, strict=True)
        ]
        codes = [process.wait(900) for process in running]
        wall, used = time.perf_counter() - started, _children_cpu() - cpu
        for code, out in zip(codes, outputs, strict=True):
            if code:  # a figure for a run that failed means nothing: say what it found instead
                tail = "\n".join(out.read_text(errors="replace").splitlines()[-40:])
                raise RuntimeError(f"a contract run failed (exit {code}):\n{tail}")
        return wall, used


def run() -> Section:
    section = Section("contract run: both embedded mocks, all phases", BASELINE, "s")
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as empty_cache:
        commands = _commands(empty_cache)
        for _ in range(ROUNDS):
            for label, (started_together, env) in commands.items():
                wall, cpu = _timed(started_together, env)
                if label not in best or wall < best[label][0]:
                    best[label] = (wall, cpu)
    if NOX not in best:
        section.notes.append("nox is not on PATH: `nox -s contract` itself not measured")
    for label, (wall, cpu) in best.items():
        section.rows[label] = wall
        section.notes.append(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (best of {ROUNDS})")
    return section
