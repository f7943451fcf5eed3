"""What getAll, add, update and delete do to the tables, for every resource alike.

    operations = ConnectorOperations(store, now=..., new_id=...)
    body = operations.handle(op, request, data, access)   # the 200 JSON body, or a ConnectorError

The four actions are written once; the resource table (``rules``) supplies the
filters and value rules, the spec's links the references (``_spec.graph``), and the operation
catalog every name (item lists, batch fields, identifier parameters, interval limits). Writes are all-or-nothing: every item of a
batch is checked before any is stored.

Semantics, as Mews documents them:

- ``getAll``: newest first; the ``Cursor`` is the id of the oldest item returned and the next page
  holds strictly older items; ``Cursor`` is null when the page is empty. Filters combine with AND;
  a list filter keeps records whose field is one of the values; ``ActivityStates`` absent or null
  keeps active records only; time intervals (the spec's ``x-interval`` names their ends,
  ``StartUtc`` and ``EndUtc``) are half-open ``[start, end)`` and equal ends select that instant.
  ``ChainIds`` narrows the chains of the access token.
- ``add``: new ids, ``ChainId`` from the token (or the request's ``ChainId`` with a portfolio
  token), defaults for absent values, references checked (program and tier exist, are active and
  in the chain; the tier belongs to the program).
- ``update``: update values: absent or null keeps, ``{"Value": x}`` sets, ``{"Value": null}``
  clears; the item is returned as it is afterwards.
- ``delete``: soft delete (still listed under ``ActivityStates: ["Deleted"]``); deleting a deleted
  record again changes nothing, so a retried delete succeeds; a record other active records still
  use (a program with active memberships) stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pydantic import MISSING, BaseModel

from mews_loyalty._spec.catalog import CURSOR_FIELD, PAGING_FIELD, Interval, Operation, catalog
from mews_loyalty._spec.graph import ID_FIELD, LinkedResource
from mews_loyalty._wire.encode import PAGE_SIZE_FIELD, spans_more_than
from mews_loyalty.mock.connector.config import Access
from mews_loyalty.mock.connector.errors import FORBIDDEN, UNKNOWN_ID, ConnectorError
from mews_loyalty.mock.connector.rules import (
    API,
    CHAIN_FIELD,
    CREATOR_FIELD,
    RULES,
    UPDATER_FIELD,
    ActivityFilter,
    ChainFilter,
    FieldFilter,
    ResourceRules,
    TimeFilter,
    filters_of,
    keepers,
    linked_graph,
    listing,
)
from mews_loyalty.mock.connector.store import ConnectorStore, Record, Table

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
DELETED = "Deleted"
# Who the mock records as creator / updater of what integrations write through the API.
INTEGRATION_PROFILE = {"Discriminator": "Integration", "EnterpriseProfile": None}


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch; no overflow at the ends of the datetime range."""
    return (moment - EPOCH) // ONE_MICROSECOND


@cache
def _attributes(model: type[BaseModel]) -> dict[str, str]:
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def wire_value(model: BaseModel, name: str) -> Any:
    """A model's value by wire name; ``MISSING`` when the request left it out."""
    attribute = _attributes(type(model)).get(name)
    # Through __dict__: reading a deprecated field (Code, Codes) as an attribute warns.
    return MISSING if attribute is None else model.__dict__.get(attribute, MISSING)


def _given(value: Any) -> bool:
    return value is not MISSING and value is not None


@dataclass(frozen=True)
class _Page:
    chains: frozenset[str]
    activity: frozenset[bool]  # allowed values of Record.deleted
    fields: tuple[tuple[int, frozenset[str]], ...]  # (position, allowed values)
    times: tuple[tuple[str, int, int], ...]  # (stamp attribute, start, end)
    ids: frozenset[str] | None  # an identifier filter: look records up instead of scanning

    def take(self, records: Iterable[Record], count: int) -> list[Record]:
        """The first ``count`` matching records."""
        found: list[Record] = []
        if self.fields or self.times:
            for record in records:
                if self.matches(record):
                    found.append(record)
                    if len(found) == count:
                        break
            return found
        chains, activity = self.chains, self.activity  # the common page: no filters but scope
        for record in records:
            if record.chain_id in chains and record.deleted in activity:
                found.append(record)
                if len(found) == count:
                    break
        return found

    def matches(self, record: Record) -> bool:
        if record.chain_id not in self.chains or record.deleted not in self.activity:
            return False
        values = record.values
        for position, allowed in self.fields:
            if values[position] not in allowed:
                return False
        for stamp, start, end in self.times:
            moment: int = getattr(record, stamp)
            if not (moment == start if start == end else start <= moment < end):
                return False
        return True


