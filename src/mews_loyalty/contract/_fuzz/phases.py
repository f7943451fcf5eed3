"""Schema-driven verification: schemathesis' examples, coverage, fuzzing and stateful phases.

The engine runs in this process so that one pacer spans all traffic and so that tokens are masked
before any report writer sees them. Around schemathesis' own machinery this module adds:

* ``before_call`` / ``after_call`` hooks: the Connector credentials go into every generated JSON body
  (they live in the body, where schemathesis' header-based auth cannot reach), every case that can
  create records passes the write budget's gate (``FuzzHooks.admit``), every request waits for the
  pacer, a 429's ``Retry-After`` holds back the next requests, and resources a write created are
  remembered for clean-up;
* two checks, ``ignored_body_auth`` (the body-token equivalent of the built-in ``ignored_auth``) and
  ``request_id_header``;
* the report files schemathesis' CLI writes (JUnit XML, HAR, VCR, NDJSON, HTML), fed from our event
  loop after masking, through files that mask again, beside the spec copy the pass ran on (the
  events, their masking and the writers are in ``events``).

The stateful phase runs as a second engine pass (reports in ``stateful/``), on a copy of the spec
without the properties ``FuzzPlan.stateful_omit`` names; link chains are kept alive by sending only
the linked item of a batch.

Only one run may be active per process at a time (the hooks are global in schemathesis).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis

from mews_loyalty._spec.catalog import ApiName, Operation, catalog, load_document
from mews_loyalty._transport.bounded import Bounds
from mews_loyalty.contract._exchange.api_client import request_id_problem, server_json
from mews_loyalty.contract._exchange.masking import Secrets
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._fuzz import seeding as _hypothesis
from mews_loyalty.contract._fuzz.adapter import (
    CHECKS,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
    ExecutionContext,
    bounded_sessions,
    events,
    from_schema,
    into_event_stream,
)
from mews_loyalty.contract._fuzz.events import DEFAULT_RECORDINGS, Collector, mask_recorder, report_handlers
from mews_loyalty.contract._report.progress import Progress
from mews_loyalty.contract._report.results import NotRunnable, Results, ScenarioError
from mews_loyalty.contract._run import signals

PHASES = ("examples", "coverage", "fuzzing", "stateful")
# What a check returns when it does not apply to a case (schemathesis then records no verdict);
# None means it passed.
SKIPPED = True


@dataclass
class FuzzPlan:
    api: ApiName
    base_url: str
    seed: int
    max_examples: int
    report_dir: Path  # schemathesis' own reports go here
    phases: tuple[str, ...] = PHASES
    operation_ids: tuple[str, ...] = ()  # empty: every operation
    bearer: str | None = None
    stateful_max_steps: int = 6
    # Request properties the stateful pass leaves out. Schemathesis starts link chains only at
    # operations whose inputs it believes something produces; it reads the Connector's optional
    # ``ChainId`` (a portfolio token's target chain, ignored for single-property tokens) as a
    # reference to a "Chain" resource no operation returns, and would then start chains only at
    # update and delete. The other phases keep fuzzing ChainId.
    stateful_omit: tuple[str, ...] = ()
    workers: int = 1
    request_timeout: float = 30.0
    # Operations the stateless phases send only invalid (negative) cases to, and the examples and
    # coverage phases skip: under a write budget, the creating ones (a conforming server creates nothing from
    # those). The stateful phase stops when ``FuzzHooks.may_create`` says the budget is spent.
    negative_only: tuple[str, ...] = ()
    recordings: tuple[str, ...] = DEFAULT_RECORDINGS  # of RECORDINGS
    # Statuses besides schemathesis' own with which a server may refuse a schema-valid request
    # (``positive_data_acceptance``): the Connector answers an id of no record 400, as Mews documents.
    valid_data_refused_with: tuple[int, ...] = ()
    checks: tuple[str, ...] | None = None  # the checks to run (None: every one; the run's selection)
    # The same for single operations (operation id -> statuses): a Reverse link of a membership the
    # provider cannot link is the documented 422.
    valid_data_refused_by: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class FuzzHooks:
    """What the run plugs into schemathesis; every callable may be None."""

    secrets: Secrets
    pacer: Throttle
    results: Results
    # Connector: set the credential properties of a generated JSON body (in place).
    prepare_body: Callable[[Operation, dict[str, Any]], None] | None = None
    # Every response schemathesis received (request body, status, raw body), e.g. to note created records.
    on_response: Callable[[Operation, int, Any, bytes], None] | None = None
    # Connector: probe an operation with wrong/missing/empty body tokens; returns the problems found.
    probe_body_auth: Callable[[Operation, dict[str, Any]], list[str]] | None = None
    check_request_id: bool = False
    # Cases of writing operations, before sending: confine them to what the user named (in place).
    prepare_write: Callable[[Operation, dict[str, Any]], None] | None = None
    # Whether positive creating cases may still be sent (the write budget); None: always.
    may_create: Callable[[], bool] | None = None
    # The write budget's gate: counts a case, before it is sent, by the records it can create, and
    # answers False when the budget does not allow that many (the case then goes out unable to
    # create any). None: no budget.
    admit: Callable[[Operation, Any], bool] | None = None
    # Whether the stateful phase ends with the budget: its chains would otherwise change records the
    # run did not create (Connector). False where writes are confined anyway (Reverse: named ids).
    stateful_within_budget: bool = True
    progress: Progress | None = None  # told the phase, the operation and each case, for the display
    probed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_ACTIVE: dict[str, tuple[FuzzHooks, dict[tuple[str, str], Operation]]] = {}


def _active_for(case: schemathesis.Case[Any]) -> tuple[FuzzHooks, Operation] | None:
    active = _ACTIVE.get("run")
    if active is None:
        return None
    hooks, operations = active
    operation = operations.get((case.operation.method.upper(), case.operation.path))
    return (hooks, operation) if operation is not None else None


@contextmanager
def _activated(hooks: FuzzHooks, api: ApiName) -> Iterator[None]:
    if "run" in _ACTIVE:
        raise RuntimeError("a schemathesis run is already active in this process")
    _ACTIVE["run"] = (hooks, {(op.method, op.path): op for op in catalog(api).operations})
    try:
        yield
    finally:
        _ACTIVE.pop("run", None)


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    active = _active_for(case)
    if active is None:
        return
    hooks, operation = active
    if isinstance(case.body, dict):
        if hooks.prepare_body is not None:
            hooks.prepare_body(operation, case.body)
        if hooks.prepare_write is not None and not reads_only(operation):
            hooks.prepare_write(operation, case.body)
        batch = case.body.get(operation.batch_field or "")
        if _phase(case) == "stateful" and isinstance(batch, list) and len(batch) > 1:
            # A link fills the first item of a batch; the generated others name records that do
            # not exist and would fail the whole (all-or-nothing) batch, ending the chain.
            case.body[operation.batch_field or ""] = batch[:1]
    if hooks.admit is not None and not hooks.admit(operation, case.body):
        # Even an invalid case may be invalid only where a server does not look. Past the write
        # budget a creating case is sent with an empty batch (minItems 1), or as an empty object
        # where the operation takes no batch: it names nothing to create, and schemathesis,
        # re-reading the edited case, checks it as the invalid case it now is.
        body = case.body if isinstance(case.body, dict) else {}
        case.body = {**body, operation.batch_field: []} if operation.batch_field else {}
    if hooks.progress is not None:
        hooks.progress.operation(operation.operation_id)
    hooks.pacer.acquire()


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case[Any]) -> bool:
    """Once the write budget is spent, no positive case of a creating operation is generated."""
    active = _active_for(case)
    if active is None or active[0].may_create is None:
        return True
    return not (creates(active[1]) and _positive(case) and not active[0].may_create())


def _budget_ends_stateful(hooks: FuzzHooks) -> bool:
    return hooks.stateful_within_budget and hooks.may_create is not None and not hooks.may_create()


def creates(operation: Operation) -> bool:
    """Whether ``operation`` creates records (what a write budget counts): the spec's ``x-effect``."""
    return operation.effect == "create"


