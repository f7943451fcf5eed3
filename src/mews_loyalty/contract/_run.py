"""One verification run: preflight, scenarios, schemathesis, clean-up, reports.

    results = verify_connector(ConnectorOptions(base_url=..., client_token=..., access_token=...))
    results = verify_reverse(ReverseOptions(base_url=..., tokens=[...]))

Connector order: scenarios first (deterministic, on a quiet server), then schemathesis, then the
body-token probes fuzzing did not get to, then the deliberate 429 (it fills the rate window), and
clean-up last, always, even when something above failed or the run was interrupted.

Both runs are read-only unless ``allow_writes``; a writing Connector run creates at most
``max_writes`` records. Whatever the server answers becomes a finding; a fault of the suite itself is
recorded (``Results.faults``, exit 2) and the reports are written all the same.
"""

from __future__ import annotations

import copy
import functools
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import schemathesis

from mews_loyalty import __version__
from mews_loyalty._spec import ApiName, catalog, load_document
from mews_loyalty.contract._cleanup import cleanup
from mews_loyalty.contract._fuzz import PHASES, FuzzHooks, FuzzPlan, creates, reads_only, run_schemathesis
from mews_loyalty.contract._fuzz_events import DEFAULT_RECORDINGS
from mews_loyalty.contract._http import ApiClient
from mews_loyalty.contract._ledger import Ledger
from mews_loyalty.contract._pacing import PACING_NOTE, Pacer
from mews_loyalty.contract._probes import check_rate_limit, probe_body_auth, probe_remaining_auth
from mews_loyalty.contract._progress import Progress, fuzz_stages
from mews_loyalty.contract._records import Credentials
from mews_loyalty.contract._report import summary, write_reports
from mews_loyalty.contract._resources import resources
from mews_loyalty.contract._results import Results, ScenarioError, Writes
from mews_loyalty.contract._reverse import ReverseScenarios
from mews_loyalty.contract._scenarios import ConnectorScenarios
from mews_loyalty.contract._secrets import Secret, Secrets

DEFAULT_SEED = 20251122
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_REPORT_DIR = Path("reports/contract")
MEWS_RATE_LIMIT = (200, 30.0)
# Records a writing run may create, all phases together: enough for every scenario check, gentle on
# an environment every partner shares (deletion there is soft: the records stay, as deleted).
DEFAULT_MAX_WRITES = 50
READ_ONLY_STATEFUL = "needs --allow-writes (every link the spec declares starts at a write)"


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
    recordings: tuple[str, ...] = DEFAULT_RECORDINGS  # schemathesis' traffic recordings to write


@dataclass
class ConnectorOptions(CommonOptions):
    client_token: str = ""
    access_token: str = ""
    client: str = f"mews-loyalty-contract/{__version__}"
    allow_writes: bool = False
    probe_rate_limit: bool = False  # burst past the limit on purpose (only against a server you own)
    values: Mapping[str, Any] = field(default_factory=dict)
    rate_limit: tuple[int, float] | None = MEWS_RATE_LIMIT
    max_writes: int | None = DEFAULT_MAX_WRITES  # records created in total; None: unlimited


@dataclass
class ReverseOptions(CommonOptions):
    tokens: Sequence[str] = ()
    enterprise_id: str | None = None
    membership_ids: Sequence[str] = ()
    customer_id: str | None = None
    allow_writes: bool = False  # link/unlink, only the named memberships and customer


def read_operations(api: ApiName) -> tuple[str, ...]:
    """The operations that only read: what a read-only run may send."""
    return tuple(op.operation_id for op in catalog(api).operations if reads_only(op))


def creating_operations(api: ApiName) -> tuple[str, ...]:
    """The operations that create records: what a write budget counts."""
    return tuple(op.operation_id for op in catalog(api).operations if creates(op))


def _links_within(api: ApiName, operation_ids: tuple[str, ...]) -> int:
    """How many of the spec's links join two of ``operation_ids`` (empty: every operation)."""
    allowed = set(operation_ids or (op.operation_id for op in catalog(api).operations))
    return sum(1 for link in catalog(api).links() if link.source in allowed and link.target in allowed)


def _fuzz_phases(
    api: ApiName, phases: tuple[str, ...], operation_ids: tuple[str, ...], results: Results
) -> tuple[str, ...]:
    """The phases to run: the stateful one needs links among the operations the run may send."""
    if "stateful" in phases and not _links_within(api, operation_ids):
        results.skip("stateful", READ_ONLY_STATEFUL)
        return tuple(p for p in phases if p != "stateful")
    return phases


@contextmanager
def _whole_run(results: Results) -> Iterator[None]:
    """Whatever escapes the guarded checks: the server gone (an error), or a bug of the suite (a fault)."""
    try:
        yield
    except KeyboardInterrupt:
        results.errors.append("the run was interrupted")
        raise
    except (httpx.HTTPError, ScenarioError) as error:
        results.errors.append(f"the server stopped answering: {type(error).__name__}: {error}")
    except Exception as error:
        results.fault("run", error)


