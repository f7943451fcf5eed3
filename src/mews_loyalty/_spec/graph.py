"""The resource graph: which resource references which, and by which property, as the spec's links say.

A *resource* is the group of operations sharing a resource name (``loyalty_programs``), each in the
role its ``x-effect`` gives it: the paged ``read`` (its listing), ``create``, ``update`` and
``delete``. What connects resources is what the spec's OpenAPI links say of an add's answer
(``$response.body#/<items>/0/Id``) and where they put it:

- in the resource's own listing filter: that filter selects records by ``Id`` (``ids_filter``);
  filled with another field of the item (``.../0/LoyaltyProgramId``), the filter lists records by
  that field (``parents``); filled with another resource's ``Id``, it takes that resource's ids
  (``filter_sources``);
- in the resource's own update item: that property names the record (``id_field``);
- in another resource's add item: that property references the record (a ``Reference``); other
  fields of the same answer that the same link copies into the item must match
  (``Reference.matching``: a membership's tier belongs to the membership's program).

No name is built from another, so a resource added to the spec joins the graph with no new code:

    graph = resource_graph(catalog("connector"))
    [resource.name for resource in graph.resources]    # creation order: programs, tiers, memberships
    graph["loyalty_tiers"].references                  # (Reference("LoyaltyProgramId", "loyalty_programs"),)
    graph["loyalty_memberships"].references[1]
        # Reference("LoyaltyTierId", "loyalty_tiers", matching={"LoyaltyProgramId": "LoyaltyProgramId"})
    graph.dependents("loyalty_programs")
        # (Dependent("loyalty_tiers", "LoyaltyProgramId"), Dependent("loyalty_memberships", "LoyaltyProgramId"))

The mock serves the graph with its own behaviour rules beside it (``mock.connector.rules``); the
contract suite creates, lists, updates and deletes records along it (``contract._scenarios.links``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Literal

from mews_loyalty._spec.catalog import (
    ENVELOPE_FIELDS,
    PAGING_FIELD,
    Catalog,
    Effect,
    Link,
    Operation,
    resolve,
)

ID_FIELD = "Id"  # the property of an item that holds its record's id (what the links carry)

BodyPath = tuple[str | int, ...]  # where in a link's target body a value goes


@dataclass(frozen=True)
class Reference:
    """An item property holding the ``Id`` of an active record of ``target`` (in the same chain).

    ``matching`` pairs a property of the target's item with a property of this item that must hold
    the same value (``{"LoyaltyProgramId": "LoyaltyProgramId"}``: the tier belongs to the program).
    """

    field: str
    target: str
    matching: Mapping[str, str] = dataclass_field(default_factory=dict)


@dataclass(frozen=True)
class Dependent:
    """Items of ``resource`` whose ``field`` references a record: the other end of a ``Reference``."""

    resource: str
    field: str


@dataclass(frozen=True)
class LinkedResource:
    """One resource: its operations by role and what the spec's links say about it."""

    name: str
    get_all: Operation  # the paged read (x-effect: read)
    add: Operation | None  # x-effect: create
    update: Operation | None  # x-effect: update
    delete: Operation | None  # x-effect: delete
    items: str  # item list in responses, e.g. "LoyaltyPrograms"
    item_properties: tuple[str, ...]  # wire names of a listed item's properties, in the spec's order
    required_filters: tuple[str, ...]  # getAll filters besides the envelope that must be sent
    ids_filter: str | None = None  # getAll filter that selects by Id, e.g. "LoyaltyProgramIds"
    id_field: str | None = None  # what names the record in an update item, e.g. "LoyaltyProgramId"
    references: tuple[Reference, ...] = ()  # item properties holding other resources' ids
    # getAll filter -> item field it selects by, e.g. {"LoyaltyProgramIds": "LoyaltyProgramId"}
    parents: Mapping[str, str] = dataclass_field(default_factory=dict)
    # getAll filter -> resource whose ids it takes, e.g. {"LoyaltyProgramIds": "loyalty_programs"}
    filter_sources: Mapping[str, str] = dataclass_field(default_factory=dict)

    @property
    def reference_targets(self) -> dict[str, str]:
        """Item property -> the resource whose ids it holds: ``{"LoyaltyProgramId": "loyalty_programs"}``."""
        return {reference.field: reference.target for reference in self.references}

    @property
    def writable(self) -> bool:
        """Records can be made and removed again, and found by their ids."""
        return self.add is not None and self.delete is not None and self.ids_filter is not None


