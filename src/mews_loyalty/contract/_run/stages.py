"""The parts both verification runs are made of: the run's client and progress display, the
schemathesis pass on the operations the mode allows, the stages in their order with clean-up always
last (bounded once the run is interrupted: ``signals``), preflight (a server that cannot be reached:
``COULD NOT RUN``), and the reports at the end, whatever happened."""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx
import schemathesis

from mews_loyalty._spec.catalog import ApiName, catalog, load_document
from mews_loyalty.contract._exchange.api_client import BOUND_CHECKS, ApiClient, Exchange
from mews_loyalty.contract._exchange.masking import Secrets
from mews_loyalty.contract._exchange.throttle import PACING_NOTE, Throttle
from mews_loyalty.contract._fuzz.adapter import CHECKS
from mews_loyalty.contract._fuzz.phases import FuzzHooks, FuzzPlan, creates, reads_only, run_schemathesis
from mews_loyalty.contract._report import traffic
from mews_loyalty.contract._report.findings import write_findings
from mews_loyalty.contract._report.folder import written
from mews_loyalty.contract._report.progress import Progress, fuzz_stages
from mews_loyalty.contract._report.results import NOT_SELECTED, Results, ScenarioError, Selection, Stopped
from mews_loyalty.contract._report.summary import result_line, summary, write_reports
from mews_loyalty.contract._report.text import printable
from mews_loyalty.contract._run import signals
from mews_loyalty.contract._run.options import CommonOptions
from mews_loyalty.contract._run.signals import Interrupted, signal_name
from mews_loyalty.contract._scenarios.connector import ConnectorScenarios
from mews_loyalty.contract._scenarios.reverse import ReverseScenarios

# Checks judged on every exchange, whatever else runs: whether a whole answer came within the bounds.
PASSIVE_CHECKS = frozenset({"answers", *BOUND_CHECKS.values()})
READ_ONLY_STATEFUL = "needs --allow-writes (every link the spec declares starts at a write)"


def read_operations(api: ApiName) -> tuple[str, ...]:
    """The operations that only read: what a read-only run may send."""
    return tuple(op.operation_id for op in catalog(api).operations if reads_only(op))


def creating_operations(api: ApiName) -> tuple[str, ...]:
    """The operations that create records: what a write budget counts."""
    return tuple(op.operation_id for op in catalog(api).operations if creates(op))


def links_within(api: ApiName, operation_ids: tuple[str, ...]) -> int:
    """How many of the spec's links join two of ``operation_ids`` (empty: every operation)."""
    allowed = set(operation_ids or (op.operation_id for op in catalog(api).operations))
    return sum(1 for link in catalog(api).links() if link.source in allowed and link.target in allowed)


def fuzz_phases(
    api: ApiName, phases: tuple[str, ...], operation_ids: tuple[str, ...], results: Results
) -> tuple[str, ...]:
    """The phases to run: the stateful one needs links among the operations the run may send."""
    if "stateful" in phases and not links_within(api, operation_ids):
        results.skip("stateful", READ_ONLY_STATEFUL)
        return tuple(p for p in phases if p != "stateful")
    return phases


def fuzz_selection(
    api: ApiName, operation_ids: tuple[str, ...], selection: Selection | None
) -> tuple[tuple[str, ...], tuple[str, ...] | None] | None:
    """The operations schemathesis sends cases to (empty: every one) and the checks it runs (None:
    every one) under the run's selection, from the operations the mode allows; None when the
    selection leaves it nothing. A check judged on every exchange (``PASSIVE_CHECKS``) selects the
    cases of its operations, with no schemathesis check of its own."""
    if selection is None:
        return operation_ids, None
    checks = tuple(sorted(name for name in CHECKS.get_all_names() if selection.has(name)))
    wanted = selection.operations([*checks, *PASSIVE_CHECKS])
    allowed = operation_ids or tuple(op.operation_id for op in catalog(api).operations)
    chosen = tuple(op for op in allowed if op in wanted)
    return (chosen, checks) if chosen else None