def _spec_schema(api: ApiName, base_url: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"base-url": base_url})
    return schemathesis.openapi.from_dict(copy.deepcopy(dict(load_document(api))), config=config)


# Rough request budgets for the scenario checks, per operation (measured on the embedded mocks).
SCENARIO_REQUESTS_PER_OPERATION = {"connector": 45, "reverse": 4}


def _client_and_progress(
    api: ApiName,
    options: CommonOptions,
    allow_writes: bool,
    secrets: Secrets,
    pacer: Pacer,
    results: Results,
    **client: Any,
) -> tuple[ApiClient, Progress]:
    """The run's client on the spec of ``api``, and the progress display it tells of each request."""
    api_client = ApiClient(
        base_url=options.base_url,
        schema=_spec_schema(api, options.base_url),
        secrets=secrets,
        pacer=pacer,
        results=results,
        timeout=options.timeout,
        **client,
    )
    fuzzed = len(catalog(api).operations) if allow_writes else len(read_operations(api))
    progress = _progress(options, results, pacer, api, fuzzed)
    api_client.observers.append(lambda exchange: progress.operation(exchange.operation.operation_id))
    return api_client, progress


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
    if options.probe_rate_limit:
        results.required.add("rate_limit")
    pacer = Pacer(options.rate_limit)
    report_dir = options.report_dir / "connector"
    credentials = Credentials(options.client_token, options.access_token, options.client)
    ledger = Ledger(budget=options.max_writes if options.allow_writes else 0)
    if options.allow_writes:
        results.writes = Writes(options.max_writes)
    header = [
        f"mews-loyalty contract connector: {options.base_url}",
        f"{_writes_text(options.allow_writes, options.max_writes)}, seed {options.seed}, "
        f"max-examples {options.max_examples}, phases {','.join(options.phases) or 'none'}, "
        f"pacing {_rate_text(options.rate_limit)}",
    ]
    client, progress = _client_and_progress(
        "connector", options, options.allow_writes, secrets, pacer, results, check_request_id=True
    )
    client.observers.append(
        lambda exchange: ledger.observe(exchange.operation, exchange.status, exchange.body, exchange.json())
    )
    scenarios = ConnectorScenarios(
        client, credentials, results, ledger, options.allow_writes, values=options.values
    )

    def after_scenarios() -> None:
        probed = _fuzz_connector(options, scenarios, secrets, pacer, credentials, report_dir, progress)
        progress.stage("body-token probes")
        with results.guard("ignored_body_auth"):
            probe_remaining_auth(scenarios, probed)
        if options.probe_rate_limit and options.rate_limit is not None:
            progress.stage("rate limit")
            with results.guard("rate_limit"):
                check_rate_limit(scenarios, options.rate_limit)
        else:
            results.skip(
                "rate_limit",
                "needs --probe-rate-limit (it bursts past the limit: only against a server you own)",
            )

    def clean_up() -> None:
        if ledger.created:
            progress.stage("clean-up")
        _clean_up(scenarios, results, ledger)

    _run_stages(client, progress, results, _preflight_connector, scenarios, after_scenarios, clean_up)
    return _finish(results, secrets, report_dir, header, out, progress)


def _fuzz(
    api: ApiName,
    options: CommonOptions,
    allow_writes: bool,
    client: ApiClient,
    hooks: FuzzHooks,
    report_dir: Path,
    **plan: Any,
) -> None:
    """Schemathesis' phases, on the operations the mode allows (only reading ones unless writes)."""
    results = hooks.results
    operation_ids = () if allow_writes else read_operations(api)
    phases = _fuzz_phases(api, options.phases, operation_ids, results)
    if not phases:
        return
    if client.gone:
        results.skip("fuzzing", "needs a server that answers (the scenario checks' requests got none)")
        return
    fuzz_plan = FuzzPlan(
        api=api,
        base_url=options.base_url,
        seed=options.seed,
        max_examples=options.max_examples,
        report_dir=report_dir / "schemathesis",
        phases=phases,
        operation_ids=operation_ids,
        stateful_max_steps=options.stateful_max_steps,
        request_timeout=options.timeout,
        workers=options.workers,
        recordings=options.recordings,
        **plan,
    )
    results.errors += run_schemathesis(fuzz_plan, hooks)


def _fuzz_connector(
    options: ConnectorOptions,
    scenarios: ConnectorScenarios,
    secrets: Secrets,
    pacer: Pacer,
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
        progress=progress,
    )
    _fuzz(
        "connector",
        options,
        options.allow_writes,
        scenarios.client,
        hooks,
        report_dir,
        stateful_omit=("ChainId",),
        negative_only=() if ledger.budget is None else creating_operations("connector"),
    )
    return hooks.probed


