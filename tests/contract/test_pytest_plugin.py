"""The suite under pytest (``pytest contract_tests``): the CLI's verdict, one test per check and operation.

Each run is a real ``pytest contract_tests`` process (the plugin as an installed package registers it)
against the Connector mock, or the mock behind a mutant, on loopback; the CLI runs in process against
the same server with the same settings, so the two verdicts are compared, not copied.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import catalog
from mews_loyalty.contract import ConnectorOptions, Results, Selection, exit_status, pytest_plugin, verify
from mews_loyalty.contract.cli import connector_main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._mutants import connector_mutants
from tests.contract._proxy import MutatingProxy

ROOT = Path(__file__).resolve().parents[2]
# Fast settings: the scenario checks only (they check every answer's Request-Id too).
FAST = ["--phases", "none"]
BOUND = 240  # seconds a whole pytest run may take before the test fails


def _connector_args(base_url: str, report_dir: Path) -> list[str]:
    return [
        "--base-url",
        base_url,
        "--client-token",
        DEMO_CLIENT_TOKEN,
        "--access-token",
        DEMO_ACCESS_TOKEN,
        *FAST,
        "--report-dir",
        str(report_dir),
    ]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BOUND, check=False)


def _cli(base_url: str, report_dir: Path) -> int:
    return connector_main([*_connector_args(base_url, report_dir), "--quiet"])


def _cases(junit: Path) -> dict[str, str]:
    """Test name -> outcome (passed, failure, error, skipped) in pytest's own JUnit file."""
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        found = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        outcomes[case.get("name", "")] = found[0] if found else "passed"
    return outcomes


