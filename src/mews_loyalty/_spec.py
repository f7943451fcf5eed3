"""The operation catalog: what the runtime, the mocks and the contract suite know about each operation.

Everything here is read from the OpenAPI document that ships inside the generated models package
(``mews_<api>_models/openapi.yaml``, the very spec the code was generated from), so an operation
added to a spec and regenerated is picked up with no handwritten per-operation code:

    catalog("connector").by_id["loyaltyMemberships_getAll"].page_items   # "LoyaltyMemberships"
    catalog("connector").by_id["loyaltyMemberships_add"].batch_field     # "LoyaltyMemberships"
    catalog("connector").by_id["loyaltyMemberships_add"].batch_limit     # 1000
    catalog("reverse").by_id["listMemberships"].batch_limit              # 100
    catalog("connector").by_id["loyaltyMemberships_add"].idempotent      # False: no x-idempotent
    catalog("connector").by_id["loyaltyMemberships_getAll"].intervals["CreatedUtc"]
        # Interval(name="CreatedUtc", start="StartUtc", end="EndUtc", max_months=3)
    catalog("reverse").by_id["updateMembershipLink"].provider_method     # "link_membership"
    catalog("reverse").by_id["listMemberships"].batch_key                # "providerMembershipId"
    catalog("reverse").by_id["listMemberships"].not_found_item
        # {"providerMembershipId": "$key", "membershipNumber": "$key", "status": "notFound"}
    catalog("connector").by_id["loyaltyMemberships_update"].batch_item_id  # "LoyaltyMembershipId"
    catalog("connector").by_id["loyaltyMemberships_getAll"].filter_targets["AccountIds"]
        # FilterTarget(name="AccountIds", property="AccountId", record=None)

This is the internal API the runtime, the mocks, the provider kit and the contract suite build on:
each fact is derived here once, from what the spec states (a named component, a property's schema,
an ``x-`` extension documented in ``specs/README.md``), never from the spelling of a name.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from types import ModuleType
from typing import Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel

ApiName = Literal["connector", "reverse"]
API_NAMES: tuple[ApiName, ...] = ("connector", "reverse")

# Request properties that carry credentials or locale on every Connector request: the runtime
# fills them in, so they are neither filters nor batch items.
ENVELOPE_FIELDS = frozenset({"ClientToken", "AccessToken", "Client", "LanguageCode", "CultureCode"})
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


def snake_case(name: str) -> str:
    """``loyaltyMemberships_getAll`` -> ``loyalty_memberships_get_all``, as the client generator names things."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    return re.sub(r"[^a-zA-Z0-9]+", "_", words).strip("_").lower()


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


@dataclass(frozen=True)
class Operation:
    """One operation of one API, with the generated code that serves it."""

    api: ApiName
    operation_id: str
    method: str  # upper case, e.g. "POST"
    path: str
    tag: str
    resource: str  # accessor name, snake case: "loyalty_memberships" / "memberships"
    action: str  # snake case: "get_all", "add", "update", "delete", "list_memberships", ...
    request_schema: str  # component name of the JSON request body
    response_schema: str | None  # component name of the 200 JSON body (None for an inline schema)
    request_model: type[BaseModel]  # pydantic (generated models)
    response_model: type[BaseModel] | None
    client_module: ModuleType  # generated attrs + httpx function module (sync_detailed, asyncio_detailed)
    documented_statuses: frozenset[int]
    error_content_type: str  # "application/json" (Connector) or "application/problem+json" (Reverse)
    idempotent: bool  # the spec's x-idempotent: safe to send again when the server may have acted
    effect: Effect | None  # the spec's x-effect: what the operation does to the server's records
    page_items: str | None  # wire name of the item list in a paged response (request has Limitation)
    result_items: str | None  # wire name of the response's array of items (paged or not), if any
    result_item_schema: str | None  # the named component of each of those items ("LoyaltyMembership")
    batch_field: str | None  # wire name of the request array that holds the items of a bulk call
    batch_limit: int | None  # its maxItems
    # The property of each result item holding one of the batch's values (the same named component
    # as the batch field's items): a lookup's answer is keyed by it (``providerMembershipId``).
    batch_key: str | None = None
    provider_method: str = ""  # the spec's x-provider-method, or the operationId in snake case
    batch_item_id: str | None = None  # the batch items' x-record-id: the record each item acts on
    # The spec's x-not-found-item: the item answered for a requested key the server does not know.
    not_found_item: Mapping[str, Any] | None = None
    filter_targets: Mapping[str, FilterTarget] = field(default_factory=dict)  # filter -> its x-filter
    intervals: Mapping[str, Interval] = field(default_factory=dict)  # request property -> interval
    request_properties: tuple[str, ...] = ()  # wire names of all request body properties
    required: frozenset[str] = frozenset()  # required request body properties
    # JSON Schema `dependentRequired` of the request body (LanguageCode needs CultureCode and back);
    # pydantic models cannot express it, so validators call `missing_dependents` as well.
    dependent_required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def missing_dependents(self, body: Mapping[str, Any]) -> list[str]:
        """Messages for properties present without the properties they require."""
        return [
            f"{name} requires {other}"
            for name, others in self.dependent_required.items()
            if name in body
            for other in others
            if other not in body
        ]

    @property
    def max_interval_months(self) -> dict[str, int]:
        """Interval filter -> its ``x-max-interval-in-months``, for the intervals that have one."""
        return {
            name: interval.max_months
            for name, interval in self.intervals.items()
            if interval.max_months is not None
        }

    @property
    def is_paged(self) -> bool:
        return self.page_items is not None

    @property
    def filters(self) -> tuple[str, ...]:
        """Request properties a caller chooses freely (not envelope, paging or batch items)."""
        skip = ENVELOPE_FIELDS | {PAGING_FIELD, self.batch_field}
        return tuple(name for name in self.request_properties if name not in skip)


