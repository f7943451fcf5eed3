"""Server answers are untrusted input: whatever comes back, the suite gives a verdict, never a traceback.

Each case is the real mock behind a proxy that corrupts its answers in one way (``_corruptions``).
QA points the suite at servers nobody here wrote; a broken one is exactly what it must describe, as
findings that name the check, the operation and a masked curl line, within bounded time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_process, serve_in_thread
from mews_loyalty._spec.catalog import ApiName
from mews_loyalty.contract._exchange.api_client import MAX_SILENT_IN_A_ROW
from mews_loyalty.contract.cli import connector_main, reverse_main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._corruptions import CLIENT_TIMEOUT, CORRUPTIONS, IDENTITY, Corruption
from tests.contract._proxy import MutatingProxy
from tests.contract._reports import assert_reports_parse
from tests.contract.conftest import REVERSE_TOKENS, SEED, SEED_MEMBERSHIP_IDS

TOKENS = [DEMO_CLIENT_TOKEN, DEMO_ACCESS_TOKEN, *REVERSE_TOKENS]
CASES = [(api, c) for c in CORRUPTIONS for api in c.apis]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    # Own servers: a corrupted run may leave records or links behind, which must not reach other tests.
    environment = {"MEWS_PROVIDER_TOKENS": ",".join(REVERSE_TOKENS)}
    with (
        serve_in_process(["mock", "connector", "--seed-data", "--rate-limit", "off"]) as connector,
        serve_in_process(["mock", "reverse", "--seed-data"], env=environment) as reverse,
    ):
        yield {"connector": connector, "reverse": reverse}


def _argv(api: ApiName, url: str, report_dir: Path, phases: str, max_examples: int) -> list[str]:
    argv = ["--base-url", url, "--report-dir", str(report_dir), "--phases", phases, "--allow-writes"]
    argv += ["--seed", str(SEED), "--max-examples", str(max_examples), "--rate-limit", "off"]
    argv += ["--timeout", str(CLIENT_TIMEOUT)]
    if api == "connector":
        return [*argv, "--client-token", DEMO_CLIENT_TOKEN, "--access-token", DEMO_ACCESS_TOKEN]
    argv += [arg for token in REVERSE_TOKENS for arg in ("--token", token)]
    return argv + [arg for mid in SEED_MEMBERSHIP_IDS for arg in ("--membership-id", mid)]


def verify(
    upstreams: dict[str, str],
    api: ApiName,
    corruption: Corruption,
    report_dir: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    phases: str = "none",
    max_examples: int = 3,
) -> tuple[int, str, dict[str, object]]:
    main = connector_main if api == "connector" else reverse_main
    with serve_in_thread(MutatingProxy(upstreams[api], corruption.mutation(api))) as url:
        code = main(_argv(api, url, report_dir, phases, max_examples))
    captured = capsys.readouterr()
    output = captured.out + captured.err
    data = json.loads((report_dir / api / "results.json").read_text())
    return code, output, data


def assert_described(code: int, output: str, data: dict[str, object], report_dir: Path) -> None:
    assert "Traceback" not in output, output[-3000:]
    assert "internal error" not in output, output[-3000:]
    assert code == 1, output[-3000:]
    assert "DOES NOT CONFORM" in output
    failures = data["failures"]
    assert isinstance(failures, list)
    assert failures
    assert all(f["check"] and f["operation"] for f in failures)
    assert any(f["curl"].startswith("curl ") for f in failures), "no finding carries a curl line"
    assert_reports_parse(report_dir / str(data["api"]))  # whatever the corrupted answers held
    reports = b"".join(p.read_bytes() for p in report_dir.rglob("*") if p.is_file())
    assert not any(token.encode() in reports or token in output for token in TOKENS)


@pytest.mark.parametrize(("api", "corruption"), CASES, ids=[f"{api}-{c.name}" for api, c in CASES])
def test_scenario_checks_describe_a_corrupted_answer(
    upstreams: dict[str, str],
    api: ApiName,
    corruption: Corruption,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every scenario check meets the corrupted answers (writes allowed, so create/update/delete too).
    code, output, data = verify(upstreams, api, corruption, tmp_path, capsys)
    assert_described(code, output, data, tmp_path)


@pytest.mark.parametrize("api", ["connector", "reverse"])
def test_the_unmodified_proxy_conforms(
    upstreams: dict[str, str], api: ApiName, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same harness without a corruption must pass, or every verdict above is noise.
    code, output, data = verify(upstreams, api, IDENTITY, tmp_path, capsys, phases="examples,fuzzing")
    assert code == 0, output[-3000:]
    assert "RESULT" in output
    assert "CONFORMS" in output
    assert "DOES NOT" not in output
    assert data["failures"] == []
    assert data["faults"] == []


FUZZED = [  # (api, corruption, the operations it corrupts, a check that must name it)
    ("connector", "gateway_502_html", ("get_all",), "status_code_conformance"),
    ("connector", "connection_dropped", ("update",), "answers"),
    ("connector", "ids_as_numbers", (), "response_schema_conformance"),
    ("reverse", "array_instead_of_object", (), "response_schema_conformance"),
    ("reverse", "gateway_502_html", ("update_membership_link",), "not_a_server_error"),
]


@pytest.mark.parametrize(
    ("api", "name", "actions", "check"), FUZZED, ids=[f"{a}-{n}" for a, n, _, _ in FUZZED]
)
def test_fuzzing_describes_a_corrupted_answer(
    upstreams: dict[str, str],
    api: ApiName,
    name: str,
    actions: tuple[str, ...],
    check: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Schemathesis' own checks and ours on generated cases meet the corruption too.
    corruption = next(c for c in CORRUPTIONS if c.name == name)
    if actions:
        corruption = Corruption(f"{name}-on-{'-'.join(actions)}", corruption.corrupt, actions)
    code, output, data = verify(upstreams, api, corruption, tmp_path, capsys, phases="examples,fuzzing")
    assert_described(code, output, data, tmp_path)
    assert data["schemathesis_cases"], "fuzzing did not run"
    assert check in {f["check"] for f in data["failures"]}  # type: ignore[attr-defined]


def test_dependents_of_a_failed_step_are_reported_not_run(
    upstreams: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An add whose items lack Id (the crash of issue 9) is a finding; what needed the record says so.
    corruption = next(c for c in CORRUPTIONS if c.name == "add_without_ids")
    code, output, data = verify(upstreams, "connector", corruption, tmp_path, capsys)
    assert_described(code, output, data, tmp_path)
    assert any(f["check"] == "create_then_read" and "Id" in f["message"] for f in data["failures"])  # type: ignore[attr-defined]
    assert "not run: newest_first: needs a loyalty_programs record" in output


def test_a_server_that_stops_answering_ends_the_run_quickly(
    upstreams: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every request timing out must not cost a timeout per planned request: the run gives up early.
    corruption = next(c for c in CORRUPTIONS if c.name == "timeout")
    code, output, data = verify(upstreams, "connector", corruption, tmp_path, capsys, phases="fuzzing")
    assert_described(code, output, data, tmp_path)
    assert data["requests"] <= MAX_SILENT_IN_A_ROW + 1
    deadlines = [f for f in data["failures"] if f["check"] == "response_deadline"]  # type: ignore[attr-defined]
    assert deadlines
    assert all(f["message"].startswith("no answer: DeadlinePassed") for f in deadlines)
    assert any("the server is taken for gone" in f["message"] for f in data["failures"])  # type: ignore[attr-defined]
    assert "not run: fuzzing: needs a server that answers" in output
