"""Root causes, their stable ids, the baseline that accepts known ones and ``contract diff``.

The runs are real runs of the CLI against the embedded mock behind a mutating proxy (fast settings):
the same server behaviour must give the same cause ids whatever data a run sends, a baseline holding
every cause of one run must make the next one pass, and one more deviation must fail it and show up
in ``diff``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mews_loyalty import _cli
from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation
from mews_loyalty.contract._report.causes import (
    BaselineError,
    cause_id,
    causes,
    deviation_kind,
    parse_baseline,
)
from mews_loyalty.contract._report.junit import junit_xml
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.summary import summary
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._mutants import _drop_request_id, _undocumented_status
from tests.contract._proxy import Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import SEED


def test_the_kind_of_a_deviation_keeps_what_the_server_did_and_drops_the_data() -> None:
    # The same behaviour with other data is one kind; the status class, pointer and header stay.
    first = deviation_kind(
        "Response violates schema: 'x7Q' is not one of ['Active'] Schema at /properties/Items/3/State; "
        'got 409 {"RequestId": "4b48f582-9a4c-49f0-8ab0-8ea6f128bf83"} after 12 requests'
    )
    second = deviation_kind(
        'got 418 {"RequestId": "dc525496-ddb5-4c8c-a885-f55e26743e80", "More": [1]} after 3 requests; '
        "Response violates schema: 'Qz' is not one of ['Active'] Schema at /properties/Items/0/State"
    )
    assert first == second
    assert "/properties/Items/State" in first, "array indexes leave the JSON pointer"
    conflict = deviation_kind(
        'got 409 {"RequestId": "4b48f582-9a4c-49f0-8ab0-8ea6f128bf83"} after 12 requests'
    )
    assert conflict == "got 4xx {…} after N requests", "the status class, no data"
    assert deviation_kind("got 500 {}") != conflict
    assert deviation_kind('{"Points": 3} must set Points and keep the rest: 200 {"Points": ') == (
        "{…} must set <property> and keep the rest: 2xx {…}"
    ), "a body cut short goes too"
    header = "Custom check failed: `request_id_header`: the response has no Request-Id header"
    assert deviation_kind(header) == "the response has no Request-Id header"
    assert cause_id("request_id_header", deviation_kind(header)) == cause_id(
        "request_id_header", "the response has no Request-Id header"
    )
    assert cause_id("request_id_header", "x") != cause_id("pagination", "x")


def test_one_cause_spans_operations_and_errors_lead() -> None:
    results = Results("connector", "http://127.0.0.1:9")
    for operation, item in (("a_getAll", "T-1"), ("b_getAll", "T-2"), ("b_getAll", "T-3")):
        results.failed(
            "pagination", operation, f"page 2 repeats items of earlier pages: ['{item}']", "curl b"
        )
    results.failed("request_id_header", "a_add", "the response has no Request-Id header", "curl a")
    results.accepted = {
        cause_id(
            "pagination", deviation_kind("page 9 repeats items of earlier pages: ['x']")
        ): "provider quirk"
    }
    found = causes(results)
    assert [(c.check, c.severity, c.count) for c in found] == [
        ("request_id_header", "error", 1),
        ("pagination", "warning", 3),
    ]
    assert found[1].operations == {"b_getAll": 2, "a_getAll": 1}
    assert len(found[1].findings) == 3, "every finding stays reachable under its cause"
    assert not results.conforms
    screen = summary(results, [], None)
    assert screen.index("request_id_header") < screen.index("pagination")
    assert "(accepted: provider quirk)" in screen


def test_a_baseline_reads_ids_reasons_and_comments_and_refuses_anything_else() -> None:
    lines = ["# known deviations", "", "0123abcd Mews' spec flaw  # see issue 3", "89abcdef"]
    assert parse_baseline(lines) == {"0123abcd": "Mews' spec flaw", "89abcdef": "accepted"}
    with pytest.raises(BaselineError, match="baseline:1: not a cause id"):
        parse_baseline(["request_id_header missing"])


def _and_status(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    return _undocumented_status(flow, op, _drop_request_id(flow, op, answer))


NO_REQUEST_ID = Mutation("drop_request_id", "connector", frozenset(), on_response=_drop_request_id)
ONE_MORE = Mutation("drop_request_id_and_status", "connector", frozenset(), on_response=_and_status)


def _run(
    mock: str, mutation: Mutation, report_dir: Path, *options: str, seed: int = SEED
) -> tuple[int, dict[str, Any]]:
    """A real run of ``mews-loyalty contract connector`` against the mutant; its exit status and results."""
    with serve_in_thread(MutatingProxy(mock, mutation)) as url:
        code = _cli.main(
            [
                *("contract", "connector", "--base-url", url, "--report-dir", str(report_dir)),
                *("--client-token", DEMO_CLIENT_TOKEN, "--access-token", DEMO_ACCESS_TOKEN),
                *("--seed", str(seed), "--max-examples", "3", "--phases", "fuzzing", "--rate-limit", "off"),
                *("--quiet", "--allow-writes", *options),
            ]
        )
    return code, json.loads((report_dir / "connector" / "results.json").read_text(encoding="utf-8"))


def _ids(data: dict[str, Any]) -> set[str]:
    return {cause["id"] for cause in data["causes"]}


def test_a_baseline_of_every_cause_passes_the_next_run_and_a_new_deviation_fails_it(
    connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = _run(connector_mock, NO_REQUEST_ID, tmp_path / "first")
    assert code == 1
    assert first["causes"], "the mutant deviates"
    assert {"request_id_header"} <= {cause["check"] for cause in first["causes"]}
    missing = next(cause for cause in first["causes"] if cause["check"] == "request_id_header")
    assert missing["severity"] == "error"
    assert len(missing["operations"]) > 1, "a missing Request-Id is one cause across operations"
    assert missing["count"] == sum(missing["operations"].values())
    assert missing["curl"].startswith("curl ")
    counts = [(cause["severity"] == "warning", -cause["count"]) for cause in first["causes"]]
    assert counts == sorted(counts), "errors first, then the most cases"

    baseline = tmp_path / "baseline.txt"
    baseline.write_text(
        "# accepted after review\n" + "".join(f"{i} known: {i}\n" for i in sorted(_ids(first))),
        encoding="utf-8",
    )
    code, second = _run(
        connector_mock, NO_REQUEST_ID, tmp_path / "second", "--baseline", str(baseline), seed=SEED + 1
    )
    assert _ids(second) == _ids(first), "other data, the same server behaviour: the same ids"
    assert code == 0, second["verdict"]
    assert second["verdict"].startswith("CONFORMS")
    assert {cause["severity"] for cause in second["causes"]} == {"warning"}
    assert all(cause["accepted"].startswith("known") for cause in second["causes"])
    page = (tmp_path / "second" / "connector" / "report.html").read_text(encoding="utf-8")
    assert f"accepted by the baseline: known: {missing['id']}" in page

    code, third = _run(connector_mock, ONE_MORE, tmp_path / "third", "--baseline", str(baseline))
    assert code == 1
    new = _ids(third) - _ids(first)
    assert new, "the added deviation is a new cause"
    assert {c["check"] for c in third["causes"] if c["id"] in new} >= {"status_code_conformance"}
    assert {c["severity"] for c in third["causes"] if c["id"] in new} == {"error"}

    capsys.readouterr()
    assert (
        _cli.main(["contract", "diff", str(tmp_path / "first"), str(tmp_path / "second" / "connector")]) == 0
    )
    same = capsys.readouterr().out
    assert "(0 appeared, 0 disappeared," in same, "other data sends other case counts, never other causes"
    assert _cli.main(["contract", "diff", str(tmp_path / "first"), str(tmp_path / "third")]) == 1
    out = capsys.readouterr().out
    for identifier in new:
        assert any(line.startswith("appeared") and identifier in line for line in out.splitlines()), out
    assert _cli.main(["contract", "diff", str(tmp_path / "third"), str(tmp_path / "first")]) == 0
    assert "disappeared" in capsys.readouterr().out


def test_diff_cannot_read_a_folder_without_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    assert _cli.main(["contract", "diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_junit_fails_only_on_new_causes_and_names_the_accepted_ones() -> None:
    results = Results("connector", "http://127.0.0.1:9")
    results.failed("pagination", "a_getAll", "page 2 repeats items of earlier pages: ['T-1']", "curl a")
    results.failed("request_id_header", "a_getAll", "the response has no Request-Id header", "curl b")
    accepted = cause_id("pagination", deviation_kind("page 3 repeats items of earlier pages: ['T-9']"))
    results.accepted = {accepted: "stateless paging, ticket 7"}
    root = ET.fromstring(junit_xml(results))
    pagination = root.find("testsuite[@name='pagination']/testcase")
    assert pagination is not None
    assert pagination.find("failure") is None, "an accepted cause does not fail CI"
    assert f"cause {accepted} accepted: stateless paging, ticket 7" in (
        pagination.findtext("system-out") or ""
    )
    missing = root.find("testsuite[@name='request_id_header']/testcase/failure")
    assert missing is not None
    assert (missing.text or "").startswith("cause "), "each failure names its cause"
    assert root.get("failures") == "1"
