"""What the SDK raises, and how an HTTP response becomes one of these errors.

    Exception
     ├── MewsError ........................ a call failed; completed_results holds what earlier batches returned
     │    ├── MewsApiError ................ the server answered with an error: status, message, request_id, details
     │    │    ├── BadRequestError ........ 400  malformed request or invalid parameter (a bug in the caller)
     │    │    ├── AuthenticationError .... 401  tokens invalid or expired, or the integration lacks permission
     │    │    ├── ForbiddenError ......... 403  a business rule refused it; the message is for the end user
     │    │    ├── RequestTimeoutError .... 408  took too long to prepare; ask for smaller pages or batches
     │    │    ├── RateLimitError ......... 429  over the access token's rate limit; retry_after in seconds
     │    │    ├── ServerError ............ 5xx  a fault on the server
     │    │    ├── UnexpectedResponseError  a status the API does not document, or a body that is not the documented JSON
     │    │    └── ProblemDetailError ..... Reverse API problem+json: type, title, status, detail, instance, errors
     │    ├── MewsConnectionError ......... no whole response (refused, reset, cut off); may_have_reached_server
     │    │    └── ApiTimeoutError ........ no whole answer within the client's timeout (not the server's 408)
     │    ├── ResponseTooLargeError ....... the answer is larger than max_response_bytes once decompressed
     │    ├── ClientClosedError ........... the client was closed before this call
     │    ├── ConfigurationError .......... a client argument or variable is wrong (also a ValueError, TypeError)
     │    ├── CallArgumentError ........... a method got an argument it does not take (also a TypeError)
     │    └── RequestValidationError ...... rejected before sending (also a ValueError); wire field paths

The class follows the status. A Reverse API problem+json body raises a class that is both
ProblemDetailError and the status class (a 429 problem is a RateLimitError too), with the problem attached.
Messages are scrubbed of the client's tokens before they reach any of these objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from mews_loyalty._generated.reverse.client.models import FieldError
from mews_loyalty._transport.redaction import Redactor

REQUEST_ID_HEADER = "Request-Id"
PROBLEM_CONTENT_TYPE = "application/problem+json"
EXCERPT_CHARACTERS = 200


@dataclass(frozen=True)
class ExportResume:
    """Where a failed ``iter_*`` export stopped: pass it back as ``iter_*(..., resume_from=error.resume)``
    with the same arguments, and the export goes on from the request that failed.

    ``window`` numbers the interval window the export was in (0 when the interval needed no split),
    ``cursor`` is the cursor of the request that failed (None: that window's first page), and
    ``arguments`` are that window's arguments, by which a resume with other arguments is refused.
    """

    window: int
    cursor: UUID | None
    arguments: Mapping[str, Any] = field(repr=False)


class MewsError(Exception):
    """Base of every error a call raises after it was validated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # A bulk call stops at its first failing batch; what the earlier batches returned is kept here.
        self.completed_results: list[Any] = []
        self.completed_batches = 0
        # An iter_* export that failed: where to resume it (None for any other call).
        self.resume: ExportResume | None = None

    def batch_failed(self, results: list[Any], batches: int, *, field: str | None, first_item: int) -> None:
        """Say where a bulk call stopped: ``batches`` batches were written (``results``), and the failing
        one starts at ``first_item`` of the caller's list. The server numbers items within its request
        (``LoyaltyMemberships[500]``); the message numbers them in the caller's list (``[1500]``)."""
        self.completed_results = results
        self.completed_batches = batches
        self.first_failed_item = first_item
        if field is None:
            return
        pattern = re.compile(rf"\b{re.escape(field)}\[(\d+)\]")

        def shift(text: str) -> str:
            return pattern.sub(lambda found: f"{field}[{int(found.group(1)) + first_item}]", text)

        if isinstance(self, MewsApiError):
            self.message = shift(self.message)
        written = f"{field}[0:{first_item}] were written" if first_item else "nothing was written"
        text = shift(str(self.args[0]) if self.args else "")
        self.args = (f"{text} (in the batch from {field}[{first_item}]; {written})",)


class MewsApiError(MewsError):
    """The server answered with an error status."""

    message: str

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        details: Any = None,
        operation_id: str = "",
    ) -> None:
        self.message = message
        self.status = status
        self.request_id = request_id
        self.details = details
        self.operation_id = operation_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        reason = _reason(self.status)
        text = f"{self.operation_id}: HTTP {self.status}{' ' + reason if reason else ''}: {self.message}"
        return text + (f" (Request-Id {self.request_id})" if self.request_id else "")


