"""Turning a request body into the operation's generated request model, or into a 400 problem.

    payload = await read_payload(request, operation, max_body_bytes)

Validation is the generated pydantic model in strict JSON mode, plus the string formats of the spec
that pydantic reads more leniently than JSON Schema does (a ``uuid`` must be the hyphenated
8-4-4-4-12 form; pydantic would also take braces, ``urn:uuid:`` or 32 bare hex digits), plus the
property combinations an object needs (``memberFilter``: a body valid but for that is answered with
the schema's ``x-unmet-combination-problem`` type, a field error at ``#/memberFilter`` and one per
property missing from the nearest combination). Formats and combinations are looked up in the
operation's request schema, so no field is named here. A body nested deeper than
``_wire.nesting.MAX_DEPTH`` levels is refused before it is decoded (the walkers recurse).
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from mews_loyalty._asgi import BodyTooLarge, read_body
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty._wire.combinations import UnmetCombination, unmet_combinations
from mews_loyalty._wire.formats import describe_formats, format_checker
from mews_loyalty._wire.nesting import NestedTooDeep, check_nesting
from mews_loyalty.provider._problems import (
    FIELD_REQUIRED,
    FieldProblem,
    ProviderProblem,
    Text,
    bad_request,
    field_problems,
    fitting_pointer,
    invalid_format,
)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _read_body(request: Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit)
    except BodyTooLarge as error:
        raise bad_request(Text("detail.body-too-large", {"limit": error.limit})) from None


def _decoded(body: bytes) -> Any:
    """The JSON of a body, or a 400 problem: malformed, or nested past ``MAX_DEPTH`` levels."""
    try:
        check_nesting(body)
    except NestedTooDeep as error:
        raise bad_request(Text("detail.nested-too-deep", {"limit": error.limit})) from None
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        raise bad_request(Text("detail.malformed-json")) from None


def parse_payload(operation: Operation, body: bytes) -> BaseModel:
    """The validated request model, or a 400 problem listing every field that is wrong."""
    raw = _decoded(body)
    problems: list[FieldProblem] = []
    payload: BaseModel | None = None
    try:
        payload = operation.request_model.model_validate_json(body, strict=True)
    except ValidationError as error:
        problems.extend(field_problems(error))
    reported = {problem.pointer for problem in problems}
    wrong_formats = (
        invalid_format(location, describe_formats(formats))
        for location, formats in format_checker(operation).violations(raw)
    )
    problems.extend(p for p in wrong_formats if p.pointer not in reported)
    document = catalog(operation.api).document
    schema = {"$ref": f"#/components/schemas/{operation.request_schema}"}
    unmet = list(unmet_combinations(document, schema, raw))
    gaps = [problem for gap in unmet for problem in combination_problems(gap)]
    problem_types = {gap.problem_type for gap in unmet}
    if unmet and not problems and payload is not None and len(problem_types) == 1:
        (problem_type,) = problem_types
        if problem_type is not None:  # nothing wrong but the combination: the schema's own problem type
            raise unmet_combination(problem_type, gaps)
    if problems or gaps or payload is None:
        raise bad_request(Text("detail.invalid-fields"), [*problems, *gaps])
    return payload


def combination_problems(gap: UnmetCombination) -> list[FieldProblem]:
    """A field error at the object, then one per property the nearest combination lacks."""
    location = list(gap.location)
    problems = [
        FieldProblem(
            FIELD_REQUIRED,
            fitting_pointer(location),
            Text("field.incomplete-combination", {"combinations": gap.describe()}),
        )
    ]
    problems.extend(
        FieldProblem(FIELD_REQUIRED, fitting_pointer([*location, name]), Text("field.required"))
        for name in gap.nearest()
    )
    return problems


def unmet_combination(problem_type: str, errors: list[FieldProblem]) -> ProviderProblem:
    return ProviderProblem(
        status=400,
        problem_type=problem_type,
        title=Text("title.incomplete-criteria"),
        detail=Text("detail.incomplete-criteria"),
        errors=errors,
    )


def check_media_type(content_type: str | None) -> None:
    """A 400 problem unless the body is declared JSON (or not declared at all)."""
    if content_type is not None and not _is_json_media_type(content_type):
        raise bad_request(Text("detail.unsupported-media-type"))


async def read_payload(request: Request, operation: Operation, max_body_bytes: int) -> BaseModel:
    check_media_type(request.headers.get("content-type"))
    return parse_payload(operation, await _read_body(request, max_body_bytes))
