"""RFC 9457 problem details: the exceptions that become them, and how they are rendered.

Every non-200 answer of the kit is a ``ProviderProblem`` rendered in the negotiated language:

    raise BusinessRuleViolation("A canceled membership cannot be linked.")   # 422, from a backend
    raise BusinessRuleViolation({"en": "Card blocked.", "de": "Karte gesperrt."})

Problem and field error types are the URIs the Reverse API spec predefines; a backend may use its
own type URI for a 422. Field pointers are RFC 6901 JSON Pointers in URI fragment form
(``#/providerMembershipIds/3``), at most 255 characters as the spec allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from pydantic import AnyUrl, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.responses import Response

from mews_loyalty._errors import PROBLEM_CONTENT_TYPE
from mews_loyalty._generated.reverse.models import FieldError
from mews_loyalty.provider._language import pick, translate

CORE = "https://purl.mews.com/problem/core/"
MAX_POINTER_LENGTH = 255
MAX_TITLE_LENGTH = 255
MAX_FIELD_DETAIL_LENGTH = 500

# Field error types the spec predefines.
FIELD_REQUIRED = CORE + "field-required"
FIELD_INVALID_FORMAT = CORE + "field-invalid-format"
FIELD_TOO_SHORT = CORE + "field-too-short"
FIELD_TOO_LONG = CORE + "field-too-long"
FIELD_OUT_OF_RANGE = CORE + "field-out-of-range"
FIELD_INVALID_TYPE = CORE + "field-invalid-type"
FIELD_NOT_ALLOWED_VALUE = CORE + "field-not-allowed-value"

_URI = TypeAdapter(AnyUrl)


@dataclass(frozen=True)
class Text:
    """A text to render later in the negotiated language: a catalog key, or the backend's own texts."""

    key: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    given: Mapping[str, str] | None = None

    @classmethod
    def of(cls, value: str | Mapping[str, str]) -> Text:
        texts = {"en": value} if isinstance(value, str) else dict(value)
        if not texts or not all(isinstance(text, str) and text.strip() for text in texts.values()):
            raise ValueError("problem texts must be non-empty strings")
        return cls(given=texts)

    def render(self, language: str) -> str:
        if self.given is not None:
            return pick(self.given, language)
        assert self.key is not None
        return translate(self.key, language, **self.params)


@dataclass(frozen=True)
class FieldProblem:
    type: str
    pointer: str
    detail: Text

    def render(self, language: str) -> dict[str, str]:
        detail = self.detail.render(language)[:MAX_FIELD_DETAIL_LENGTH]
        return {"type": self.type, "pointer": self.pointer, "detail": detail}


class ProviderProblem(Exception):
    """An answer other than 200, as a problem document. The kit raises the 4xx ones itself."""

    def __init__(
        self,
        *,
        status: int,
        problem_type: str,
        title: Text,
        detail: Text,
        errors: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail.render("en"))
        self.status = status
        self.problem_type = problem_type
        self.title = title
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})

    def render(self, language: str, instance: str) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": self.problem_type,
            "title": self.title.render(language)[:MAX_TITLE_LENGTH],
            "status": self.status,
            "detail": self.detail.render(language),
            "instance": instance,
        }
        if self.errors:
            document["errors"] = [error.render(language) for error in self.errors]
        return document


def _checked_uri(value: str) -> str:
    try:
        _URI.validate_python(value)
    except ValidationError:
        raise ValueError("a problem type must be an absolute URI") from None
    return value


def _field_problems(errors: Iterable[FieldError | Mapping[str, Any]]) -> list[FieldProblem]:
    problems = []
    for error in errors:
        model = error if isinstance(error, FieldError) else FieldError.model_validate(error)
        detail = model.detail if isinstance(model.detail, str) and model.detail else None
        problems.append(
            FieldProblem(
                type=str(model.type),
                pointer=model.pointer,
                detail=Text.of(detail) if detail else Text("field.invalid"),
            )
        )
    return problems


class BusinessRuleViolation(ProviderProblem):
    """Raised by a backend: the request is well-formed but breaks a business rule (422).

    ``detail`` is a text or ``{"en": ..., "de": ...}``; the kit picks the negotiated language and
    falls back to English. ``problem_type`` may be the provider's own URI; ``errors`` point at the
    offending fields (generated ``FieldError`` models or mappings with wire names).
    """

    def __init__(
        self,
        detail: str | Mapping[str, str] | None = None,
        *,
        problem_type: str = CORE + "unprocessable-content",
        title: str | Mapping[str, str] | None = None,
        errors: Iterable[FieldError | Mapping[str, Any]] = (),
    ) -> None:
        title_text = Text("title.unprocessable-content") if title is None else Text.of(title)
        if title_text.given and any(len(text) > MAX_TITLE_LENGTH for text in title_text.given.values()):
            raise ValueError(f"a problem title has at most {MAX_TITLE_LENGTH} characters")
        super().__init__(
            status=422,
            problem_type=_checked_uri(problem_type),
            title=title_text,
            detail=Text("detail.business-rule") if detail is None else Text.of(detail),
            errors=_field_problems(errors),
        )


def _core(status: int, name: str, detail: Text | None = None) -> dict[str, Any]:
    """The fields of a problem of Mews' core type ``name``: its type URI, its title and default detail."""
    return {
        "status": status,
        "problem_type": CORE + name,
        "title": Text(f"title.{name}"),
        "detail": Text(f"detail.{name}") if detail is None else detail,
    }


class RequestTimedOut(ProviderProblem):
    """Raised by a backend that cannot answer in time (for example a slow upstream system): 408."""

    def __init__(self, detail: str | Mapping[str, str] | None = None) -> None:
        super().__init__(**_core(408, "request-timeout", None if detail is None else Text.of(detail)))