@dataclass(frozen=True)
class ResourceGraph:
    """The resources of one API, looked up by name (``graph["loyalty_tiers"]``)."""

    resources: tuple[LinkedResource, ...]  # each after the resources it references (creation order)

    def __getitem__(self, name: str) -> LinkedResource:
        found = self.get(name)
        if found is None:
            raise LookupError(f"{name}: not a resource of the spec (no paged read operation)")
        return found

    def get(self, name: str) -> LinkedResource | None:
        return next((resource for resource in self.resources if resource.name == name), None)

    def dependents(self, name: str) -> tuple[Dependent, ...]:
        """The item properties of other resources that reference records of ``name``."""
        return tuple(
            Dependent(resource.name, reference.field)
            for resource in self.resources
            for reference in resource.references
            if reference.target == name
        )


def resource_graph(spec: Catalog) -> ResourceGraph:
    """The resources of any catalog and what its links say about them (see the module's docstring)."""
    resources = _resources_by_role(spec)
    facts = {name: _Facts() for name in resources}
    for source, target, role, fed in _fed_by_adds(resources, spec.links()):
        _READERS[role](facts[target.name], target, source, fed)
    return ResourceGraph(_in_creation_order([facts[name].applied_to(r) for name, r in resources.items()]))


# --- operations by role ------------------------------------------------------------------------------


def _resources_by_role(spec: Catalog) -> dict[str, LinkedResource]:
    """Every resource with a paged read, with its operations in the roles their ``x-effect`` gives them."""
    grouped: dict[str, list[Operation]] = {}
    for op in spec.operations:
        grouped.setdefault(op.resource, []).append(op)
    found: dict[str, LinkedResource] = {}
    for name, ops in grouped.items():
        get_all = _listing(name, ops)
        if get_all is None or get_all.page_items is None:
            continue
        found[name] = LinkedResource(
            name=name,
            get_all=get_all,
            add=_batched(ops, "create"),
            update=_batched(ops, "update"),
            delete=_batched(ops, "delete"),
            items=get_all.page_items,
            item_properties=_item_properties(spec, get_all),
            required_filters=tuple(
                required
                for required in sorted(get_all.required)
                if required not in ENVELOPE_FIELDS | {PAGING_FIELD}
            ),
        )
    return found


def _item_properties(spec: Catalog, get_all: Operation) -> tuple[str, ...]:
    """The properties of one item of the listing's answer, as the spec lists them."""
    if get_all.response_schema is None or get_all.page_items is None:
        return ()
    listed = spec.schema(get_all.response_schema)["properties"][get_all.page_items]
    return tuple(
        resolve(spec.document, resolve(spec.document, listed).get("items", {})).get("properties", {})
    )


def _listing(name: str, ops: list[Operation]) -> Operation | None:
    """The resource's one paged read; ``None`` when it has none (then it is no resource)."""
    found = [op for op in ops if op.effect == "read" and op.is_paged]
    if len(found) > 1:
        names = ", ".join(op.operation_id for op in found)
        raise LookupError(f"{name}: expected one paged read operation, found {names}")
    return found[0] if found else None


def _batched(ops: list[Operation], effect: Effect) -> Operation | None:
    found = [op for op in ops if op.effect == effect and op.batch_field is not None]
    return found[0] if len(found) == 1 else None


# --- what the links of every add's answer feed -------------------------------------------------------


Role = Literal["get_all", "update", "add"]  # what a link's target operation is to its resource


def _fed_by_adds(
    resources: Mapping[str, LinkedResource], links: tuple[Link, ...]
) -> Iterator[tuple[LinkedResource, LinkedResource, Role, list[tuple[BodyPath, str]]]]:
    """``(source, target, role, fed)`` for each link from an add's successful answer to an operation
    of a resource: ``fed`` lists where in the target's body each field of the first added item goes."""
    adds = {r.add.operation_id: r for r in resources.values() if r.add is not None}
    roles: dict[str, tuple[LinkedResource, Role]] = {}
    for resource in resources.values():
        roles[resource.get_all.operation_id] = (resource, "get_all")
        if resource.update is not None:
            roles[resource.update.operation_id] = (resource, "update")
        if resource.add is not None:
            roles[resource.add.operation_id] = (resource, "add")
    for link in links:
        source = adds.get(link.source)
        if source is None or not link.status.startswith("2") or link.target not in roles:
            continue
        target, role = roles[link.target]
        yield source, target, role, _fields_of_first_item(link, source.items)


