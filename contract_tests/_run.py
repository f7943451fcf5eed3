"""One verification run: preflight, scenarios, schemathesis, clean-up, reports.

    results = verify_connector(ConnectorOptions(base_url=..., client_token=..., access_token=...))
    results = verify_reverse(ReverseOptions(base_url=..., tokens=[...]))

Connector order: scenarios first (deterministic, on a quiet server), then schemathesis, then the
body-token probes fuzzing did not get to, then the deliberate 429 (it fills the rate window), and
clean-up last, always, even when something above failed or the run was interrupted.
"""

from __future__ import annotations

import copy
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import schemathesis
from schemathesis.schemas import BaseSchema

from contract_tests._connector import ConnectorScenarios, Credentials, Ledger, resources
from contract_tests._fuzz import PHASES, FuzzHooks, FuzzPlan, run_schemathesis
from contract_tests._http import ApiClient
from contract_tests._pacing import Pacer
from contract_tests._progress import Progress, fuzz_stages
from contract_tests._report import summary, write_reports
from contract_tests._results import Results
from contract_tests._reverse import ReverseScenarios
from contract_tests._secrets import Secret, Secrets
from mews_loyalty import __version__
from mews_loyalty._spec import ApiName, catalog, load_document

DEFAULT_SEED = 20251122
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_REPORT_DIR = Path("reports/contract")
MEWS_RATE_LIMIT = (200, 30.0)


class UsageError(Exception):
    """The run cannot start as asked (unreachable server, rejected tokens, bad options): exit 2."""


@dataclass
class CommonOptions:
    base_url: str
    max_examples: int = DEFAULT_MAX_EXAMPLES
    report_dir: Path = DEFAULT_REPORT_DIR
    seed: int = DEFAULT_SEED
    phases: tuple[str, ...] = PHASES
    rate_limit: tuple[int, float] | None = None  # pace every request under it (None: no pacing)
    timeout: float = 30.0
    stateful_max_steps: int = 6
    quiet: bool = False  # no progress display or lines while the run goes on
    workers: int = 1  # schemathesis threads for the per-operation phases (the pacer spans them all)


@dataclass
class ConnectorOptions(CommonOptions):
    client_token: str = ""
    access_token: str = ""
    client: str = f"mews-loyalty-contract/{__version__}"
    allow_writes: bool = False
    probe_rate_limit: bool = False  # burst past the limit on purpose (only against a server you own)
    values: Mapping[str, Any] = field(default_factory=dict)
    rate_limit: tuple[int, float] | None = MEWS_RATE_LIMIT


@dataclass
class ReverseOptions(CommonOptions):
    tokens: Sequence[str] = ()
    enterprise_id: str | None = None
    membership_ids: Sequence[str] = ()
    customer_id: str | None = None


def _spec_schema(api: ApiName, base_url: str) -> BaseSchema:
    config = schemathesis.Config.from_dict({"base-url": base_url})
    return schemathesis.openapi.from_dict(copy.deepcopy(dict(load_document(api))), config=config)


# Rough request budgets for the scenario checks, per operation (measured on the embedded mocks).
SCENARIO_REQUESTS_PER_OPERATION = {"connector": 45, "reverse": 4}


def _progress(
    options: CommonOptions, results: Results, pacer: Pacer, api: ApiName, operations: int
) -> Progress:
    if options.quiet:
        return Progress.silent(results)
    progress = Progress.to_stream(results, sys.stderr, pacer=pacer)
    stages = fuzz_stages(
        options.phases,
        operations=operations,
        max_examples=options.max_examples,
        max_steps=options.stateful_max_steps,
    )
    scenario_requests = SCENARIO_REQUESTS_PER_OPERATION[api] * len(catalog(api).operations)
    progress.plan(stages, scenarios=scenario_requests)
    return progress


