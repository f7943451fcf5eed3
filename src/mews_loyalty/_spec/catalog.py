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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from types import ModuleType
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from mews_loyalty._spec import marks as marks
from mews_loyalty._spec.marks import (
    CURSOR_FIELD,
    EFFECT_KEY,
    EFFECTS,
    ENVELOPE_FIELDS,
    FILTER_KEY,
    HTTP_METHODS,
    IDEMPOTENT_KEY,
    INTERVAL_KEY,
    MAX_INTERVAL_KEY,
    NOT_FOUND_ITEM_KEY,
    PAGING_FIELD,
    PROVIDER_METHOD_KEY,
    RECORD_FACTS,
    RECORD_ID_KEY,
    REQUESTED_KEY,
    Effect,
    FilterTarget,
    Interval,
    RecordFact,
    RefCycleError,
    ref_name,
    resolve,
)
from mews_loyalty._spec.naming import class_name, first_tag, resource_and_action, snake_case

ApiName = Literal["connector", "reverse"]
API_NAMES: tuple[ApiName, ...] = ("connector", "reverse")


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
    response_schema: str | None  # component name of the first 2xx JSON body (None for an inline schema)
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


GENERATED_PACKAGE = "mews_loyalty._generated"  # codegen/apis.py writes each API's code below it


def models_package(api: ApiName) -> str:
    return f"{GENERATED_PACKAGE}.{api}.models"


def client_package(api: ApiName) -> str:
    return f"{GENERATED_PACKAGE}.{api}.client"


@cache
def load_document(api: ApiName) -> Mapping[str, Any]:
    """The OpenAPI document shipped with the generated models (a copy of ``specs/<api>/openapi.yaml``)."""
    text = files(models_package(api)).joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]  # noqa: S506


def _build_operation(
    api: ApiName, document: Mapping[str, Any], method: str, path: str, raw: Mapping[str, Any]
) -> Operation:
    operation_id = str(raw["operationId"])
    tag = first_tag(raw)
    resource, action = resource_and_action(operation_id, tag)
    shape = marks.shape(operation_id, document, raw)
    request_schema, request, response_schema = shape.request_schema, shape.request, shape.response_schema
    statuses = frozenset(int(code) for code in raw["responses"])
    error_content_type = "application/json"
    for code, response in raw["responses"].items():
        if int(code) >= 400:
            error_content_type = next(
                iter(resolve(document, response).get("content", {})), error_content_type
            )
            break
    properties = tuple(request.get("properties", {}))
    result_items, page_items, batch_field = shape.result_items, shape.page_items, shape.batch_field
    batch_key = marks.batch_key(document, request_schema, batch_field, response_schema, result_items)
    item_schema = shape.result_item_schema
    intervals = marks.intervals(operation_id, document, request)
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
        effect=marks.effect(operation_id, raw.get(EFFECT_KEY)),
        page_items=page_items,
        result_items=result_items,
        result_item_schema=item_schema,
        batch_field=batch_field,
        batch_limit=shape.batch_limit,
        batch_key=batch_key,
        provider_method=str(raw.get(PROVIDER_METHOD_KEY) or snake_case(operation_id)),
        batch_item_id=marks.record_id(operation_id, document, request_schema, batch_field),
        not_found_item=marks.not_found_item(
            operation_id, raw.get(NOT_FOUND_ITEM_KEY), document, response_schema, result_items, batch_key
        ),
        filter_targets=marks.filter_targets(
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
        if method in HTTP_METHODS
    )
    return Catalog(api=api, document=document, operations=operations)


# The catalog's API: its own names and the facts' names and types from marks.
__all__ = [
    "API_NAMES",
    "CURSOR_FIELD",
    "EFFECTS",
    "EFFECT_KEY",
    "ENVELOPE_FIELDS",
    "FILTER_KEY",
    "HTTP_METHODS",
    "IDEMPOTENT_KEY",
    "INTERVAL_KEY",
    "MAX_INTERVAL_KEY",
    "NOT_FOUND_ITEM_KEY",
    "PAGING_FIELD",
    "PROVIDER_METHOD_KEY",
    "RECORD_FACTS",
    "RECORD_ID_KEY",
    "REQUESTED_KEY",
    "ApiName",
    "Catalog",
    "Effect",
    "FilterTarget",
    "Interval",
    "Link",
    "Operation",
    "RecordFact",
    "RefCycleError",
    "build_catalog",
    "catalog",
    "class_name",
    "client_package",
    "load_document",
    "models_package",
    "ref_name",
    "resolve",
    "snake_case",
]