def _fields_of_first_item(link: Link, items: str) -> list[tuple[BodyPath, str]]:
    """``(where in the target's body, field)`` for each ``$response.body#/<items>/0/<field>`` of ``link``."""
    return [
        (where, pointer[2])
        for where, side, pointer in link.assignments()
        if side == "response" and len(pointer) == 3 and pointer[:2] == (items, "0")
    ]


def _batch_item_properties(fed: list[tuple[BodyPath, str]], batch_field: str | None) -> dict[str, str]:
    """Property of the target's first batch item -> the field of the source's item that fills it."""
    return {
        str(where[2]): source_field
        for where, source_field in fed
        if len(where) == 3 and where[0] == batch_field and where[1] == 0
    }


@dataclass
class _Facts:
    """What the links say of one resource, gathered link by link."""

    ids_filter: str | None = None
    id_field: str | None = None
    references: dict[str, Reference] = dataclass_field(default_factory=dict)  # by item property
    parents: dict[str, str] = dataclass_field(default_factory=dict)
    filter_sources: dict[str, str] = dataclass_field(default_factory=dict)

    def applied_to(self, resource: LinkedResource) -> LinkedResource:
        return replace(
            resource,
            ids_filter=self.ids_filter,
            id_field=self.id_field,
            references=tuple(self.references.values()),
            parents=dict(self.parents),
            filter_sources=dict(self.filter_sources),
        )


def _read_listing_link(
    facts: _Facts, target: LinkedResource, source: LinkedResource, fed: list[tuple[BodyPath, str]]
) -> None:
    """A link into the target's listing: its filters by Id, by a field of the item, by another's Id."""
    for where, source_field in fed:
        if len(where) != 2 or where[1] != 0:
            continue
        name = str(where[0])
        if source.name != target.name:
            if source_field == ID_FIELD:
                facts.filter_sources[name] = source.name
        elif source_field == ID_FIELD:
            facts.ids_filter = name
        else:
            facts.parents[name] = source_field


def _read_update_link(
    facts: _Facts, target: LinkedResource, source: LinkedResource, fed: list[tuple[BodyPath, str]]
) -> None:
    """A link from a resource's add into its own update: the update item property that names the record."""
    assert target.update is not None
    if source.name != target.name:
        return
    for name, source_field in _batch_item_properties(fed, target.update.batch_field).items():
        if source_field == ID_FIELD:
            facts.id_field = name


def _read_add_link(
    facts: _Facts, target: LinkedResource, source: LinkedResource, fed: list[tuple[BodyPath, str]]
) -> None:
    """A link from another resource's add into the target's add: a reference, and what must match."""
    assert target.add is not None
    if source.name == target.name:
        return
    properties = _batch_item_properties(fed, target.add.batch_field)
    matching = {source_field: name for name, source_field in properties.items() if source_field != ID_FIELD}
    for name, source_field in properties.items():
        if source_field == ID_FIELD:
            facts.references[name] = Reference(name, source.name, matching)


_READERS: dict[Role, Callable[[_Facts, LinkedResource, LinkedResource, list[tuple[BodyPath, str]]], None]] = {
    "get_all": _read_listing_link,
    "update": _read_update_link,
    "add": _read_add_link,
}


def _in_creation_order(resources: list[LinkedResource]) -> tuple[LinkedResource, ...]:
    """Each resource after the resources it references; a reference cycle keeps the rest in catalog order."""
    ordered: list[LinkedResource] = []
    placed: set[str] = set()
    while len(ordered) < len(resources):
        progress = False
        for resource in resources:
            if resource.name not in placed and all(r.target in placed for r in resource.references):
                ordered.append(resource)
                placed.add(resource.name)
                progress = True
        if not progress:
            ordered += [resource for resource in resources if resource.name not in placed]
    return tuple(ordered)
