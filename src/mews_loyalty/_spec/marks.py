"""How the catalog reads the spec: ``$ref`` resolution, and every fact an operation gets from its
document, each from what the spec states (a named component, a property's schema, an ``x-``
extension documented in ``specs/README.md``), never from the spelling of a name.

``catalog`` builds each ``Operation`` with these readers and re-exports the names the rest of the
package uses (``resolve``, ``ref_name``, ``Interval``, ``FilterTarget``, the extension keys); codegen
types each operation's methods with the same readers (``shape``: paged query, bulk call or single
call), so the two cannot disagree. Standard library only: codegen imports this module before any
code is generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

# Request properties that carry credentials or locale on every Connector request: the runtime
# fills them in, so they are neither filters nor batch items.
ENVELOPE_FIELDS = frozenset({"ClientToken", "AccessToken", "Client", "LanguageCode", "CultureCode"})
# The keys of an OpenAPI path item that are operations, in the order OpenAPI lists them (the others
# are parameters, servers, a summary, ...).
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PAGING_FIELD = "Limitation"
CURSOR_FIELD = "Cursor"
MAX_INTERVAL_KEY = "x-max-interval-in-months"
# On a schema component: ``{start: <property>, end: <property>}`` says the object is a time interval
# from its ``start`` property to its ``end`` property. A request property whose schema is that
# component (alone or beside ``null`` in an ``anyOf``) is an interval filter.
INTERVAL_KEY = "x-interval"
# On an operation: the name of the provider kit's backend method that serves it. Absent: the
# operationId in snake case.
PROVIDER_METHOD_KEY = "x-provider-method"
# On an operation: ``true`` when sending the same request twice has the effect of sending it once, so
# it may be repeated after a 5xx or a lost connection. Absent means "not safe to repeat".
IDEMPOTENT_KEY = "x-idempotent"
# On an operation: what it does to the server's records. The contract suite reads it to keep a
# read-only run to reads and to count what a write budget allows; absent means "treat as a write".
EFFECT_KEY = "x-effect"
Effect = Literal["read", "create", "update", "delete", "link"]
EFFECTS: frozenset[str] = frozenset(get_args(Effect))
# On the schema component of a batch's items: the property naming the existing record each item
# acts on (an update item's ``LoyaltyMembershipId``). It must be a required property of the item.
RECORD_ID_KEY = "x-record-id"
# On a batch lookup operation: the item answered for a requested key the server does not know,
# ``{property: value}``, where the value ``$key`` stands for the key as requested.
NOT_FOUND_ITEM_KEY = "x-not-found-item"
REQUESTED_KEY = "$key"
# On a filter property of a paged read (or on the component that is its schema): what it keeps.
# ``{property: P}``: the items whose property ``P`` holds one of the values; ``{record: F}``: records
# by a fact the items do not show (``RecordFact``).
FILTER_KEY = "x-filter"
RecordFact = Literal["chain", "created", "updated", "activity"]
RECORD_FACTS: frozenset[str] = frozenset(get_args(RecordFact))


@dataclass(frozen=True)
class Interval:
    """A request property that is a time interval (its schema carries ``x-interval``)."""

    name: str  # wire name of the request property: "CreatedUtc"
    start: str  # wire name of its start: "StartUtc"
    end: str  # wire name of its end: "EndUtc"
    max_months: int | None  # the property's x-max-interval-in-months, None when unlimited


@dataclass(frozen=True)
class FilterTarget:
    """What a paged read's filter keeps (the property's ``x-filter``): exactly one of the two is set."""

    name: str  # wire name of the filter: "AccountIds"
    property: str | None  # the items' property holding one of the filter's values: "AccountId"
    # Or a fact of the record the items do not show: its chain (within the access token's), when it
    # was created or last changed (an x-interval filter), whether it is active or deleted.
    record: RecordFact | None


def ref_name(schema: Mapping[str, Any] | None) -> str | None:
    """The component a ``{"$ref": "#/components/schemas/X"}`` names (``X``), or None for an inline schema."""
    if not schema or "$ref" not in schema:
        return None
    return str(schema["$ref"]).rsplit("/", 1)[-1]


class RefCycleError(ValueError):
    """A ``$ref`` chain leads back to itself, so no schema is ever reached."""


def resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s (``#/components/schemas/X``) until a schema without one."""
    chain: list[str] = []
    while "$ref" in node:
        ref = str(node["$ref"])
        if ref in chain:
            raise RefCycleError("$ref cycle: " + " -> ".join([*chain, ref]))
        chain.append(ref)
        parts = ref.removeprefix("#/").split("/")
        target: Any = document
        for part in parts:
            target = target[part]
        node = target
    return node