@dataclass(frozen=True)
class Catalog:
    api: ApiName
    document: Mapping[str, Any]
    operations: tuple[Operation, ...]

    @property
    def by_id(self) -> dict[str, Operation]:
        return {op.operation_id: op for op in self.operations}

    @property
    def by_path(self) -> dict[tuple[str, str], Operation]:
        return {(op.method, op.path): op for op in self.operations}

    def resources(self) -> dict[str, dict[str, Operation]]:
        """``{"loyalty_memberships": {"get_all": op, "add": op, ...}, ...}``"""
        grouped: dict[str, dict[str, Operation]] = {}
        for op in self.operations:
            grouped.setdefault(op.resource, {})[op.action] = op
        return grouped

    def schema(self, name: str) -> Mapping[str, Any]:
        return self.document["components"]["schemas"][name]  # type: ignore[no-any-return]

    def single(self, effect: Effect, *, batched: bool | None = None) -> Operation:
        """The one operation with this ``x-effect`` (and, if given, with or without a batch field).

        ``catalog("reverse").single("read", batched=True)`` is the membership list, ``single("link")``
        the link PUT: what code needs of an operation, asked of the spec instead of its name.
        """
        found = [
            op
            for op in self.operations
            if op.effect == effect and (batched is None or (op.batch_field is not None) == batched)
        ]
        if len(found) != 1:
            names = ", ".join(op.operation_id for op in found) or "none"
            raise LookupError(f"{self.api}: expected one operation with x-effect {effect}, found {names}")
        return found[0]

    def links(self) -> tuple[Link, ...]:
        """The OpenAPI links of every operation's responses (what the spec says one answer feeds)."""
        found: list[Link] = []
        for item in self.document.get("paths", {}).values():
            for raw in item.values() if isinstance(item, Mapping) else ():
                if not isinstance(raw, Mapping) or "operationId" not in raw:
                    continue
                for status, response in raw.get("responses", {}).items():
                    response = resolve(self.document, response)
                    for name, link in response.get("links", {}).items():
                        if isinstance(link, Mapping) and "operationId" in link:
                            found.append(
                                Link(
                                    name=str(name),
                                    source=str(raw["operationId"]),
                                    status=str(status),
                                    target=str(link["operationId"]),
                                    request_body=link.get("requestBody"),
                                )
                            )
        return tuple(found)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: values of one operation's response (or request) that fill another's request.

    ``AddTierToProgram`` (source ``loyaltyPrograms_add``, target ``loyaltyTiers_add``) with the body
    ``{LoyaltyTiers: [{LoyaltyProgramId: '$response.body#/LoyaltyPrograms/0/Id'}]}`` says that a
    tier's ``LoyaltyProgramId`` is the ``Id`` of a program.
    """

    name: str
    source: str  # operationId of the operation whose response carries the link
    status: str  # the response's status code
    target: str  # operationId of the operation the link fills in
    request_body: Any  # the link's requestBody template (runtime expressions in its leaves)

    def assignments(self) -> Iterator[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
        """``(where in the target's body, "response" | "request", JSON pointer in the source)`` for
        each runtime expression of the body: ``(("LoyaltyTiers", 0, "LoyaltyProgramId"), "response",
        ("LoyaltyPrograms", "0", "Id"))``. Constant leaves are left out."""
        yield from _assignments(self.request_body, ())


def _assignments(
    node: Any, where: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _assignments(value, (*where, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _assignments(value, (*where, index))
    elif isinstance(node, str):
        for side in ("response", "request"):
            prefix = f"${side}.body#"
            if node.startswith(prefix):
                pointer = node.removeprefix(prefix).removeprefix("/")
                parts = pointer.split("/") if pointer else []
                yield where, side, tuple(p.replace("~1", "/").replace("~0", "~") for p in parts)


def models_package(api: ApiName) -> str:
    return f"mews_{api}_models"


def client_package(api: ApiName) -> str:
    return f"mews_{api}_client"


@cache
def load_document(api: ApiName) -> Mapping[str, Any]:
    """The OpenAPI document shipped with the generated models (a copy of ``specs/<api>/openapi.yaml``)."""
    text = files(models_package(api)).joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]  # noqa: S506


def class_name(component: str) -> str:
    """The class both generators make of a schema component (``listMembershipsRequest`` -> ``ListMembershipsRequest``)."""
    return component[:1].upper() + component[1:]


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


def _resource_and_action(api: ApiName, operation_id: str, tag: str) -> tuple[str, str]:
    if "_" in operation_id:  # Connector: "<resource>_<action>"
        resource, action = operation_id.split("_", 1)
        return snake_case(resource), snake_case(action)
    return snake_case(tag), snake_case(operation_id)


def _result_items(document: Mapping[str, Any], response_schema: str | None) -> str | None:
    """The response's first array property (``LoyaltyMemberships``, ``data``): where its items are."""
    if response_schema is None:
        return None
    schema = resolve(document, {"$ref": f"#/components/schemas/{response_schema}"})
    for name, prop in schema.get("properties", {}).items():
        kind = resolve(document, prop).get("type")
        if kind == "array" or (isinstance(kind, list) and "array" in kind):
            return str(name)
    return None


def _items_schema(
    document: Mapping[str, Any], schema: str | None, array: str | None
) -> Mapping[str, Any] | None:
    """The (unresolved) item schema of the array property ``array`` of component ``schema``."""
    if schema is None or array is None:
        return None
    component = resolve(document, {"$ref": f"#/components/schemas/{schema}"})
    items = resolve(document, component["properties"][array]).get("items")
    return items if isinstance(items, Mapping) else None


def _batch_key(
    document: Mapping[str, Any],
    request_schema: str,
    batch_field: str | None,
    response_schema: str | None,
    result_items: str | None,
) -> str | None:
    """The result item property that holds the same named component as the batch's items, if one does."""
    sent = ref_name(_items_schema(document, request_schema, batch_field))
    answered = _items_schema(document, response_schema, result_items)
    if sent is None or answered is None:
        return None
    item = resolve(document, answered)
    keys = [
        str(name)
        for name, prop in item.get("properties", {}).items()
        if ref_name(prop) == sent and name in item.get("required", ())
    ]
    return keys[0] if len(keys) == 1 else None


def _interval_of(document: Mapping[str, Any], prop: Mapping[str, Any]) -> tuple[str, str] | None:
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


def _intervals(
    operation_id: str, document: Mapping[str, Any], request: Mapping[str, Any]
) -> dict[str, Interval]:
    intervals = {}
    for name, prop in request.get("properties", {}).items():
        ends = _interval_of(document, prop)
        if ends is None:
            if MAX_INTERVAL_KEY in prop:
                raise ValueError(
                    f"{operation_id}.{name}: {MAX_INTERVAL_KEY} on a property that is no {INTERVAL_KEY} component"
                )
            continue
        months = prop.get(MAX_INTERVAL_KEY)
        intervals[str(name)] = Interval(str(name), *ends, None if months is None else int(months))
    return intervals


def _effect(operation_id: str, value: Any) -> Effect | None:
    if value is None:
        return None
    if value not in EFFECTS:
        raise ValueError(f"{operation_id}: {EFFECT_KEY} must be one of {sorted(EFFECTS)}, got {value!r}")
    return cast("Effect", value)


def _batch(document: Mapping[str, Any], request: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The required array of items a bulk call sends (e.g. ``LoyaltyMemberships``), with its limit."""
    for name in request.get("required", ()):
        if name in ENVELOPE_FIELDS or name == PAGING_FIELD:
            continue
        prop = resolve(document, request["properties"][name])
        if prop.get("type") == "array" and "maxItems" in prop:
            return name, int(prop["maxItems"])
    return None, None


def _record_id(
    operation_id: str, document: Mapping[str, Any], request_schema: str, batch_field: str | None
) -> str | None:
    """The batch items' ``x-record-id``, checked to be a required property of the item."""
    items = _items_schema(document, request_schema, batch_field)
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


def _not_found_item(
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
    items = _items_schema(document, response_schema, result_items)
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


def _filter_targets(
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


def _build_operation(
    api: ApiName, document: Mapping[str, Any], method: str, path: str, raw: Mapping[str, Any]
) -> Operation:
    operation_id = str(raw["operationId"])
    tag = str(raw.get("tags", ["default"])[0])
    resource, action = _resource_and_action(api, operation_id, tag)
    body_schema = raw["requestBody"]["content"]["application/json"]["schema"]
    request_schema = ref_name(body_schema)
    if request_schema is None:
        raise ValueError(f"{operation_id}: the request body must be a named component")
    request = resolve(document, body_schema)
    ok = resolve(document, raw["responses"]["200"])
    response_schema = ref_name(ok.get("content", {}).get("application/json", {}).get("schema"))
    statuses = frozenset(int(code) for code in raw["responses"])
    error_content_type = "application/json"
    for code, response in raw["responses"].items():
        if int(code) >= 400:
            error_content_type = next(
                iter(resolve(document, response).get("content", {})), error_content_type
            )
            break
    properties = tuple(request.get("properties", {}))
    result_items = _result_items(document, response_schema)
    page_items = result_items if PAGING_FIELD in properties else None
    batch_field, batch_limit = (None, None) if page_items else _batch(document, request)
    batch_key = _batch_key(document, request_schema, batch_field, response_schema, result_items)
    item_schema = ref_name(_items_schema(document, response_schema, result_items))
    intervals = _intervals(operation_id, document, request)
    models = importlib.import_module(models_package(api))
    module = importlib.import_module(
        f"{client_package(api)}.api.{snake_case(tag)}.{snake_case(operation_id)}"
    )
    return Operation(
        api=api,
        operation_id=operation_id,
        method=method.upper(),
        path=path,
        tag=tag,
        resource=resource,
        action=action,
        request_schema=request_schema,
        response_schema=response_schema,
        request_model=getattr(models, class_name(request_schema)),
        response_model=getattr(models, class_name(response_schema)) if response_schema else None,
        client_module=module,
        documented_statuses=statuses,
        error_content_type=error_content_type,
        idempotent=raw.get(IDEMPOTENT_KEY) is True,
        effect=_effect(operation_id, raw.get(EFFECT_KEY)),
        page_items=page_items,
        result_items=result_items,
        result_item_schema=item_schema,
        batch_field=batch_field,
        batch_limit=batch_limit,
        batch_key=batch_key,
        provider_method=str(raw.get(PROVIDER_METHOD_KEY) or snake_case(operation_id)),
        batch_item_id=_record_id(operation_id, document, request_schema, batch_field),
        not_found_item=_not_found_item(
            operation_id, raw.get(NOT_FOUND_ITEM_KEY), document, response_schema, result_items, batch_key
        ),
        filter_targets=_filter_targets(
            operation_id, document, request, item_schema, intervals, paged=page_items is not None
        ),
        intervals=intervals,
        request_properties=properties,
        required=frozenset(request.get("required", ())),
        dependent_required={
            name: tuple(others) for name, others in request.get("dependentRequired", {}).items()
        },
    )


@cache
def catalog(api: ApiName) -> Catalog:
    """The catalog of the spec shipped with the generated code."""
    return build_catalog(api, load_document(api))


def build_catalog(api: ApiName, document: Mapping[str, Any]) -> Catalog:
    """The catalog of any document of ``api`` (tests read edited copies of the spec through it)."""
    operations = tuple(
        _build_operation(api, document, method, path, raw)
        for path, item in document["paths"].items()
        for method, raw in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    )
    return Catalog(api=api, document=document, operations=operations)
