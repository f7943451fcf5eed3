"""The member checks (search, enrolment) on their own: gated writes and broken answers.

Against Mews' demo a QA run must create nothing unless told to; against a broken provider every
malformed answer must be a finding in the report, never a traceback that ends the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation
from mews_loyalty.contract._exchange.api_client import ApiClient
from mews_loyalty.contract._exchange.masking import Secret, Secrets
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run.stages import spec_schema
from mews_loyalty.contract._scenarios.reverse import ReverseScenarios
from mews_loyalty.contract._scenarios.reverse_members import EnrolmentBudget, member_operations
from tests.contract._proxy import Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import REVERSE_TOKENS, SEED_MEMBERSHIP_IDS, run_reverse

ENTERPRISE = "00000000-0000-4000-8000-00000000e0e0"
CUSTOMER = "00000000-0000-4000-8000-00000000c0c0"
MEMBER_CHECKS = (
    "member_search",
    "invalid_search_criteria",
    "enrolment_idempotent",
    "enrolled_member_listed",
    "enrolment_open_customer",
)


def member_checks(
    base_url: str, *, allow_writes: bool, budget: int | None = None
) -> tuple[Results, list[str]]:
    """Run the member checks alone (at most ``budget`` enrolments); returns the results and the
    operation of every request sent."""
    results = Results("reverse", base_url)
    client = ApiClient(
        base_url=base_url,
        schema=spec_schema("reverse", base_url),
        secrets=Secrets([Secret(REVERSE_TOKENS[0], "T1"), Secret(REVERSE_TOKENS[1], "T2")]),
        pacer=Throttle(None),
        results=results,
        bearer=REVERSE_TOKENS[0],
    )
    sent: list[str] = []
    client.observers.append(lambda exchange: sent.append(exchange.operation.operation_id))
    with client:
        ReverseScenarios(
            client,
            results,
            REVERSE_TOKENS,
            ENTERPRISE,
            SEED_MEMBERSHIP_IDS,
            CUSTOMER,
            allow_writes=allow_writes,
            customers=EnrolmentBudget(budget=budget),
        ).members.run()
    results.finish()
    return results, sent


def test_the_catalog_names_the_member_operations():
    # The checks find search and enrolment from the spec's shape, so a renamed operation still runs.
    ops = member_operations()
    assert ops is not None
    assert (ops.search.operation_id, ops.filter_field, ops.results_field) == (
        "searchMembers",
        "memberFilter",
        "data",
    )
    assert ops.enrol is not None
    assert (ops.enrol.operation_id, ops.customer_field) == ("enrollMember", "customer")
    assert ("firstName", "lastName") in ops.combinations
    assert ops.problem_type == "https://purl.mews.com/problem/loyalty/invalid-member-search-criteria"


def test_without_writes_nothing_is_enrolled(reverse_mock: str):
    # QA points the suite at Mews' demo: searches are reads, an enrolment is a write it must not make.
    results, sent = member_checks(reverse_mock, allow_writes=False)
    assert "enrollMember" not in sent
    assert {n.check for n in results.not_run} >= {
        "enrolment_idempotent",
        "enrolled_member_listed",
        "enrolment_open_customer",
    }
    assert results.failing_checks() == []
    assert dict(results.by_check("member_search")), "the read-only search check did not run"
    assert dict(results.by_check("invalid_search_criteria"))


def test_with_writes_every_member_check_runs_and_passes(reverse_mock: str):
    # The reference provider keeps the rules: each member check runs and passes.
    results, sent = member_checks(reverse_mock, allow_writes=True)
    assert sent.count("enrollMember") == 4  # a customer twice, another one, one with unlisted properties
    assert results.failing_checks() == []
    for check in MEMBER_CHECKS:
        assert dict(results.by_check(check)), f"{check} did not run"


@pytest.mark.parametrize(
    ("budget", "enrolments", "not_run"),
    [
        (0, 0, {"enrolment_idempotent", "enrolment_open_customer"}),
        (1, 1, {"enrolment_idempotent"}),
        (2, 3, {"enrolment_open_customer"}),  # the same customer twice: one member
    ],
)
def test_the_enrolment_budget_bounds_what_the_member_checks_enrol(
    reverse_mock: str, budget: int, enrolments: int, not_run: set[str]
):
    # A check the budget cannot pay for in full does not start: it says to raise --max-writes.
    results, sent = member_checks(reverse_mock, allow_writes=True, budget=budget)
    assert sent.count("enrollMember") == enrolments
    assert len(results.enrolled) == min(budget, 2)
    skipped = {n.check for n in results.not_run if "--max-writes" in n.reason}
    assert skipped == not_run
    assert results.failing_checks() == []


def _broken(body: bytes, content_type: str = "application/json") -> Mutation:
    def answer(flow: Flow, op: Operation | None, upstream: Answer) -> Answer:
        if op is not None and op.tag == "Members":
            return Answer(200, {"content-type": content_type}, body)
        return upstream

    return Mutation("broken_members", "reverse", frozenset(), on_response=answer)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"data": [', "application/json"),
        (b"[]", "application/json"),
        (b'{"data": "none"}', "application/json"),
        (b'{"data": [1, null, {"membership": "x"}], "type": 7}', "application/json"),
        (b'{"membership": {"providerMembershipId": 5}}', "application/json"),
    ],
    ids=["html", "truncated", "array", "data-not-a-list", "mistyped-items", "mistyped-id"],
)
def test_malformed_member_answers_are_findings_not_crashes(
    reverse_mock: str, tmp_path: Path, body: bytes, content_type: str
):
    # Whatever a broken provider sends, the run finishes and reports it.
    with serve_in_thread(MutatingProxy(reverse_mock, _broken(body, content_type))) as url:
        results = run_reverse(url, tmp_path, phases=())
    assert results.errors == []
    assert not results.conforms
    failing = set(results.failing_checks())
    assert failing & {"member_search", "invalid_search_criteria", "enrolment_idempotent"}, failing
