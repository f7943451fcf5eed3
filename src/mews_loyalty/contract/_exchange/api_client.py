"""The scenario checks' HTTP client: paced, recorded, masked, and every response checked against the spec.

Each response is validated with schemathesis' own response checks (status code, content type, headers,
body schema), one at a time so a failure is attributed to the check that found it, plus this suite's
``request_id_header`` where the spec declares that header. Results land in the run's ``Results`` under
the same check names the fuzzing phases use.

Server answers are untrusted input: ``Exchange.object()``, ``.get()``, ``.items()`` and ``.text()`` read
whatever came back without raising (a non-object or non-JSON body reads as empty), and a request that
gets no whole answer (timeout, reset, truncated body) raises ``NoAnswer``, a finding for the check
that sent it. Every exchange is bounded (``mews_loyalty._transport.bounded``): an answer larger than
``max_bytes`` once decompressed, or not whole within ``timeout`` seconds of the request starting
(connect, send and every read together), is also a finding of its own, ``response_size_limit`` or
``response_deadline``, and the run goes on. After ``MAX_SILENT_IN_A_ROW`` requests in a row without
an answer (deadlines included) the server is taken for gone and further requests fail at once, so
a dead, silent or dripping server ends the run in about that many deadlines.

Given a ``recording`` path, each request sent (answered or not) is appended there, masked, as a HAR
entry (``_report.traffic``): the run's HAR holds the suite's own requests beside schemathesis'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import EllipsisType
from typing import Any

import httpx
import schemathesis

from mews_loyalty._errors import PROBLEM_CONTENT_TYPE, REQUEST_ID_HEADER
from mews_loyalty._spec.catalog import Operation
from mews_loyalty._transport import bounded
from mews_loyalty.contract._exchange.masking import CurlLine, Secrets, curl_line
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._fuzz.adapter import (
    Failure,
    FailureGroup,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from mews_loyalty.contract._report import traffic
from mews_loyalty.contract._report.results import NoAnswer, Results

RESPONSE_CHECKS = {
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_headers_conformance": response_headers_conformance,
    "response_schema_conformance": response_schema_conformance,
}
MAX_429_RETRIES = 3
NOT_JSON: Any = object()  # what ``server_json`` returns for a body that is not JSON
MAX_SILENT_IN_A_ROW = 3
# The checks an exchange past one of its bounds fails (each bounded exchange passes both).
BOUND_CHECKS: dict[type[bounded.BoundExceeded], str] = {
    bounded.AnswerTooLarge: "response_size_limit",
    bounded.DeadlinePassed: "response_deadline",
}
DESCRIBED_CHARACTERS = 300


def server_json(content: bytes) -> Any:
    """A server's body as JSON, or ``NOT_JSON``: never raises, whatever the bytes (invalid, not
    UTF-8, nested too deep for the parser)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return NOT_JSON


