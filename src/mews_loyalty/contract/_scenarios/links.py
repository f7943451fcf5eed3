"""The Connector's resources as the suite walks them: the runtime's resource graph, and what a check
needs beyond it.

The graph (``mews_loyalty._spec.graph``) reads each resource's operations from their ``x-effect`` and
its id filter, id field and references from the spec's links, so a resource added to the spec is
checked with no new code in the suite. A name the links do not state is not guessed: a check that
needs it is not runnable (``require_ids_filter``, ``require_update_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from mews_loyalty._spec.catalog import Operation, catalog, resolve
from mews_loyalty._spec.graph import ID_FIELD, LinkedResource, resource_graph
from mews_loyalty.contract._report.results import NotRunnable
from mews_loyalty.contract._scenarios import values as S

ID = ID_FIELD


def require_ids_filter(resource: LinkedResource) -> str:
    """The getAll filter that selects records by Id (``NotRunnable`` when the spec links none)."""
    return _stated(resource, resource.ids_filter, "getAll filter")


def require_update_key(resource: LinkedResource) -> str:
    """The update item property that names the record (``NotRunnable`` when the spec links none)."""
    return _stated(resource, resource.id_field, "update item property")


def _stated(resource: LinkedResource, value: str | None, what: str) -> str:
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
def resources() -> tuple[LinkedResource, ...]:
    """The Connector resources, each after the resources it references (creation order)."""
    return resource_graph(catalog("connector")).resources


def resource_named(name: str) -> LinkedResource:
    return next(r for r in resources() if r.name == name)


def resource_of(op: Operation) -> LinkedResource | None:
    return next((r for r in resources() if r.name == op.resource), None)
