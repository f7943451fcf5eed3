"""One verification run: preflight, scenarios, schemathesis, clean-up, reports.

    results = verify_connector(ConnectorOptions(base_url=..., client_token=..., access_token=...))
    results = verify_reverse(ReverseOptions(base_url=..., tokens=[...]))

Connector order: scenarios first (deterministic, on a quiet server), then schemathesis, then the
body-token probes fuzzing did not get to, then the deliberate 429 (it fills the rate window), and
clean-up last, always, even when something above failed or the run was interrupted (then within
``signals.CLEANUP_BOUND`` seconds; a second signal skips what is left of it, and the reports list
what was left). Each run first claims its report folder (``_report.folder``): one holding anything
the suite did not write is refused before anything is sent.

Both runs are read-only unless ``allow_writes``; a writing Connector run creates at most
``max_writes`` records. Whatever the server answers becomes a finding; a fault of the suite itself is
recorded (``Results.faults``, exit 2) and the reports are written all the same.

What each run is asked is in ``_options``; the parts both runs are made of (client, progress,
schemathesis pass, stage order, preflight, reports) are in ``_stages``; this module puts them
together for each API.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from mews_loyalty._spec.catalog import catalog
from mews_loyalty._wire.encode import PAGE_SIZE_FIELD
from mews_loyalty.contract._exchange.masking import Secret, Secrets
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._fuzz.phases import FuzzHooks
from mews_loyalty.contract._report import traffic
from mews_loyalty.contract._report.folder import claim
from mews_loyalty.contract._report.progress import Progress
from mews_loyalty.contract._report.results import NOT_SELECTED, Results, ScenarioError, Writes
from mews_loyalty.contract._run.cleanup import cleanup, settle
from mews_loyalty.contract._run.ledger import Ledger
from mews_loyalty.contract._run.options import (
    CommonOptions,
    ConnectorOptions,
    ReverseOptions,
    UsageError,
    default_enterprise_id,
)
from mews_loyalty.contract._run.signals import pause
from mews_loyalty.contract._run.stages import (
    client_and_progress,
    creating_operations,
    finish,
    fuzz,
    rate_text,
    run_stages,
    unreachable,
    until_signalled,
)
from mews_loyalty.contract._scenarios.connector import ConnectorScenarios
from mews_loyalty.contract._scenarios.links import resources
from mews_loyalty.contract._scenarios.probes import check_rate_limit, probe_body_auth, probe_remaining_auth
from mews_loyalty.contract._scenarios.records import Credentials
from mews_loyalty.contract._scenarios.reverse import ReverseScenarios, refused_link_statuses
from mews_loyalty.contract._scenarios.reverse_members import EnrolmentBudget

# The Connector tokens' names, as curl lines expand them (and replay reads them from the environment).
CONNECTOR_TOKEN_VARIABLES = ("MEWS_CLIENT_TOKEN", "MEWS_ACCESS_TOKEN")


def reverse_token_variable(index: int) -> str:
    """The name of a run's Reverse token ``index`` (from 0) in curl lines: MEWS_REVERSE_TOKEN, then _2, ..."""
    return "MEWS_REVERSE_TOKEN" if index == 0 else f"MEWS_REVERSE_TOKEN_{index + 1}"


def reverse_secrets(tokens: Sequence[str]) -> Secrets:
    """The Reverse tokens of a run, named as curl lines expand them (``reverse_token_variable``)."""
    return Secrets(Secret(token, reverse_token_variable(i)) for i, token in enumerate(tokens))


def verify_connector(options: ConnectorOptions, out: TextIO | None = None) -> Results:
    if not options.client_token or not options.access_token:
        raise UsageError("give --client-token and --access-token")
    secrets = Secrets(
        Secret(token, name)
        for token, name in zip(
            (options.client_token, options.access_token), CONNECTOR_TOKEN_VARIABLES, strict=True
        )
    )
    report_dir = claim(options.report_dir, "connector")
    results = _results("connector", options, options.allow_writes)
    if options.probe_rate_limit:
        results.required.add("rate_limit")
    header = [
        f"mews-loyalty contract connector: {options.base_url}",
        f"{_writes_text(options.allow_writes, options.max_writes)}, seed {options.seed}, "
        f"max-examples {options.max_examples}, phases {','.join(options.phases) or 'none'}, "
        f"pacing {rate_text(options.rate_limit)}",
    ]
    progress: Progress | None = None
    with until_signalled(results):  # a signal while the run is being set up: nothing to clean up
        progress = _run_connector(options, secrets, results, report_dir)
    return finish(results, secrets, report_dir, header, out, progress)