def _finish(
    results: Results,
    secrets: Secrets,
    report_dir: Path,
    header: list[str],
    out: TextIO | None,
    progress: Progress | None = None,
) -> Results:
    results.finish()
    timings = progress.timings() if progress is not None else []
    screen = secrets.mask(summary(results, header, report_dir))
    write_reports(results, report_dir, screen, [secrets.mask(line) for line in header], timings)
    leaked = secrets.scrub_directory(report_dir)
    if leaked:  # the masking above missed something: say so loudly (the files are fixed now)
        results.errors.append(f"tokens had to be scrubbed from {len(leaked)} report files: {leaked[:3]}")
        screen = secrets.mask(summary(results, header, report_dir))
        write_reports(results, report_dir, screen, [secrets.mask(line) for line in header], timings)
    print(screen, file=out or sys.stdout, flush=True)
    return results


def verify_connector(options: ConnectorOptions, out: TextIO | None = None) -> Results:
    if not options.client_token or not options.access_token:
        raise UsageError("give --client-token and --access-token")
    secrets = Secrets(
        [Secret(options.client_token, "MEWS_CLIENT_TOKEN"), Secret(options.access_token, "MEWS_ACCESS_TOKEN")]
    )
    results = Results("connector", options.base_url)
    pacer = Pacer(options.rate_limit)
    report_dir = options.report_dir / "connector"
    credentials = Credentials(options.client_token, options.access_token, options.client)
    ledger = Ledger()
    header = [
        f"mews-loyalty contract connector: {options.base_url}",
        f"{'writes allowed' if options.allow_writes else 'read-only'}, seed {options.seed}, "
        f"max-examples {options.max_examples}, phases {','.join(options.phases) or 'none'}, "
        f"pacing {_rate_text(options.rate_limit)}",
    ]
    client = ApiClient(
        base_url=options.base_url,
        schema=_spec_schema("connector", options.base_url),
        secrets=secrets,
        pacer=pacer,
        results=results,
        check_request_id=True,
        timeout=options.timeout,
    )
    client.observers.append(
        lambda exchange: ledger.observe(exchange.operation, exchange.status, exchange.body, exchange.json())
    )
    scenarios = ConnectorScenarios(
        client, credentials, results, ledger, options.allow_writes, values=options.values
    )
    read_ops = tuple(r.get_all.operation_id for r in resources())
    fuzzed = len(catalog("connector").operations) if options.allow_writes else len(read_ops)
    progress = _progress(options, results, pacer, "connector", fuzzed)
    client.observers.append(lambda exchange: progress.operation(exchange.operation.operation_id))
    with client, progress:
        _preflight_connector(scenarios)
        try:
            progress.stage("scenarios")
            scenarios.run()
            if options.phases:
                hooks = FuzzHooks(
                    secrets,
                    pacer,
                    results,
                    prepare_body=lambda _op, body: credentials.apply(body),
                    on_response=ledger.observe_raw,
                    probe_body_auth=scenarios.probe_body_auth,
                    check_request_id=True,
                    progress=progress,
                )
                plan = FuzzPlan(
                    api="connector",
                    base_url=options.base_url,
                    seed=options.seed,
                    max_examples=options.max_examples,
                    report_dir=report_dir / "schemathesis",
                    phases=options.phases,
                    operation_ids=() if options.allow_writes else read_ops,
                    stateful_max_steps=options.stateful_max_steps,
                    stateful_omit=("ChainId",),
                    request_timeout=options.timeout,
                    workers=options.workers,
                )
                results.errors += run_schemathesis(plan, hooks)
                probed = hooks.probed
            else:
                probed = set()
            progress.stage("body-token probes")
            scenarios.probe_remaining_auth(probed)
            if options.probe_rate_limit and options.rate_limit is not None:
                progress.stage("rate limit")
                scenarios.check_rate_limit(options.rate_limit)
            else:
                results.skip(
                    "rate_limit",
                    "needs --probe-rate-limit (it bursts past the limit: only against a server you own)",
                )
        except httpx.HTTPError as error:
            results.errors.append(f"the server stopped answering: {type(error).__name__}: {error}")
        finally:
            if ledger.created:
                progress.stage("clean-up")
                try:
                    results.leftovers += scenarios.cleanup()
                except httpx.HTTPError as error:
                    results.errors.append(f"clean-up failed: {error}")
                    results.leftovers += [
                        f"{name}: {len(items)} records" for name, items in ledger.created.items()
                    ]
    return _finish(results, secrets, report_dir, header, out, progress)


