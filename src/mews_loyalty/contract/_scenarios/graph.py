"""The Connector's resources, derived from the operation catalog.

A *resource* is the group of operations sharing a resource name (``loyalty_programs``), each in the
role its ``x-effect`` gives it (the paged read, create, update, delete); its item list, id filter,
id field and references to other resources are read from the spec's links (``resources_of``), so a
resource added to the spec is checked with no new code in the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from mews_loyalty._spec.catalog import (
    ENVELOPE_FIELDS,
    PAGING_FIELD,
    Catalog,
    Effect,
    Link,
    Operation,
    catalog,
    resolve,
)
from mews_loyalty.contract._report.results import NotRunnable
from mews_loyalty.contract._scenarios import values as S

ID = "Id"


@dataclass(frozen=True)
class Resource:
    name: str
    get_all: Operation  # the paged read (x-effect: read)
    add: Operation | None  # x-effect: create
    update: Operation | None  # x-effect: update
    delete: Operation | None  # x-effect: delete
    items: str  # item list in responses, e.g. "LoyaltyPrograms"
    ids_filter: str | None  # getAll filter that selects by Id, e.g. "LoyaltyProgramIds"
    id_field: str | None  # what names the record in an update item, e.g. "LoyaltyProgramId"
    required_filters: tuple[str, ...]  # getAll filters besides the envelope that must be sent
    # item field -> resource whose Id it holds, e.g. (("LoyaltyProgramId", "loyalty_programs"),)
    reference_pairs: tuple[tuple[str, str], ...] = ()
    # getAll filter -> item field it selects by, e.g. (("LoyaltyProgramIds", "LoyaltyProgramId"),)
    parent_pairs: tuple[tuple[str, str], ...] = ()
    # getAll filter -> resource whose ids it takes, e.g. (("LoyaltyProgramIds", "loyalty_programs"),)
    filter_pairs: tuple[tuple[str, str], ...] = ()

    @property
    def references(self) -> dict[str, str]:
        return dict(self.reference_pairs)

    @property
    def parents(self) -> dict[str, str]:
        return dict(self.parent_pairs)

    @property
    def filter_sources(self) -> dict[str, str]:
        return dict(self.filter_pairs)

    @property
    def writable(self) -> bool:
        return self.add is not None and self.delete is not None and self.ids_filter is not None

    def by_id(self) -> str:
        """The getAll filter that selects records by Id (``NotRunnable`` when the spec links none)."""
        return _stated(self, self.ids_filter, "getAll filter")

    def update_key(self) -> str:
        """The update item property that names the record (``NotRunnable`` when the spec links none)."""
        return _stated(self, self.id_field, "update item property")


def _stated(resource: Resource, value: str | None, what: str) -> str:
    if value is None:
        raise NotRunnable(
            f"needs the spec to say which {what} takes the Id of a {resource.name} record "
            "(an OpenAPI link from the add's answer)"
        )
    return value


def document() -> Mapping[str, Any]:
    return catalog("connector").document


def batch_item_schema(op: Operation) -> S.Schema:
    """The schema of one item of ``op``'s batch (what an add or update sends a list of)."""
    assert op.batch_field is not None
    request = catalog("connector").schema(op.request_schema)
    prop = resolve(document(), request["properties"][op.batch_field])
    return resolve(document(), prop.get("items", {}))


@cache
def resources() -> tuple[Resource, ...]:
    """The Connector resources, each after the resources it references (creation order)."""
    return resources_of(catalog("connector"))


def _one(ops: list[Operation], effect: Effect) -> Operation | None:
    found = [op for op in ops if op.effect == effect and (effect == "read" or op.batch_field is not None)]
    return found[0] if len(found) == 1 else None


