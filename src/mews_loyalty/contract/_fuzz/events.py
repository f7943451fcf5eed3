"""What the suite makes of schemathesis' events: findings in the run's Results, and masked reports.

``Collector`` turns each finished scenario, error and crash into verdicts (with curl lines, built
before masking); ``mask_recorder`` replaces tokens in everything a report writer reads of a finished
scenario; ``report_handlers`` are schemathesis' own report writers (JUnit XML, HAR, VCR, NDJSON,
HTML), each writing through a file that masks again; ``InterruptRelay`` raises again the interrupt
schemathesis caught, once they have all seen the end of the stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import requests

from mews_loyalty._spec.catalog import ApiName
from mews_loyalty.contract._exchange.api_client import BOUND_CHECKS
from mews_loyalty.contract._exchange.masking import MaskedTextFile, Secrets, curl_line
from mews_loyalty.contract._fuzz.adapter import (
    EventHandler,
    HarHandler,
    HtmlReportHandler,
    JunitXMLHandler,
    NdjsonHandler,
    ProjectConfig,
    ScenarioRecorder,
    Status,
    VcrHandler,
    bound_check,
    events,
)
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run import signals

# Failures kept with their message and curl line per cause (check, operation, failure title); past
# that, fuzzing goes on and the failures are only counted.
KEPT_PER_CAUSE = 5
# schemathesis' titles for a request that got no whole answer: findings of the ``answers`` check
NO_ANSWER_TITLES = ("Network Error", "Unresponsive Operation", "Unhealthy API")
# ... and for a server that stopped answering altogether (it crashed, or hangs): a finding of the
# ``answers`` check too, on the operation of the last request it saw, not an error of the run.
GONE_TITLE = "Server Unavailable"
# schemathesis' report formats and the names they get in the report folder
# Recordings of every request and response, in the formats schemathesis writes; each is the whole
# traffic again (tens of MB for an embedded run, written by a thread that competes for the GIL with
# generation), so a run writes HAR alone unless asked for more. JUnit and the HTML report always.
RECORDINGS = ("har", "vcr", "ndjson")
DEFAULT_RECORDINGS = ("har",)
REPORT_FILES = {
    "junit": "junit.xml",
    "har": "requests.har",
    "vcr": "cassette.yaml",
    "ndjson": "events.ndjson",
    "html": "html",
}


def _describe(error: BaseException) -> str:
    """An error in one line, with what a group holds (hypothesis' "inconsistent results" is a group
    whose first member is the failure the retry did not see again)."""
    text = " ".join(str(error).split())
    if isinstance(error, BaseExceptionGroup):
        inner = "; ".join(f"{type(e).__name__}: {_describe(e)}" for e in error.exceptions)
        text = f"{text} [{inner}]"
    return text


@dataclass
class Collector:
    """Turns schemathesis' events into the run's Results (before masking, to build curl lines)."""

    results: Results
    secrets: Secrets
    api: ApiName
    labels: dict[str, str]  # "POST /path" -> operationId
    own_verdicts: frozenset[str] = frozenset()  # checks that record their verdicts themselves
    fatal: list[str] = field(default_factory=list)
    # Failures kept with their message per cause (check, operation, failure title); the others count.
    _kept: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def handle(self, event: events.EngineEvent) -> None:
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            self._scenario(event.recorder)
            phase = getattr(event, "phase", None)
            name = str(getattr(phase, "value", phase or "fuzz"))
            self.results.count_cases(name, self._cases(event.recorder))
        elif isinstance(event, events.NonFatalError):
            self._non_fatal(event)
        elif isinstance(event, events.FatalError):
            self.fatal.append(self.secrets.mask(str(event.exception))[:500])

    def _non_fatal(self, event: events.NonFatalError) -> None:
        """A request without a whole answer is a finding; a spent write budget, a note; the rest errors."""
        label = self.labels.get(event.label, event.label)
        text = self.secrets.mask(f"{event.info.title}: {_describe(event.value)}")[:1000]
        bound = bound_check(event.value, BOUND_CHECKS)
        if event.related_to_operation and (bound or event.info.title in NO_ANSWER_TITLES):
            self.results.failed(bound or "answers", label, text, self._sent(event))
        elif event.info.title == GONE_TITLE:
            self.results.failed("answers", self._last_sent(str(event.value)), text)
        elif "filter_case" in str(event.value):
            reason = (
                "needs a larger --max-writes (all spent)"
                if self.api == "connector"
                else "not sent: they would enrol members nobody named"
            )
            self.results.skip("fuzzing", f"positive {label} cases: {reason}")
        else:
            self.fatal.append(f"{event.label}: {text}")

    def _sent(self, event: events.NonFatalError) -> str:
        """The curl line of the request an error is about: ours, from the request it carries (bash
        cannot hold every body schemathesis' code sample writes as ``$'...'``: a NUL is lost), else
        schemathesis' sample, masked."""
        request = getattr(event.value, "request", None)
        if isinstance(request, requests.PreparedRequest) and request.method and request.url:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            headers = {name: _text(value) for name, value in request.headers.items()}
            sent = body if isinstance(body, bytes) else None
            return curl_line(self.secrets, request.method, request.url, headers, sent)
        return self.secrets.mask(event.info.code_sample or "")

    def _last_sent(self, outage: str) -> str:
        """The operation of the first request schemathesis names in an outage message (the one in
        flight when the server went away), or "run" when it names none the spec has."""
        found = [
            (match.start(), operation)
            for label, operation in self.labels.items()
            if (match := re.search(re.escape(label.partition(" ")[2]) + r"(?=[\s'\"]|$)", outage))
        ]
        return min(found)[1] if found else "run"

    def _cases(self, recorder: ScenarioRecorder) -> dict[str, int]:
        """Cases the scenario sent, per operation: the generated ones and the stateful steps, not
        the requests a check derives from a case (``ignored_auth``'s, say)."""
        counts: dict[str, int] = {}
        for node in recorder.cases.values():
            if node.parent_id is None or node.transition is not None:
                label = self.labels.get(node.value.operation.label, node.value.operation.label)
                counts[label] = counts.get(label, 0) + 1
        return counts

    def _label(self, recorder: ScenarioRecorder, case_id: str) -> str:
        node = recorder.cases.get(case_id)
        label = node.value.operation.label if node is not None else recorder.label
        return self.labels.get(label, label)

    def _scenario(self, recorder: ScenarioRecorder) -> None:
        for case_id, checks in recorder.checks.items():
            operation = self._label(recorder, case_id)
            for check in checks:
                if check.name in self.own_verdicts:
                    continue  # its probes record their own verdicts, with curl lines
                if check.status == Status.SUCCESS:
                    self.results.passed(check.name, operation)
                elif check.failure_info is not None:
                    failure = check.failure_info.failure
                    failing_id = failure.case_id or case_id
                    failing = self._label(recorder, failing_id)
                    message = self.secrets.mask(f"{failure.title}: {' '.join(failure.message.split())}"[:600])
                    if not self._keep((check.name, failing, failure.title)):
                        self.results.failed(
                            check.name, failing, message, keep=False
                        )  # counted under its cause
                        continue
                    self.results.failed(check.name, failing, message, self._curl(recorder, failing_id))
                else:
                    self.results.failed(check.name, operation, "the check itself crashed")

    def _keep(self, cause: tuple[str, str, str]) -> bool:
        """Whether a failure of ``cause`` is kept with its message: the first ``KEPT_PER_CAUSE``
        are, so that fuzzing, going on past failures, cannot bury the report under one of them."""
        kept = self._kept.get(cause, 0)
        self._kept[cause] = kept + 1
        return kept < KEPT_PER_CAUSE

    def _curl(self, recorder: ScenarioRecorder, case_id: str) -> str:
        interaction = recorder.interactions.get(case_id)
        if interaction is None:
            return ""
        request = interaction.request
        headers = {name: values[0] for name, values in request.headers.items() if values}
        return curl_line(self.secrets, request.method, request.uri, headers, request.body)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def mask_recorder(secrets: Secrets, recorder: ScenarioRecorder) -> None:
    """Replace tokens in everything a report writer reads from a finished scenario."""
    for interaction in recorder.interactions.values():
        request = interaction.request
        if request.body is not None:
            request.body = secrets.mask_bytes(request.body)
            request._encoded_body_cache = None
        request.uri = secrets.mask(str(request.uri))
        request.headers = {k: [secrets.mask(v) for v in values] for k, values in request.headers.items()}
        response = interaction.response
        if response is not None:
            prepared = response.request
            if isinstance(prepared.body, bytes):
                prepared.body = secrets.mask_bytes(prepared.body)
            elif isinstance(prepared.body, str):
                prepared.body = secrets.mask(prepared.body)
            for name, value in list(prepared.headers.items()):
                prepared.headers[name] = secrets.mask(value if isinstance(value, str) else value.decode())
    for node in recorder.cases.values():
        case = node.value
        if case.body is not None:
            case.body = secrets.data(case.body)
        if case.headers:
            case.headers = secrets.data(dict(case.headers))
    for checks in recorder.checks.values():
        for check in checks:
            info = check.failure_info
            if info is not None:
                info.code_sample = secrets.mask(info.code_sample)
                info.failure.message = secrets.mask(info.failure.message)
                info.failure.title = secrets.mask(info.failure.title)
                for step in info.steps:
                    step.curl = secrets.mask(step.curl)


def report_handlers(
    project: ProjectConfig, directory: Path, secrets: Secrets, recordings: tuple[str, ...]
) -> tuple[list[MaskedTextFile], list[EventHandler[Any]]]:
    """Schemathesis' report writers (JUnit, HTML and the ``recordings`` asked for), each writing
    through a file that masks tokens.

    The events are masked before the writers see them too (``mask_recorder``); the files catch what
    lives deeper in schemathesis' data, such as the generation metadata the NDJSON log records.
    """
    files_ = {
        name: MaskedTextFile(directory / file, secrets)
        for name, file in REPORT_FILES.items()
        if name == "junit" or name in recordings
    }
    # Text file objects, as the writers expect (io.TextIOBase is not typed as IO[str]).
    outputs = {name: cast(IO[str], file) for name, file in files_.items()}
    output = project.output
    writers: dict[str, Callable[[IO[str]], EventHandler[Any]]] = {
        "junit": JunitXMLHandler,
        "har": lambda file: HarHandler(output=file, config=output),
        "vcr": lambda file: VcrHandler(output=file, config=output),
        "ndjson": lambda file: NdjsonHandler(output=file, config=project),
    }
    handlers = [writers[name](file) for name, file in outputs.items()]
    handlers.append(HtmlReportHandler(directory / REPORT_FILES["html"]))
    handlers.append(InterruptRelay())  # last: every writer sees the end of the stream first
    return list(files_.values()), handlers


class InterruptRelay(EventHandler[Any]):
    """Raises the interrupt schemathesis caught, once the stream has ended.

    Schemathesis catches the ``KeyboardInterrupt`` a signal raises in its event loop (``signals``),
    stops sending and reports it as an ``Interrupted`` event, then finishes its stream. Ignored, the
    run would go on to its next pass and stages and call the result a pass; raised again here, after
    every report writer has seen the stream's end, it stops the run as the signal meant to.
    Schemathesis also stops its workers this way for reasons of its own (a failure limit): only an
    ``Interrupted`` while the run has received a signal is one.
    """

    def __init__(self) -> None:
        self.interrupted: KeyboardInterrupt | None = None

    def handle_event(self, ctx: Any, event: events.EngineEvent) -> None:
        caught = signals.received()
        if isinstance(event, events.Interrupted) and caught and self.interrupted is None:
            self.interrupted = signals.Interrupted(caught[0])
        elif isinstance(event, events.EngineFinished) and self.interrupted is not None:
            raise self.interrupted