def _clean_up(scenarios: ConnectorScenarios, results: Results, ledger: Ledger) -> None:
    """Delete what the run created (always, even after a failure); count it for the summary."""
    if ledger.created:
        try:
            results.leftovers += cleanup(scenarios)
        except Exception as error:
            results.errors.append(f"clean-up failed: {type(error).__name__}: {error}")
            results.leftovers += [f"{name}: {len(items)} records" for name, items in ledger.created.items()]
    if results.writes is not None:
        results.writes.created = ledger.spent
        results.writes.deleted = ledger.removed()
        results.writes.left = results.writes.created - results.writes.deleted


def _run_stages(
    client: ApiClient,
    progress: Progress,
    results: Results,
    preflight: Callable[[Any], None],
    scenarios: ConnectorScenarios | ReverseScenarios,
    after_scenarios: Callable[[], None],
    finally_: Callable[[], None],
) -> None:
    """Preflight, then the scenarios and what follows them as one run (``_whole_run``); ``finally_``
    (clean-up, restoring links) runs whatever happened."""
    with client, progress:
        _preflight(preflight, scenarios, results)
        try:
            with _whole_run(results):
                progress.stage("scenarios")
                scenarios.run()
                after_scenarios()
        finally:
            finally_()


def _preflight(check: Callable[[Any], None], scenarios: Any, results: Results) -> None:
    """Run a preflight: a usage error stops the run (no reports); a fault of the suite is recorded."""
    try:
        check(scenarios)
    except UsageError:
        raise
    except Exception as error:
        results.fault("preflight", error)


def _preflight_connector(scenarios: ConnectorScenarios) -> None:
    resource = next((r for r in resources() if not r.required_filters), resources()[0])
    try:
        exchange = scenarios.call(resource.get_all, Limitation={"Count": 1})
    except ScenarioError as error:
        _unreachable(scenarios.client.base_url, error)
        return
    if exchange.status == 401:
        raise UsageError(
            "the server refused the tokens (401): check --client-token and --access-token "
            f"({scenarios.client.secrets.mask(exchange.describe())})"
        )


def _unreachable(base_url: str, error: ScenarioError) -> None:
    """A server that cannot be connected to is a usage error; one that connects and then does not
    answer properly is a finding (the checks that follow will meet it too)."""
    if isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)):
        raise UsageError(f"cannot reach {base_url}: {error.message.removeprefix('no answer: ')}") from None


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
        f"{'writes allowed (named memberships only)' if options.allow_writes else 'read-only'}, "
        f"enterprise {enterprise_id}, {len(options.tokens)} token(s), {len(options.membership_ids)} known "
        f"membership id(s), seed {options.seed}, max-examples {options.max_examples}, "
        f"phases {','.join(options.phases) or 'none'}, pacing {_rate_text(options.rate_limit)}",
    ]
    client, progress = _client_and_progress(
        "reverse", options, options.allow_writes, secrets, pacer, results, bearer=options.tokens[0]
    )
    scenarios = ReverseScenarios(
        client,
        results,
        list(options.tokens),
        enterprise_id,
        list(options.membership_ids),
        options.customer_id or str(uuid.UUID(int=options.seed + 1, version=4)),
        allow_writes=options.allow_writes,
    )

    def restore() -> None:
        with results.guard("link_unlink"):
            scenarios.restore()

    _run_stages(
        client,
        progress,
        results,
        _preflight_reverse,
        scenarios,
        lambda: _fuzz_reverse(options, scenarios, secrets, pacer, report_dir, progress),
        restore,
    )
    return _finish(results, secrets, report_dir, header, out, progress)


def _fuzz_reverse(
    options: ReverseOptions,
    scenarios: ReverseScenarios,
    secrets: Secrets,
    pacer: Pacer,
    report_dir: Path,
    progress: Progress,
) -> None:
    hooks = FuzzHooks(
        secrets,
        pacer,
        scenarios.results,
        prepare_write=scenarios.confine_write,
        on_response=scenarios.observe_write,
        progress=progress,
        # Enrolment creates members nobody named: fuzzing sends it only cases a provider must refuse.
        may_create=lambda: False,
        stateful_within_budget=False,
    )
    _fuzz(
        "reverse",
        options,
        options.allow_writes,
        scenarios.client,
        hooks,
        report_dir,
        bearer=options.tokens[0],
        negative_only=creating_operations("reverse"),
    )


def _preflight_reverse(scenarios: ReverseScenarios) -> None:
    try:
        exchange = scenarios.list_ids(scenarios.unknown_ids(1))
    except ScenarioError as error:
        _unreachable(scenarios.client.base_url, error)
        return
    if exchange.status == 401:
        raise UsageError("the provider refused the first --token (401)")


def _writes_text(allow_writes: bool, max_writes: int | None) -> str:
    if not allow_writes:
        return "read-only"
    return f"writes allowed (at most {'unlimited' if max_writes is None else max_writes} records)"


def _rate_text(rate: tuple[int, float] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]:g}s ({PACING_NOTE})"


__all__ = [
    "ConnectorOptions",
    "ReverseOptions",
    "UsageError",
    "verify_connector",
    "verify_reverse",
]