def bad_request(detail: Text, errors: Sequence[FieldProblem] = ()) -> ProviderProblem:
    return ProviderProblem(**_core(400, "bad-request", detail), errors=errors)


def unauthorized(detail_key: str, challenge: str) -> ProviderProblem:
    return ProviderProblem(
        **_core(401, "unauthorized", Text(detail_key)), headers={"WWW-Authenticate": challenge}
    )


def not_found() -> ProviderProblem:
    return ProviderProblem(**_core(404, "not-found"))


def method_not_allowed(allow: str) -> ProviderProblem:
    # No Mews problem type for 405: "about:blank" means "the status code says it all" (RFC 9457, 4.2.1).
    return ProviderProblem(
        status=405,
        problem_type="about:blank",
        title=Text("title.method-not-allowed"),
        detail=Text("detail.method-not-allowed", {"allowed": allow}),
        headers={"Allow": allow},
    )


def request_timed_out() -> ProviderProblem:
    return RequestTimedOut()


def internal_error() -> ProviderProblem:
    return ProviderProblem(**_core(500, "internal-server-error"))


def new_instance() -> str:
    """A URI naming one occurrence of a problem, to quote when reporting it (and to find it in logs)."""
    return f"urn:uuid:{uuid.uuid4()}"


def problem_response(problem: ProviderProblem, language: str, instance: str | None = None) -> Response:
    body = orjson.dumps(problem.render(language, instance or new_instance()))
    headers = {**problem.headers, "Content-Language": language, "Vary": "Accept-Language"}
    return Response(body, status_code=problem.status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


# --- pydantic validation errors -> field problems ---------------------------------------------------

_TYPE_ERRORS = {
    "string_type": "string",
    "bool_type": "boolean",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "list_type": "array",
    "tuple_type": "array",
    "set_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "dataclass_type": "object",
    "uuid_type": "string",
    "datetime_type": "string",
    "date_type": "string",
    "url_type": "string",
    "none_required": "null",
}
_FORMAT_ERRORS = {
    "uuid_parsing": "uuid",
    "uuid_version": "uuid",
    "datetime_parsing": "date-time",
    "datetime_from_date_parsing": "date-time",
    "timezone_aware": "date-time",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "url_parsing": "uri",
    "url_scheme": "uri",
    "url_syntax_violation": "uri",
    "string_pattern_mismatch": "pattern",
}
_RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of", "int_parsing_size"}
)


def pointer(location: Sequence[str | int]) -> str:
    """``("providerMembershipIds", 3)`` -> ``#/providerMembershipIds/3`` (RFC 6901, URI fragment form)."""
    tokens = (str(part).replace("~", "~0").replace("/", "~1") for part in location)
    return "#" + "".join("/" + quote(token, safe="!$&'()*+,;=:@?-._~") for token in tokens)


def fitting_pointer(location: Sequence[str | int]) -> str:
    """The pointer to ``location``, or to its nearest ancestor when that one would be too long."""
    for end in range(len(location), -1, -1):
        candidate = pointer(location[:end])
        if len(candidate) <= MAX_POINTER_LENGTH:
            return candidate
    return "#"


def _field_problem(error: ErrorDetails) -> FieldProblem:
    kind = error["type"]
    context = error.get("ctx") or {}
    where = fitting_pointer(error["loc"])
    if kind == "missing":
        return FieldProblem(FIELD_REQUIRED, where, Text("field.required"))
    if kind == "extra_forbidden":
        return FieldProblem(FIELD_NOT_ALLOWED_VALUE, where, Text("field.not-allowed"))
    if kind in {"string_too_long", "too_long"}:
        key = "field.string-too-long" if kind == "string_too_long" else "field.array-too-long"
        return FieldProblem(FIELD_TOO_LONG, where, Text(key, {"limit": context.get("max_length")}))
    if kind in {"string_too_short", "too_short"}:
        key = "field.string-too-short" if kind == "string_too_short" else "field.array-too-short"
        return FieldProblem(FIELD_TOO_SHORT, where, Text(key, {"limit": context.get("min_length")}))
    if kind in _TYPE_ERRORS:
        return FieldProblem(
            FIELD_INVALID_TYPE, where, Text("field.invalid-type", {"expected": _TYPE_ERRORS[kind]})
        )
    if kind in _FORMAT_ERRORS:
        expected = _FORMAT_ERRORS[kind]
        return FieldProblem(FIELD_INVALID_FORMAT, where, Text("field.invalid-format", {"expected": expected}))
    if kind in {"enum", "literal_error"}:
        expected = str(context.get("expected", ""))[:200]
        return FieldProblem(
            FIELD_NOT_ALLOWED_VALUE, where, Text("field.not-allowed-value", {"expected": expected})
        )
    if kind in _RANGE_ERRORS:
        return FieldProblem(FIELD_OUT_OF_RANGE, where, Text("field.out-of-range"))
    return FieldProblem(FIELD_INVALID_FORMAT, where, Text("field.invalid"))


def field_problems(error: ValidationError) -> Iterator[FieldProblem]:
    """One field problem per distinct (type, pointer) of a pydantic validation error."""
    seen: set[tuple[str, str]] = set()
    for detail in error.errors(include_url=False, include_input=False):
        problem = _field_problem(detail)
        if (problem.type, problem.pointer) not in seen:
            seen.add((problem.type, problem.pointer))
            yield problem


def invalid_format(location: Sequence[str | int], expected: str) -> FieldProblem:
    return FieldProblem(
        FIELD_INVALID_FORMAT, fitting_pointer(location), Text("field.invalid-format", {"expected": expected})
    )
