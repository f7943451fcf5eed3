"""A provider's realistic defects (issue 19): each one a mutant of the reference provider, and the
Reverse check that names it; the correct provider conforms in every mode a provider runs the suite.

Defects that break Mews' workflows fail the run (error causes); the advisories are warnings: shown,
the run still CONFORMS. Most variants run the scenario checks alone (no schemathesis phase), behind an
in-process proxy, to keep the suite fast; the modes that change what fuzzing sends run its phase too.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation
from mews_loyalty.contract import Selection
from mews_loyalty.contract._report.causes import WARNING
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run.options import (
    DEFAULT_LATENCY_BUDGET,
    DEFAULT_MAX_ENROLMENTS,
    ReverseOptions,
)
from mews_loyalty.contract._run.verification import verify_reverse
from mews_loyalty.contract.cli import reverse_main
from tests.contract._mutants import (
    SLOW_SEARCH_SECONDS,
    UNKNOWN_LINK_422,
    reverse_advice_mutants,
    reverse_defect_mutants,
)
from tests.contract._proxy import IDENTITY, Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import REVERSE_TOKENS, SEED, SEED_MEMBERSHIP_IDS, run_reverse
from tests.contract.test_sensitivity import assert_caught, assert_passes

CANCELED = ["M-1005"]  # the seed's canceled membership: not linkable


def _causes(report: Path) -> list[dict[str, object]]:
    data = json.loads((report / "reverse" / "results.json").read_text(encoding="utf-8"))
    causes: list[dict[str, object]] = data["causes"]
    return causes


@pytest.mark.parametrize("mutation", reverse_defect_mutants(), ids=lambda m: m.name)
def test_a_defect_fails_the_run_through_its_check(reverse_mock: str, tmp_path: Path, mutation: Mutation):
    with serve_in_thread(MutatingProxy(reverse_mock, mutation)) as url:
        results = run_reverse(url, tmp_path, phases=())
    assert not results.conforms
    assert_caught(results, mutation)
    errors = {c["check"] for c in _causes(tmp_path) if c["severity"] == "error"}
    assert mutation.expected <= errors


@pytest.mark.parametrize("mutation", reverse_advice_mutants(), ids=lambda m: m.name)
def test_an_advisory_is_a_warning_that_does_not_fail_the_run(
    reverse_mock: str, tmp_path: Path, mutation: Mutation
):
    # The slow search is over a budget below its delay: no test sleeps long to exceed the default.
    with serve_in_thread(MutatingProxy(reverse_mock, mutation)) as url:
        results = run_reverse(url, tmp_path, phases=(), latency_budget=SLOW_SEARCH_SECONDS / 2)
    assert set(results.advised_checks()) >= mutation.expected, [f.message for f in results.failures]
    assert results.failing_checks() == [], [f"[{f.check}] {f.message}" for f in results.failures]
    assert results.conforms, results.verdict
    assert "warning" in results.verdict
    warned = {c["check"] for c in _causes(tmp_path) if c["severity"] == WARNING}
    assert mutation.expected <= warned
    summary = (tmp_path / "reverse" / "summary.txt").read_text(encoding="utf-8")
    assert all(f"[{check}]" in summary for check in mutation.expected)
    junit = ET.parse(tmp_path / "reverse" / "junit.xml").getroot()
    for check in mutation.expected:  # a test case that passes, saying why it warns
        cases = junit.findall(f".//testcase[@classname='reverse.{check}']")
        assert cases, check
        assert all(case.find("failure") is None for case in cases), check
        assert any("advisory warning" in (case.findtext("system-out") or "") for case in cases), check


def test_the_slow_search_is_named_by_operation(reverse_mock: str, tmp_path: Path):
    slow = next(m for m in reverse_advice_mutants() if m.name == "slow_search")
    with serve_in_thread(MutatingProxy(reverse_mock, slow)) as url:
        results = run_reverse(url, tmp_path, phases=(), latency_budget=SLOW_SEARCH_SECONDS / 2)
    # Only the search is slowed on purpose (others may pass the tiny budget or not, as the machine goes).
    slow_operations = {f.operation for f in results.failures if f.check == "latency_budget"}
    assert "searchMembers" in slow_operations
    assert any("over the --latency-budget of 0.1 s" in f.message for f in results.failures)


@pytest.mark.parametrize(
    ("allow_writes", "membership_ids"),
    [(False, None), (True, None), (True, []), (True, CANCELED)],
    ids=["read-only", "writes", "writes-no-membership-id", "writes-only-canceled"],
)
def test_a_correct_provider_conforms(
    reverse_mock: str, tmp_path: Path, allow_writes: bool, membership_ids: list[str] | None
):
    # With no linkable membership named, the run links a test member it enrolled, and lists it.
    named = {} if membership_ids is None else {"membership_ids": membership_ids}
    with serve_in_thread(MutatingProxy(reverse_mock, IDENTITY["reverse"])) as url:
        results = run_reverse(url, tmp_path, allow_writes=allow_writes, **named)
    assert_passes(results, "reverse")
    assert results.conforms, results.verdict
    if allow_writes:
        assert dict(results.by_check("link_unlink")), "link_unlink did not run"
        assert dict(results.by_check("link_unknown")), "link_unknown did not run"
        assert len(results.enrolled) == 3
        reported = json.loads((tmp_path / "reverse" / "results.json").read_text(encoding="utf-8"))
        assert reported["enrolled_members"] == results.enrolled
        page = (tmp_path / "reverse" / "report.html").read_text(encoding="utf-8")
        assert all(member in page for member in results.enrolled)
    else:
        assert results.enrolled == []


def test_a_422_for_a_link_nothing_can_take_is_no_finding(reverse_mock: str, tmp_path: Path):
    # No membership named and no enrolment allowed: fuzzed links go to made-up ids, and a provider
    # refusing them with the spec's 422 conforms (schemathesis alone would call it valid data refused).
    with serve_in_thread(MutatingProxy(reverse_mock, UNKNOWN_LINK_422)) as url:
        results = run_reverse(url, tmp_path, membership_ids=[], max_writes=0)
    assert_passes(results, "reverse")
    assert dict(results.by_check("positive_data_acceptance")), "no valid case was judged"
    assert {n.check for n in results.not_run} >= {"link_unlink", "enrolment_idempotent"}


def test_fuzzed_valid_enrolments_enrol_only_test_customers_within_the_budget(
    reverse_mock: str, tmp_path: Path
):
    enrolled: list[dict[str, object]] = []

    def spy(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
        body = flow.json()
        if op is not None and op.effect == "create" and answer.status == 200 and isinstance(body, dict):
            enrolled.append(body)
        return answer

    budget = 6
    with serve_in_thread(
        MutatingProxy(reverse_mock, Mutation("spy", "reverse", frozenset(), on_response=spy))
    ) as url:
        results: Results = run_reverse(url, tmp_path, max_writes=budget, max_examples=8)
    assert_passes(results, "reverse")
    emails = {str(body["customer"]["email"]) for body in enrolled}  # type: ignore[index]
    assert all(
        email.startswith("mews-loyalty-test+") and email.endswith("@example.invalid") for email in emails
    )
    assert 3 < len(emails) <= budget, emails  # fuzzing enrolled valid customers, within the budget
    assert len(results.enrolled) == len(emails)


def test_help_states_the_write_contract_and_the_latency_budget(capsys: pytest.CaptureFixture[str]):
    # What a provider reads before allowing writes: what is enrolled, how many, and that it stays.
    assert reverse_main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "mews-loyalty-test+<run id>-<n>@example.invalid" in text
    assert "The API cannot delete a member" in text
    assert "enrolled_members" in text
    assert f"(default {DEFAULT_MAX_ENROLMENTS}:" in text
    assert f"default {DEFAULT_LATENCY_BUDGET:g}: Mews does not publish the timeout" in text


@pytest.mark.parametrize("budget", ["0", "-1", "soon"])
def test_a_latency_budget_that_is_no_time_is_a_usage_error(budget: str, capsys: pytest.CaptureFixture[str]):
    argv = ["--base-url", "http://127.0.0.1:9", "--token", "x" * 32, "--latency-budget", budget]
    assert reverse_main(argv) == 2
    assert "--latency-budget" in capsys.readouterr().err


def test_a_selection_of_stand_alone_checks_enrols_nobody(reverse_mock: str, tmp_path: Path):
    # pytest -k "id_limit" reaches the Reverse scenarios: the chosen check runs, the member checks
    # (which enrol) and the other stand-alone ones do not.
    options = ReverseOptions(
        base_url=reverse_mock,
        tokens=REVERSE_TOKENS,
        membership_ids=tuple(SEED_MEMBERSHIP_IDS),
        allow_writes=True,
        report_dir=tmp_path,
        seed=SEED,
        phases=(),
        selection=Selection(frozenset({("id_limit", "listMemberships")})),
    )
    results = verify_reverse(options, out=io.StringIO())
    checks = {check for check, _ in results.tallies}
    assert "id_limit" in checks
    assert not checks & {"one_result_per_id", "enrolment_idempotent", "member_search", "link_unlink"}
    assert results.enrolled == []