def result_items(document: Mapping[str, Any], response_schema: str | None) -> str | None:
    """The response's first array property (``LoyaltyMemberships``, ``data``): where its items are."""
    if response_schema is None:
        return None
    schema = resolve(document, {"$ref": f"#/components/schemas/{response_schema}"})
    for name, prop in schema.get("properties", {}).items():
        kind = resolve(document, prop).get("type")
        if kind == "array" or (isinstance(kind, list) and "array" in kind):
            return str(name)
    return None


def items_schema(
    document: Mapping[str, Any], schema: str | None, array: str | None
) -> Mapping[str, Any] | None:
    """The (unresolved) item schema of the array property ``array`` of component ``schema``."""
    if schema is None or array is None:
        return None
    component = resolve(document, {"$ref": f"#/components/schemas/{schema}"})
    items = resolve(document, component["properties"][array]).get("items")
    return items if isinstance(items, Mapping) else None


def batch_key(
    document: Mapping[str, Any],
    request_schema: str,
    batch_field: str | None,
    response_schema: str | None,
    result_items: str | None,
) -> str | None:
    """The result item property that holds the same named component as the batch's items, if one does."""
    sent = ref_name(items_schema(document, request_schema, batch_field))
    answered = items_schema(document, response_schema, result_items)
    if sent is None or answered is None:
        return None
    item = resolve(document, answered)
    keys = [
        str(name)
        for name, prop in item.get("properties", {}).items()
        if ref_name(prop) == sent and name in item.get("required", ())
    ]
    return keys[0] if len(keys) == 1 else None


def interval_of(document: Mapping[str, Any], prop: Mapping[str, Any]) -> tuple[str, str] | None:
    """(start, end) when the property's schema is an ``x-interval`` component (or that or null)."""
    options = [option for option in prop.get("anyOf", [prop]) if option.get("type") != "null"]
    if len(options) != 1:
        return None
    target = resolve(document, options[0])
    ends = target.get(INTERVAL_KEY)
    if ends is None:
        return None
    if not isinstance(ends, Mapping) or not {"start", "end"} <= set(ends):
        raise ValueError(f"{INTERVAL_KEY} must name a start and an end property, got {ends!r}")
    start, end = str(ends["start"]), str(ends["end"])
    missing = {start, end} - set(target.get("properties", {}))
    if missing or start == end:
        raise ValueError(f"{INTERVAL_KEY} {dict(ends)!r} names no two distinct properties of the interval")
    return start, end


def intervals(
    operation_id: str, document: Mapping[str, Any], request: Mapping[str, Any]
) -> dict[str, Interval]:
    intervals = {}
    for name, prop in request.get("properties", {}).items():
        ends = interval_of(document, prop)
        if ends is None:
            if MAX_INTERVAL_KEY in prop:
                raise ValueError(
                    f"{operation_id}.{name}: {MAX_INTERVAL_KEY} on a property that is no {INTERVAL_KEY} component"
                )
            continue
        months = prop.get(MAX_INTERVAL_KEY)
        intervals[str(name)] = Interval(str(name), *ends, None if months is None else int(months))
    return intervals


def effect(operation_id: str, value: Any) -> Effect | None:
    if value is None:
        return None
    if value not in EFFECTS:
        raise ValueError(f"{operation_id}: {EFFECT_KEY} must be one of {sorted(EFFECTS)}, got {value!r}")
    return cast("Effect", value)


