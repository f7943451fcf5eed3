"""What the Connector mock knows about each resource beyond the spec: a table, not code.

Everything generic (paging, validation, auth, errors) comes from the operation catalog, and so does
what each ``getAll`` filter reads (the spec's ``x-filter``); this module only says, per resource,
which fields name other records, what may not be deleted while in use, and the few value rules Mews
documents:

    filters_of(listing("loyalty_memberships"))["AccountIds"]  # FieldFilter("AccountId"), from x-filter
    RESOURCES["loyalty_memberships"].defaults                 # {"State": "Enrolled"}
    RESOURCES["loyalty_programs"].kept_while_used_by          # (Dependents("loyalty_memberships", ...),)

``build_store()`` makes the empty tables, shaped by the item schemas of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any, Literal

from mews_loyalty._spec.catalog import FILTER_KEY, Operation, catalog, snake_case
from mews_loyalty.mock.connector.errors import FORBIDDEN, ConnectorError
from mews_loyalty.mock.connector.store import ConnectorStore, Table

API = "connector"
ID_FIELD = "Id"
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


@dataclass(frozen=True)
class Reference:
    """A field naming an active record of ``target`` in the same chain.

    ``matching`` pairs a field of the target with a field of this record that must hold the same
    value (a membership's tier must belong to the membership's program).
    """

    field: str
    target: str
    matching: Mapping[str, str] = dataclass_field(default_factory=dict)


@dataclass(frozen=True)
class Dependents:
    """Active records of ``resource`` whose ``field`` names a record keep it from being deleted."""

    resource: str
    field: str


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
    resource: str  # the catalog's resource name
    references: tuple[Reference, ...] = ()
    chain_from: str | None = None  # the reference whose target's chain the record lives in
    defaults: Mapping[str, Any] = dataclass_field(default_factory=dict)  # value when absent or null on add
    mirrors: Mapping[str, str] = dataclass_field(default_factory=dict)  # former name -> field it mirrors
    normalizers: Mapping[str, Callable[[Any], Any]] = dataclass_field(default_factory=dict)
    verbatim: frozenset[str] = frozenset()  # fields stored as the caller wrote them
    kept_while_used_by: tuple[Dependents, ...] = ()

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


RESOURCES: dict[str, ResourceRules] = {
    rules.resource: rules
    for rules in (
        ResourceRules(
            resource="loyalty_programs",
            kept_while_used_by=(Dependents("loyalty_memberships", "LoyaltyProgramId"),),
        ),
        ResourceRules(
            resource="loyalty_tiers",
            references=(Reference("LoyaltyProgramId", "loyalty_programs"),),
            chain_from="LoyaltyProgramId",
        ),
        ResourceRules(
            resource="loyalty_memberships",
            references=(
                Reference("LoyaltyProgramId", "loyalty_programs"),
                Reference(
                    "LoyaltyTierId", "loyalty_tiers", matching={"LoyaltyProgramId": "LoyaltyProgramId"}
                ),
            ),
            defaults={"State": "Enrolled"},
            mirrors={"Code": "MembershipNumber"},
            normalizers={"ExpirationDate": utc_date_time},
            # pydantic's URL type normalises ("https://x.com" -> "https://x.com/") and cannot hold every
            # URI the spec allows; the mock keeps and gives back what was sent.
            verbatim=frozenset({"Url"}),
        ),
    )
}


def listing(resource: str) -> Operation:
    """The resource's paged read (its ``getAll``), found by what the spec says it does, not its name."""
    found = [
        op
        for op in catalog(API).resources().get(resource, {}).values()
        if op.effect == "read" and op.is_paged
    ]
    if len(found) != 1:
        raise LookupError(f"{resource}: expected one paged read operation, found {len(found)}")
    return found[0]


def item_fields(resource: str) -> tuple[str, ...]:
    """Wire names of a resource item's properties, in the spec's order (from its listing's items)."""
    get_all = listing(resource)
    if get_all.result_item_schema is None:
        raise LookupError(f"{resource}: the listing's items are no named component")
    return tuple(catalog(API).schema(get_all.result_item_schema)["properties"])


def build_store() -> ConnectorStore:
    """Empty tables for every resource, with counters for the rules that need them."""
    counted: dict[str, set[str]] = {name: set() for name in RESOURCES}
    for rules in RESOURCES.values():
        for dependents in rules.kept_while_used_by:
            counted[dependents.resource].add(dependents.field)
    tables = {}
    for name, rules in RESOURCES.items():
        shared = {CHAIN_FIELD, *(reference.field for reference in rules.references)}
        tables[name] = Table(name, item_fields(name), counted=counted[name], shared=shared)
    return ConnectorStore(tables)
