"""The judging half of the validating proxy: each passage's request and answer against our spec.

    judge = Judge("connector", upstream, secrets, results)
    judge.judge(passage)          # in a worker thread, once the answer has been forwarded

The request is judged by the validators the servers themselves use: the Connector mock's
(``mock.connector.validation``: a JSON object, the strict model, formats, ``dependentRequired``) and
the provider kit's (``provider._parse``: the media type, the model, formats, combinations); both
refuse a body nested past ``_wire.nesting.MAX_DEPTH`` levels, as the servers do. The
answer is judged by the suite's response checks (``_exchange.api_client.ResponseChecks``: status,
content type, headers and body schema, ``Request-Id`` on the Connector), on a decoded copy read with
the bounded reader (``_transport.bounded.read_body``: its size cap holds whatever the compression).
A server that accepts (2xx) a request the validators refuse fails ``negative_data_rejection``, as it
does under the suite's fuzzing. Every verdict lands in the run's ``Results`` under the check names the
suite uses, with a masked curl line that repeats the request against the upstream.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from mews_loyalty._spec.catalog import ApiName, Operation, catalog
from mews_loyalty._transport import bounded
from mews_loyalty.contract._exchange.api_client import BOUND_CHECKS, Exchange, ResponseChecks
from mews_loyalty.contract._exchange.masking import Secrets, curl_line
from mews_loyalty.contract._proxy.forward import Passage
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run.stages import spec_schema
from mews_loyalty.mock.connector.errors import ConnectorError
from mews_loyalty.mock.connector.validation import RequestValidator, parse_object
from mews_loyalty.provider._parse import check_media_type, parse_payload
from mews_loyalty.provider._problems import ProviderProblem

REQUEST_CHECK = "request_conformance"
NEGATIVE_CHECK = "negative_data_rejection"
UNDOCUMENTED = "(not in the spec)"  # the operation label of a request no operation documents
SHOWN_PATH = 120
UNKNOWN = (
    "(a credential the proxy was not given, not shown)"  # characters of an undocumented path a finding shows
)


class Judge:
    """Judges passages of one API; thread-safe (``Results`` is, and validators keep no state)."""

    def __init__(
        self,
        api: ApiName,
        upstream: str,
        secrets: Secrets,
        results: Results,
        *,
        max_bytes: int = bounded.DEFAULT_MAX_BYTES,
    ) -> None:
        self.api = api
        self.secrets = secrets
        self.results = results
        self.bounds = bounded.Bounds(max_bytes=max_bytes)
        self.operations = catalog(api).by_path
        self.checks = ResponseChecks(
            spec_schema(api, upstream), secrets, results, check_request_id=api == "connector"
        )
        self._connector = {
            op.operation_id: RequestValidator.for_operation(op) for op in catalog(api).operations
        }

    def label(self, passage: Passage) -> str:
        """The operation a passage is an exchange of, by its method and path."""
        operation = self.operations.get((passage.method, passage.path))
        return operation.operation_id if operation is not None else UNDOCUMENTED

    def judge(self, passage: Passage) -> None:
        """Record the verdicts on one passage (a fault of the judging itself is recorded, not raised)."""
        self.results.count_requests()
        curl = self._curl(passage)
        operation = self.operations.get((passage.method, passage.path))
        if operation is None:
            shown = f"{passage.method} {passage.path[:SHOWN_PATH]}"
            self.results.failed(
                REQUEST_CHECK, UNDOCUMENTED, f"{shown}: no operation of the {self.api} spec", curl
            )
            return
        with self.results.guard(REQUEST_CHECK):
            refused = self.request_problem(operation, passage)
            self.results.expect(REQUEST_CHECK, operation.operation_id, refused is None, refused or "", curl)
            if passage.problem is not None:
                check, message = passage.problem
                self.results.failed(check, operation.operation_id, self.secrets.mask(message), curl)
                return
            answer = self._decoded(operation, passage, curl)
            if answer is not None:
                self._validate(Exchange(operation, _json_or_none(passage.body), answer, curl))
                self._negative(operation, passage, refused, curl)

    def request_problem(self, operation: Operation, passage: Passage) -> str | None:
        """Why the server's own validator refuses the request, or None when it accepts it."""
        if passage.body is None:
            return f"the request body is larger than {self.bounds.max_bytes} bytes (not validated)"
        try:
            if self.api == "connector":
                self._connector[operation.operation_id].validate(passage.body, parse_object(passage.body))
            else:
                check_media_type(_header(passage.headers, "content-type"))
                parse_payload(operation, passage.body)
        except ConnectorError as error:
            return self.secrets.mask(f"the mock would answer {error.status}: {error.message}")
        except ProviderProblem as problem:
            fields = "; ".join(f"{p.pointer}: {p.detail.render('en')}" for p in problem.errors)
            return self.secrets.mask(
                f"the kit would answer {problem.status}: {problem}" + (f" ({fields})" if fields else "")
            )
        return None

    def _decoded(self, operation: Operation, passage: Passage, curl: str) -> httpx.Response | None:
        """The answer as a client reads it, within the size cap (a finding when past it or undecodable)."""
        label = operation.operation_id
        encoding = _header(passage.answer_headers, "content-encoding") or ""
        try:
            if passage.answer is None:
                raise self.bounds.too_large()
            content = bounded.read_body(
                passage.answer, encoding, self.bounds, bounded.Deadline(self.bounds.deadline)
            )
        except bounded.AnswerTooLarge as error:
            self.results.failed(BOUND_CHECKS[bounded.AnswerTooLarge], label, str(error), curl)
            return None
        except bounded.UndecodableAnswer as error:
            self.results.failed("answers", label, str(error), curl)
            return None
        self.results.passed(BOUND_CHECKS[bounded.AnswerTooLarge], label)
        headers = [(k, v) for k, v in passage.answer_headers if k.lower() not in bounded.ENCODING_HEADERS]
        request = httpx.Request(
            passage.method, passage.url, headers=passage.headers, content=passage.body or b""
        )
        assert passage.status is not None  # an answer began: the forwarding says so
        response = httpx.Response(passage.status, headers=headers, content=content, request=request)
        response.elapsed = passage.elapsed
        return response

    def _validate(self, exchange: Exchange) -> None:
        try:
            self.checks.validate(exchange)
        except RecursionError:  # schema validation recurses: an answer nested this deep breaks it
            message = "the answer is nested too deep to validate"
            self.results.failed(
                "response_schema_conformance", exchange.operation.operation_id, message, exchange.curl
            )

    def _negative(self, operation: Operation, passage: Passage, refused: str | None, curl: str) -> None:
        if refused is None or passage.body is None:
            return
        accepted = passage.status is not None and 200 <= passage.status < 300
        message = f"the server answered {passage.status} to a request its spec refuses: {refused}"
        self.results.expect(NEGATIVE_CHECK, operation.operation_id, not accepted, message, curl)

    def _curl(self, passage: Passage) -> str:
        """A curl line against the upstream; a credential header holding none of the tokens given
        (so none the masking knows) is not shown at all."""
        headers = {
            name: value if name.lower() != "authorization" or self.secrets.mask(value) != value else UNKNOWN
            for name, value in passage.headers
        }
        return curl_line(self.secrets, passage.method, passage.url, headers, passage.body)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _json_or_none(body: bytes | None) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, RecursionError):
        return None