def batch(document: Mapping[str, Any], request: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The required array of items a bulk call sends (e.g. ``LoyaltyMemberships``), with its limit."""
    for name in request.get("required", ()):
        if name in ENVELOPE_FIELDS or name == PAGING_FIELD:
            continue
        prop = resolve(document, request["properties"][name])
        if prop.get("type") == "array" and "maxItems" in prop:
            return name, int(prop["maxItems"])
    return None, None


@dataclass(frozen=True)
class Shape:
    """What kind of call an operation is, read from its request and success response schemas."""

    request_schema: str  # the named component of the JSON request body
    request: Mapping[str, Any]  # that component, resolved
    response_schema: str | None  # the named component of the success JSON body (None: inline or none)
    result_items: str | None  # the response's array of items (paged or not), if any
    result_item_schema: str | None  # the named component of each of those items ("LoyaltyMembership")
    page_items: str | None  # the result items of a paged query (a request with ``Limitation``)
    batch_field: str | None  # the request's array of items of a bulk call (never on a paged query)
    batch_limit: int | None  # its maxItems


def success_response(
    operation_id: str, document: Mapping[str, Any], raw: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The operation's first 2xx response, resolved (YAML reads ``200:`` as an int, ``"200":`` as a str)."""
    success = sorted(
        (str(code), response) for code, response in raw["responses"].items() if str(code)[:1] == "2"
    )
    if not success:
        raise ValueError(f"{operation_id}: no 2xx response")
    return resolve(document, success[0][1])


def shape(operation_id: str, document: Mapping[str, Any], raw: Mapping[str, Any]) -> Shape:
    """A paged query (its request has ``Limitation``), a bulk call (``batch``) or a single call."""
    body = raw["requestBody"]["content"]["application/json"]["schema"]
    request_schema = ref_name(body)
    if request_schema is None:
        raise ValueError(f"{operation_id}: the request body must be a named component")
    request = resolve(document, body)
    ok = success_response(operation_id, document, raw)
    response_schema = ref_name(ok.get("content", {}).get("application/json", {}).get("schema"))
    found = result_items(document, response_schema)
    page_items = found if PAGING_FIELD in request.get("properties", {}) else None
    batch_field, batch_limit = (None, None) if page_items else batch(document, request)
    return Shape(
        request_schema=request_schema,
        request=request,
        response_schema=response_schema,
        result_items=found,
        result_item_schema=ref_name(items_schema(document, response_schema, found)),
        page_items=page_items,
        batch_field=batch_field,
        batch_limit=batch_limit,
    )


def record_id(
    operation_id: str, document: Mapping[str, Any], request_schema: str, batch_field: str | None
) -> str | None:
    """The batch items' ``x-record-id``, checked to be a required property of the item."""
    items = items_schema(document, request_schema, batch_field)
    if items is None:
        return None
    item = resolve(document, items)
    name = item.get(RECORD_ID_KEY)
    if name is None:
        return None
    if name not in item.get("properties", {}) or name not in item.get("required", ()):
        raise ValueError(
            f"{operation_id}: {RECORD_ID_KEY} {name!r} is no required property of the batch item"
        )
    return str(name)


def not_found_item(
    operation_id: str,
    value: Any,
    document: Mapping[str, Any],
    response_schema: str | None,
    result_items: str | None,
    batch_key: str | None,
) -> Mapping[str, Any] | None:
    """The operation's ``x-not-found-item``: every required item property, the batch key ``$key``."""
    if value is None:
        return None
    items = items_schema(document, response_schema, result_items)
    if batch_key is None or items is None:
        raise ValueError(f"{operation_id}: {NOT_FOUND_ITEM_KEY} on an operation that is no batch lookup")
    if not isinstance(value, Mapping):
        raise ValueError(f"{operation_id}: {NOT_FOUND_ITEM_KEY} must map item properties to values")
    item = resolve(document, items)
    unknown = set(value) - set(item.get("properties", {}))
    missing = set(item.get("required", ())) - set(value)
    if unknown or missing:
        raise ValueError(
            f"{operation_id}: {NOT_FOUND_ITEM_KEY} names no such item properties {sorted(unknown)} "
            f"or lacks required ones {sorted(missing)}"
        )
    if value[batch_key] != REQUESTED_KEY:
        raise ValueError(
            f"{operation_id}: {NOT_FOUND_ITEM_KEY} must answer the key {batch_key}: {REQUESTED_KEY}"
        )
    return {str(name): value[name] for name in value}


def filter_targets(
    operation_id: str,
    document: Mapping[str, Any],
    request: Mapping[str, Any],
    item_schema: str | None,
    intervals: Mapping[str, Interval],
    paged: bool,
) -> dict[str, FilterTarget]:
    """Each request property's ``x-filter`` (on the property, or on the component it refers to)."""
    targets = {}
    for name, prop in request.get("properties", {}).items():
        mark = prop.get(FILTER_KEY, resolve(document, prop).get(FILTER_KEY))
        if mark is None:
            continue
        where = f"{operation_id}.{name}: {FILTER_KEY}"
        if not paged or item_schema is None:
            raise ValueError(f"{where} on an operation that is no paged read of named items")
        if not isinstance(mark, Mapping) or len(mark) != 1 or not {"property", "record"} & set(mark):
            raise ValueError(f"{where} must be {{property: P}} or {{record: F}}, got {mark!r}")
        target = FilterTarget(str(name), mark.get("property"), mark.get("record"))
        if target.property is not None and target.property not in resolve(
            document, {"$ref": f"#/components/schemas/{item_schema}"}
        ).get("properties", {}):
            raise ValueError(f"{where} names {target.property!r}, no property of {item_schema}")
        if target.record is not None and target.record not in RECORD_FACTS:
            raise ValueError(f"{where} record must be one of {sorted(RECORD_FACTS)}, got {target.record!r}")
        if target.record in {"created", "updated"} and name not in intervals:
            raise ValueError(
                f"{where} {{record: {target.record}}} on a property that is no {INTERVAL_KEY} filter"
            )
        targets[str(name)] = target
    return targets
