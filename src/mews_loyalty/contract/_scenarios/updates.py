"""The ``update_semantics`` check: what each update value means.

Absent and ``null`` keep a field, ``{"Value": x}`` sets it and ``{"Value": null}`` clears it (where
the value is nullable); every update answers the record as it now is, and reading it back gives the
same. Each field the update operation offers is tried on a record the run created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mews_loyalty._spec.catalog import Operation, resolve
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty.contract._exchange.api_client import Exchange
from mews_loyalty.contract._scenarios import values as S
from mews_loyalty.contract._scenarios.links import (
    ID,
    batch_item_schema,
    document,
    require_update_key,
    resource_named,
)
from mews_loyalty.contract._scenarios.records import ConnectorRecords


def _update(
    records: ConnectorRecords,
    resource: LinkedResource,
    op: Operation,
    batch: str,
    record_id: str,
    changes: Mapping[str, Any],
) -> tuple[Exchange, dict[str, Any] | None]:
    exchange = records.call(op, **{batch: [{require_update_key(resource): record_id, **changes}]})
    items = exchange.items(resource.items)
    if exchange.status != 200 or len(items) != 1 or not S.same_value(record_id, items[0].get(ID)):
        return exchange, None  # the caller's expectation reports it
    records.ledger.remember(resource, items[0])
    return exchange, items[0]


def update_semantics(records: ConnectorRecords, resource: LinkedResource, op: Operation, batch: str) -> None:
    record = records.create(resource)
    label = op.operation_id
    wrappers = {
        name: sub
        for name, sub in batch_item_schema(op).get("properties", {}).items()
        if name != require_update_key(resource) and not S.is_deprecated(document(), sub)
    }
    compared = [n for n in wrappers if n in resource.item_properties]

    def expect(ok: bool, message: str, exchange: Exchange) -> None:
        records.results.expect("update_semantics", label, ok, message, exchange.curl)

    exchange, after = _update(records, resource, op, batch, record[ID], {})
    expect(
        after is not None and _same(record, after, compared),
        f"an update naming no field changed the record: {exchange.describe()}",
        exchange,
    )
    record = after or record
    for name in _update_order(resource, wrappers):
        others = [c for c in compared if c != name]
        value_schema = resolve(document(), S.non_null(document(), wrappers[name]))["properties"]["Value"]
        new_value = _new_value(records, resource, record, name, value_schema)
        exchange, after = _update(records, resource, op, batch, record[ID], {name: {"Value": new_value}})
        expect(
            after is not None and S.same_value(new_value, after.get(name)) and _same(record, after, others),
            f"{{'{name}': {{'Value': {new_value!r}}}}} must set {name} and keep the rest: {exchange.describe()}",
            exchange,
        )
        if after is None:
            continue
        record = after
        exchange, after = _update(records, resource, op, batch, record[ID], {name: None})
        expect(
            after is not None and _same(record, after, compared),
            f"'{name}': null must keep the value: {exchange.describe()}",
            exchange,
        )
        if S.nullable(document(), value_schema):
            exchange, after = _update(records, resource, op, batch, record[ID], {name: {"Value": None}})
            expect(
                after is not None and after.get(name) is None and _same(record, after, others),
                f"{{'{name}': {{'Value': null}}}} must clear {name}: {exchange.describe()}",
                exchange,
            )
            record = after or record
    read, found = records.list_ids(resource, [record[ID]], None, records.parents_of(resource, [record]))
    records.results.expect(
        "update_semantics",
        resource.get_all.operation_id,
        found == [record],
        f"the record read back differs from the last update's answer: {found!r} vs {record!r}",
        read.curl,
    )


def _new_value(
    records: ConnectorRecords,
    resource: LinkedResource,
    record: Mapping[str, Any],
    name: str,
    schema: S.Schema,
) -> Any:
    if name in resource.reference_targets:
        target = resource_named(resource.reference_targets[name])
        parents = {k: record[k] for k in target.reference_targets if isinstance(record.get(k), str)}
        return records.create(target, parents)[ID]
    return S.make_value(
        document(),
        schema,
        name=name,
        variant=records.next_variant(),
        reference=lambda _n: None,
        avoid=record.get(name),
    )


def _same(before: Mapping[str, Any], after: Mapping[str, Any], names: list[str]) -> bool:
    return all(S.same_value(before.get(n), after.get(n)) for n in names)


def _update_order(resource: LinkedResource, wrappers: Mapping[str, S.Schema]) -> list[str]:
    """Plain fields first, then references that may be cleared, then the others (a record keeps
    consistent references: a membership's tier is cleared before its program changes)."""

    def rank(name: str) -> int:
        if name not in resource.reference_targets:
            return 0
        value = resolve(document(), S.non_null(document(), wrappers[name]))["properties"]["Value"]
        return 1 if S.nullable(document(), value) else 2

    return sorted(wrappers, key=lambda n: (rank(n), list(wrappers).index(n)))
