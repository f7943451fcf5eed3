"""Every mode gives the right verdict: a conforming server CONFORMS (exit 0) however the suite is run.

QA runs the read-only default against Mews' demo environment and believes the verdict; a false
failure there is a bug report against Mews that is ours. Each cell is the CLI QA types, in process,
against the real mocks (small fixed-seed example counts; pacing on a simulated clock).
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._fuzz.phases import PHASES
from mews_loyalty.contract._run import verification as _run
from mews_loyalty.contract.cli import connector_main, reverse_main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._reports import assert_reports_parse
from tests.contract.conftest import (
    REVERSE_TOKENS,
    SCALED_RATE,
    SEED,
    SEED_MEMBERSHIP_IDS,
    UNHURRIED,
    run_reverse,
)
from tests.runtime.fakes import FakeTime

STATEFUL_NOT_RUN = "not run: stateful: needs --allow-writes"
WRITES = ["--allow-writes"]
# (api, cell name, options); every cell also gets a seed, a report dir and small example counts.
MATRIX: list[tuple[str, str, list[str]]] = [
    ("connector", "read-only, every phase, default pacing", []),
    ("connector", "writes, every phase, default budget", [*WRITES, "--rate-limit", "off"]),
    *[("connector", f"read-only, {p} only", ["--phases", p, "--rate-limit", "off"]) for p in PHASES],
    ("connector", "read-only, no phases", ["--phases", "none", "--rate-limit", "off"]),
    ("connector", "writes, stateful only", [*WRITES, "--phases", "stateful", "--rate-limit", "off"]),
    ("connector", "writes, no phases, unlimited", [*WRITES, "--phases", "none", "--max-writes", "unlimited"]),
    ("reverse", "read-only, every phase, default pacing (off)", []),
    ("reverse", "read-only, every phase, paced", ["--rate-limit", "50/1"]),
    ("reverse", "writes, every phase", WRITES),
    *[("reverse", f"read-only, {p} only", ["--phases", p]) for p in PHASES],
    ("reverse", "read-only, no phases", ["--phases", "none"]),
    ("reverse", "writes, stateful only", [*WRITES, "--phases", "stateful"]),
]


@pytest.fixture
def pacers(monkeypatch: pytest.MonkeyPatch) -> list[Throttle]:
    made: list[Throttle] = []
    time = FakeTime(start=0.0)  # moves only when the pacer sleeps: pacing without waiting for it

    def simulated(rate: tuple[int, float] | None, **_: object) -> Throttle:
        made.append(Throttle(rate, clock=time.clock, sleep=time.sleep))
        return made[-1]

    monkeypatch.setattr(_run, "Throttle", simulated)
    return made


def _argv(api: str, url: str, report_dir: Path, options: list[str]) -> list[str]:
    argv = ["--base-url", url, "--report-dir", str(report_dir), "--seed", str(SEED), "--max-examples", "2"]
    if api == "connector":
        return [*argv, "--client-token", DEMO_CLIENT_TOKEN, "--access-token", DEMO_ACCESS_TOKEN, *options]
    argv += [arg for token in REVERSE_TOKENS for arg in ("--token", token)]
    argv += ["--latency-budget", str(UNHURRIED)]
    return [*argv, *(arg for mid in SEED_MEMBERSHIP_IDS for arg in ("--membership-id", mid)), *options]


def assert_qualified_verdict(out: str, report: Path, *, read_only: bool) -> None:
    """A read-only run that conforms says so, and how many checks did not run, on its result line, in
    the HTML banner and in the JUnit properties; a writing one says CONFORMS."""
    verdict = out.rstrip().splitlines()[-1].split(" ", 4)[-1]
    found = re.fullmatch(r"CONFORMS \(read-only: (\d+) checks not run\)", verdict)
    if read_only:
        assert found is not None, verdict
        assert int(found.group(1)) > 0
    else:
        assert verdict == "CONFORMS"
    assert assert_reports_parse(report)["verdict"] == verdict
    assert f"<h1>{html.escape(verdict)}</h1>" in (report / "report.html").read_text()
    properties = ET.parse(report / "junit.xml").getroot().find("testsuite/properties")
    assert properties is not None
    values = {p.get("name"): p.get("value") for p in properties}
    assert values["verdict"] == verdict
    assert values["read_only"] == str(read_only).lower()


@pytest.mark.parametrize(("api", "cell", "options"), MATRIX, ids=[f"{a}: {c}" for a, c, _ in MATRIX])
def test_a_conforming_server_conforms_in_every_mode(
    api: str,
    cell: str,
    options: list[str],
    request: pytest.FixtureRequest,
    pacers: list[Throttle],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = request.getfixturevalue(f"{api}_mock")
    main: Callable[[list[str]], int] = connector_main if api == "connector" else reverse_main
    code = main(_argv(api, url, tmp_path, options))
    out = capsys.readouterr()
    assert code == 0, out.out[-3000:] + out.err[-3000:]
    assert "DOES NOT CONFORM" not in out.out
    assert_qualified_verdict(out.out, tmp_path / api, read_only="--allow-writes" not in options)
    phases = options[options.index("--phases") + 1] if "--phases" in options else "stateful"
    if "stateful" in phases and "--allow-writes" not in options:
        assert STATEFUL_NOT_RUN in out.out
    if "--allow-writes" in options and api == "connector":
        found = WRITES_LINE.search(out.out)
        assert found is not None
        assert int(found.group(1)) <= (50 if "unlimited" not in cell else 10_000)
        assert "left 0" in out.out
    if "paced" in cell or (api == "connector" and "default pacing" in cell):
        assert pacers, "no pacer was made"
        assert pacers[0].waited > 0, "the run was not paced"


def test_probe_rate_limit_conforms(
    limited_connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The deliberate 429 against a server that keeps the rule is a pass, not a finding.
    options = [
        *WRITES,
        "--phases",
        "none",
        "--probe-rate-limit",
        "--rate-limit",
        f"{SCALED_RATE[0]}/{SCALED_RATE[1]:g}",
    ]
    code = connector_main(_argv("connector", limited_connector_mock, tmp_path, options))
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "ok   rate_limit" in out


def test_probe_rate_limit_that_draws_no_429_fails(
    connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Asked for and not done is not a pass: a server without a limit (or a limit far above the one
    # given) gets no 429, and the run must say it could not check what QA asked for.
    options = ["--phases", "none", "--probe-rate-limit", "--rate-limit", "5/0.2"]
    code = connector_main(_argv("connector", connector_mock, tmp_path, options))
    out = capsys.readouterr().out
    assert code == 1, out[-3000:]
    assert "FAIL rate_limit" in out
    assert "[rate_limit]" in out


WRITES_LINE = re.compile(r"writes: created (\d+), deleted (\d+), left (\d+) \((.*)\)")


@pytest.mark.parametrize("budget", [0, 5, 50])
def test_the_write_budget_holds_across_phases(
    connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], budget: int
) -> None:
    # A shared demo environment keeps every record a run created (deletion there is soft): a writing
    # run creates at most --max-writes, says what it could not do with that, and still conforms.
    options = [
        *WRITES,
        "--max-writes",
        str(budget),
        "--rate-limit",
        "off",
        "--phases",
        "examples,fuzzing,stateful",
    ]
    code = connector_main(_argv("connector", connector_mock, tmp_path, options))
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    found = WRITES_LINE.search(out)
    assert found is not None, out[-3000:]
    created, deleted, left = (int(n) for n in found.groups()[:3])
    assert created <= budget
    assert (deleted, left) == (created, 0)
    assert found.group(4) == f"at most {budget}"
    if budget < 50:
        assert "needs a larger --max-writes" in out


def test_a_writing_reverse_run_fuzzes_no_enrolment_a_provider_would_accept(reverse_mock, tmp_path):
    # Enrolment creates a member nobody can delete; with --allow-writes and the default --max-writes
    # the member checks spend the whole budget (three test members), and fuzzing then sends enrolment
    # only cases a provider must refuse (a larger budget: test_reverse_defects).
    results = run_reverse(
        reverse_mock, tmp_path, phases=("examples", "coverage", "fuzzing", "stateful"), allow_writes=True
    )
    assert results.conforms, results.failures
    entries = [
        entry
        for har in tmp_path.glob("reverse/schemathesis/**/requests.har")
        for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    ]
    assert entries  # the fuzzing did run and was recorded
    enrolments = [
        e for e in entries if e["request"]["url"].endswith("/members") and e["request"]["method"] == "POST"
    ]
    assert enrolments  # enrolment was fuzzed...
    assert all(e["response"]["status"] >= 400 for e in enrolments)  # ...and nothing was enrolled by it