def _preflight_connector(scenarios: ConnectorScenarios) -> None:
    resource = next((r for r in resources() if not r.required_filters), resources()[0])
    try:
        exchange = scenarios.call(resource.get_all, Limitation={"Count": 1})
    except httpx.HTTPError as error:
        raise UsageError(
            f"cannot reach {scenarios.client.base_url}: {type(error).__name__}: {error}"
        ) from None
    if exchange.status == 401:
        raise UsageError(
            "the server refused the tokens (401): check --client-token and --access-token "
            f"({scenarios.client.secrets.mask(exchange.describe())})"
        )


def verify_reverse(options: ReverseOptions, out: TextIO | None = None) -> Results:
    if not options.tokens:
        raise UsageError("give at least one --token")
    secrets = Secrets(
        [
            Secret(token, "MEWS_REVERSE_TOKEN" if i == 0 else f"MEWS_REVERSE_TOKEN_{i + 1}")
            for i, token in enumerate(options.tokens)
        ]
    )
    results = Results("reverse", options.base_url)
    pacer = Pacer(options.rate_limit)
    report_dir = options.report_dir / "reverse"
    enterprise_id = options.enterprise_id or str(uuid.UUID(int=options.seed, version=4))
    header = [
        f"mews-loyalty contract reverse: {options.base_url}",
        f"enterprise {enterprise_id}, {len(options.tokens)} token(s), {len(options.membership_ids)} known "
        f"membership id(s), seed {options.seed}, max-examples {options.max_examples}, "
        f"phases {','.join(options.phases) or 'none'}, pacing {_rate_text(options.rate_limit)}",
    ]
    client = ApiClient(
        base_url=options.base_url,
        schema=_spec_schema("reverse", options.base_url),
        secrets=secrets,
        pacer=pacer,
        results=results,
        bearer=options.tokens[0],
        timeout=options.timeout,
    )
    scenarios = ReverseScenarios(
        client,
        results,
        list(options.tokens),
        enterprise_id,
        list(options.membership_ids),
        options.customer_id or str(uuid.UUID(int=options.seed + 1, version=4)),
    )
    progress = _progress(options, results, pacer, "reverse", len(catalog("reverse").operations))
    client.observers.append(lambda exchange: progress.operation(exchange.operation.operation_id))
    with client, progress:
        _preflight_reverse(scenarios)
        try:
            progress.stage("scenarios")
            scenarios.run()
            if options.phases:
                hooks = FuzzHooks(secrets, pacer, results, progress=progress)
                plan = FuzzPlan(
                    api="reverse",
                    base_url=options.base_url,
                    seed=options.seed,
                    max_examples=options.max_examples,
                    report_dir=report_dir / "schemathesis",
                    phases=options.phases,
                    bearer=options.tokens[0],
                    stateful_max_steps=options.stateful_max_steps,
                    request_timeout=options.timeout,
                    workers=options.workers,
                )
                results.errors += run_schemathesis(plan, hooks)
        except httpx.HTTPError as error:
            results.errors.append(f"the server stopped answering: {type(error).__name__}: {error}")
    return _finish(results, secrets, report_dir, header, out, progress)


def _preflight_reverse(scenarios: ReverseScenarios) -> None:
    try:
        exchange = scenarios.list_ids(scenarios.unknown_ids(1))
    except httpx.HTTPError as error:
        raise UsageError(
            f"cannot reach {scenarios.client.base_url}: {type(error).__name__}: {error}"
        ) from None
    if exchange.status == 401:
        raise UsageError("the provider refused the first --token (401)")


def _rate_text(rate: tuple[int, float] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]:g}s (paced at 90%)"


__all__ = [
    "ConnectorOptions",
    "ReverseOptions",
    "UsageError",
    "verify_connector",
    "verify_reverse",
]