@dataclass
class Exchange:
    """One request and its response."""

    operation: Operation
    body: Any
    response: httpx.Response
    curl: str
    _json: Any = field(default=None, repr=False)

    @property
    def status(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        """The body as JSON, whatever its shape; ``{}`` when it is not JSON at all."""
        if self._json is None:
            value = server_json(self.response.content)
            self._json = {} if value is NOT_JSON else value
        return self._json

    def object(self) -> dict[str, Any]:
        """The body when it is a JSON object, else ``{}``: the safe start for reading fields."""
        data = self.json()
        return data if isinstance(data, dict) else {}

    def get(self, name: str) -> Any:
        """Top-level field ``name`` of a JSON object body (None when absent or not an object)."""
        return self.object().get(name)

    def items(self, name: str) -> list[dict[str, Any]]:
        """The objects in list ``name`` of a JSON object body (empty when absent or malformed)."""
        value = self.get(name)
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    def text(self, limit: int = DESCRIBED_CHARACTERS) -> str:
        """The start of the body as text, whatever its encoding."""
        content = self.response.content
        head = content[: limit * 4].decode("utf-8", errors="replace")[:limit]
        return head + ("..." if len(content) > limit else "")

    def describe(self) -> str:
        media = self.response.headers.get("content-type", "")
        kind = "" if media.startswith("application/") or not media else f" ({media})"
        return f"{self.status}{kind} {self.text()}"


def request_id_problem(headers: Mapping[str, str], body: Any) -> str | None:
    """Why a Connector response breaks the Request-Id rule, or None when it keeps it."""
    value = next((v for k, v in headers.items() if k.lower() == REQUEST_ID_HEADER.lower()), None)
    if not value or not str(value).strip():
        return "the response has no Request-Id header (every Connector API response carries one)"
    if isinstance(body, dict) and body.get("RequestId") not in (None, value):
        return (
            f"the error body's RequestId {body['RequestId']!r} differs from the Request-Id header {value!r}"
        )
    return None


class ApiClient:
    def __init__(
        self,
        *,
        base_url: str,
        schema: schemathesis.BaseSchema,
        secrets: Secrets,
        pacer: Throttle,
        results: Results,
        bearer: str | None = None,
        check_request_id: bool = False,
        timeout: float = 30.0,
        max_bytes: int = bounded.DEFAULT_MAX_BYTES,
        recording: Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secrets = secrets
        self.pacer = pacer
        self.results = results
        self.bearer = bearer
        self.checks = ResponseChecks(schema, secrets, results, check_request_id=check_request_id)
        self.recording = recording
        self.observers: list[Callable[[Exchange], None]] = []
        # Called with each request before it is sent; one may raise to refuse it (the write budget).
        self.gates: list[Callable[[Operation, Any], None]] = []
        self.bounds = bounded.Bounds(max_bytes=max_bytes, deadline=timeout)
        self._http = httpx.Client(transport=bounded.BoundedTransport(), follow_redirects=False)
        self._burst_checked = False
        self._silent_in_a_row = 0

    @property
    def gone(self) -> bool:
        """The last requests all went unanswered: the server is taken for gone."""
        return self._silent_in_a_row >= MAX_SILENT_IN_A_ROW

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        operation: Operation,
        body: Any,
        *,
        bearer: str | EllipsisType | None = ...,
        headers: Mapping[str, str] | None = None,
        burst: bool = False,
    ) -> Exchange:
        """Send ``body`` as JSON (or raw bytes) to ``operation``; validate and record the response.

        ``bearer`` overrides the run's token (None sends none); ``burst`` skips pacing and 429
        retries, for the one check that provokes a 429 on purpose. A gate may refuse the request
        by raising before anything is sent (its retries after a 429 pass as the same request).
        """
        for gate in self.gates:
            gate(operation, body)
        token = self.bearer if bearer is ... else bearer
        sent_headers = {
            "Content-Type": "application/json",
            "Accept": f"application/json, {PROBLEM_CONTENT_TYPE}",
        }
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        sent_headers.update(headers or {})
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = self.base_url + operation.path
        attempt = 0
        while True:
            if burst:
                self.pacer.record()
            else:
                self.pacer.acquire()
            curl = curl_line(self.secrets, operation.method, url, sent_headers, content)
            response = self._request(operation, url, content, sent_headers, curl)
            wait = self.pacer.observe(response.status_code, response.headers)
            exchange = Exchange(operation, body, response, curl)
            if not burst or response.status_code != 200:
                # A burst repeats one request as fast as it can: its 200s are checked once, below.
                self.validate(exchange)
            elif not self._burst_checked:
                self._burst_checked = True
                self.validate(exchange)
            if burst or wait is None or attempt >= MAX_429_RETRIES:
                break
            attempt += 1  # the next acquire() waits out the Retry-After the pacer just observed
        for observer in self.observers:
            observer(exchange)
        return exchange

    def _request(
        self, operation: Operation, url: str, content: bytes, headers: Mapping[str, str], curl: str
    ) -> httpx.Response:
        label = operation.operation_id
        if self.gone:
            message = f"not sent: the server is taken for gone (the last {MAX_SILENT_IN_A_ROW} requests got no answer)"
            raise NoAnswer(label, message, curl, needs="a server that answers")
        request = self._http.build_request(operation.method, url, content=content, headers=headers)
        started, clock = datetime.now(UTC), time.monotonic()
        response: httpx.Response | None = None
        try:
            response = bounded.send(self._http, request, self.bounds)
        except (httpx.HTTPError, bounded.BoundExceeded, bounded.UndecodableAnswer) as error:
            # timeouts, resets, truncated or undecodable bodies, and answers past a bound
            self.results.count_requests()
            silent = not isinstance(error, bounded.AnswerTooLarge)  # an answer came, too large
            self._silent_in_a_row = self._silent_in_a_row + 1 if silent else 0
            message = self.secrets.mask(f"no answer: {type(error).__name__}: {error}")
            self._bounds_kept(label, curl, error, message)
            raise NoAnswer(label, message, curl, needs="an answer to an earlier request") from error
        finally:
            self._record(curl, response, started, time.monotonic() - clock)
            if response is None:
                self.pacer.settled()
        self._silent_in_a_row = 0
        self.results.count_requests()
        self._bounds_kept(label, curl)
        return response

    def _record(self, curl: str, response: httpx.Response | None, started: datetime, seconds: float) -> None:
        """Append the exchange, masked, to the run's recording of its own requests."""
        sent = curl.request if isinstance(curl, CurlLine) else None
        if self.recording is None or sent is None:
            return
        answer = (response.status_code, response.headers, response.content) if response is not None else None
        traffic.append(self.recording, traffic.entry(sent, answer, started, seconds, self.secrets))

    def _bounds_kept(
        self, label: str, curl: str, error: BaseException | None = None, message: str = ""
    ) -> None:
        """Each bound's verdict on one exchange: kept, or broken by ``error``."""
        for kind, check in BOUND_CHECKS.items():
            if isinstance(error, kind):
                self.results.failed(check, label, message, curl)
            elif error is None:
                self.results.passed(check, label)

    def validate(self, exchange: Exchange) -> None:
        """Check one response against the spec, recording each check's verdict."""
        self.checks.validate(exchange)


class ResponseChecks:
    """The spec's response checks on one exchange, each verdict recorded in ``results``: the suite's
    client runs them on every answer it gets, the validating proxy on every answer it forwards."""

    def __init__(
        self,
        schema: schemathesis.BaseSchema,
        secrets: Secrets,
        results: Results,
        *,
        check_request_id: bool = False,
    ) -> None:
        self.secrets = secrets
        self.results = results
        self.check_request_id = check_request_id
        self._schema = schema
        self._operations: dict[str, schemathesis.APIOperation[Any, Any, Any, Any]] = {}

    def _st_operation(self, operation: Operation) -> schemathesis.APIOperation[Any, Any, Any, Any]:
        if operation.operation_id not in self._operations:
            found = self._schema[operation.path][operation.method]
            self._operations[operation.operation_id] = found
        return self._operations[operation.operation_id]

    def validate(self, exchange: Exchange) -> None:
        """Check one response against the spec, recording each check's verdict."""
        label = exchange.operation.operation_id
        body = exchange.body if not isinstance(exchange.body, bytes) else None
        case = self._st_operation(exchange.operation).Case(body=body, media_type="application/json")
        for name, check in RESPONSE_CHECKS.items():
            try:
                case.validate_response(exchange.response, checks=[check])
            except FailureGroup as group:
                messages = [_failure_text(f) for f in group.exceptions if isinstance(f, Failure)]
                self.results.failed(name, label, self.secrets.mask("; ".join(messages)), exchange.curl)
            except Failure as failure:
                self.results.failed(name, label, self.secrets.mask(_failure_text(failure)), exchange.curl)
            else:
                self.results.passed(name, label)
        if self.check_request_id:
            problem = request_id_problem(exchange.response.headers, exchange.json())
            self.results.expect("request_id_header", label, problem is None, problem or "", exchange.curl)


def _failure_text(failure: Failure) -> str:
    message = " ".join(failure.message.split())
    return f"{failure.title}: {message[:400]}" if message else failure.title
