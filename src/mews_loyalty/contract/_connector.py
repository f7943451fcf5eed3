"""Scenario checks for the Connector API: what the schema cannot say.

Everything is derived from the operation catalog: a *resource* is the group of operations sharing a
resource name (``loyalty_programs``: getAll, add, update, delete); its item list, id filter, id field
and references to other resources are read from the spec, so a resource added to the spec is checked
with no new code here.

Read-only checks (always): ``pagination`` over the existing data, ``interval_limit``,
``ignored_body_auth`` for operations fuzzing did not reach, ``request_id_header`` and spec
conformance of every response. With writes allowed: ``create_then_read``, ``newest_first``,
``pagination`` over created items, ``update_semantics``, ``soft_delete``; ``cleanup`` deletes
everything the run created (by these checks, by fuzzing, by a server that wrongly accepted a bad
token) and reports what it could not. ``rate_limit`` only with ``probe_rate_limit``.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from mews_loyalty._spec import ENVELOPE_FIELDS, PAGING_FIELD, Operation, catalog, resolve
from mews_loyalty.contract import _schema as S
from mews_loyalty.contract._http import ApiClient, Exchange, server_json
from mews_loyalty.contract._pacing import parse_retry_after
from mews_loyalty.contract._results import NotRunnable, Results, ScenarioError

ID = "Id"
ACTIVITY = "ActivityStates"
RESOURCE_ORDER_LIMIT = 100
# A token of the right shape that no server issued.
WRONG_TOKEN = "0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF0123456789ABCDE"
MAX_PAGES = 20
BURST_CONNECTIONS = 4
# A time filter longer than the documented months must be refused. The request is schema-valid (the
# limit is an `x-` extension), so a server may call it an invalid parameter (400, "Invalid CreatedUtc")
# or a failed server-side validation (403, Mews' wording for that status); our mock answers 403 so
# that schema-valid requests never draw a 400. Either documented refusal passes; a 200 fails.
INTERVAL_REJECTION_STATUSES = (400, 403)


@dataclass(frozen=True)
class Credentials:
    client_token: str
    access_token: str
    client: str

    def apply(self, body: dict[str, Any]) -> None:
        body["ClientToken"] = self.client_token
        body["AccessToken"] = self.access_token
        body["Client"] = self.client


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


def _document() -> Mapping[str, Any]:
    return catalog("connector").document


def _request_schema(op: Operation) -> S.Schema:
    return catalog("connector").schema(op.request_schema)


def _batch_item_schema(op: Operation) -> S.Schema:
    assert op.batch_field is not None
    prop = resolve(_document(), _request_schema(op)["properties"][op.batch_field])
    return resolve(_document(), prop.get("items", {}))


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
            for prop in _batch_item_schema(resource.add).get("properties", {}):
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


# --- the ledger of created records --------------------------------------------------------------


@dataclass
class Ledger:
    """Every record the run saw created, per resource, with the item as the server returned it."""

    created: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # ids a successful delete named
    budget: int | None = None  # records the run may create (None: unlimited)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spent(self) -> int:
        """How many records the run has created so far (whoever sent the add)."""
        with self._lock:
            return sum(len(items) for items in self.created.values())

    @property
    def exhausted(self) -> bool:
        return self.budget is not None and self.spent >= self.budget

    def removed(self) -> int:
        """How many of the records the run created were deleted again."""
        with self._lock:
            return sum(1 for items in self.created.values() for key in items if key in self.deleted)

    def remember(self, resource: Resource, item: Mapping[str, Any]) -> None:
        if isinstance(item.get(ID), str):
            with self._lock:
                self.created.setdefault(resource.name, {})[item[ID]] = dict(item)

    def observe(self, op: Operation, status: int, request: Any, body: Any) -> None:
        """Note what a successful add created or a successful delete removed, whoever sent it
        (scenarios, fuzzing, or a server that wrongly accepted a bad token)."""
        resource = resource_of(op)
        if resource is None or status != 200:
            return
        if resource.delete is not None and op.operation_id == resource.delete.operation_id:
            ids = request.get(op.batch_field or "") if isinstance(request, dict) else None
            for record_id in ids if isinstance(ids, list) else []:
                self.forget(str(record_id))
            return
        if resource.add is None or op.operation_id != resource.add.operation_id:
            return
        if not isinstance(body, dict) or not isinstance(body.get(resource.items), list):
            return
        for item in body[resource.items]:
            if isinstance(item, dict):
                self.remember(resource, item)

    def observe_raw(self, op: Operation, status: int, request: Any, content: bytes) -> None:
        if status == 200 and op.action in {"add", "delete"}:
            self.observe(op, status, request, server_json(content) if op.action == "add" else None)

    def items(self, resource: Resource) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.created.get(resource.name, {}))

    def live(self, resource: Resource) -> list[dict[str, Any]]:
        with self._lock:
            return [i for k, i in self.created.get(resource.name, {}).items() if k not in self.deleted]

    def forget(self, record_id: str) -> None:
        with self._lock:
            self.deleted.add(record_id)


# --- the scenarios ------------------------------------------------------------------------------


@dataclass
class ConnectorScenarios:
    client: ApiClient
    credentials: Credentials
    results: Results
    ledger: Ledger
    allow_writes: bool
    # Values for add properties the run cannot make up (e.g. {"AccountId": "<a real customer>"}).
    values: Mapping[str, Any] = field(default_factory=dict)
    _variant: int = 0

    # - helpers -

    def body(self, **fields: Any) -> dict[str, Any]:
        body = dict(fields)
        self.credentials.apply(body)
        return body

    def call(self, op: Operation, **fields: Any) -> Exchange:
        return self.client.send(op, self.body(**fields))

    def next_variant(self) -> int:
        self._variant += 1
        return self._variant

    def _list_body(
        self, resource: Resource, parents: Mapping[str, list[str]] | None = None
    ) -> dict[str, Any]:
        """Fields a getAll must carry besides the envelope: values for its required filters."""
        fields: dict[str, Any] = {}
        for name in resource.required_filters:
            values = (parents or {}).get(name)
            if not values:
                values = self.known_ids(name)
            fields[name] = values[:1000] or [str(uuid.uuid4())]
        return fields

    def known_ids(self, ids_filter: str) -> list[str]:
        """Ids of some existing records of the resource whose id filter is ``ids_filter``."""
        owner = next((r for r in resources() if r.ids_filter == ids_filter), None)
        if owner is None:
            return []
        created = [str(i[ID]) for i in self.ledger.live(owner)]
        if created:
            return created
        if owner.required_filters:
            return []
        page = self.call(owner.get_all, Limitation={"Count": 100})
        return [item[ID] for item in page.items(owner.items) if isinstance(item.get(ID), str)]

    def list_ids(
        self, resource: Resource, ids: list[str], states: list[str] | None, parents: Mapping[str, list[str]]
    ) -> tuple[Exchange, list[dict[str, Any]]]:
        fields = self._list_body(resource, parents)
        fields[resource.ids_filter] = ids
        if states is not None:
            fields[ACTIVITY] = states
        fields[PAGING_FIELD] = {"Count": 1000}
        exchange = self.call(resource.get_all, **fields)
        return exchange, exchange.items(resource.items)

    def parents_of(self, resource: Resource, items: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Values for the required filters that list ``items`` (e.g. the programs of some tiers)."""
        parents: dict[str, list[str]] = {}
        for name in resource.required_filters:
            field_name = name.removesuffix("s")
            parents[name] = sorted({str(i[field_name]) for i in items if isinstance(i.get(field_name), str)})
        return parents

    # - creating records -

    def add_item_fields(
        self, resource: Resource, overrides: Mapping[str, Any], variant: int
    ) -> dict[str, Any]:
        """A complete valid item for ``resource.add``: every property the schema offers, references
        resolved to records this run created (creating them when needed)."""
        assert resource.add is not None
        schema = _batch_item_schema(resource.add)
        item: dict[str, Any] = {}
        chosen: dict[str, str] = dict(overrides)
        for name, sub in schema.get("properties", {}).items():
            if name in overrides:
                item[name] = overrides[name]
                continue
            if name in self.values:
                item[name] = self.values[name]
                continue
            if S.is_deprecated(_document(), sub):
                continue
            if name in resource.references:
                target = resource_named(resource.references[name])
                chosen[name] = self.reference_for(target, chosen)
                item[name] = chosen[name]
                continue
            if name == "ChainId":  # only portfolio tokens need it; the chain comes from the token
                continue
            item[name] = S.make_value(
                _document(), sub, name=name, variant=variant, reference=lambda _name: None
            )
        return item

    def reference_for(self, target: Resource, chosen: Mapping[str, str]) -> str:
        """An active record of ``target`` consistent with the references chosen so far."""
        for record in reversed(self.ledger.live(target)):
            if all(record.get(k) == v for k, v in chosen.items() if k in target.references):
                return str(record[ID])
        overrides = {k: v for k, v in chosen.items() if k in target.references}
        return str(self.create(target, overrides)[ID])

    def _spend_one(self) -> None:
        """Stop before creating a record the write budget (``--max-writes``) does not allow."""
        if self.ledger.exhausted:
            raise NotRunnable(
                f"needs a larger --max-writes (the {self.ledger.budget} records allowed are created)"
            )

    def create(self, resource: Resource, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Create one record; raises ``ScenarioError`` when the server refuses."""
        assert resource.add is not None
        assert resource.add.batch_field is not None
        self._spend_one()
        fields = self.add_item_fields(resource, overrides or {}, self.next_variant())
        exchange = self.call(resource.add, **{resource.add.batch_field: [fields]})
        items = exchange.items(resource.items)
        if exchange.status != 200 or len(items) != 1 or not isinstance(items[0].get(ID), str):
            raise ScenarioError(
                resource.add.operation_id,
                f"could not create a {resource.name} record (one item with a string {ID}) to check with: "
                f"{exchange.describe()}",
                exchange.curl,
                needs=f"a {resource.name} record, which {resource.add.operation_id} did not give",
            )
        self.ledger.remember(resource, items[0])
        return items[0]

    # - the checks -

    def run(self) -> None:
        """Every scenario check; each resource of each check is guarded (``Results.guard``), so
        whatever the server answers becomes a finding and the next one still runs."""
        checks = [
            ("interval_limit", self.check_interval_limit),
            ("pagination", self.check_pagination_read_only),
        ]
        writing = [
            ("create_then_read", self.check_create_then_read),
            ("newest_first", self.check_newest_first_and_paging),
            ("update_semantics", self.check_update_semantics),
            ("soft_delete", self.check_soft_delete),
        ]
        if self.allow_writes:
            checks += writing
        else:
            for name, _ in writing:
                self.results.skip(name, "needs --allow-writes (the run is read-only)")
        for name, check in checks:
            with self.results.guard(name):
                check()

    def check_interval_limit(self) -> None:
        """Time filters may span at most the documented months; longer ones are rejected with 400."""
        now = datetime.now(UTC).replace(microsecond=0)
        for resource in resources():
            with self.results.guard("interval_limit"):
                op = resource.get_all
                for name, months in op.max_interval_months.items():
                    inside = {"StartUtc": _iso(now - timedelta(days=28 * months - 2)), "EndUtc": _iso(now)}
                    over = {"StartUtc": _iso(now - timedelta(days=31 * months + 3)), "EndUtc": _iso(now)}
                    base = {**self._list_body(resource), PAGING_FIELD: {"Count": 1}}
                    ok = self.call(op, **base, **{name: inside})
                    self.results.expect(
                        "interval_limit",
                        op.operation_id,
                        ok.status == 200,
                        f"{name} spanning less than {months} months was refused: {ok.describe()}",
                        ok.curl,
                    )
                    bad = self.call(op, **base, **{name: over})
                    self.results.expect(
                        "interval_limit",
                        op.operation_id,
                        bad.status in INTERVAL_REJECTION_STATUSES,
                        f"{name} spanning more than {months} months must be refused with 400 or 403, "
                        f"got {bad.describe()}",
                        bad.curl,
                    )

    def walk_pages(self, resource: Resource, fields: Mapping[str, Any], count: int) -> list[Exchange]:
        pages: list[Exchange] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            limitation: dict[str, Any] = {"Count": count}
            if cursor is not None:
                limitation["Cursor"] = cursor
            page = self.call(resource.get_all, **fields, **{PAGING_FIELD: limitation})
            if page.status != 200:
                raise ScenarioError(
                    resource.get_all.operation_id,
                    f"a page request failed: {page.describe()}",
                    page.curl,
                    "pagination",
                )
            pages.append(page)
            items = page.items(resource.items)
            cursor = page.json().get("Cursor") if isinstance(page.json(), dict) else None
            if len(items) < count or not isinstance(cursor, str):
                break
        return pages

    def verify_pages(
        self, resource: Resource, pages: list[Exchange], count: int, expected: list[str] | None
    ) -> list[str]:
        """Check the paging rules on a walk; returns the ids in the order they came."""
        label = resource.get_all.operation_id
        seen: list[str] = []
        for index, page in enumerate(pages):
            items = page.items(resource.items)
            ids = [str(item.get(ID)) for item in items]
            cursor = page.json().get("Cursor") if isinstance(page.json(), dict) else None
            last = index == len(pages) - 1
            problems = []
            if len(items) > count:
                problems.append(f"page {index + 1} has {len(items)} items for Count {count}")
            if items and (not isinstance(cursor, str) or cursor.lower() != ids[-1].lower()):
                problems.append(
                    f"page {index + 1}: Cursor {cursor!r} is not the id of its last (oldest) item {ids[-1]!r}"
                )
            if not items and cursor is not None:
                problems.append(f"page {index + 1} is empty but its Cursor is {cursor!r} (must be null)")
            if not last and len(items) != count:
                problems.append(
                    f"page {index + 1} is short ({len(items)} of {count}) but the next page had items"
                )
            repeated = sorted(set(ids) & set(seen))
            if repeated:
                problems.append(f"page {index + 1} repeats items of earlier pages: {repeated[:3]}")
            seen += ids
            self.results.expect("pagination", label, not problems, "; ".join(problems), page.curl)
        if expected is not None:
            missing = [i for i in expected if i not in seen]
            extra = [i for i in seen if i not in expected]
            in_order = [i for i in seen if i in expected] == [i for i in expected if i in seen]
            self.results.expect(
                "pagination",
                label,
                not missing and not extra and in_order,
                (
                    f"paging with Count {count} did not return each item exactly once in the order of one big page"
                    f" (missing {missing[:3]}, unexpected {extra[:3]}, same order: {in_order})"
                ),
                pages[-1].curl if pages else "",
            )
        return seen

    def check_pagination_read_only(self) -> None:
        """Whatever data exists: small pages return what one big page returns, in order, once each."""
        for resource in resources():
            with self.results.guard("pagination"):
                fields = self._list_body(resource)
                big = self.call(resource.get_all, **fields, **{PAGING_FIELD: {"Count": 1000}})
                if big.status != 200:
                    raise ScenarioError(
                        resource.get_all.operation_id,
                        f"listing failed: {big.describe()}",
                        big.curl,
                        "pagination",
                    )
                items = big.items(resource.items)
                ids = [str(i.get(ID)) for i in items]
                if not ids:
                    self.verify_pages(resource, [big], 1000, [])
                    continue
                count = max(1, math.ceil(min(len(ids), 60) / 3))
                pages = self.walk_pages(resource, fields, count)
                covered = sum(len(p.items(resource.items)) for p in pages)
                self.verify_pages(resource, pages, count, ids if covered >= len(ids) else ids[:covered])

    def check_create_then_read(self) -> None:
        """Created records come back as sent, and read back by id as the add answered."""
        for resource in resources():
            with self.results.guard("create_then_read"):
                if not resource.writable or resource.add is None or resource.add.batch_field is None:
                    continue
                label = resource.add.operation_id
                self._spend_one()
                fields = self.add_item_fields(resource, {}, self.next_variant())
                exchange = self.call(resource.add, **{resource.add.batch_field: [fields]})
                items = exchange.items(resource.items)
                if not self.results.expect(
                    "create_then_read",
                    label,
                    exchange.status == 200 and len(items) == 1,
                    f"adding one valid record must answer 200 with it: {exchange.describe()}",
                    exchange.curl,
                ):
                    continue
                item = items[0]
                if not self.results.expect(
                    "create_then_read",
                    label,
                    isinstance(item.get(ID), str),
                    f"the created record has no string {ID}: {exchange.describe()}",
                    exchange.curl,
                ):
                    continue
                self.ledger.remember(resource, item)
                differ = [k for k, v in fields.items() if k in item and not S.same_value(v, item[k])]
                missing = [k for k in fields if k not in item and k in _item_properties(resource)]
                self.results.expect(
                    "create_then_read",
                    label,
                    not differ and not missing,
                    f"the created record differs from what was sent in {differ + missing}: sent "
                    f"{ {k: fields[k] for k in differ + missing} }, got { {k: item.get(k) for k in differ + missing} }",
                    exchange.curl,
                )
                read, found = self.list_ids(resource, [item[ID]], None, self.parents_of(resource, [item]))
                self.results.expect(
                    "create_then_read",
                    resource.get_all.operation_id,
                    found == [item],
                    f"reading the new record by id gave {found!r}, the add answered {item!r}",
                    read.curl,
                )

    def check_newest_first_and_paging(self) -> None:
        """Three records created one after the other come back newest first, and page correctly."""
        for resource in resources():
            with self.results.guard("newest_first"):
                if not resource.writable:
                    continue
                made = []
                for _ in range(3):
                    made.append(self.create(resource))
                    time.sleep(0.002)  # distinct creation instants even with a coarse server clock
                ids = [str(i[ID]) for i in made]
                parents = self.parents_of(resource, made)
                exchange, found = self.list_ids(resource, ids, None, parents)
                order = [str(i.get(ID)) for i in found]
                self.results.expect(
                    "newest_first",
                    resource.get_all.operation_id,
                    order == list(reversed(ids)),
                    f"records created in the order {ids} were listed as {order} (newest first expected)",
                    exchange.curl,
                )
                fields = {**self._list_body(resource, parents), resource.ids_filter: ids}
                for count in (2, 3):  # a short last page, then a full last page followed by an empty one
                    pages = self.walk_pages(resource, fields, count)
                    self.verify_pages(resource, pages, count, list(reversed(ids)))
                    if count == 3:
                        self.results.expect(
                            "pagination",
                            resource.get_all.operation_id,
                            len(pages) == 2 and not pages[-1].items(resource.items),
                            f"3 items with Count 3 must give a full page, then an empty one with a null Cursor; got "
                            f"{[len(p.items(resource.items)) for p in pages]} items per page",
                            pages[-1].curl,
                        )

    def check_update_semantics(self) -> None:
        """Absent and null keep a value, {Value: x} sets it, {Value: null} clears it."""
        for resource in resources():
            with self.results.guard("update_semantics"):
                if (
                    resource.writable
                    and resource.update is not None
                    and resource.update.batch_field is not None
                ):
                    self._update_semantics(resource, resource.update, resource.update.batch_field)

    def _update(
        self, resource: Resource, op: Operation, batch: str, record_id: str, changes: Mapping[str, Any]
    ) -> tuple[Exchange, dict[str, Any] | None]:
        exchange = self.call(op, **{batch: [{resource.id_field: record_id, **changes}]})
        items = exchange.items(resource.items)
        if exchange.status != 200 or len(items) != 1 or not S.same_value(record_id, items[0].get(ID)):
            return exchange, None  # the caller's expectation reports it
        self.ledger.remember(resource, items[0])
        return exchange, items[0]

    def _update_semantics(self, resource: Resource, op: Operation, batch: str) -> None:
        record = self.create(resource)
        label = op.operation_id
        wrappers = {
            name: sub
            for name, sub in _batch_item_schema(op).get("properties", {}).items()
            if name != resource.id_field and not S.is_deprecated(_document(), sub)
        }
        compared = [n for n in wrappers if n in _item_properties(resource)]

        def expect(ok: bool, message: str, exchange: Exchange) -> None:
            self.results.expect("update_semantics", label, ok, message, exchange.curl)

        exchange, after = self._update(resource, op, batch, record[ID], {})
        expect(
            after is not None and _same(record, after, compared),
            f"an update naming no field changed the record: {exchange.describe()}",
            exchange,
        )
        record = after or record
        for name in _update_order(resource, wrappers):
            others = [c for c in compared if c != name]
            value_schema = resolve(_document(), S.non_null(_document(), wrappers[name]))["properties"][
                "Value"
            ]
            new_value = self._new_value(resource, record, name, value_schema)
            exchange, after = self._update(resource, op, batch, record[ID], {name: {"Value": new_value}})
            expect(
                after is not None
                and S.same_value(new_value, after.get(name))
                and _same(record, after, others),
                f"{{'{name}': {{'Value': {new_value!r}}}}} must set {name} and keep the rest: {exchange.describe()}",
                exchange,
            )
            if after is None:
                continue
            record = after
            exchange, after = self._update(resource, op, batch, record[ID], {name: None})
            expect(
                after is not None and _same(record, after, compared),
                f"'{name}': null must keep the value: {exchange.describe()}",
                exchange,
            )
            if S.nullable(_document(), value_schema):
                exchange, after = self._update(resource, op, batch, record[ID], {name: {"Value": None}})
                expect(
                    after is not None and after.get(name) is None and _same(record, after, others),
                    f"{{'{name}': {{'Value': null}}}} must clear {name}: {exchange.describe()}",
                    exchange,
                )
                record = after or record
        read, found = self.list_ids(resource, [record[ID]], None, self.parents_of(resource, [record]))
        self.results.expect(
            "update_semantics",
            resource.get_all.operation_id,
            found == [record],
            f"the record read back differs from the last update's answer: {found!r} vs {record!r}",
            read.curl,
        )

    def _new_value(self, resource: Resource, record: Mapping[str, Any], name: str, schema: S.Schema) -> Any:
        if name in resource.references:
            target = resource_named(resource.references[name])
            parents = {k: record[k] for k in target.references if isinstance(record.get(k), str)}
            return self.create(target, parents)[ID]
        return S.make_value(
            _document(),
            schema,
            name=name,
            variant=self.next_variant(),
            reference=lambda _n: None,
            avoid=record.get(name),
        )

    def check_soft_delete(self) -> None:
        """A deleted record leaves the default listing and stays visible as Deleted."""
        for resource in reversed(resources()):
            with self.results.guard("soft_delete"):
                if not resource.writable or resource.delete is None or resource.delete.batch_field is None:
                    continue
                record = self.create(resource)
                parents = self.parents_of(resource, [record])
                gone = self.call(resource.delete, **{resource.delete.batch_field: [record[ID]]})
                if not self.results.expect(
                    "soft_delete",
                    resource.delete.operation_id,
                    gone.status == 200,
                    f"deleting a record this run created failed: {gone.describe()}",
                    gone.curl,
                ):
                    continue
                for states, present in (
                    (None, False),
                    (["Active"], False),
                    (["Deleted"], True),
                    (["Active", "Deleted"], True),
                ):
                    exchange, found = self.list_ids(resource, [record[ID]], states, parents)
                    ids = [i.get(ID) for i in found]
                    self.results.expect(
                        "soft_delete",
                        resource.get_all.operation_id,
                        exchange.status == 200 and (record[ID] in ids) == present,
                        f"after delete, listing with {ACTIVITY} {states} must {'' if present else 'not '}return the record; got {ids}",
                        exchange.curl,
                    )

    # - run-level checks -

    def probe_body_auth(self, op: Operation, body: Mapping[str, Any]) -> list[str]:
        """Send ``body`` with each token wrong, missing and empty; every answer must be 401."""
        problems: list[str] = []
        for name in ("ClientToken", "AccessToken"):
            for variant in ("wrong", "missing", "empty"):
                probe = dict(body)
                self.credentials.apply(probe)
                if variant == "wrong":
                    probe[name] = WRONG_TOKEN
                elif variant == "missing":
                    del probe[name]
                else:
                    probe[name] = ""
                exchange = self.client.send(op, probe)
                ok = exchange.status == 401
                message = f"{variant} {name} must get 401, got {exchange.describe()}"
                self.results.expect("ignored_body_auth", op.operation_id, ok, message, exchange.curl)
                if not ok:
                    problems.append(message)
        return problems

    def probe_remaining_auth(self, probed: set[str]) -> None:
        """Body-token probes for operations no fuzzed request reached with a 2xx."""
        for resource in resources():
            for op in (resource.get_all, resource.add, resource.update, resource.delete):
                if op is None or op.operation_id in probed:
                    continue
                try:
                    body = self._valid_body(resource, op)
                except ScenarioError as error:
                    self.results.failed("ignored_body_auth", op.operation_id, error.message, error.curl)
                    continue
                if body is None:
                    continue
                self.probe_body_auth(op, body)
                probed.add(op.operation_id)
        skipped = sorted(
            op.operation_id for op in catalog("connector").operations if op.operation_id not in probed
        )
        if skipped:
            self.results.notes.append(
                f"ignored_body_auth: not probed (writes not allowed, or no record to probe with): {', '.join(skipped)}"
            )

    def _valid_body(self, resource: Resource, op: Operation) -> dict[str, Any] | None:
        if op is resource.get_all:
            return {**self._list_body(resource), PAGING_FIELD: {"Count": 1}}
        if not self.allow_writes:
            return None  # a server that ignores tokens would act on the probe
        if op is resource.add and op.batch_field:
            return {op.batch_field: [self.add_item_fields(resource, {}, self.next_variant())]}
        record = self.create(resource)
        if op is resource.update and op.batch_field:
            return {op.batch_field: [{resource.id_field: record[ID]}]}
        if op is resource.delete and op.batch_field:
            return {op.batch_field: [record[ID]]}
        return None

    def check_rate_limit(self, rate: tuple[int, float]) -> None:
        """Burst past the limit on purpose: a 429 with a usable Retry-After, then success after it."""
        resource = next((r for r in resources() if not r.required_filters), resources()[0])
        op = resource.get_all
        label = op.operation_id
        body = self.body(**self._list_body(resource), **{PAGING_FIELD: {"Count": 1}})
        limit, seconds = rate
        started = time.monotonic()
        hits: list[Exchange] = []
        planned = min(limit + 5, 1100)
        numbers = itertools.count(1)
        sent = 0

        def burst() -> None:
            nonlocal sent
            while not hits and (number := next(numbers)) <= planned:
                sent = max(sent, number)
                exchange = self.client.send(op, body, burst=True)
                if exchange.status == 429:
                    hits.append(exchange)

        # A few connections at once, so that a busy machine still outpaces the window.
        with ThreadPoolExecutor(BURST_CONNECTIONS) as pool:
            for future in [pool.submit(burst) for _ in range(BURST_CONNECTIONS)]:
                future.result()
        hit = hits[0] if hits else None
        elapsed = time.monotonic() - started
        if hit is None:
            if elapsed < seconds:
                self.results.failed(
                    "rate_limit",
                    label,
                    f"{sent} requests within {elapsed:.1f} s (limit {limit}/{seconds:g} s) got no 429",
                )
            else:
                self.results.skip(
                    "rate_limit",
                    f"{sent} requests took {elapsed:.1f} s, longer than the {seconds:g} s window",
                )
            return
        wait = parse_retry_after(hit.response.headers.get("Retry-After"))
        self.results.expect(
            "rate_limit",
            label,
            wait is not None,
            f"the 429 must carry a usable Retry-After, got {hit.response.headers.get('Retry-After')!r}",
            hit.curl,
        )
        time.sleep(min(wait if wait is not None else seconds, 60.0) + 0.05)
        after = self.client.send(op, body)
        self.results.expect(
            "rate_limit",
            label,
            after.status == 200,
            f"after waiting Retry-After the request must succeed, got {after.describe()}",
            after.curl,
        )

    def cleanup(self) -> list[str]:
        """Delete every active record the run created, dependents first; returns what is left."""
        leftovers: list[str] = []
        for resource in reversed(resources()):
            created = self.ledger.items(resource)
            if not created or resource.delete is None or resource.delete.batch_field is None:
                continue
            ids = list(created)
            parents = self.parents_of(resource, list(created.values()))
            try:
                try:
                    active = self._active(resource, ids, parents)
                except ScenarioError:  # cannot list them: delete every one not known to be deleted
                    active = [i for i in ids if i not in self.ledger.deleted]
                for chunk in _chunks(active, resource.delete.batch_limit or 1000):
                    self.call(resource.delete, **{resource.delete.batch_field: chunk})
                remaining = self._active(resource, ids, parents)
            except Exception as error:
                remaining = [i for i in ids if i not in self.ledger.deleted]
                self.results.notes.append(f"cleanup of {resource.name} stopped: {error}")
            self.results.expect(
                "cleanup",
                resource.delete.operation_id,
                not remaining,
                f"{len(remaining)} {resource.name} records created by the run are still active: {remaining[:10]}",
            )
            leftovers += [f"{resource.name} {i}" for i in remaining]
        return leftovers

    def _active(self, resource: Resource, ids: list[str], parents: Mapping[str, list[str]]) -> list[str]:
        active: list[str] = []
        for chunk in _chunks(ids, 1000):
            exchange, found = self.list_ids(resource, chunk, ["Active"], parents)
            if exchange.status != 200:
                raise ScenarioError(
                    resource.get_all.operation_id, f"cannot list created records: {exchange.describe()}"
                )
            active += [str(i[ID]) for i in found if i.get(ID) in chunk]
        return active


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _item_properties(resource: Resource) -> tuple[str, ...]:
    return _item_properties_of(resource.name)


@cache
def _item_properties_of(name: str) -> tuple[str, ...]:
    resource = resource_named(name)
    assert resource.get_all.response_schema is not None
    result = catalog("connector").schema(resource.get_all.response_schema)
    items = resolve(_document(), result["properties"][resource.items])
    return tuple(S.properties(_document(), items.get("items", {})))


def _same(before: Mapping[str, Any], after: Mapping[str, Any], names: list[str]) -> bool:
    return all(S.same_value(before.get(n), after.get(n)) for n in names)


def _update_order(resource: Resource, wrappers: Mapping[str, S.Schema]) -> list[str]:
    """Plain fields first, then references that may be cleared, then the others (a record keeps
    consistent references: a membership's tier is cleared before its program changes)."""

    def rank(name: str) -> int:
        if name not in resource.references:
            return 0
        value = resolve(_document(), S.non_null(_document(), wrappers[name]))["properties"]["Value"]
        return 1 if S.nullable(_document(), value) else 2

    return sorted(wrappers, key=lambda n: (rank(n), list(wrappers).index(n)))
