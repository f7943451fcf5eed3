"""Python arguments -> the exact JSON bytes sent, validated against the operation's schema first.

Everything is driven by the catalog: the keyword names an operation accepts are the snake_case fields of
its generated pydantic request model, the batch field and its limit come from the spec, and the body is
checked with that model in strict JSON mode, the spec's string formats as the mock and the kit
check them (``_formats.FormatChecker``: a UUID the caller spelled braced, as a URN or as 32 hex digits
is sent in canonical form; a date-time without seconds is refused), the spec's
``x-max-interval-in-months`` and its property combinations (``_combinations``). A rejected request
raises before anything is sent.

    body = build(op, envelope, params={"account_ids": [uuid4()]}, paging=(1000, None))
    data = encode(op, body)      # bytes, or RequestValidationError naming e.g. "CreatedUtc"
"""

from __future__ import annotations

import calendar
import difflib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

import attrs
from pydantic import BaseModel, ValidationError

from mews_loyalty._errors import CallArgumentError, RequestValidationError
from mews_loyalty._generated.connector.client.types import Unset as ConnectorUnset
from mews_loyalty._generated.reverse.client.types import Unset as ReverseUnset
from mews_loyalty._spec.catalog import CURSOR_FIELD, PAGING_FIELD, ApiName, Interval, Operation, catalog
from mews_loyalty._wire.combinations import has_combinations, unmet_combinations
from mews_loyalty._wire.formats import Location, describe_formats, format_checker

PAGE_SIZE_FIELD = "Count"
MAX_PROBLEMS_LISTED = 10


def describe(op: Operation) -> str:
    """``loyalty_memberships.add``: how the caller knows the operation."""
    return f"{op.resource}.{op.action}"


_UNSET = (ConnectorUnset, ReverseUnset)
_JSON_SCALARS = frozenset({str, int, bool, float, type(None)})


def to_wire(value: Any) -> Any:
    """JSON-ready data from what a caller may pass: generated models, dicts, UUIDs, datetimes, enums."""
    kind = type(value)  # exact JSON types first: a bulk write passes thousands of plain dicts
    if kind in _JSON_SCALARS:
        return value
    if kind is dict:  # a dict's plain values are taken in place, without a call each
        return {
            str(key): item if type(item) in _JSON_SCALARS else to_wire(item)
            for key, item in value.items()
            if type(item) in _JSON_SCALARS or not isinstance(item, _UNSET)
        }
    if kind is list:
        return [to_wire(item) for item in value]
    return _other_to_wire(value)


def _other_to_wire(value: Any) -> Any:
    if isinstance(value, Enum):
        return to_wire(value.value)
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if attrs.has(type(value)) and callable(getattr(value, "to_dict", None)):
        return to_wire(value.to_dict())
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items() if not isinstance(item, _UNSET)}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(item) for item in value]
    raise CallArgumentError(f"cannot send a {type(value).__name__} value to the API")


@cache
def _parameter_names(request_model: type[BaseModel], wire_names: frozenset[str]) -> dict[str, str]:
    # A one-word property (``customer``) has no alias: its field name is its wire name.
    return {
        name: info.alias or name
        for name, info in request_model.model_fields.items()
        if (info.alias or name) in wire_names
    }


def parameter_names(op: Operation) -> dict[str, str]:
    """snake_case keyword -> wire name, for the properties a caller sets freely (filters, ChainId, ...)."""
    return _parameter_names(op.request_model, frozenset(op.filters))


def _paging_keywords(op: Operation) -> str:
    """The keywords a paged operation's methods take besides its filters, for the unknown-name message."""
    return "; and to page: page_size, cursor (page() only)" if op.is_paged else ""