class BadRequestError(MewsApiError):
    """400: the request is malformed or a parameter is invalid."""


class AuthenticationError(MewsApiError):
    """401: the tokens are invalid or expired, or the integration lacks permission."""


class ForbiddenError(MewsApiError):
    """403: a business rule was violated; the message is meant for the end user."""


class RequestTimeoutError(MewsApiError):
    """408: the request took too long to prepare; ask for smaller pages or batches."""


class RateLimitError(MewsApiError):
    """429: the access token went over its rate limit; wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **fields)


class ServerError(MewsApiError):
    """5xx: a fault on the server."""


class UnexpectedResponseError(MewsApiError):
    """A status the API does not document, or a body that is not the documented JSON."""


class ProblemDetailError(MewsApiError):
    """A Reverse API error: RFC 9457 problem details, with field errors and their JSON pointers."""

    def __init__(
        self,
        *,
        type: str,  # the RFC 9457 member name
        title: str,
        detail: str,
        instance: str | None = None,
        errors: list[FieldError] | None = None,
        **fields: Any,
    ) -> None:
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors: list[FieldError] = errors or []
        pointers = "; ".join(f"{error.pointer}: {_field_error_text(error)}" for error in self.errors)
        message = f"{title}: {detail}" + (f" [{pointers}]" if pointers else "")
        super().__init__(message, **fields)


class MewsConnectionError(MewsError):
    """No response: the connection was refused, reset or timed out."""

    def __init__(self, message: str, *, operation_id: str = "", may_have_reached_server: bool) -> None:
        self.operation_id = operation_id
        # False only when no connection was ever made, so the server cannot have acted on the request.
        self.may_have_reached_server = may_have_reached_server
        super().__init__(f"{operation_id}: {message}")


class ApiTimeoutError(MewsConnectionError):
    """No whole answer within the client's ``timeout``: each attempt (connect, send, every read) has
    that many seconds in all. Not the server's 408 (``RequestTimeoutError``)."""


class ResponseTooLargeError(MewsError):
    """The answer's body is larger than the client's ``max_response_bytes`` once decompressed."""

    def __init__(self, message: str, *, operation_id: str = "", limit: int) -> None:
        self.operation_id = operation_id
        self.limit = limit
        super().__init__(f"{operation_id}: {message}")


class ClientClosedError(MewsError):
    """A call on a client that was closed (after ``close()``, or outside its ``with`` block)."""


class ConfigurationError(MewsError, ValueError, TypeError):
    """A client's argument or environment variable is missing or wrong; the message says what to pass."""


class CallArgumentError(MewsError, TypeError):
    """A method was called with what it does not take: an unknown keyword (the message lists the known
    ones), a value of a type the API cannot carry, a single item where a list belongs."""


class RequestValidationError(MewsError, ValueError):
    """The request was rejected before sending; each problem is (wire field path, what is wrong)."""

    def __init__(self, operation: str, problems: list[tuple[str, str]]) -> None:
        self.operation = operation
        self.problems = tuple(problems)
        listed = "; ".join(f"{path}: {text}" if path else text for path, text in problems)
        super().__init__(f"invalid request for {operation}: {listed}")


