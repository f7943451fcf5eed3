"""What the Connector mock does with each resource beyond the spec: a table, not code.

Everything generic (paging, validation, auth, errors) comes from the operation catalog; what each
``getAll`` filter reads comes from the spec's ``x-filter``, and which field names which other record
from the spec's links (the resource graph, ``mews_loyalty._spec.graph``). This module only says, per
resource, the mock's own behaviour: the chain a record lives in, what may not be deleted while in
use, and the few value rules Mews documents:

    filters_of(listing("loyalty_memberships"))["AccountIds"]  # FieldFilter("AccountId"), from x-filter
    RULES["loyalty_memberships"].defaults                     # {"State": "Enrolled"}
    RULES["loyalty_programs"].kept_while_used_by              # ("loyalty_memberships",)
    keepers(graph, RULES["loyalty_programs"])                 # (Dependent("loyalty_memberships", "LoyaltyProgramId"),)

``build_store()`` makes the empty tables, shaped by the item schemas of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any, Literal

from mews_loyalty._spec.catalog import FILTER_KEY, Operation, catalog, snake_case
from mews_loyalty._spec.graph import Dependent, ResourceGraph, resource_graph
from mews_loyalty.mock.connector.errors import FORBIDDEN, ConnectorError
from mews_loyalty.mock.connector.store import ConnectorStore, Table

API = "connector"
CHAIN_FIELD = "ChainId"
CREATOR_FIELD = "CreatorProfile"
UPDATER_FIELD = "UpdaterProfile"


@dataclass(frozen=True)
class FieldFilter:
    """Keeps records whose ``field`` holds one of the listed values."""

    field: str


@dataclass(frozen=True)
class TimeFilter:
    """Keeps records created / last changed within the interval (half-open; equal ends: that instant)."""

    stamp: Literal["created_us", "updated_us"]


@dataclass(frozen=True)
class ActivityFilter:
    """Keeps active and/or soft-deleted records; absent or null means active only."""


@dataclass(frozen=True)
class ChainFilter:
    """Narrows the chains in scope of the access token (chains outside the scope match nothing)."""


Filter = FieldFilter | TimeFilter | ActivityFilter | ChainFilter


def utc_date_time(value: Any) -> Any:
    """An expiration sent as a date or a date-time with any offset, stored as a UTC date-time."""
    if not isinstance(value, str):
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # a date ("2029-12-24"): midnight UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ConnectorError(FORBIDDEN, f"{value} cannot be expressed in UTC.") from None
    return parsed.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ResourceRules:
    """The mock's behaviour for one resource (its references are the spec's: ``_spec.graph``)."""

    resource: str  # the catalog's resource name
    chain_from: str | None = None  # the reference whose target's chain the record lives in
    defaults: Mapping[str, Any] = dataclass_field(default_factory=dict)  # value when absent or null on add
    mirrors: Mapping[str, str] = dataclass_field(default_factory=dict)  # former name -> field it mirrors
    normalizers: Mapping[str, Callable[[Any], Any]] = dataclass_field(default_factory=dict)
    verbatim: frozenset[str] = frozenset()  # fields stored as the caller wrote them
    # Resources whose active records keep a record of this one from being deleted while they
    # reference it (by the properties the spec's links say they reference it by).
    kept_while_used_by: tuple[str, ...] = ()

    @property
    def noun(self) -> str:
        """``loyalty membership``, for messages: the words of the item component the spec lists."""
        component = listing(self.resource).result_item_schema
        if component is None:
            raise LookupError(f"{self.resource}: the listing's items are no named component")
        return snake_case(component).replace("_", " ")


# What the record facts of ``x-filter`` (``{record: F}``) are in the mock's records.
_RECORD_FILTERS: dict[str, Filter] = {
    "chain": ChainFilter(),
    "activity": ActivityFilter(),
    "created": TimeFilter("created_us"),
    "updated": TimeFilter("updated_us"),
}


def filters_of(get_all: Operation) -> dict[str, Filter]:
    """What each filter of a paged read keeps, as its ``x-filter`` says; a filter without one is an error."""
    found: dict[str, Filter] = {}
    for name in get_all.filters:
        target = get_all.filter_targets.get(name)
        if target is None:
            raise LookupError(
                f"{get_all.operation_id}.{name}: the spec does not say what it keeps ({FILTER_KEY})"
            )
        if target.record is not None:
            found[name] = _RECORD_FILTERS[target.record]
        elif name in get_all.intervals:
            raise LookupError(
                f"{get_all.operation_id}.{name}: the mock filters intervals by when records were "
                "created or changed only ({record: created} or {record: updated})"
            )
        else:
            assert target.property is not None
            found[name] = FieldFilter(target.property)
    return found


RULES: dict[str, ResourceRules] = {
    rules.resource: rules
    for rules in (
        ResourceRules(
            resource="loyalty_programs",
            kept_while_used_by=("loyalty_memberships",),
        ),
        ResourceRules(resource="loyalty_tiers", chain_from="LoyaltyProgramId"),
        ResourceRules(
            resource="loyalty_memberships",
            defaults={"State": "Enrolled"},
            mirrors={"Code": "MembershipNumber"},
            normalizers={"ExpirationDate": utc_date_time},
            # pydantic's URL type normalises ("https://x.com" -> "https://x.com/") and cannot hold every
            # URI the spec allows; the mock keeps and gives back what was sent.
            verbatim=frozenset({"Url"}),
        ),
    )
}


def linked_graph() -> ResourceGraph:
    """The spec's resource graph, with the table checked against it: every resource of the catalog
    has rules, and the rules name only references the spec's links state."""
    graph = resource_graph(catalog(API))
    for resource in catalog(API).resources():
        if resource not in RULES:
            raise LookupError(f"the mock has no rules for {resource}")
    for rules in RULES.values():
        linked = graph[rules.resource]
        if rules.chain_from is not None and rules.chain_from not in linked.reference_targets:
            raise LookupError(
                f"{rules.resource}.{rules.chain_from}: the spec's links state no such reference (chain_from)"
            )
        referencing = {dependent.resource for dependent in graph.dependents(rules.resource)}
        for resource in rules.kept_while_used_by:
            if resource not in referencing:
                raise LookupError(
                    f"{resource}: the spec's links state no reference to {rules.resource} (kept_while_used_by)"
                )
    return graph


def keepers(graph: ResourceGraph, rules: ResourceRules) -> tuple[Dependent, ...]:
    """The item properties whose active records keep a record of ``rules.resource`` from being deleted."""
    return tuple(
        dependent
        for dependent in graph.dependents(rules.resource)
        if dependent.resource in rules.kept_while_used_by
    )


def listing(resource: str) -> Operation:
    """The resource's paged read (its ``getAll``), as the resource graph finds it: by what the spec
    says it does (``x-effect: read`` with paging), not by its name."""
    linked = resource_graph(catalog(API)).get(resource)
    if linked is None:
        raise LookupError(f"{resource}: expected one paged read operation, found none")
    return linked.get_all


def build_store() -> ConnectorStore:
    """Empty tables for every resource, with counters for the rules that need them."""
    graph = linked_graph()
    counted: dict[str, set[str]] = {name: set() for name in RULES}
    for rules in RULES.values():
        for dependent in keepers(graph, rules):
            counted[dependent.resource].add(dependent.field)
    tables = {}
    for name in RULES:
        shared = {CHAIN_FIELD, *graph[name].reference_targets}
        tables[name] = Table(name, graph[name].item_properties, counted=counted[name], shared=shared)
    return ConnectorStore(tables)