@contextmanager
def until_signalled(results: Results) -> Iterator[None]:
    """A signal (``signals.Interrupted``, or Ctrl-C where the run could not install its handlers)
    ends what is inside: the run is ``INTERRUPTED``, what follows (clean-up, reports) goes on."""
    try:
        yield
    except KeyboardInterrupt as error:
        if results.interrupted is None:
            results.interrupted = signal_name(error.signum) if isinstance(error, Interrupted) else "SIGINT"


@contextmanager
def whole_run(results: Results) -> Iterator[None]:
    """Whatever escapes the guarded checks: a signal (the run is interrupted), the failure limit
    (``Stopped``), the server gone (an error), or a bug of the suite (a fault)."""
    try:
        with until_signalled(results):
            yield
    except Stopped:
        pass  # the failure limit (pytest -x): what follows (clean-up, reports) goes on
    except (httpx.HTTPError, ScenarioError) as error:
        results.errors.append(f"the server stopped answering: {type(error).__name__}: {error}")
    except Exception as error:
        results.fault("run", error)


def spec_schema(api: ApiName, base_url: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"base-url": base_url})
    return schemathesis.openapi.from_dict(copy.deepcopy(dict(load_document(api))), config=config)


# Rough request budgets for the scenario checks, per operation (measured on the embedded mocks).
SCENARIO_REQUESTS_PER_OPERATION = {"connector": 45, "reverse": 4}


class RunClient(ApiClient):
    """The run's client: a first signal lets the exchange under way finish (``signals.deferred``);
    once the run's failure limit is reached (``Results.stopped``) it sends nothing more, but for the
    clean-up (``stoppable`` off)."""

    stoppable = True

    def send(self, *args: Any, **kwargs: Any) -> Exchange:
        if self.stoppable:
            self.results.halt_if_stopped()
        with signals.deferred():
            return super().send(*args, **kwargs)


def client_and_progress(
    api: ApiName,
    options: CommonOptions,
    allow_writes: bool,
    secrets: Secrets,
    pacer: Throttle,
    results: Results,
    **client: Any,
) -> tuple[ApiClient, Progress]:
    """The run's client on the spec of ``api``, and the progress display it tells of each request."""
    api_client = RunClient(
        base_url=options.base_url,
        schema=spec_schema(api, options.base_url),
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
    options: CommonOptions, results: Results, pacer: Throttle, api: ApiName, operations: int
) -> Progress:
    """The display (silent with --quiet), planned either way: an interrupted run lists the stages
    it did not reach."""
    progress = (
        Progress.silent(results)
        if options.quiet
        else Progress.to_stream(results, sys.stderr, pacer=pacer, deadline=options.timeout)
    )
    stages = fuzz_stages(
        options.phases,
        operations=operations,
        max_examples=options.max_examples,
        max_steps=options.stateful_max_steps,
    )
    scenario_requests = SCENARIO_REQUESTS_PER_OPERATION[api] * len(catalog(api).operations)
    progress.plan(stages, scenarios=scenario_requests)
    return progress


def finish(
    results: Results,
    secrets: Secrets,
    report_dir: Path,
    header: list[str],
    out: TextIO | None,
    progress: Progress | None = None,
) -> Results:
    """The reports, whatever happened (a signal now changes nothing), and the summary printed; a run
    that could not start prints one line."""
    _record_ending(results, progress)
    results.finish()
    with signals.shielded():
        timings = progress.timings() if progress is not None else []
        screen = secrets.mask(summary(results, header, report_dir))
        write_findings(results, report_dir)
        traffic.merge(report_dir)
        write_reports(results, report_dir, screen, [secrets.mask(line) for line in header], timings)
        leaked = secrets.scrub_files(written(report_dir))
        if leaked:  # the masking above missed something: say so loudly (the files are fixed now)
            results.errors.append(f"tokens had to be scrubbed from {len(leaked)} report files: {leaked[:3]}")
            screen = secrets.mask(summary(results, header, report_dir))
            write_reports(results, report_dir, screen, [secrets.mask(line) for line in header], timings)
        if results.could_not_run is not None:
            screen = printable(
                secrets.mask(f"{result_line(results)}: {results.could_not_run} (reports: {report_dir}/)")
            )
        with contextlib.suppress(OSError):  # a terminal closed by SIGHUP: the reports are written
            print(screen, file=out or sys.stdout, flush=True)
    return results