def test_pytest_gives_the_cli_verdict_on_the_mock(connector_mock: str, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = _pytest(
        "--api", "connector", *_connector_args(connector_mock, tmp_path / "py"), "--junitxml", str(junit)
    )
    assert run.returncode == _cli(connector_mock, tmp_path / "cli") == 0, run.stdout[-3000:]
    outcomes = _cases(junit)
    assert outcomes["test_contract[run-ended by itself]"] == "passed"
    assert outcomes["test_contract[pagination-loyaltyMemberships_getAll]"] == "passed"
    assert "failure" not in outcomes.values()
    assert "CONFORMS" in run.stdout
    assert DEMO_ACCESS_TOKEN not in run.stdout + run.stderr


def _report(report_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """A pytest run's results.json, and the URL of each request its HAR recorded, in order."""
    folder = report_dir / "connector"
    har = json.loads((folder / "requests.har").read_text(encoding="utf-8"))
    urls = [entry["request"]["url"] for entry in har["log"]["entries"]]
    return json.loads((folder / "results.json").read_text(encoding="utf-8")), urls


def test_a_mutant_fails_the_test_of_its_check_and_operation(connector_mock: str, tmp_path: Path) -> None:
    mutant = next(m for m in connector_mutants() if m.name == "drop_request_id")
    junit = tmp_path / "junit.xml"
    with serve_in_thread(MutatingProxy(connector_mock, mutant)) as url:
        run = _pytest("--api", "connector", *_connector_args(url, tmp_path / "py"), "--junitxml", str(junit))
        cli = _cli(url, tmp_path / "cli")
        # -k chooses what the run performs: the mutant breaks no pagination rule.
        chosen = _pytest("--api", "connector", *_connector_args(url, tmp_path / "k"), "-k", "pagination")
        # -x stops the run itself at its first failing check (the preflight's answer lacks Request-Id).
        first = _pytest("--api", "connector", *_connector_args(url, tmp_path / "x"), "-x")
    assert run.returncode == cli == 1, run.stdout[-3000:]
    assert _cases(junit)["test_contract[request_id_header-loyaltyMemberships_getAll]"] == "failure"
    assert "FAILED contract_tests/test_contract.py::test_contract[request_id_header-" in run.stdout
    assert chosen.returncode == 0, chosen.stdout[-3000:]
    assert "request_id_header" not in chosen.stdout.split("= mews-loyalty contract =")[0]
    assert "selection: the run performed the checks of " in chosen.stdout
    assert first.returncode == 1, first.stdout[-3000:]
    assert "stopped at the first failing check (-x/--maxfail 1)" in first.stdout
    whole, _ = _report(tmp_path / "py")
    stopped, urls = _report(tmp_path / "x")
    assert stopped["stopped"] is not None
    assert whole["stopped"] is None
    assert len(urls) == stopped["requests"] < whole["requests"] / 10, (stopped["requests"], whole["requests"])
    assert stopped["verdict"] == "DOES NOT CONFORM"


def test_k_chooses_the_checks_the_run_performs(connector_mock: str, tmp_path: Path) -> None:
    # One check on one operation: the run sends the preflight (a program listing) and that check's
    # requests: the tiers' pages, and the program listing their required LoyaltyProgramIds filter takes.
    chosen = ("pagination", "loyaltyTiers_getAll")
    run = _pytest(
        "--api", "connector", *_connector_args(connector_mock, tmp_path), "-k", " and ".join(chosen)
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 passed" in run.stdout
    results, urls = _report(tmp_path)
    assert results["selected"] == [list(chosen)]
    paths = [url.removeprefix(connector_mock) for url in urls]
    assert len(paths) == results["requests"]
    tiers, programs = (catalog("connector").by_id[op].path for op in (chosen[1], "loyaltyPrograms_getAll"))
    assert set(paths) == {tiers, programs}
    assert paths.count(tiers) > paths.count(programs) == 2
    assert results["checks"]["pagination"].keys() == {chosen[1]}
    assert {"interval_limit", "fuzzing"} <= {n["check"] for n in results["not_run"]}


def test_contract_tests_without_api_or_with_a_bad_option_exit_2_in_one_line() -> None:
    missing = _pytest("-q")
    assert missing.returncode == 2
    assert "give --api connector|reverse" in missing.stdout + missing.stderr
    bad = _pytest("--api", "connector", "--base-url", "ftp://x", "--client-token", DEMO_CLIENT_TOKEN, "-q")
    assert bad.returncode == 2
    assert "not an http(s) URL" in bad.stdout + bad.stderr


@pytest.mark.parametrize(
    ("options", "worker"),
    [({"numprocesses": 2}, False), ({"numprocesses": None}, True), ({"numprocesses": None}, False)],
)
def test_pytest_xdist_is_refused(options: dict[str, object], worker: bool) -> None:
    # The refusal is tested on the config it reads (a real `-n 2` run would start two workers to say it).
    config = SimpleNamespace(getoption=lambda name, default=None: options.get(name, default))
    if worker:
        config.workerinput = {}
    refused = pytest_plugin.refusal(config)  # type: ignore[arg-type]
    if options["numprocesses"] or worker:
        assert refused is not None
        assert "pytest-xdist is refused (one token, one pacing window)" in refused
        assert "\n" not in refused
    else:
        assert refused is None


def test_a_base_url_flag_of_another_plugin_is_left_to_it() -> None:
    # pytest-base-url (pytest-playwright, pytest-selenium) owns --base-url: both plugins must load.
    from _pytest.config.argparsing import Parser

    parser = Parser(_ispytest=True)
    parser.getgroup("base-url").addoption("--base-url", dest="base_url", help="another plugin's")
    pytest_plugin.pytest_addoption(parser)
    parsed = parser.parse(["--api", "connector", "--base-url", "http://127.0.0.1:1", "--token", "t"])
    assert (parsed.contract_api, parsed.base_url, parsed.contract_tokens) == (
        "connector",
        "http://127.0.0.1:1",
        ["t"],
    )
    config = SimpleNamespace(getoption=lambda name, default=None: getattr(parsed, name, default))
    assert pytest_plugin._option(config, "contract_base_url") == "http://127.0.0.1:1"  # type: ignore[arg-type]


def test_the_failure_limit_stops_schemathesis_too(connector_mock: str, tmp_path: Path) -> None:
    # The public API the plugin drives: one schemathesis check selected on the reading operations, and
    # a server that accepts invalid input. With a failure limit of 1 the run stops after the first
    # operation whose cases fail, and the phases it did not finish are reported.
    mutant = next(m for m in connector_mutants() if m.name == "ok_for_invalid_input")
    reads = [op.operation_id for op in catalog("connector").operations if op.effect == "read"]
    selection = Selection(frozenset(("negative_data_rejection", op) for op in reads))

    def run(name: str, max_failures: int | None) -> Results:
        options = ConnectorOptions(
            base_url=url,
            client_token=DEMO_CLIENT_TOKEN,
            access_token=DEMO_ACCESS_TOKEN,
            phases=("fuzzing",),
            max_examples=10,
            report_dir=tmp_path / name,
            rate_limit=None,
            quiet=True,
            selection=selection,
            max_failures=max_failures,
        )
        return verify(options, io.StringIO())

    with serve_in_thread(MutatingProxy(connector_mock, mutant)) as url:
        whole, stopped = run("whole", None), run("stopped", 1)
    assert set(whole.failing_checks()) == {"negative_data_rejection"}
    assert {op for check, op in whole.tallies if check == "negative_data_rejection"} == set(reads)
    assert whole.stopped is None
    assert stopped.stopped is not None
    assert stopped.stopped.startswith("negative_data_rejection on ")
    assert stopped.requests < whole.requests
    assert {f.operation for f in stopped.failures} < {f.operation for f in whole.failures}
    assert exit_status(stopped) == 1
    assert any(note.startswith("stopped at its failure limit") for note in stopped.notes)


def _one_finding(check: str, **results: Any) -> Results:
    found = Results("reverse", "http://127.0.0.1:1", **results)
    found.failed(check, "searchMembers", "an answer took 3.2 s, over the budget of 2 s")
    return found


def test_a_check_with_warnings_only_passes_with_a_warning_and_does_not_stop_the_run() -> None:
    # Advice (and causes a baseline accepts) are warnings in the CLI's verdict; under pytest they
    # must not fail the check's test, nor count towards -x.
    advice = _one_finding("latency_budget", stop_after=1)
    with pytest.warns(pytest_plugin.ContractWarning, match="warnings only"):
        pytest_plugin._check_verdict(advice, "latency_budget", "searchMembers")
    assert advice.stopped is None
    accepted_cause = _one_finding("member_search").failures[0].cause
    accepted = _one_finding("member_search", accepted={accepted_cause: "known"}, stop_after=1)
    with pytest.warns(pytest_plugin.ContractWarning):
        pytest_plugin._check_verdict(accepted, "member_search", "searchMembers")
    assert accepted.stopped is None


def test_a_check_with_an_error_fails_its_test_and_stops_the_run_at_the_limit() -> None:
    error = _one_finding("member_search", stop_after=1)
    with pytest.raises(pytest.fail.Exception, match="member_search on searchMembers: failed 1"):
        pytest_plugin._check_verdict(error, "member_search", "searchMembers")
    assert error.stopped == "member_search on searchMembers"