def _positive(case: schemathesis.Case[Any]) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode == schemathesis.GenerationMode.POSITIVE


def reads_only(operation: Operation) -> bool:
    """Whether ``operation`` only reads (what a read-only run may send): the spec's ``x-effect``."""
    return operation.effect == "read"


def _phase(case: schemathesis.Case[Any]) -> str | None:
    meta = case.meta
    return str(meta.phase.name.value) if meta is not None else None


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], response: schemathesis.Response
) -> None:
    active = _active_for(case)
    if active is None:
        return
    hooks, operation = active
    hooks.results.count_requests()
    if hooks.progress is not None:
        hooks.progress.case_done()
    hooks.pacer.observe(response.status_code, {k: v[0] for k, v in response.headers.items() if v})
    if hooks.on_response is not None:
        hooks.on_response(operation, response.status_code, case.body, response.content)


@schemathesis.check
def ignored_body_auth(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Credentials travel in the body: once per operation, a 2xx answer is retried with bad tokens."""
    active = _active_for(case)
    if active is None:
        return SKIPPED
    hooks, operation = active
    if (
        hooks.probe_body_auth is None
        or not 200 <= response.status_code < 300
        or not isinstance(case.body, dict)
    ):
        return SKIPPED
    with hooks._lock:
        if operation.operation_id in hooks.probed:
            return SKIPPED
        hooks.probed.add(operation.operation_id)
    try:
        problems = hooks.probe_body_auth(operation, dict(case.body))
    except ScenarioError as error:  # a probe got no usable answer: that is this check's finding
        raise AssertionError(f"Body credentials could not be probed: {error.message}") from None
    except NotRunnable as error:  # a probe of an add, past the write budget
        hooks.results.skip("ignored_body_auth", error.reason)
        return SKIPPED
    if problems:
        raise AssertionError("Body credentials are not enforced: " + "; ".join(problems))
    return None


@schemathesis.check
def request_id_header(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every Connector response carries a Request-Id header (and an error body repeats it)."""
    active = _active_for(case)
    if (
        active is None
        or not active[0].check_request_id
        or case.method.upper() != case.operation.method.upper()
    ):
        return SKIPPED  # the spec speaks of the documented method only
    headers = {name: values[0] for name, values in response.headers.items() if values}
    problem = request_id_problem(headers, server_json(response.content))
    if problem:
        raise AssertionError(problem)
    return None


def _config(plan: FuzzPlan, enabled: tuple[str, ...]) -> schemathesis.Config:
    phases: dict[str, Any] = {name: {"enabled": name in enabled} for name in PHASES}
    # The spec carries no examples: let the examples phase send one case per operation anyway.
    phases["examples"]["fill-missing"] = True
    # Only the links the spec declares: inferred ones could lead from a listing to updates of data
    # the run did not create. Valid steps only: a chain stops at the first rejected step, and the
    # other phases send the invalid data.
    phases["stateful"].update(
        {
            "max-steps": plan.stateful_max_steps,
            "inference": {"algorithms": []},
            "generation": {"mode": "positive"},
        }
    )
    data: dict[str, Any] = {
        "seed": plan.seed,
        "base-url": plan.base_url,
        "workers": plan.workers,
        "request-timeout": plan.request_timeout,
        # Retry a 429 after its Retry-After (the pacer also holds back everything else meanwhile).
        "rate-limit": "auto",
        # A failure does not end an operation's cases: one rule every response breaks (a missing
        # Request-Id, say) would otherwise leave each operation a few cases and hide the rest. The
        # collector keeps a few failures per cause (events.KEPT_PER_CAUSE) and counts the others.
        "continue-on-failure": True,
        "generation": {"max-examples": plan.max_examples, "database": "none", "mode": "all"},
        "phases": phases,
        "checks": _checks(plan),
        "warnings": False,
        "cache": {"enabled": False},
    }
    operations: list[dict[str, Any]] = [
        {
            "include-operation-id": [operation_id],
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [
                        *POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
                        *map(str, (*plan.valid_data_refused_with, *statuses)),
                    ]
                }
            },
        }
        for operation_id, statuses in plan.valid_data_refused_by.items()
    ]
    if plan.negative_only and enabled != ("stateful",):
        # Examples are valid by nature, and the coverage phase's cases turn valid once the
        # credentials are filled in: both would create.
        operations.append(
            {
                "include-operation-id": list(plan.negative_only),
                "generation": {"mode": "negative"},
                "phases": {"coverage": {"enabled": False}, "examples": {"enabled": False}},
            }
        )
    if operations:
        data["operations"] = operations
    if plan.bearer is not None:
        data["auth"] = {"openapi": {"bearerAuth": {"bearer": plan.bearer}}}
    return schemathesis.Config.from_dict(data)


