"""The parts both verification runs are made of: the run's client and progress display, the
schemathesis pass on the operations the mode allows, the stages in their order with clean-up always
last, preflight, and the reports at the end."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx
import schemathesis

from mews_loyalty._spec.catalog import ApiName, catalog, load_document
from mews_loyalty.contract._exchange.api_client import ApiClient
from mews_loyalty.contract._exchange.masking import Secrets
from mews_loyalty.contract._exchange.throttle import PACING_NOTE, Throttle
from mews_loyalty.contract._fuzz.phases import FuzzHooks, FuzzPlan, creates, reads_only, run_schemathesis
from mews_loyalty.contract._report.progress import Progress, fuzz_stages
from mews_loyalty.contract._report.results import Results, ScenarioError
from mews_loyalty.contract._report.summary import summary, write_reports
from mews_loyalty.contract._run.options import CommonOptions, UsageError
from mews_loyalty.contract._scenarios.connector import ConnectorScenarios
from mews_loyalty.contract._scenarios.reverse import ReverseScenarios

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


@contextmanager
def whole_run(results: Results) -> Iterator[None]:
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


def spec_schema(api: ApiName, base_url: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"base-url": base_url})
    return schemathesis.openapi.from_dict(copy.deepcopy(dict(load_document(api))), config=config)


# Rough request budgets for the scenario checks, per operation (measured on the embedded mocks).
SCENARIO_REQUESTS_PER_OPERATION = {"connector": 45, "reverse": 4}


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
    api_client = ApiClient(
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


def finish(
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
    operation_ids = () if allow_writes else read_operations(api)
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
        **plan,
    )
    results.errors += run_schemathesis(fuzz_plan, hooks)


def run_stages(
    client: ApiClient,
    progress: Progress,
    results: Results,
    preflight: Callable[[Any], None],
    scenarios: ConnectorScenarios | ReverseScenarios,
    after_scenarios: Callable[[], None],
    finally_: Callable[[], None],
) -> None:
    """Preflight, then the scenarios and what follows them as one run (``whole_run``); ``finally_``
    (clean-up, restoring links) runs whatever happened."""
    with client, progress:
        run_preflight(preflight, scenarios, results)
        try:
            with whole_run(results):
                progress.stage("scenarios")
                scenarios.run()
                after_scenarios()
        finally:
            finally_()


def run_preflight(check: Callable[[Any], None], scenarios: Any, results: Results) -> None:
    """Run a preflight: a usage error stops the run (no reports); a fault of the suite is recorded."""
    try:
        check(scenarios)
    except UsageError:
        raise
    except Exception as error:
        results.fault("preflight", error)


def unreachable(base_url: str, error: ScenarioError) -> None:
    """A server that cannot be connected to is a usage error; one that connects and then does not
    answer properly is a finding (the checks that follow will meet it too)."""
    if isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)):
        raise UsageError(f"cannot reach {base_url}: {error.message.removeprefix('no answer: ')}") from None


def rate_text(rate: tuple[int, float] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]:g}s ({PACING_NOTE})"
