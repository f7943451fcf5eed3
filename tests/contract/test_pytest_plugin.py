"""The suite under pytest (``pytest contract_tests``): the CLI's verdict, one test per check and operation.

Each run is a real ``pytest contract_tests`` process (the plugin as an installed package registers it)
against the Connector mock, or the mock behind a mutant, on loopback; the CLI runs in process against
the same server with the same settings, so the two verdicts are compared, not copied.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.contract import pytest_plugin
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


def test_a_mutant_fails_the_test_of_its_check_and_operation(connector_mock: str, tmp_path: Path) -> None:
    mutant = next(m for m in connector_mutants() if m.name == "drop_request_id")
    junit = tmp_path / "junit.xml"
    with serve_in_thread(MutatingProxy(connector_mock, mutant)) as url:
        run = _pytest("--api", "connector", *_connector_args(url, tmp_path / "py"), "--junitxml", str(junit))
        cli = _cli(url, tmp_path / "cli")
        # -k chooses what is reported and decides the exit status: the mutant breaks no pagination rule.
        chosen = _pytest("--api", "connector", *_connector_args(url, tmp_path / "k"), "-k", "pagination")
    assert run.returncode == cli == 1, run.stdout[-3000:]
    assert _cases(junit)["test_contract[request_id_header-loyaltyMemberships_getAll]"] == "failure"
    assert "FAILED contract_tests/test_contract.py::test_contract[request_id_header-" in run.stdout
    assert chosen.returncode == 0, chosen.stdout[-3000:]
    assert "request_id_header" not in chosen.stdout.split("= mews-loyalty contract =")[0]
    assert "the run performed every check" in chosen.stdout


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
