"""The Connector's resources, derived from the operation catalog.

A *resource* is the group of operations sharing a resource name (``loyalty_programs``: getAll, add,
update, delete); its item list, id filter, id field and references to other resources are read from
the spec, so a resource added to the spec is checked with no new code in the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mews_loyalty._spec import ENVELOPE_FIELDS, PAGING_FIELD, Operation, catalog, resolve
from mews_loyalty.contract import _schema as S

ID = "Id"


@dataclass(frozen=True)
class Resource:
    name: str
    get_all: Operation
    add: Operation | None
    update: Operation | None
    delete: Operation | None
    items: str  # item list in responses, e.g. "LoyaltyPrograms"
    ids_filter: str  # getAll filter / delete batch field, e.g. "LoyaltyProgramIds"
    id_field: str  # e.g. "LoyaltyProgramId"
    required_filters: tuple[str, ...]  # getAll filters besides the envelope that must be sent
    # add item field -> resource it names, e.g. (("LoyaltyProgramId", "loyalty_programs"),)
    reference_pairs: tuple[tuple[str, str], ...]

    @property
    def references(self) -> dict[str, str]:
        return dict(self.reference_pairs)

    @property
    def writable(self) -> bool:
        return self.add is not None and self.delete is not None


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
    found: dict[str, Resource] = {}
    for name, actions in catalog("connector").resources().items():
        get_all = actions.get("get_all")
        if get_all is None or get_all.page_items is None:
            continue
        delete = actions.get("delete")
        ids_filter = delete.batch_field if delete is not None and delete.batch_field else None
        if ids_filter is None or ids_filter not in get_all.request_properties:
            ids_filter = get_all.page_items.removesuffix("s") + "Ids"
        required = tuple(
            f for f in sorted(get_all.required) if f not in ENVELOPE_FIELDS and f != PAGING_FIELD
        )
        found[name] = Resource(
            name=name,
            get_all=get_all,
            add=actions.get("add"),
            update=actions.get("update"),
            delete=delete,
            items=get_all.page_items,
            ids_filter=ids_filter,
            id_field=ids_filter.removesuffix("s"),
            required_filters=required,
            reference_pairs=(),
        )
    by_id_field = {r.id_field: r.name for r in found.values()}
    linked: dict[str, Resource] = {}
    for resource in found.values():
        refs: dict[str, str] = {}
        if resource.add is not None and resource.add.batch_field is not None:
            for prop in batch_item_schema(resource.add).get("properties", {}):
                if prop in by_id_field and by_id_field[prop] != resource.name:
                    refs[prop] = by_id_field[prop]
        linked[resource.name] = Resource(**{**resource.__dict__, "reference_pairs": tuple(refs.items())})
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