def _results(api: str, options: CommonOptions, allow_writes: bool) -> Results:
    """A run's results, holding what it was asked: its baseline, its selection, its failure limit."""
    return Results(
        api,
        options.base_url,
        read_only=not allow_writes,
        accepted=dict(options.baseline),
        selection=options.selection,
        stop_after=options.max_failures,
    )


def _run_connector(
    options: ConnectorOptions, secrets: Secrets, results: Results, report_dir: Path
) -> Progress:
    pacer = Throttle(options.rate_limit, sleep=pause)
    credentials = Credentials(options.client_token, options.access_token, options.client)
    ledger = Ledger(budget=options.max_writes if options.allow_writes else 0)
    if options.allow_writes:
        results.writes = Writes(options.max_writes)
    client, progress = client_and_progress(
        "connector",
        options,
        options.allow_writes,
        secrets,
        pacer,
        results,
        check_request_id=True,
        recording=report_dir / traffic.OWN_EXCHANGES,
    )
    client.gates.append(ledger.gate)
    client.observers.append(
        lambda exchange: ledger.observe(exchange.operation, exchange.status, exchange.body, exchange.json())
    )
    scenarios = ConnectorScenarios(
        client, credentials, results, ledger, options.allow_writes, values=options.values
    )

    def after_scenarios() -> None:
        probed = _fuzz_connector(options, scenarios, secrets, pacer, credentials, report_dir, progress)
        if results.selected("ignored_body_auth"):
            progress.stage("body-token probes")
            with results.guard("ignored_body_auth"):
                probe_remaining_auth(scenarios, probed | _unselected(results, "ignored_body_auth"))
        if not results.selected("rate_limit"):
            results.skip("rate_limit", NOT_SELECTED)
        elif options.probe_rate_limit and options.rate_limit is not None:
            progress.stage("rate limit")
            with results.guard("rate_limit"):
                check_rate_limit(scenarios, options.rate_limit)
        else:
            results.skip(
                "rate_limit",
                "needs --probe-rate-limit (it bursts past the limit: only against a server you own)",
            )

    def clean_up(deadline: float | None) -> None:
        if ledger.wrote:
            progress.stage("clean-up")
        clean_up_connector(scenarios, deadline)

    run_stages(client, progress, results, _preflight_connector, scenarios, after_scenarios, clean_up)
    return progress


def _fuzz_connector(
    options: ConnectorOptions,
    scenarios: ConnectorScenarios,
    secrets: Secrets,
    pacer: Throttle,
    credentials: Credentials,
    report_dir: Path,
    progress: Progress,
) -> set[str]:
    """Schemathesis' phases; returns the operations whose body tokens fuzzing probed."""
    ledger = scenarios.ledger
    hooks = FuzzHooks(
        secrets,
        pacer,
        scenarios.results,
        prepare_body=lambda _op, body: credentials.apply(body),
        on_response=ledger.observe_raw,
        probe_body_auth=functools.partial(probe_body_auth, scenarios),
        check_request_id=True,
        may_create=lambda: not ledger.exhausted,
        admit=ledger.admit,
        progress=progress,
    )
    fuzz(
        "connector",
        options,
        options.allow_writes,
        scenarios.client,
        hooks,
        report_dir,
        stateful_omit=("ChainId",),
        negative_only=() if ledger.budget is None else creating_operations("connector"),
        # Generated ids name no record: Mews' reference answers "an invalid identifier of a
        # resource" with 400 (specs/README.md), which is no refusal of valid data.
        valid_data_refused_with=(400,),
    )
    return hooks.probed


def clean_up_connector(scenarios: ConnectorScenarios, deadline: float | None = None) -> None:
    """Delete what the run created (always, even after a failure), then put the write ledger into
    the results: the ``cleanup`` verdicts, the leftovers with their ids and the ``writes`` counts.

    ``deadline`` (on ``time.monotonic``) bounds the deleting: the interrupt path gives it a few
    seconds. Whatever stops it early (the deadline, a fault, a second interrupt), what is left is
    reported all the same.
    """
    results, ledger = scenarios.results, scenarios.ledger
    try:
        if ledger.wrote:
            cleanup(scenarios, deadline)
    except Exception as error:
        results.errors.append(f"clean-up failed: {type(error).__name__}: {error}")
    finally:
        settle(results, ledger)


def _unselected(results: Results, check: str) -> set[str]:
    """The Connector operations the run's selection leaves out for ``check``."""
    return {
        op.operation_id
        for op in catalog("connector").operations
        if not results.selected(check, op.operation_id)
    }


def _preflight_connector(scenarios: ConnectorScenarios) -> str | None:
    """Why the run cannot start: the server cannot be reached, or it refuses the tokens."""
    resource = next((r for r in resources() if not r.required_filters), resources()[0])
    try:
        exchange = scenarios.call(resource.get_all, Limitation={PAGE_SIZE_FIELD: 1})
    except ScenarioError as error:
        return unreachable(scenarios.client.base_url, error)
    if exchange.status == 401:
        return (
            "the server refused the tokens (401): check --client-token and --access-token "
            f"({scenarios.client.secrets.mask(exchange.describe())})"
        )
    return None