@dataclass(frozen=True)
class _Call:
    """The request being served: its operation, the resource's rules, links and table, the body, the caller."""

    op: Operation
    rules: ResourceRules
    linked: LinkedResource  # what the spec's links say of the resource: its references
    table: Table
    request: BaseModel  # the validated body
    data: Mapping[str, Any]  # the body as sent (values kept verbatim come from here)
    access: Access

    def items(self) -> Iterator[tuple[BaseModel, Any]]:
        """The batch's items, each validated and as sent."""
        assert self.op.batch_field is not None
        return zip(wire_value(self.request, self.op.batch_field), self.data[self.op.batch_field], strict=True)

    def acting_chains(self) -> tuple[str, ...]:
        """The chains a write may touch: ``ChainId`` is required with a portfolio token, ignored otherwise."""
        access = self.access
        if CHAIN_FIELD not in self.op.request_properties or not access.portfolio:
            return access.chains
        chain = wire_value(self.request, CHAIN_FIELD)
        if not _given(chain):
            raise ConnectorError(FORBIDDEN, "ChainId is required with a portfolio access token.")
        if str(chain) not in access.chains:
            raise ConnectorError(
                FORBIDDEN, f"Invalid ChainId: the access token does not reach chain {chain}."
            )
        return (str(chain),)


