"""Whatever a server sends, the suite ends with its verdict: the real CLI against hostile servers.

Each server (``tests._hostile``, real sockets on 127.0.0.1) answers every request the same hostile
way. The CLI runs as a subprocess under an address-space limit of 1 GiB, so a run that buffered an
endless answer or inflated a gzip bomb would die of it instead of passing; pytest-timeout bounds a
hang. Times and peak memory are measured in ``nox -s bench`` (``bench/hostile.py``), not here.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests._hostile import hostile_server

MEMORY_LIMIT = 1 << 30
TOKENS = ["--client-token", "C" * 40, "--access-token", "A" * 40]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(base_url: str, report_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mews_loyalty.contract", "connector", "--base-url", base_url, *TOKENS]
    argv += ["--rate-limit", "off", "--max-examples", "1", "--report-dir", str(report_dir), *options]
    return subprocess.run(argv, capture_output=True, text=True, preexec_fn=_limited, check=False)


def failed_checks(report_dir: Path) -> set[str]:
    results = json.loads((report_dir / "connector" / "results.json").read_text())
    return {failure["check"] for failure in results["failures"]}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("behaviour", ["endless", "bomb"])
def test_an_answer_too_large_is_a_finding_of_its_own_and_the_run_goes_on(behaviour: str, tmp_path: Path):
    # The scenario checks' client and schemathesis (its examples phase) both meet the answer.
    with hostile_server(behaviour) as server:
        done = run_cli(server.url, tmp_path, "--timeout", "10", "--phases", "examples")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "DOES NOT CONFORM" in done.stdout
    assert "response_size_limit" in failed_checks(tmp_path)
    results = json.loads((tmp_path / "connector" / "results.json").read_text())
    sizes = [f["message"] for f in results["failures"] if f["check"] == "response_size_limit"]
    assert any("Network Error" in message for message in sizes), "schemathesis' requests are bounded too"
    assert any("no answer" in message for message in sizes), "the suite's own requests are bounded"
    assert results["schemathesis_cases"] > 0, "the run went on into fuzzing"


@pytest.mark.timeout(120)
def test_a_dripping_server_misses_the_deadline_and_is_taken_for_gone(tmp_path: Path):
    # One byte a second never trips a per-read timeout; the deadline covers the whole exchange.
    with hostile_server("drip") as server:
        done = run_cli(server.url, tmp_path, "--timeout", "1")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "DOES NOT CONFORM" in done.stdout
    assert "response_deadline" in failed_checks(tmp_path)
    assert "the server is taken for gone" in (tmp_path / "connector" / "failures.txt").read_text()