def verify_reverse(options: ReverseOptions, out: TextIO | None = None) -> Results:
    if not options.tokens:
        raise UsageError("give at least one --token")
    secrets = reverse_secrets(options.tokens)
    report_dir = claim(options.report_dir, "reverse")
    results = _results("reverse", options, options.allow_writes)
    enterprise_id = options.enterprise_id or default_enterprise_id(options.seed)
    header = [
        f"mews-loyalty contract reverse: {options.base_url}",
        f"{_reverse_writes_text(options)}, latency budget {options.latency_budget:g} s, "
        f"enterprise {enterprise_id}, {len(options.tokens)} token(s), {len(options.membership_ids)} known "
        f"membership id(s), seed {options.seed}, max-examples {options.max_examples}, "
        f"phases {','.join(options.phases) or 'none'}, pacing {rate_text(options.rate_limit)}",
    ]
    progress: Progress | None = None
    with until_signalled(results):  # a signal while the run is being set up: nothing to restore
        progress = _run_reverse(options, secrets, results, report_dir, enterprise_id)
    return finish(results, secrets, report_dir, header, out, progress)


def _run_reverse(
    options: ReverseOptions, secrets: Secrets, results: Results, report_dir: Path, enterprise_id: str
) -> Progress:
    pacer = Throttle(options.rate_limit, sleep=pause)
    client, progress = client_and_progress(
        "reverse",
        options,
        options.allow_writes,
        secrets,
        pacer,
        results,
        bearer=options.tokens[0],
        recording=report_dir / traffic.OWN_EXCHANGES,
    )
    scenarios = ReverseScenarios(
        client,
        results,
        list(options.tokens),
        enterprise_id,
        list(options.membership_ids),
        options.customer_id or str(uuid.UUID(int=options.seed + 1, version=4)),
        allow_writes=options.allow_writes,
        customers=EnrolmentBudget(budget=options.max_writes if options.allow_writes else 0),
        latency_budget=options.latency_budget,
    )

    def restore(deadline: float | None) -> None:
        # Bounded by the clean-up's timer (``signals.cleaning``), which cuts a request in flight.
        with results.guard("link_unlink"):
            scenarios.restore()

    run_stages(
        client,
        progress,
        results,
        _preflight_reverse,
        scenarios,
        lambda: _fuzz_reverse(options, scenarios, secrets, pacer, report_dir, progress),
        restore,
    )
    return progress


def _fuzz_reverse(
    options: ReverseOptions,
    scenarios: ReverseScenarios,
    secrets: Secrets,
    pacer: Throttle,
    report_dir: Path,
    progress: Progress,
) -> None:
    customers = scenarios.customers
    hooks = FuzzHooks(
        secrets,
        pacer,
        scenarios.results,
        prepare_write=scenarios.confine_write,
        on_response=scenarios.observe_fuzzed,
        progress=progress,
        # Valid enrolments enrol test customers (``confine_write``) while the budget lasts; past it a
        # positive case goes out as an empty body, which enrols nobody.
        stateful_within_budget=False,
    )
    fuzz(
        "reverse",
        options,
        options.allow_writes,
        scenarios.client,
        hooks,
        report_dir,
        bearer=options.tokens[0],
        # With no enrolment left, enrolment gets only the cases a provider must refuse.
        negative_only=creating_operations("reverse") if customers.left == 0 else (),
        valid_data_refused_by=refused_link_statuses(),
    )


def _preflight_reverse(scenarios: ReverseScenarios) -> str | None:
    """Why the run cannot start: the provider cannot be reached, or it refuses the first token."""
    try:
        exchange = scenarios.list_ids(scenarios.unknown_ids(1))
    except ScenarioError as error:
        return unreachable(scenarios.client.base_url, error)
    if exchange.status == 401:
        return "the provider refused the first --token (401)"
    return None


def _reverse_writes_text(options: ReverseOptions) -> str:
    if not options.allow_writes:
        return "read-only"
    budget = "unlimited" if options.max_writes is None else f"at most {options.max_writes}"
    return f"writes allowed (test members enrolled: {budget}; links: named memberships or a test member)"


def _writes_text(allow_writes: bool, max_writes: int | None) -> str:
    if not allow_writes:
        return "read-only"
    return f"writes allowed (at most {'unlimited' if max_writes is None else max_writes} records)"


__all__ = [
    "ConnectorOptions",
    "ReverseOptions",
    "UsageError",
    "verify_connector",
    "verify_reverse",
]