STATUS_ERRORS: dict[int, type[MewsApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    408: RequestTimeoutError,
    429: RateLimitError,
}
# Problem answers of each status class: both ProblemDetailError and the class (built once, by class).
_PROBLEM_CLASSES: dict[type[MewsApiError], type[ProblemDetailError]] = {}


def problem_class(status: int) -> type[ProblemDetailError]:
    """The class of a problem answer with ``status``: ``ProblemDetailError`` and the status class.

    ``except RateLimitError`` catches a Reverse API 429 as it catches a Connector one, and
    ``except ProblemDetailError`` catches every problem answer, whatever its status.
    """
    base = error_class(status)
    if base not in _PROBLEM_CLASSES:
        name = f"Problem{base.__name__}"
        doc = f"A Reverse API problem answer that is also a {base.__name__}."
        _PROBLEM_CLASSES[base] = type(
            name, (ProblemDetailError, base), {"__doc__": doc, "__module__": __name__}
        )
    return _PROBLEM_CLASSES[base]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _field_error_text(error: FieldError) -> str:
    detail = error.detail if isinstance(error.detail, str) else ""
    return detail or str(error.type_)


def error_class(status: int) -> type[MewsApiError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if 500 <= status <= 599:
        return ServerError
    return UnexpectedResponseError


def parse_json(content: bytes) -> Any:
    """The decoded body, or None when it is empty, not JSON, or nested too deep to decode (a server's
    ``[[[[...`` would otherwise end the call in a bare RecursionError)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def excerpt(response: httpx.Response, redactor: Redactor) -> str:
    text = response.content[:EXCERPT_CHARACTERS].decode("utf-8", errors="replace")
    kind = response.headers.get("Content-Type", "no content type")
    return f"a body that is not JSON ({kind}): {redactor.text(text)!r}" if text else "an empty body"


def error_from_response(
    response: httpx.Response,
    *,
    operation_id: str,
    redactor: Redactor,
    retry_after: float | None = None,
) -> MewsApiError:
    """The error for a non-2xx response; never raises, whatever the body holds."""
    status = response.status_code
    request_id = response.headers.get(REQUEST_ID_HEADER)
    payload = parse_json(response.content)
    fields: dict[str, Any] = {"status": status, "request_id": request_id, "operation_id": operation_id}
    cls = error_class(status)
    if cls is RateLimitError:
        fields["retry_after"] = retry_after
    if isinstance(payload, dict) and _is_problem(response, payload):
        return _problem_error(payload, redactor, fields)
    if isinstance(payload, dict):
        body_request_id = payload.get("RequestId")
        if isinstance(body_request_id, str) and body_request_id:
            fields["request_id"] = body_request_id
        fields["details"] = redactor.data(payload.get("Details"))
        message = payload.get("Message")
        text = redactor.text(message) if isinstance(message, str) and message else _reason(status)
        if cls is UnexpectedResponseError:
            text = f"status {status} is not documented for this operation: {text}"
        return cls(text, **fields)
    return cls(f"status {status} with {excerpt(response, redactor)}", **fields)


def _is_problem(response: httpx.Response, payload: dict[str, Any]) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return content_type.startswith(PROBLEM_CONTENT_TYPE) or ("type" in payload and "title" in payload)


def _problem_error(payload: dict[str, Any], redactor: Redactor, fields: dict[str, Any]) -> ProblemDetailError:
    clean = redactor.data(payload)
    errors: list[FieldError] = []
    for item in clean.get("errors") or []:
        if isinstance(item, dict) and isinstance(item.get("pointer"), str):
            errors.append(FieldError.from_dict({**item, "type": str(item.get("type", ""))}))
    instance = clean.get("instance")
    return problem_class(fields["status"])(
        type=str(clean.get("type") or "about:blank"),
        title=str(clean.get("title") or _reason(fields["status"])),
        detail=str(clean.get("detail") or ""),
        instance=instance if isinstance(instance, str) else None,
        errors=errors,
        details=clean,
        **fields,
    )