def parameters_to_wire(op: Operation, params: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments -> wire properties; a name the operation does not have is a TypeError."""
    names = parameter_names(op)
    wire: dict[str, Any] = {}
    for name, value in params.items():
        if name not in names:
            hint = difflib.get_close_matches(name, names, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            known = ", ".join(sorted(names)) or "none"
            raise CallArgumentError(
                f"{describe(op)}() got an unknown parameter {name!r}{suggestion}; it takes: {known}"
                + _paging_keywords(op)
            )
        if value is None:
            continue  # a keyword left at None is not sent (for filters, absent and null both mean "any")
        wire_name = names[name]
        interval = op.intervals.get(wire_name)
        if interval is not None and isinstance(value, tuple) and len(value) == 2:
            value = {interval.start: value[0], interval.end: value[1]}
        wire[wire_name] = to_wire(value)
    return wire


def build(
    op: Operation,
    envelope: Mapping[str, Any],
    *,
    params: Mapping[str, Any] | None = None,
    paging: tuple[int, UUID | str | None] | None = None,
    items: list[Any] | None = None,
) -> dict[str, Any]:
    """The request body as a dict: envelope, caller's parameters, page limitation, batch items."""
    body: dict[str, Any] = {**envelope, **parameters_to_wire(op, params or {})}
    if paging is not None:
        count, cursor = paging
        limitation: dict[str, Any] = {PAGE_SIZE_FIELD: count}
        if cursor is not None:
            limitation[CURSOR_FIELD] = to_wire(cursor)
        body[PAGING_FIELD] = limitation
    if items is not None and op.batch_field is not None:
        body[op.batch_field] = items
    return body


def encode(op: Operation, body: Mapping[str, Any], *, item_offset: int = 0) -> bytes:
    """The bytes to send, after the same checks the server makes; RequestValidationError otherwise.

    ``item_offset`` is the position of this batch's first item in the caller's list, so a problem is
    reported at the caller's index (``LoyaltyMemberships[1500].Code``), not the batch's.
    """
    body, format_problems = format_checker(op).normalised_and_violations(body)
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    try:
        op.request_model.model_validate_json(data, strict=True)
    except ValidationError as error:
        problems = [_problem(op, body, dict(detail), item_offset) for detail in error.errors()]
        # `from None`: pydantic's own message quotes the input, and the input holds the tokens.
        raise RequestValidationError(describe(op), _shorten(problems)) from None
    problems = [
        (_wire_path(op, location, item_offset), f"Input should be a valid {describe_formats(names)}")
        for location, names in format_problems
    ]
    if problems:
        raise RequestValidationError(describe(op), _shorten(problems))
    problems = _interval_problems(op, body) + _combination_problems(op, body)
    if problems:
        raise RequestValidationError(describe(op), problems)
    return data


def _problem(op: Operation, body: Mapping[str, Any], detail: dict[str, Any], offset: int) -> tuple[str, str]:
    """(wire path, message) for one pydantic error, e.g. ``LoyaltyMemberships[3].Code``.

    The error location also names union members (``datetime``, ``TimeFilterInterval``); following the
    body alongside it keeps only the steps that exist in the data, plus a missing field's own name.
    """
    location = list(detail.get("loc", ()))
    path = ""
    current: Any = body
    for position, step in enumerate(location):
        if isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            shown = step + offset if position == 1 and location[0] == op.batch_field else step
            path += f"[{shown}]"
            current = current[step]
        elif isinstance(current, Mapping) and isinstance(step, str) and step in current:
            path += f".{step}" if path else step
            current = current[step]
        elif detail.get("type") == "missing" and position == len(location) - 1:
            path += f".{step}" if path else str(step)
    return path, str(detail.get("msg", "invalid")) + _wrapper_hint(op, detail)


def _wrapper_hint(op: Operation, detail: Mapping[str, Any]) -> str:
    """What to do when a bare value stands where an update wrapper (``{"Value": ...}``) belongs."""
    if detail.get("type") != "model_type" or isinstance(detail.get("input"), Mapping):
        return ""
    name = (detail.get("ctx") or {}).get("class_name", "")
    model = getattr(sys.modules[op.request_model.__module__], name, None)
    fields = getattr(model, "model_fields", {})
    if not any("Value" in (field, info.alias) for field, info in fields.items()):
        return ""
    return (
        f" ({name}); an update wraps the new value: {{'Value': {detail.get('input')!r}}}"
        " (leave the field out to keep it unchanged)"
    )


def _wire_path(op: Operation, location: Location, offset: int) -> str:
    """``("LoyaltyMemberships", 3, "Url")`` -> ``LoyaltyMemberships[3].Url``, at the caller's index."""
    path = ""
    for position, step in enumerate(location):
        if isinstance(step, int):
            path += f"[{step + offset if position == 1 and location[0] == op.batch_field else step}]"
        else:
            path += f".{step}" if path else step
    return path


def _shorten(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    unique = list(dict.fromkeys(problems))
    if len(unique) <= MAX_PROBLEMS_LISTED:
        return unique
    return [*unique[:MAX_PROBLEMS_LISTED], ("", f"and {len(unique) - MAX_PROBLEMS_LISTED} more")]


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall time ``months`` calendar months later; the 31st becomes the month's last day.

    Raises ``ValueError`` saying so when that lands past year 9999, the end of Python's calendar.
    """
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    if not datetime.min.year <= year <= datetime.max.year:
        raise ValueError(f"{months} months after {moment.isoformat()} is outside years 1 to 9999")
    return moment.replace(
        year=year, month=month + 1, day=min(moment.day, calendar.monthrange(year, month + 1)[1])
    )


def spans_more_than(start: datetime, end: datetime, months: int) -> bool:
    """Whether the interval from ``start`` to ``end`` is longer than ``months`` calendar months
    (the rule of ``x-max-interval-in-months``, for the SDK and the mock alike)."""
    try:
        limit = add_months(start, months)
    except ValueError:
        return False  # the limit lies past year 9999: no datetime is later
    return end > limit


def _interval_problems(op: Operation, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for interval in op.intervals.values():
        bounds = _bounds(interval, body.get(interval.name))
        if bounds is None:
            continue  # the schema check has already accepted it; a form we cannot read is the server's call
        problem = _interval_problem(interval, *bounds)
        if problem:
            problems.append((interval.name, problem))
    return problems


def _interval_problem(interval: Interval, start: datetime, end: datetime) -> str:
    """What is wrong with an interval from ``start`` to ``end``, or ``""``."""
    if start > end:
        return (
            f"the interval starts ({start.isoformat()}) after it ends ({end.isoformat()}); "
            f"swap {interval.start} and {interval.end}"
        )
    if interval.max_months is not None and spans_more_than(start, end, interval.max_months):
        return (
            f"the interval from {start.isoformat()} to {end.isoformat()} is longer than "
            f"{interval.max_months} months; split it into shorter intervals"
        )
    return ""


def _bounds(interval: Interval, wire: Any) -> tuple[datetime, datetime] | None:
    """(start, end) of an interval's wire value, read by the ends the spec names; None if unreadable."""
    if not isinstance(wire, Mapping):
        return None
    try:
        return (
            datetime.fromisoformat(str(wire[interval.start])),
            datetime.fromisoformat(str(wire[interval.end])),
        )
    except (KeyError, ValueError):
        return None


def _interval_bounds(interval: Interval, value: Any) -> tuple[datetime, datetime] | None:
    """(start, end) of an interval argument in any accepted form; None when it cannot be read."""
    if isinstance(value, tuple) and len(value) == 2:
        value = {interval.start: value[0], interval.end: value[1]}
    bounds = _bounds(interval, to_wire(value))
    if bounds is None:
        return None
    start, end = bounds
    return bounds if (start.tzinfo is None) == (end.tzinfo is None) else None


def calendar_windows(start: datetime, end: datetime, months: int) -> list[tuple[datetime, datetime]]:
    """Consecutive windows covering ``[start, end)`` exactly, each at most ``months`` calendar months.

    Each window starts where the previous ended (start inclusive, end exclusive, as Mews filters), so
    an item falls in exactly one; each end is ``add_months`` of its own start, so none is too long.
    """
    windows = []
    while end > add_months(start, months):
        windows.append((start, add_months(start, months)))
        start = windows[-1][1]
    return [*windows, (start, end)]


def split_long_intervals(op: Operation, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The keyword arguments of each request a walk needs: one per window of every interval argument
    longer than the spec's ``x-max-interval-in-months`` (``[params]`` when none is)."""
    names = parameter_names(op)
    variants: list[dict[str, Any]] = [dict(params)]
    for name, value in params.items():
        interval = op.intervals.get(names.get(name, ""))
        months = None if interval is None else interval.max_months
        bounds = None if interval is None or value is None else _interval_bounds(interval, value)
        if months is None or bounds is None or bounds[1] <= add_months(bounds[0], months):
            continue
        windows = calendar_windows(*bounds, months)
        variants = [{**variant, name: window} for variant in variants for window in windows]
    return variants


@cache
def _request_has_combinations(api: ApiName, request_schema: str) -> bool:
    return has_combinations(catalog(api).document, {"$ref": f"#/components/schemas/{request_schema}"})


def _combination_problems(op: Operation, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not _request_has_combinations(op.api, op.request_schema):
        return []  # no object of this request needs a combination: skip walking every item
    document = catalog(op.api).document
    schema = {"$ref": f"#/components/schemas/{op.request_schema}"}
    return [
        (
            ".".join(str(step) for step in unmet.location),
            f"give at least one complete combination: {unmet.describe()}",
        )
        for unmet in unmet_combinations(document, schema, body)
    ]


def batches(items: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    """(offset, items) chunks of at most ``size`` items."""
    for offset in range(0, len(items), size):
        yield offset, items[offset : offset + size]


def items_to_wire(items: Iterable[Any]) -> list[Any]:
    if isinstance(items, str | bytes | Mapping):
        raise CallArgumentError("pass a list of items (or ids), not a single one")
    return [to_wire(item) for item in items]