class ConnectorOperations:
    """The resource semantics of the mock over one store."""

    def __init__(
        self, store: ConnectorStore, *, now: Callable[[], datetime], new_id: Callable[[], str]
    ) -> None:
        self.store = store
        self._now = now
        self._new_id = new_id
        api = catalog(API)
        for op in api.operations:  # an update names the record each item changes (x-record-id)
            if op.effect == "update" and op.batch_item_id is None:
                raise LookupError(
                    f"{op.operation_id}: the spec does not say which item property names the record"
                )
        graph = linked_graph()  # every resource has rules, and the rules fit the spec's links
        self._linked = {linked.name: linked for linked in graph.resources}
        self._keepers = {name: keepers(graph, rules) for name, rules in RULES.items()}
        # What each getAll filter reads, from the spec's x-filter (a filter without one fails here).
        self._filters = {resource: filters_of(listing(resource)) for resource in api.resources()}

    def handle(self, op: Operation, request: BaseModel, data: Mapping[str, Any], access: Access) -> bytes:
        resource = op.resource
        call = _Call(op, RULES[resource], self._linked[resource], self.store[resource], request, data, access)
        # The spec's x-effect says what an operation does; the name is not consulted.
        if op.effect == "read" and op.is_paged:
            return self._get_all(call)
        if op.effect == "create":
            return self._add(call)
        if op.effect == "update":
            return self._update(call)
        if op.effect == "delete":
            return self._delete(call)
        raise LookupError(f"the mock does not know how to serve {op.operation_id} (x-effect {op.effect})")

    # --- getAll ---------------------------------------------------------------------------------

    def _get_all(self, call: _Call) -> bytes:
        op, rules, table, request, access = call.op, call.rules, call.table, call.request, call.access
        page = self._page_filter(call)
        limitation = wire_value(request, PAGING_FIELD)
        count: int = wire_value(limitation, PAGE_SIZE_FIELD)
        cursor_id = wire_value(limitation, CURSOR_FIELD)
        before = None
        if _given(cursor_id):
            cursor = table.get(str(cursor_id))
            if cursor is None or cursor.chain_id not in access.chains:
                raise ConnectorError(
                    UNKNOWN_ID,
                    f"Invalid {PAGING_FIELD}: {CURSOR_FIELD} {cursor_id} is not the id of a {rules.noun} "
                    "this access token can see.",
                )
            before = cursor.seq
        found = page.take(self._candidates(table, page, before), count)
        assert op.page_items is not None
        cursor_json = f'"{found[-1].id}"'.encode() if found else b"null"
        return b'{"%s":[%s],"%s":%s}' % (
            op.page_items.encode(),
            b",".join(record.json for record in found),
            CURSOR_FIELD.encode(),
            cursor_json,
        )

    @staticmethod
    def _candidates(table: Table, page: _Page, before: int | None) -> Iterable[Record]:
        if page.ids is None:
            return table.newest_first(before)
        records = (table.get(record_id) for record_id in page.ids)
        return sorted(
            (record for record in records if record is not None and (before is None or record.seq < before)),
            key=lambda record: record.seq,
            reverse=True,
        )

    def _page_filter(self, call: _Call) -> _Page:
        op, table, request = call.op, call.table, call.request
        chains = frozenset(call.access.chains)
        activity = frozenset({False})
        fields: list[tuple[int, frozenset[str]]] = []
        times: list[tuple[str, int, int]] = []
        ids: frozenset[str] | None = None
        for name, kind in self._filters[op.resource].items():
            value = wire_value(request, name)
            if not _given(value):
                continue
            if isinstance(kind, ChainFilter):
                chains &= {str(chain) for chain in value}
            elif isinstance(kind, ActivityFilter):
                activity = frozenset(state == DELETED for state in value)
            elif isinstance(kind, TimeFilter):
                start, end = self._interval(op.intervals[name], value)
                times.append((kind.stamp, start, end))
            elif isinstance(kind, FieldFilter):
                allowed = frozenset(str(item) for item in value)
                if kind.field == ID_FIELD:
                    ids = allowed if ids is None else ids & allowed
                else:
                    fields.append((table.position[kind.field], allowed))
        return _Page(chains, activity, tuple(fields), tuple(times), ids)

    @staticmethod
    def _interval(interval: Interval, value: BaseModel) -> tuple[int, int]:
        """The interval's ends (as the spec's ``x-interval`` names them) in microseconds, or a 403."""
        start: datetime = wire_value(value, interval.start)
        end: datetime = wire_value(value, interval.end)
        name, months = interval.name, interval.max_months
        if start > end:
            raise ConnectorError(FORBIDDEN, f"Invalid {name}: {interval.start} is later than {interval.end}.")
        if months is not None and spans_more_than(start, end, months):
            raise ConnectorError(FORBIDDEN, f"Invalid {name}: the interval may span at most {months} months.")
        return micros(start), micros(end)

    # --- add ------------------------------------------------------------------------------------

    def _add(self, call: _Call) -> bytes:
        op, rules, table = call.op, call.rules, call.table
        assert op.batch_field is not None
        chains = call.acting_chains()
        staged: list[tuple[dict[str, Any], str]] = []
        for index, (item, raw_item) in enumerate(call.items()):
            where = f"{op.batch_field}[{index}]"
            dumped = item.model_dump(mode="json", by_alias=True)
            values = {name: value for name, value in dumped.items() if value is not None}
            self._apply_value_rules(rules, values, raw_item, where)
            for name, default in rules.defaults.items():
                values.setdefault(name, default)
            for alias, canonical in rules.mirrors.items():
                values[alias] = values.get(canonical)
            values[ID_FIELD] = self._new_id()
            if rules.chain_from is None:
                if len(chains) != 1:
                    raise ConnectorError(FORBIDDEN, "ChainId is required with a portfolio access token.")
                chain = chains[0]
            else:
                chain = self._chain_of(call, values, chains, where)
            if CHAIN_FIELD in table.position:
                values[CHAIN_FIELD] = chain
            self._check_references(call.linked, values, (chain,), where, changed=None)
            for profile in (CREATOR_FIELD, UPDATER_FIELD):
                if profile in table.position:
                    values[profile] = INTEGRATION_PROFILE
            staged.append((values, chain))
        now = micros(self._now())
        added = [table.insert(values, chain_id=chain, created_us=now) for values, chain in staged]
        return self._result(op, added)

    def _chain_of(self, call: _Call, values: Mapping[str, Any], chains: tuple[str, ...], where: str) -> str:
        """The chain of the record a child lives under (a tier lives in its program's chain)."""
        field = call.rules.chain_from
        assert field is not None
        parent_table = self.store[call.linked.reference_targets[field]]
        parent = self._live(parent_table, str(values[field]), chains, f"{where}.{field}")
        return parent.chain_id

    # --- update ---------------------------------------------------------------------------------

    def _update(self, call: _Call) -> bytes:
        op, rules, table = call.op, call.rules, call.table
        assert op.batch_field is not None
        chains = call.acting_chains()
        id_parameter = op.batch_item_id
        assert id_parameter is not None  # checked at startup
        staged: dict[str, dict[str, Any]] = {}
        order: list[Record] = []
        for index, (item, raw_item) in enumerate(call.items()):
            where = f"{op.batch_field}[{index}]"
            record = self._live(table, str(wire_value(item, id_parameter)), chains, f"{where}.{id_parameter}")
            current = staged.get(record.id) or table.as_dict(record)
            dumped = item.model_dump(mode="json", by_alias=True)
            changes = {
                name: wrapper["Value"]
                for name, wrapper in dumped.items()
                if name != id_parameter and wrapper is not None
            }
            raw_changes = {name: raw_item[name]["Value"] for name in changes}
            self._apply_value_rules(rules, changes, raw_changes, where)
            updated = {**current, **changes}
            for alias, canonical in rules.mirrors.items():
                updated[alias] = updated.get(canonical)
            self._check_references(call.linked, updated, (record.chain_id,), where, changed=set(changes))
            if UPDATER_FIELD in table.position:
                updated[UPDATER_FIELD] = INTEGRATION_PROFILE
            staged[record.id] = updated
            order.append(record)
        now = micros(self._now())
        for record_id, values in staged.items():
            stored = table.get(record_id)
            assert stored is not None
            table.replace(stored, values, updated_us=now)
        return self._result(op, order)

    # --- delete ---------------------------------------------------------------------------------

    def _delete(self, call: _Call) -> bytes:
        op, rules, table = call.op, call.rules, call.table
        assert op.batch_field is not None
        chains = call.acting_chains()
        doomed: list[Record] = []
        for index, record_id in enumerate(wire_value(call.request, op.batch_field)):
            record = table.get(str(record_id))
            if record is None or record.chain_id not in chains:
                raise ConnectorError(
                    UNKNOWN_ID, f"Invalid {op.batch_field}[{index}]: there is no {rules.noun} {record_id}."
                )
            if record.deleted:
                continue
            for dependent in self._keepers[table.name]:
                in_use = self.store[dependent.resource].active_count(dependent.field, record.id)
                if in_use:
                    noun = RULES[dependent.resource].noun
                    raise ConnectorError(
                        FORBIDDEN,
                        f"The {rules.noun} {record.id} still has {in_use} active {noun}"
                        f"{'s' if in_use > 1 else ''}; delete {'them' if in_use > 1 else 'it'} first.",
                    )
            doomed.append(record)
        now = micros(self._now())
        for record in doomed:
            table.soft_delete(record, updated_us=now)
        return b"{}"

    # --- shared pieces --------------------------------------------------------------------------

    @staticmethod
    def _live(table: Table, record_id: str, chains: tuple[str, ...], where: str) -> Record:
        record = table.get(record_id)
        if record is None or record.deleted or record.chain_id not in chains:
            noun = RULES[table.name].noun
            raise ConnectorError(UNKNOWN_ID, f"Invalid {where}: there is no active {noun} {record_id}.")
        return record

    @staticmethod
    def _apply_value_rules(
        rules: ResourceRules, values: dict[str, Any], raw: Mapping[str, Any], where: str
    ) -> None:
        for name in rules.verbatim:
            if values.get(name) is not None:
                values[name] = raw[name]
        for alias, canonical in rules.mirrors.items():
            if alias not in values:
                continue
            former = values.pop(alias)
            if canonical in values and values[canonical] != former:
                raise ConnectorError(
                    FORBIDDEN,
                    f"Invalid {where}.{alias}: {alias} is the former name of {canonical}; "
                    "send one of them, or the same value in both.",
                )
            values[canonical] = former
        for name, normalize in rules.normalizers.items():
            if values.get(name) is not None:
                try:
                    values[name] = normalize(values[name])
                except ConnectorError as error:
                    raise ConnectorError(error.status, f"Invalid {where}.{name}: {error.message}") from None

    def _check_references(
        self,
        linked: LinkedResource,
        values: Mapping[str, Any],
        chains: tuple[str, ...],
        where: str,
        changed: set[str] | None,
    ) -> None:
        """Referenced records exist, are active, in the chain, and match; on update, only what changed."""
        for reference in linked.references:
            if changed is not None and not ({reference.field, *reference.matching.values()} & changed):
                continue
            target_id = values.get(reference.field)
            if target_id is None:
                continue
            target_table = self.store[reference.target]
            target = self._live(target_table, str(target_id), chains, f"{where}.{reference.field}")
            for target_field, own_field in reference.matching.items():
                theirs, ours = target_table.value(target, target_field), values.get(own_field)
                if theirs != ours:
                    raise ConnectorError(
                        FORBIDDEN,
                        f"Invalid {where}.{reference.field}: {RULES[reference.target].noun} {target_id} "
                        f"belongs to {target_field} {theirs}, not {ours}.",
                    )

    def _result(self, op: Operation, records: Iterable[Record]) -> bytes:
        field = op.result_items
        if field is None:
            return b"{}"
        return b'{"%s":[%s]}' % (field.encode(), b",".join(record.json for record in records))