def _checks(plan: FuzzPlan) -> dict[str, Any]:
    """Schemathesis' checks section: every check, or only ``plan.checks`` (the run's selection)."""
    checks: dict[str, Any] = {
        "positive_data_acceptance": {
            "expected-statuses": [
                *POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
                *map(str, plan.valid_data_refused_with),
            ]
        }
    }
    if plan.checks is not None:
        for name in CHECKS.get_all_names():
            checks.setdefault(name, {})["enabled"] = name in plan.checks
    return checks


def _filter_set(operation_ids: tuple[str, ...]) -> dict[str, Any]:
    kinds = ("path", "method", "name", "tag", "operation_id")
    filters: dict[str, Any] = {}
    for side in ("include", "exclude"):
        for kind in kinds:
            filters[f"{side}_{kind}"] = ()
            filters[f"{side}_{kind}_regex"] = None
        filters[f"{side}_by"] = None
    filters["include_operation_id"] = operation_ids
    filters["exclude_deprecated"] = False
    return filters


def run_schemathesis(plan: FuzzPlan, hooks: FuzzHooks) -> list[str]:
    """Run the phases against ``plan.base_url``; results go to ``hooks.results``.

    The stateful phase runs as a second engine pass on a copy of the spec without the properties in
    ``plan.stateful_omit`` (see ``FuzzPlan``), with its reports in ``<report_dir>/stateful``.
    Returns the errors that kept schemathesis from doing its job (empty when it ran to the end).
    """
    labels = {f"{op.method} {op.path}": op.operation_id for op in catalog(plan.api).operations}
    collector = Collector(
        hooks.results, hooks.secrets, plan.api, labels, own_verdicts=frozenset({ignored_body_auth.__name__})
    )
    document = dict(load_document(plan.api))
    stateless = tuple(p for p in plan.phases if p != "stateful")
    # The spec each pass runs on is written beside its reports: schemathesis' HTML report names the
    # file it loaded, and the reader can open exactly what was tested (not a vanished temp file).
    # Hypothesis' caches stay with the reports, and its cases come from the seed alone (_hypothesis).
    with (
        _activated(hooks, plan.api),
        _hypothesis.for_run(plan.report_dir / ".hypothesis", plan.workers),
        bounded_sessions(Bounds(deadline=plan.request_timeout)),  # what schemathesis sends is bounded too
    ):
        if stateless:
            plan.report_dir.mkdir(parents=True, exist_ok=True)
            spec = plan.report_dir / "openapi.json"
            spec.write_text(json.dumps(document), encoding="utf-8")
            _run_engine(plan, hooks, collector, spec, stateless, plan.report_dir)
        if "stateful" in plan.phases and _budget_ends_stateful(hooks):
            # Its link chains start at creating steps; with none left it would only churn.
            hooks.results.skip("stateful", "needs a larger --max-writes (all records allowed are created)")
        elif "stateful" in plan.phases:
            directory = plan.report_dir / "stateful" if stateless else plan.report_dir
            directory.mkdir(parents=True, exist_ok=True)
            spec = directory / "openapi.json"
            requests = {op.request_schema for op in catalog(plan.api).operations}
            spec.write_text(json.dumps(_without(document, requests, plan.stateful_omit)), encoding="utf-8")
            _run_engine(plan, hooks, collector, spec, ("stateful",), directory)
    return collector.fatal


