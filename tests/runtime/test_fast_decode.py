"""The fast route (``_wire/fast.py``: msgspec mirrors of the attrs classes) decides nothing itself.

For every operation whose answer is a list of items, in both specs, a body built from the spec and
then broken one property at a time (nulls, absences, other types, odd UUID and date spellings,
unknown enum values and properties, duplicate keys...) decodes to the same objects, of the same
types, with the same warnings, or fails with the same error, with the fast route as without it. And
the route must really be taken for what a conforming server sends, or the sameness proves nothing.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any
from uuid import UUID

import attrs
import httpx
import pytest

from mews_loyalty import UnexpectedResponseError
from mews_loyalty._spec.catalog import API_NAMES, CURSOR_FIELD, Operation, catalog, resolve
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._wire import decode
from mews_loyalty._wire.decode import Page, PageStream, decode_items, decode_page, stream_page
from mews_loyalty._wire.fast import Unread, item_reader

LIST_OPERATIONS = [
    op for api in API_NAMES for op in catalog(api).operations if op.result_items and op.result_item_schema
]
IDS = [f"{op.api}.{op.operation_id}" for op in LIST_OPERATIONS]
ID = "6a0b4c62-3f1e-4f7d-9a53-2b8c0e7d1f45"
# What a property may hold instead of what the spec says: each replaces one property at a time.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.0,
    1.5,
    2**70,
    "",
    "x",
    "Brand-new value",  # an enum value added after the spec
    [],
    {},
    {"Unknown": 1},
    ID.upper(),
    ID.replace("-", ""),
    "{" + ID + "}",
    "urn:uuid:" + ID,
    ID[:-1],
    "2029-11-04T13:00:00Z",
    "2029-11-04T13:00:00.1234567Z",  # .NET's seven digits
    "2029-11-04T13:00:00+01:00",
    "2029-11-04T13:00:00",
    "2029-11-04",
    "2029-13-04",
]
ABSENT = object()


def _sample(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A value the schema accepts, every property present (the first alternative of each choice)."""
    schema = resolve(document, schema)
    for choice in ("anyOf", "oneOf"):
        if choice in schema:
            options = [resolve(document, option) for option in schema[choice]]
            return _sample(document, next(o for o in options if o.get("type") != "null"), depth)
    if "enum" in schema:
        return schema["enum"][-1]
    kinds = schema.get("type", "object")
    kind = next(k for k in kinds if k != "null") if isinstance(kinds, list) else kinds
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _sample(document, sub, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [_sample(document, schema.get("items", {}), depth + 1) for _ in range(2)]
    if kind == "integer":
        return 42
    if kind == "number":
        return 4.5
    if kind == "boolean":
        return True
    return {
        "uuid": ID,
        "date-time": "2029-11-04T13:00:00Z",
        "date": "1990-05-17",
        "email": "a@example.com",
    }.get(schema.get("format", ""), "text")


def _valid_body(op: Operation) -> dict[str, Any]:
    document = catalog(op.api).document
    item = _sample(document, {"$ref": f"#/components/schemas/{op.result_item_schema}"})
    second = copy.deepcopy(item)
    return {op.result_items: [item, second], CURSOR_FIELD: ID}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every property and list position under ``value``."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    holder: Any = changed
    for key in path[:-1]:
        holder = holder[key]
    if value is ABSENT:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return changed


def _bodies(op: Operation) -> Iterator[bytes]:
    valid = _valid_body(op)
    yield json.dumps(valid).encode()
    for path in _paths(valid):
        if path[:2] == (op.result_items, 0):
            continue  # the two items are alike: breaking the second is enough
        for value in [ABSENT, *ODD_VALUES]:
            yield json.dumps(_replaced(valid, path, value)).encode()
    items = op.result_items or ""
    item = json.dumps(valid[items][0])[1:]
    first_key = item.split(":", 1)[0]
    # A duplicate key: json.loads keeps the last; the fast route must agree (or step aside).
    yield json.dumps(valid).replace("{" + item, "{" + first_key + ': "other", ' + item, 1).encode()
    yield (
        json.dumps(valid)
        .replace("{" + item, "{" + first_key + ": " + json.dumps(ID) + ", " + item, 1)
        .encode()
    )
    yield json.dumps({**valid, "Extra": {"Nested": [1, 2]}}).encode()
    yield json.dumps(valid).replace("true", "1", 1).encode()
    yield from (b"", b"null", b"[]", b"{}", b'{"' + items.encode() + b'": null}', b"{", b"\xef\xbb\xbf{}")
    yield json.dumps(valid).encode("utf-16")
    yield json.dumps(valid).replace("4", "4\\u0000", 1).encode()
    yield json.dumps(valid).replace('"text"', '"\\ud800"', 1).encode()


def _typed(value: Any) -> Any:
    """``value`` with the type of every part spelt out: 1, 1.0 and True are not the same answer."""
    if attrs.has(type(value)):
        return (
            type(value).__name__,
            [(f.name, _typed(getattr(value, f.name))) for f in attrs.fields(type(value))],
        )
    if isinstance(value, Page):
        return ("Page", _typed(value.items), _typed(value.cursor), value.is_last)
    if isinstance(value, PageStream):  # what iter_all walks: the same as the Page
        return ("Page", _typed(list(value.items)), _typed(value.cursor), value.is_last)
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return (type(value).__name__, value.isoformat(), str(getattr(value, "tzinfo", None)))
    return (type(value).__name__, value)


@contextmanager
def _slow_route(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(decode, "item_reader", lambda *_: None)
        yield


def _outcome(call: Callable[[], Any], caplog: pytest.LogCaptureFixture) -> tuple[Any, ...]:
    decode._warned.clear()
    caplog.clear()
    try:
        result: tuple[Any, ...] = ("ok", _typed(call()))
    except Exception as error:  # the outcome is what is compared
        result = ("error", type(error).__name__, str(error))
    return (*result, [record.getMessage() for record in caplog.records])


def _call(op: Operation, body: bytes, *, streamed: bool = False) -> Callable[[], Any]:
    response = httpx.Response(200, content=body, headers={"Request-Id": "r-1"})
    redactor = Redactor(())
    if op.is_paged and streamed:
        return lambda: stream_page(op, response, 2, redactor)
    if op.is_paged:
        return lambda: decode_page(op, response, 2, redactor, Page, None)
    return lambda: decode_items(op, response, redactor)


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=IDS)
def test_every_list_answer_has_a_fast_route(op: Operation):
    # A generator change that left a class without a mirror would make the route silently slow.
    assert item_reader(op.api, decode._shape(op).item_class, op.result_items) is not None


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=IDS)
def test_the_fast_route_decodes_as_from_dict(op: Operation, monkeypatch: pytest.MonkeyPatch, caplog):
    caplog.set_level(logging.WARNING, logger="mews_loyalty")
    reader = item_reader(op.api, decode._shape(op).item_class, op.result_items)
    assert reader is not None
    taken = 0
    for body in _bodies(op):
        fast = _outcome(_call(op, body), caplog)
        with _slow_route(monkeypatch):
            slow = _outcome(_call(op, body), caplog)
        assert fast == slow, body[:300]
        if op.is_paged:  # iter_all's pages, whose items are built as they are taken
            assert _outcome(_call(op, body, streamed=True), caplog) == slow, body[:300]
        try:
            reader.read(body)
            taken += 1
        except Unread:
            pass
    assert taken > len(ODD_VALUES)  # the odd values a reader takes as from_dict does (absent, null, ...)


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=IDS)
def test_what_a_conforming_server_sends_takes_the_fast_route(op: Operation, caplog):
    caplog.set_level(logging.WARNING, logger="mews_loyalty")
    reader = item_reader(op.api, decode._shape(op).item_class, op.result_items)
    assert reader is not None
    valid = _valid_body(op)
    items, cursor = reader.read(json.dumps(valid).encode())
    assert len(items) == 2
    assert cursor == ID
    # Additive changes stay on it: a new property anywhere, a new enum value (kept, and warned about).
    widened = copy.deepcopy(valid)
    for path in list(_paths(widened)):
        holder = widened
        for key in path:
            holder = holder[key]
        if isinstance(holder, dict):
            holder["AddedLater"] = {"Any": ["thing"]}
    reader.read(json.dumps(widened).encode())
    document = catalog(op.api).document
    item_schema = resolve(document, {"$ref": f"#/components/schemas/{op.result_item_schema}"})
    enums = [
        name
        for name, sub in item_schema.get("properties", {}).items()
        if "enum" in resolve(document, sub) and name in valid[op.result_items or ""][0]
    ]
    for name in enums:
        decode._warned.clear()
        caplog.clear()
        body = _replaced(valid, (op.result_items, 0, name), "Brand-new value")
        token = decode._decoding.set((op.operation_id, Redactor(())))
        try:
            (first, _), _ = reader.read(json.dumps(body).encode())
        finally:
            decode._decoding.reset(token)
        assert "Brand-new value" in [getattr(first, field.name) for field in attrs.fields(type(first))]
        assert any("Brand-new value" in record.getMessage() for record in caplog.records)


def test_a_malformed_id_steps_aside_and_fails_as_before():
    op = catalog("connector").resources()["loyalty_memberships"]["get_all"]
    reader = item_reader(op.api, decode._shape(op).item_class, op.result_items)
    assert reader is not None
    body = _replaced(_valid_body(op), (op.result_items, 1, "Id"), "not-a-uuid")
    with pytest.raises(Unread):
        reader.read(json.dumps(body).encode())
    with pytest.raises(UnexpectedResponseError, match=r"does not match LoyaltyMembershipResult \(ValueError"):
        _call(op, json.dumps(body).encode())()


def test_ids_and_dates_are_the_standard_types():
    op = catalog("connector").resources()["loyalty_memberships"]["get_all"]
    page = _call(op, json.dumps(_valid_body(op)).encode())()
    first = page.items[0]
    assert type(first.id) is UUID
    assert type(first.expiration_date) is datetime.datetime
    assert first.expiration_date.tzinfo == datetime.UTC