def resources_of(spec: Catalog) -> tuple[Resource, ...]:
    """The resources of any Connector catalog, from the spec's ``x-effect`` marks and links.

    A resource's roles are its operations' ``x-effect``: the paged ``read``, ``create``, ``update``
    and ``delete``. What connects them is what the spec's OpenAPI links say of an add's answer
    (``$response.body#/<items>/0/Id``): the getAll property a link fills with it is the resource's
    id filter, the update item property its id field, another resource's add item property a
    reference; a getAll property filled with another field of the item (``.../0/LoyaltyProgramId``)
    lists the records by that field, and one filled with another resource's id takes that
    resource's ids. No name is built from another.
    """
    grouped: dict[str, list[Operation]] = {}
    for op in spec.operations:
        grouped.setdefault(op.resource, []).append(op)
    found: dict[str, Resource] = {}
    for name, ops in grouped.items():
        get_all = next((op for op in ops if op.effect == "read" and op.page_items is not None), None)
        if get_all is None or get_all.page_items is None:
            continue
        required = tuple(
            f for f in sorted(get_all.required) if f not in ENVELOPE_FIELDS and f != PAGING_FIELD
        )
        found[name] = Resource(
            name=name,
            get_all=get_all,
            add=_one(ops, "create"),
            update=_one(ops, "update"),
            delete=_one(ops, "delete"),
            items=get_all.page_items,
            ids_filter=None,
            id_field=None,
            required_filters=required,
        )
    linked = {name: _linked(resource, found, spec.links()) for name, resource in found.items()}
    return _in_creation_order(linked)


def _linked(resource: Resource, found: Mapping[str, Resource], links: tuple[Link, ...]) -> Resource:
    """``resource`` with what the links of every add's answer say about it."""
    ids_filter: str | None = None
    id_field: str | None = None
    references: dict[str, str] = {}
    parents: dict[str, str] = {}
    sources: dict[str, str] = {}
    adds = {r.add.operation_id: r for r in found.values() if r.add is not None}
    for link in links:
        source = adds.get(link.source)
        if source is None or not link.status.startswith("2"):
            continue
        for where, side, pointer in link.assignments():
            if side != "response" or len(pointer) != 3 or pointer[:2] != (source.items, "0"):
                continue
            field_name = pointer[2]
            if link.target == resource.get_all.operation_id and len(where) == 2 and where[1] == 0:
                filter_name = str(where[0])
                if source is resource:
                    if field_name == ID:
                        ids_filter = filter_name
                    else:
                        parents[filter_name] = field_name
                elif field_name == ID:
                    sources[filter_name] = source.name
            for op, kind in ((resource.update, "update"), (resource.add, "add")):
                if op is None or link.target != op.operation_id or field_name != ID:
                    continue
                if len(where) == 3 and where[0] == op.batch_field and where[1] == 0:
                    if kind == "update" and source is resource:
                        id_field = str(where[2])
                    elif kind == "add" and source is not resource:
                        references[str(where[2])] = source.name
    return replace(
        resource,
        ids_filter=ids_filter,
        id_field=id_field,
        reference_pairs=tuple(references.items()),
        parent_pairs=tuple(parents.items()),
        filter_pairs=tuple(sources.items()),
    )


def _in_creation_order(linked: Mapping[str, Resource]) -> tuple[Resource, ...]:
    ordered: list[Resource] = []
    while len(ordered) < len(linked):
        progress = False
        for resource in linked.values():
            if resource in ordered:
                continue
            if all(any(r.name == target for r in ordered) for target in resource.references.values()):
                ordered.append(resource)
                progress = True
        if not progress:  # a reference cycle: keep the remaining ones in catalog order
            ordered += [r for r in linked.values() if r not in ordered]
    return tuple(ordered)


def resource_named(name: str) -> Resource:
    return next(r for r in resources() if r.name == name)


def resource_of(op: Operation) -> Resource | None:
    return next((r for r in resources() if r.name == op.resource), None)


def item_properties(resource: Resource) -> tuple[str, ...]:
    """The properties of one item of the resource as its listing returns it."""
    return _item_properties_of(resource.name)


@cache
def _item_properties_of(name: str) -> tuple[str, ...]:
    resource = resource_named(name)
    assert resource.get_all.response_schema is not None
    result = catalog("connector").schema(resource.get_all.response_schema)
    items = resolve(document(), result["properties"][resource.items])
    return tuple(S.properties(document(), items.get("items", {})))
