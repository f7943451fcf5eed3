"""Scenario checks for the Connector API: what the schema cannot say.

Read-only checks (always): ``pagination`` over the existing data and ``interval_limit``. With writes
allowed: ``create_then_read``, ``newest_first``, ``pagination`` over created items,
``update_semantics`` and ``soft_delete``. Every resource comes from the resource graph (``graph``,
read from the catalog and the spec's links), so a resource added to the spec is checked with no new
code here. Beside this module: ``updates`` (the update-value check), ``records`` (listing and
creating records), ``probes`` (body tokens, the rate limit) and ``_run.cleanup`` (deleting what the
run created).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from mews_loyalty._spec.catalog import CURSOR_FIELD, PAGING_FIELD, Operation
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty._wire.encode import PAGE_SIZE_FIELD
from mews_loyalty.contract._exchange.api_client import Exchange
from mews_loyalty.contract._report.results import NOT_SELECTED, ScenarioError
from mews_loyalty.contract._scenarios import values as S
from mews_loyalty.contract._scenarios.links import ID, require_ids_filter, resources
from mews_loyalty.contract._scenarios.records import ACTIVITY, ConnectorRecords
from mews_loyalty.contract._scenarios.updates import update_semantics

MAX_PAGES = 20
# A time filter longer than the documented months must be refused. The request is schema-valid (the
# limit is an `x-` extension), so a server may call it an invalid parameter (400, "Invalid CreatedUtc")
# or a failed server-side validation (403, Mews' wording for that status); our mock answers 403 so
# that schema-valid requests never draw a 400. Either documented refusal passes; a 200 fails.
INTERVAL_REJECTION_STATUSES = (400, 403)


class ConnectorScenarios(ConnectorRecords):
    """Every scenario check (``run``); each resource of each check is guarded separately."""

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
            if not self.results.selected(name):
                self.results.skip(name, NOT_SELECTED)
                continue
            with self.results.guard(name):
                check()

    def chosen(self, check: str) -> list[LinkedResource]:
        """The resources ``check`` runs on: every one, or those with an operation the run's selection
        names for it (``Results.selection``)."""
        return [
            resource
            for resource in resources()
            if self.results.selected(check, *(op.operation_id for op in _operations(resource)))
        ]

    def check_interval_limit(self) -> None:
        """Time filters may span at most the documented months; longer ones are refused (400 or 403)."""
        now = datetime.now(UTC).replace(microsecond=0)
        for resource in self.chosen("interval_limit"):
            with self.results.guard("interval_limit"):
                op = resource.get_all
                for name, months in op.max_interval_months.items():
                    ends = op.intervals[name]
                    inside = {ends.start: _iso(now - timedelta(days=28 * months - 2)), ends.end: _iso(now)}
                    over = {ends.start: _iso(now - timedelta(days=31 * months + 3)), ends.end: _iso(now)}
                    base = {**self.list_body(resource), PAGING_FIELD: {PAGE_SIZE_FIELD: 1}}
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

    def _page(
        self, resource: LinkedResource, fields: Mapping[str, Any], limitation: Mapping[str, Any], failed: str
    ) -> Exchange:
        """One page of ``resource``'s listing; ``ScenarioError`` (``failed: ...``) unless it is a 200."""
        page = self.call(resource.get_all, **fields, **{PAGING_FIELD: dict(limitation)})
        if page.status != 200:
            raise ScenarioError(
                resource.get_all.operation_id, f"{failed}: {page.describe()}", page.curl, "pagination"
            )
        return page

    def walk_pages(self, resource: LinkedResource, fields: Mapping[str, Any], count: int) -> list[Exchange]:
        pages: list[Exchange] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            limitation: dict[str, Any] = {PAGE_SIZE_FIELD: count}
            if cursor is not None:
                limitation[CURSOR_FIELD] = cursor
            page = self._page(resource, fields, limitation, "a page request failed")
            pages.append(page)
            items = page.items(resource.items)
            cursor = _cursor_of(page)
            if len(items) < count or not isinstance(cursor, str):
                break
        return pages

    def verify_pages(
        self, resource: LinkedResource, pages: list[Exchange], count: int, expected: list[str] | None
    ) -> list[str]:
        """Check the paging rules on a walk; returns the ids in the order they came."""
        label = resource.get_all.operation_id
        seen: list[str] = []
        for index, page in enumerate(pages):
            ids = [str(item.get(ID)) for item in page.items(resource.items)]
            last = index == len(pages) - 1
            problems = _page_problems(index + 1, ids, _cursor_of(page), count, last=last, seen=seen)
            seen += ids
            self.results.expect("pagination", label, not problems, "; ".join(problems), page.curl)
        if expected is not None:
            self._expect_each_once_in_order(label, seen, expected, count, pages[-1].curl if pages else "")
        return seen

    def _expect_each_once_in_order(
        self, label: str, seen: list[str], expected: list[str], count: int, curl: str
    ) -> None:
        """The walk returned what one big page returned: each item once, in the same order."""
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
            curl,
        )

    def check_pagination_read_only(self) -> None:
        """Whatever data exists: small pages return what one big page returns, in order, once each."""
        for resource in self.chosen("pagination"):
            with self.results.guard("pagination"):
                fields = self.list_body(resource)
                big = self._page(resource, fields, {PAGE_SIZE_FIELD: 1000}, "listing failed")
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
        for resource in self.chosen("create_then_read"):
            with self.results.guard("create_then_read"):
                if not resource.writable or resource.add is None or resource.add.batch_field is None:
                    continue
                label = resource.add.operation_id
                self.spend_one()
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
                missing = [k for k in fields if k not in item and k in resource.item_properties]
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
        for resource in self.chosen("newest_first"):
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
                fields = {**self.list_body(resource, parents), require_ids_filter(resource): ids}
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
        for resource in self.chosen("update_semantics"):
            with self.results.guard("update_semantics"):
                if (
                    resource.writable
                    and resource.update is not None
                    and resource.update.batch_field is not None
                ):
                    update_semantics(self, resource, resource.update, resource.update.batch_field)

    def check_soft_delete(self) -> None:
        """A deleted record leaves the default listing and stays visible as Deleted."""
        for resource in reversed(self.chosen("soft_delete")):
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


def _operations(resource: LinkedResource) -> list[Operation]:
    return [op for op in (resource.get_all, resource.add, resource.update, resource.delete) if op is not None]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor_of(page: Exchange) -> Any:
    """The page's ``Cursor`` as the server sent it (``None`` when absent or the body is no object)."""
    body = page.json()
    return body.get(CURSOR_FIELD) if isinstance(body, dict) else None


def _page_problems(
    number: int, ids: list[str], cursor: Any, count: int, *, last: bool, seen: list[str]
) -> list[str]:
    """What page ``number`` of a walk (its item ids, its cursor) breaks of the paging rules."""
    problems = []
    if len(ids) > count:
        problems.append(f"page {number} has {len(ids)} items for Count {count}")
    if ids and (not isinstance(cursor, str) or cursor.lower() != ids[-1].lower()):
        problems.append(
            f"page {number}: Cursor {cursor!r} is not the id of its last (oldest) item {ids[-1]!r}"
        )
    if not ids and cursor is not None:
        problems.append(f"page {number} is empty but its Cursor is {cursor!r} (must be null)")
    if not last and len(ids) != count:
        problems.append(f"page {number} is short ({len(ids)} of {count}) but the next page had items")
    repeated = sorted(set(ids) & set(seen))
    if repeated:
        problems.append(f"page {number} repeats items of earlier pages: {repeated[:3]}")
    return problems
