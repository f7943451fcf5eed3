"""Sensitivity: the suite passes a server that keeps the contract and fails one that breaks it.

Each mutant is the real mock behind a proxy that breaks one rule; the test names the check that must
catch it, so a check that silently stops working fails here, not in front of a provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.summary import SCENARIO_CHECKS
from tests.contract._mutants import connector_mutants, rate_limit_mutants, reverse_mutants
from tests.contract._proxy import IDENTITY, Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import REVERSE_TOKENS, SCALED_RATE, run_connector, run_reverse
from tests.runtime.fakes import FakeTime


def assert_caught(results: Results, mutation: Mutation) -> None:
    failing = set(results.failing_checks())
    missed = mutation.expected - failing
    assert not missed, f"{mutation.name}: not caught by {sorted(missed)} (failing checks: {sorted(failing)})"
    for check, fragment in mutation.messages.items():
        messages = [f.message for f in results.failures if f.check == check]
        assert any(fragment in m for m in messages), f"{mutation.name}: no {check} failure says {fragment!r}"


def phases_to_catch(mutation: Mutation) -> tuple[str, ...]:
    """What a run needs to meet the mutation through the checks named for it: the scenarios alone
    (they run in every run) when those are all scenario checks, which fuzzing never fails; fuzzing
    as well when one is a check of schemathesis' or of every answer."""
    return () if mutation.expected <= SCENARIO_CHECKS else ("fuzzing",)


def assert_passes(results: Results, api: str) -> None:
    assert results.errors == []
    assert results.leftovers == []
    assert results.failing_checks() == [], [
        f"[{f.check}] {f.operation}: {f.message}" for f in results.failures
    ]


def test_connector_identity_proxy_passes(connector_mock: str, tmp_path: Path) -> None:
    # A transparent proxy must not change the verdict: otherwise every mutant result below is noise.
    with serve_in_thread(MutatingProxy(connector_mock, IDENTITY["connector"])) as url:
        results = run_connector(url, tmp_path)
    assert_passes(results, "connector")
    assert results.schemathesis_cases > 0


def _malformed_token_is_400(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    body = flow.json()
    tokens = ("ClientToken", "AccessToken")
    if answer.status == 401 and isinstance(body, dict) and any(not body.get(name) for name in tokens):
        answer.status = 400
    return answer


def test_a_connector_answering_400_to_a_missing_or_empty_token_conforms(connector_mock: str, tmp_path: Path):
    # Mews' guides put a malformed request under 400 and bad tokens under 401: a server refusing a
    # missing or empty token with 400 follows them (a wrong token must still get 401).
    lenient = Mutation("missing_token_400", "connector", frozenset(), on_response=_malformed_token_is_400)
    with serve_in_thread(MutatingProxy(connector_mock, lenient)) as url:
        results = run_connector(url, tmp_path)
    assert_passes(results, "connector")
    assert ("ignored_body_auth", "loyaltyPrograms_getAll") in results.tallies


@pytest.mark.parametrize("mutation", connector_mutants(), ids=lambda m: m.name)
def test_connector_mutant_is_caught(connector_mock: str, tmp_path: Path, mutation: Mutation) -> None:
    # A Connector server that breaks this one rule must fail the run, through the check named for it.
    with serve_in_thread(MutatingProxy(connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, phases=phases_to_catch(mutation))
    assert not results.conforms
    assert_caught(results, mutation)


def test_rate_limited_identity_passes(
    limited_connector_mock: str, tmp_path: Path, virtual_time: FakeTime
) -> None:
    # The deliberate 429 against a server that keeps the rule: Retry-After present, honoured, success.
    # The burst leaves at one virtual instant, so the 429's Retry-After is the whole window.
    with serve_in_thread(MutatingProxy(limited_connector_mock, IDENTITY["connector"])) as url:
        results = run_connector(url, tmp_path, phases=(), rate=SCALED_RATE, probe=True)
    assert_passes(results, "connector")
    assert dict(results.by_check("rate_limit")), "the rate limit check did not run"
    assert virtual_time.now - 1000.0 >= SCALED_RATE[1] - 1, "the probe did not wait out Retry-After"


@pytest.mark.parametrize("mutation", rate_limit_mutants(), ids=lambda m: m.name)
def test_rate_limit_mutant_is_caught(limited_connector_mock: str, tmp_path: Path, mutation: Mutation) -> None:
    # A 429 without Retry-After leaves clients guessing; the probe must say so.
    with serve_in_thread(MutatingProxy(limited_connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, phases=(), rate=SCALED_RATE, probe=True)
    assert_caught(results, mutation)


def test_reverse_identity_proxy_passes(reverse_mock: str, tmp_path: Path) -> None:
    # The reference provider behind a transparent proxy keeps the contract, rotation included.
    with serve_in_thread(MutatingProxy(reverse_mock, IDENTITY["reverse"])) as url:
        results = run_reverse(url, tmp_path)
    assert_passes(results, "reverse")
    assert dict(results.by_check("ignored_auth")), "schemathesis' auth check did not run"


@pytest.mark.parametrize("mutation", reverse_mutants(REVERSE_TOKENS), ids=lambda m: m.name)
def test_reverse_mutant_is_caught(reverse_mock: str, tmp_path: Path, mutation: Mutation) -> None:
    # A provider that breaks this one rule must not be certified.
    with serve_in_thread(MutatingProxy(reverse_mock, mutation)) as url:
        results = run_reverse(url, tmp_path, phases=phases_to_catch(mutation))
    assert not results.conforms
    assert_caught(results, mutation)
