"""Whole runs: the command QA types, its exit codes, its reports, and its manners on live servers."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._cli import main as mews_loyalty_main
from mews_loyalty.contract._run.verification import (
    ConnectorOptions,
    ReverseOptions,
    UsageError,
    verify_connector,
    verify_reverse,
)
from mews_loyalty.contract._scenarios import connector as _scenarios
from mews_loyalty.contract._scenarios import links as _resources
from mews_loyalty.contract._scenarios.reverse import link_operation
from mews_loyalty.contract.cli import connector_main, reverse_main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from tests.contract._proxy import Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import REVERSE_TOKENS, SEED, run_connector
from tests.runtime.fakes import FakeTime

SCHEMATHESIS_REPORTS = ("junit.xml", "requests.har", "html/index.html")
RECORDINGS_ON_REQUEST = {"vcr": "cassette.yaml", "ndjson": "events.ndjson"}


def _files_containing(directory: Path, needles: list[str]) -> list[Path]:
    return [
        p for p in directory.rglob("*") if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)
    ]


def test_python_m_mews_loyalty_contract_verifies_both_mocks(tmp_path: Path) -> None:
    # The command behind `nox -s contract`: both mocks as real servers, every phase, every
    # report, and no token anywhere in what it prints or writes (the subprocess timeout only bounds a hang).
    done = subprocess.run(
        [sys.executable, "-m", "mews_loyalty.contract"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reports = tmp_path / "reports" / "contract"
    for api in ("connector", "reverse"):
        folder = reports / api
        for name in ("summary.txt", "junit.xml", "failures.txt", "results.json"):
            assert (folder / name).is_file(), f"{api}/{name}"
        for name in SCHEMATHESIS_REPORTS:
            assert (folder / "schemathesis" / name).is_file(), f"{api}/schemathesis/{name}"
            assert (folder / "schemathesis" / "stateful" / name).is_file(), (
                f"{api}/schemathesis/stateful/{name}"
            )
        for name in RECORDINGS_ON_REQUEST.values():
            assert not list(folder.rglob(name)), f"{api}: {name} is written only with --recordings"
        data = json.loads((folder / "results.json").read_text())
        assert data["failures"] == []
        assert data["errors"] == []
        assert data["leftovers"] == []
        assert data["schemathesis_cases"] > 0
    connector = json.loads((reports / "connector" / "results.json").read_text())
    assert "rate_limit" in connector["checks"], "the 429 is provoked against our own mock"
    assert all(f["curl"].startswith("curl ") for f in connector["failures"])
    demo_tokens = [DEMO_CLIENT_TOKEN, DEMO_ACCESS_TOKEN]
    assert not _files_containing(reports, demo_tokens)
    assert not any(token in done.stdout + done.stderr for token in demo_tokens)
    assert len(done.stdout.splitlines()) < 2 * 60, "two one-screen summaries"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"], "nothing written beside the reports"


def test_every_recording_asked_for_is_written_and_masked(connector_mock: str, tmp_path: Path) -> None:
    # --recordings har,vcr,ndjson: each of schemathesis' recordings, in both passes, without a token;
    # 'none' leaves JUnit and the HTML report alone. The cheapest phase of each pass is enough: the
    # recordings are written per pass, whatever its phases sent.
    base = [
        "--base-url",
        connector_mock,
        "--client-token",
        DEMO_CLIENT_TOKEN,
        "--access-token",
        DEMO_ACCESS_TOKEN,
    ]
    base += ["--allow-writes", "--rate-limit", "off", "--max-examples", "3", "--quiet"]
    asked = ["--report-dir", str(tmp_path / "all"), "--recordings", "vcr,har,ndjson"]
    assert connector_main([*base, *asked, "--phases", "examples,stateful"]) == 0
    refused = ["--report-dir", str(tmp_path / "none"), "--recordings", "none"]
    assert connector_main([*base, *refused, "--phases", "examples"]) == 0
    every = tmp_path / "all" / "connector" / "schemathesis"
    for name in ("requests.har", *RECORDINGS_ON_REQUEST.values()):
        for folder in (every, every / "stateful"):
            assert (folder / name).stat().st_size > 0, f"{folder}/{name}"
    bare = tmp_path / "none" / "connector" / "schemathesis"
    assert sorted(p.name for p in bare.iterdir() if p.is_file()) == ["junit.xml", "openapi.json"]
    assert (bare / "html" / "index.html").is_file()
    assert not _files_containing(tmp_path, [DEMO_CLIENT_TOKEN, DEMO_ACCESS_TOKEN])


def test_an_unknown_recording_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--base-url", "http://127.0.0.1:9", "--token", REVERSE_TOKENS[0], "--recordings", "har,pcap"]
    assert reverse_main(argv) == 2
    assert "unknown recordings ['pcap']; choose from har,vcr,ndjson" in capsys.readouterr().err


def test_read_only_run_sends_no_writes(connector_mock: str, tmp_path: Path) -> None:
    # Read-only is the default against live servers: not one add, update or delete may leave the suite.
    seen: list[tuple[str, str | None]] = []

    def record(flow: Flow, op: object) -> Flow:
        seen.append((flow.method, getattr(op, "action", None)))
        return flow

    spy = Mutation("spy", "connector", frozenset(), on_request=record)
    with serve_in_thread(MutatingProxy(connector_mock, spy)) as url:
        options = ConnectorOptions(
            base_url=url,
            client_token=DEMO_CLIENT_TOKEN,
            access_token=DEMO_ACCESS_TOKEN,
            max_examples=3,
            report_dir=tmp_path,
            seed=SEED,
            phases=("fuzzing", "coverage"),
            rate_limit=None,
        )
        results = verify_connector(options, out=io.StringIO())
    assert ("POST", "get_all") in seen
    # Operations are only ever read; other requests are schemathesis' GET probe of an unknown path.
    assert {action for _, action in seen} <= {"get_all", None}
    assert {method for method, action in seen if action is None} <= {"GET"}
    assert {n.check for n in results.not_run} >= {"update_semantics", "soft_delete", "rate_limit"}


def test_pacing_keeps_a_rate_limited_server_happy(tmp_path: Path, virtual_time: FakeTime) -> None:
    # Never exceed the server's limit: against a mock enforcing 40 requests per second, a paced run
    # (scenarios and fuzzing) must not see a single 429. Mock and pacer share one injected clock, so
    # the outcome does not depend on how fast the machine is (latency jitter is test_units' part).
    statuses: list[int] = []
    time = virtual_time

    def record(flow: Flow, op: object, answer: Answer) -> Answer:
        statuses.append(answer.status)
        return answer

    spy = Mutation("spy", "connector", frozenset(), on_response=record)
    mock = create_app(ConnectorMockConfig(rate_limit=(40, 1.0), seed_data=True, clock=time.clock))
    with serve_in_thread(mock) as upstream, serve_in_thread(MutatingProxy(upstream, spy)) as url:
        results = run_connector(url, tmp_path, max_examples=2, rate=(40, 1.0))
    assert len(statuses) > 100
    assert 429 not in statuses
    assert time.now - 1000.0 >= (len(statuses) - 40) / 40, "the run waited for the window as it must"
    assert results.errors == []


def test_cleanup_runs_even_when_a_check_crashes(
    connector_mock: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever goes wrong mid-run, records the run created on a live server must be deleted again
    # (a Ctrl-C where the run has no handlers of its own, from a thread, ends it as INTERRUPTED too).
    created: list[str] = []
    original = _scenarios.ConnectorScenarios.create

    def create_then_remember(
        self: _scenarios.ConnectorScenarios, resource: _resources.LinkedResource, overrides=None
    ):
        record = original(self, resource, overrides)
        created.append(record["Id"])
        return record

    def crash(self: _scenarios.ConnectorScenarios) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_scenarios.ConnectorScenarios, "create", create_then_remember)
    monkeypatch.setattr(_scenarios.ConnectorScenarios, "check_soft_delete", crash)
    results = run_connector(connector_mock, tmp_path, phases=())
    assert results.verdict == "INTERRUPTED"
    summary = (tmp_path / "connector" / "summary.txt").read_text()
    assert "note: interrupted by SIGINT during scenarios" in summary
    assert f"RESULT: connector at {connector_mock} INTERRUPTED\n" in summary
    assert created
    body = {
        "ClientToken": DEMO_CLIENT_TOKEN,
        "AccessToken": DEMO_ACCESS_TOKEN,
        "Client": "test",
        "LoyaltyProgramIds": created,
        "Limitation": {"Count": 1000},
    }
    still = httpx.post(f"{connector_mock}/api/connector/v1/loyaltyPrograms/getAll", json=body).json()
    assert still["LoyaltyPrograms"] == []


def test_leftovers_are_reported(connector_mock: str, tmp_path: Path) -> None:
    # When deleting does not work, the run must say exactly what it left behind.
    def no_delete(flow: Flow, op: object) -> Flow | Answer:
        if getattr(op, "action", None) == "delete":
            return Answer(200, {"content-type": "application/json", "Request-Id": "r-1"}, b"{}")
        return flow

    with serve_in_thread(
        MutatingProxy(connector_mock, Mutation("no_delete", "connector", frozenset(), on_request=no_delete))
    ) as url:
        results = run_connector(url, tmp_path, phases=())
    assert results.leftovers
    assert "NOT CLEANED UP" in (tmp_path / "connector" / "summary.txt").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--base-url"),
        (
            [
                "--base-url",
                "ftp://example.com",
                "--client-token",
                DEMO_CLIENT_TOKEN,
                "--access-token",
                DEMO_ACCESS_TOKEN,
            ],
            "http",
        ),
        (["--base-url", "http://127.0.0.1:9", "--access-token", DEMO_ACCESS_TOKEN], "--client-token"),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--client-token",
                "short",
                "--access-token",
                DEMO_ACCESS_TOKEN,
            ],
            "too short",
        ),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--phases",
                "warp",
                "--client-token",
                DEMO_CLIENT_TOKEN,
                "--access-token",
                DEMO_ACCESS_TOKEN,
            ],
            "unknown phases",
        ),
    ],
)
def test_connector_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # QA scripts tell "server broken" (1) from "command wrong" (2) by the exit status alone.
    monkeypatch.delenv("MEWS_CLIENT_TOKEN", raising=False)
    monkeypatch.delenv("MEWS_ACCESS_TOKEN", raising=False)
    assert connector_main(argv) == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_server_or_rejected_tokens_could_not_run(
    connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A typo in the URL or the tokens is not a contract violation: exit 2, one line (which must not
    # echo a token), and reports for CI all the same.
    tokens = ["--client-token", DEMO_CLIENT_TOKEN, "--access-token", DEMO_ACCESS_TOKEN]
    down = ["--base-url", "http://127.0.0.1:9", "--report-dir", str(tmp_path / "down"), *tokens]
    assert connector_main(down) == 2
    wrong = "0123456789abcdef0123456789abcdef-0123456789abcdef0123456789abcde"
    refused = ["--base-url", connector_mock, "--report-dir", str(tmp_path / "refused")]
    assert connector_main([*refused, "--client-token", wrong, "--access-token", DEMO_ACCESS_TOKEN]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2, out
    assert "COULD NOT RUN: cannot reach http://127.0.0.1:9" in out[0]
    assert "COULD NOT RUN: the server refused the tokens" in out[1]
    assert wrong not in out[1]
    for folder in ("down", "refused"):
        assert json.loads((tmp_path / folder / "connector" / "results.json").read_text())["could_not_run"]


def test_mews_loyalty_contract_reverse_dispatches_and_conforms(
    reverse_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `mews-loyalty contract reverse` is the entry point QA documents; a conforming provider exits 0.
    argv = [
        "contract",
        "reverse",
        "--base-url",
        reverse_mock,
        "--phases",
        "none",
        "--report-dir",
        str(tmp_path),
    ]
    argv += [arg for token in REVERSE_TOKENS for arg in ("--token", token)]
    assert mews_loyalty_main(argv) == 0
    out = capsys.readouterr().out
    assert "CONFORMS" in out
    assert not any(token in out for token in REVERSE_TOKENS)
    assert not _files_containing(tmp_path, REVERSE_TOKENS)


def test_reverse_without_tokens_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a token nothing can be verified; say so instead of failing every check.
    monkeypatch.delenv("MEWS_REVERSE_TOKENS", raising=False)
    assert reverse_main(["--base-url", "http://127.0.0.1:9"]) == 2
    with pytest.raises(UsageError):
        verify_reverse(ReverseOptions(base_url="http://127.0.0.1:9"), out=io.StringIO())


def _link_requests(reverse_mock: str, tmp_path: Path, *, allow_writes: bool) -> list[tuple[dict, bool]]:
    """Every link request the provider received (body) and whether it answered that it acted."""
    seen: list[tuple[dict, bool]] = []

    def record(flow: Flow, op: object, answer: Answer) -> Answer:
        body, outcome = flow.json(), answer.json()
        if op is link_operation() and flow.method == "PUT" and isinstance(body, dict):
            acted = answer.status == 200 and isinstance(outcome, dict) and outcome.get("success") is True
            seen.append((body, acted))
        return answer

    spy = Mutation("spy", "reverse", frozenset(), on_response=record)
    with serve_in_thread(MutatingProxy(reverse_mock, spy)) as url:
        options = ReverseOptions(
            base_url=url,
            tokens=REVERSE_TOKENS,
            membership_ids=NAMED,
            customer_id=CUSTOMER,
            allow_writes=allow_writes,
            max_examples=3,
            report_dir=tmp_path,
            seed=SEED,
        )
        results = verify_reverse(options, out=io.StringIO())
    assert results.conforms, [f"[{f.check}] {f.operation}: {f.message}" for f in results.failures]
    return seen


CUSTOMER = "6f1c3a52-4d0e-4b8e-9a8e-0c2f6d1b7a10"
NAMED = ["M-1002", "M-1004"]


def test_reverse_is_read_only_by_default(reverse_mock: str, tmp_path: Path) -> None:
    # A provider's staging data is not ours: without --allow-writes not one link request is sent.
    assert _link_requests(reverse_mock, tmp_path, allow_writes=False) == []


def test_reverse_writes_touch_only_what_the_user_named(reverse_mock: str, tmp_path: Path) -> None:
    # With writes allowed, every link request that names a membership the provider could know names
    # one the user gave, for the customer the user gave; each pair linked is unlinked by the end.
    seen = _link_requests(reverse_mock, tmp_path, allow_writes=True)
    acted = [body for body, did in seen if did]
    assert acted, "the provider never acted on a link request: nothing was checked"
    for body, _ in seen:
        membership, customer = body.get("providerMembershipId"), body.get("mewsCustomerId")
        if isinstance(membership, str) and len(membership) <= 50:
            assert membership in NAMED or membership.startswith("ct-unknown-"), body
        if isinstance(customer, str) and len(customer) == 36:
            assert customer == CUSTOMER, body
    last = {body["providerMembershipId"]: body["isLinked"] for body in acted}
    assert not any(last.values()), f"left linked: {last}"


@pytest.mark.parametrize("debug", [False, True])
def test_a_fault_of_the_suite_is_one_line_exit_2_and_reports_are_written(
    connector_mock: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug: bool,
) -> None:
    # A bug of ours is not a verdict on the server: exit 2, one clear line (the traceback only with
    # --debug), the other checks still run, and the reports say what happened.
    def broken(self: _scenarios.ConnectorScenarios) -> None:
        raise ZeroDivisionError("a bug in a check")

    monkeypatch.setattr(_scenarios.ConnectorScenarios, "check_interval_limit", broken)
    argv = ["--base-url", connector_mock, "--client-token", DEMO_CLIENT_TOKEN]
    argv += ["--access-token", DEMO_ACCESS_TOKEN, "--phases", "none", "--report-dir", str(tmp_path)]
    assert connector_main([*argv, *(["--debug"] if debug else [])]) == 2
    captured = capsys.readouterr()
    assert "internal error (a bug in the suite, not in the server)" in captured.err
    assert "ZeroDivisionError: a bug in a check" in captured.err
    assert ("Traceback" in captured.err) is debug
    assert "NO VERDICT" in captured.out
    report = tmp_path / "connector"
    assert "SUITE FAULT" in (report / "summary.txt").read_text()
    assert "ZeroDivisionError" in (report / "junit.xml").read_text()
    data = json.loads((report / "results.json").read_text())
    assert data["faults"][0]["where"] == "interval_limit"
    assert "pagination" in data["checks"], "the checks after the faulty one did not run"