def _record_ending(results: Results, progress: Progress | None) -> None:
    """A signal the run did not raise on (one during a clean-up) still interrupts it."""
    caught = signals.received()
    if results.interrupted is None and caught:
        results.interrupted = signal_name(caught[0])
        note_unreached(results, progress)


def note_unreached(results: Results, progress: Progress | None) -> None:
    """Where an interrupted (or stopped: ``Results.stop_after``) run stopped, and the stages it did
    not reach, as not run."""
    where, unreached = progress.unreached() if progress is not None else ("starting", [])
    if results.interrupted is not None:
        ending = f"interrupted ({results.interrupted})"
        results.notes.append(f"interrupted by {results.interrupted} during {where}")
    else:
        ending = f"stopped at its failure limit ({results.stop_after})"
        results.notes.append(f"stopped at its failure limit during {where}: {results.stopped} failed")
    for stage in unreached:
        results.skip(stage, f"the run was {ending} before it")


def fuzz(
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
    chosen = fuzz_selection(api, () if allow_writes else read_operations(api), results.selection)
    if chosen is None:
        results.skip("fuzzing", NOT_SELECTED)
        return
    operation_ids, checks = chosen
    phases = fuzz_phases(api, options.phases, operation_ids, results)
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
        checks=checks,
        **plan,
    )
    results.errors += run_schemathesis(fuzz_plan, hooks)


def run_stages(
    client: ApiClient,
    progress: Progress,
    results: Results,
    preflight: Callable[[Any], str | None],
    scenarios: ConnectorScenarios | ReverseScenarios,
    after_scenarios: Callable[[], None],
    finally_: Callable[[float | None], None],
) -> None:
    """Preflight, then the scenarios and what follows them as one run (``whole_run``); ``finally_``
    (clean-up, restoring links) runs whatever happened, given its deadline (``signals.cleaning``)."""
    with client, progress:
        try:
            with whole_run(results):
                if run_preflight(preflight, scenarios, results):
                    progress.stage("scenarios")
                    scenarios.run()
                    after_scenarios()
        finally:
            if results.interrupted is not None or results.stopped is not None:
                note_unreached(results, progress)
            if isinstance(client, RunClient):
                client.stoppable = False  # the clean-up always runs
            _bounded(finally_, results)


def _bounded(finally_: Callable[[float | None], None], results: Results) -> None:
    """The clean-up, within its bound once the run is interrupted; cut short, it says so."""
    try:
        with signals.cleaning(results.interrupted is not None) as deadline:
            finally_(deadline)
    except signals.CleanupCut as cut:
        results.errors.append(f"the clean-up was cut short: {cut}")


def run_preflight(check: Callable[[Any], str | None], scenarios: Any, results: Results) -> bool:
    """Run a preflight: False when the run cannot start (``results.could_not_run`` says why); a fault
    of the suite is recorded and the run goes on."""
    try:
        reason = check(scenarios)
    except Exception as error:
        results.fault("preflight", error)
        return True
    if reason is not None:
        results.could_not_run = reason
        return False
    return True


def unreachable(base_url: str, error: ScenarioError) -> str | None:
    """Why the run cannot start when the first request could not connect at all (None when it did:
    a server that connects and then does not answer properly is a finding, for the checks that follow)."""
    if isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)):
        return f"cannot reach {base_url}: {error.message.removeprefix('no answer: ')}"
    return None


def rate_text(rate: tuple[int, float] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]:g}s ({PACING_NOTE})"