def _without(document: Mapping[str, Any], requests: set[str], names: tuple[str, ...]) -> dict[str, Any]:
    """A copy of the spec whose request body schemas (components ``requests``) lack the properties ``names``."""
    copied: dict[str, Any] = copy.deepcopy(dict(document))
    for component, schema in copied.get("components", {}).get("schemas", {}).items():
        if component not in requests:
            continue
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict):
            for name in names:
                properties.pop(name, None)
            if isinstance(schema.get("required"), list):
                schema["required"] = [r for r in schema["required"] if r not in names]
    return copied


def _run_engine(
    plan: FuzzPlan,
    hooks: FuzzHooks,
    collector: Collector,
    spec: Path,
    phases: tuple[str, ...],
    report_dir: Path,
) -> None:
    config = _config(plan, phases)
    project = config.projects.default
    report_dir.mkdir(parents=True, exist_ok=True)

    def engine(schema: schemathesis.BaseSchema) -> Iterable[events.EngineEvent]:
        return from_schema(schema).execute()

    stream = into_event_stream(
        location=str(spec),
        config=project,
        filter_set=_filter_set(plan.operation_ids),
        engine_callback=engine,
    )
    context = ExecutionContext(config=project)
    files_, handlers = report_handlers(project, report_dir, hooks.secrets, plan.recordings)
    try:
        for handler in handlers:  # inside: a writer thread started is always told to finish
            handler.start(context)
        for event in stream:
            collector.handle(event)
            if hooks.progress is not None:
                _tell_progress(hooks.progress, event, phases, len(plan.operation_ids or collector.labels))
            if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
                mask_recorder(hooks.secrets, event.recorder)
            context.on_event(event)
            for handler in handlers:
                handler.handle_event(context, event)
            if phases == ("stateful",) and _budget_ends_stateful(hooks):
                # Its chains start at creating steps: with the write budget spent it would only churn.
                hooks.results.notes.append("stateful: stopped when the write budget (--max-writes) was spent")
                break
            if hooks.results.stopped is not None:  # the run's failure limit (pytest -x)
                break
    finally:
        with signals.deferred():  # a signal now waits: a writer left running would hang the exit
            stream.close()
            for handler in handlers:
                handler.shutdown(context)
            for file in files_:
                file.close()
    hooks.results.halt_if_stopped()


def _tell_progress(
    progress: Progress, event: events.EngineEvent, phases: tuple[str, ...], operations: int
) -> None:
    # Every pass announces every phase, the ones it does not run too.
    if isinstance(event, events.PhaseStarted) and event.phase.name.value in phases:
        stateful = event.phase.name.value == "stateful"
        progress.stage(event.phase.name.value, units=0 if stateful else operations)
    elif isinstance(event, events.ScenarioFinished) and event.phase.value != "stateful":
        progress.unit_done()
