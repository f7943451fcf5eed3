"""The ledger: the one record of what the run wrote, and the gate every creating request passes.

Before a request that can create records is sent (scenarios, probes, fuzzing and the stateful
phase alike), ``admit`` counts it against the write budget by how many records it can create (the
items of its batch) and refuses it once the budget would be exceeded: ``--max-writes`` bounds what
the run asks for, whatever the server answers. After the answer, ``observe`` notes what an add
created and what a delete removed; clean-up (``cleanup``) then says, per record, whether a listing
by id still finds it active. Created, deleted and left, the leftovers with their ids and the
clean-up check's verdict all come from here, so they cannot disagree:

    created = deleted + gone + left

*deleted*: the run deleted it and a listing no longer finds it active (or, when no listing could be
made, the delete was answered with success); *gone*: not found active although the run never
deleted it (a server that keeps nothing, such as Prism's dynamic mode); *left*: anything else,
including records an add was answered for without an id the run could use (``unidentified``: they
cannot be deleted). A server that answers an add of k items with more than k records gets at most
k counted as the run's (the others were not asked for, and are left alone: ``surplus``); one that
answers an id it already gave counts the repeat as a record without a usable id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._spec.catalog import Operation
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty.contract._exchange.api_client import NOT_JSON, server_json
from mews_loyalty.contract._report.results import NotRunnable
from mews_loyalty.contract._scenarios.links import ID, resource_of


def records_in(op: Operation, body: Any) -> int:
    """How many records a request to ``op`` with ``body`` can create: the items of its batch.

    Only operations the spec marks ``x-effect: create`` create. A batch that is a list creates one
    record per item; a single object where the list belongs could be taken for one item by a
    lenient server; anything else (no batch, a string, a body that is not a JSON object) cannot
    name a record. A create without a batch creates one record per request. Raw bytes are read as
    the JSON they carry.
    """
    if op.effect != "create":
        return 0
    if isinstance(body, (bytes, bytearray)):
        body = server_json(bytes(body))
    if not isinstance(body, dict):
        return 0
    if op.batch_field is None:
        return 1
    batch = body.get(op.batch_field)
    if isinstance(batch, list):
        return len(batch)
    return 1 if isinstance(batch, dict) else 0


@dataclass
class Record:
    """One record the run created: its latest item as the server returned it, and its fate."""

    resource: str
    id: str
    item: dict[str, Any]
    deleted: bool = False  # a delete the run sent named it and was answered with success
    active: bool | None = None  # what the latest listing by id said (None: not listed since)

    @property
    def left(self) -> bool:
        """Still there as far as the run can tell: listed active, or never listed nor deleted."""
        return self.active is True or (self.active is None and not self.deleted)


@dataclass(frozen=True)
class Tally:
    """The ledger's counts at one moment: ``created == deleted + gone + left``."""

    created: int
    deleted: int
    gone: int
    left: int
    asked: int  # records the admitted requests could create (what the budget counts)
    surplus: int  # records answered beyond those asked for (not the run's)


@dataclass
class Ledger:
    """What the run wrote, per resource, and the write budget every creating request is admitted by."""

    budget: int | None = None  # records the run may ask to create (None: unlimited)
    asked: int = 0  # records the admitted requests could create
    _records: dict[tuple[str, str], Record] = field(default_factory=dict)
    _unidentified: dict[str, int] = field(default_factory=dict)  # per resource
    _surplus: dict[str, int] = field(default_factory=dict)  # per add operation
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # - the budget gate -

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent: no request that can create another record is admitted."""
        return self.budget is not None and self.asked >= self.budget

    @property
    def refusal(self) -> str:
        """Why a creating request is refused, in the words of a check that could not run."""
        return f"needs a larger --max-writes (the {self.budget} records allowed are created)"

    def admit(self, op: Operation, body: Any) -> bool:
        """Count a request before it is sent by the records it can create; False (nothing counted)
        when that would exceed the budget. Requests that cannot create are always admitted."""
        count = records_in(op, body)
        if count == 0:
            return True
        with self._lock:
            if self.budget is not None and self.asked + count > self.budget:
                return False
            self.asked += count
            return True

    def gate(self, op: Operation, body: Any) -> None:
        """``admit`` for the suite's own client: a refused request raises ``NotRunnable``."""
        if not self.admit(op, body):
            raise NotRunnable(self.refusal)

    # - what the answers said -

    def observe(self, op: Operation, status: int, request: Any, body: Any) -> None:
        """Note what a successful add created or a successful delete removed, whoever sent it
        (scenarios, probes, fuzzing, or a server that wrongly accepted a bad token)."""
        resource = resource_of(op)
        if resource is None or not 200 <= status < 300:
            return
        if resource.delete is not None and op.operation_id == resource.delete.operation_id:
            ids = request.get(op.batch_field or "") if isinstance(request, dict) else None
            with self._lock:
                for record_id in ids if isinstance(ids, list) else []:
                    record = self._records.get((resource.name, str(record_id)))
                    if record is not None:  # an earlier listing's say is stale now
                        record.deleted, record.active = True, None
            return
        if resource.add is not None and op.operation_id == resource.add.operation_id:
            self._created(resource, op, records_in(op, request), body)

    def observe_raw(self, op: Operation, status: int, request: Any, content: bytes) -> None:
        """``observe`` for an answer still in bytes (what schemathesis received)."""
        if 200 <= status < 300 and op.effect in {"create", "delete"}:
            answer = server_json(content) if op.effect == "create" else None
            self.observe(op, status, request, None if answer is NOT_JSON else answer)

    def _created(self, resource: LinkedResource, op: Operation, asked: int, body: Any) -> None:
        answered = body.get(resource.items) if isinstance(body, dict) else None
        items = [i for i in answered if isinstance(i, dict)] if isinstance(answered, list) else []
        with self._lock:
            taken = 0
            for item in items:
                record_id = item.get(ID)
                key = (resource.name, record_id) if isinstance(record_id, str) and record_id else None
                if key is None or key in self._records:
                    continue  # no usable id, or one already given: counted below as unidentified
                if taken == asked:
                    self._surplus[op.operation_id] = self._surplus.get(op.operation_id, 0) + 1
                    continue
                self._records[key] = Record(resource.name, key[1], dict(item))
                taken += 1
            if asked > taken:
                self._unidentified[resource.name] = self._unidentified.get(resource.name, 0) + asked - taken

    def remember(self, resource: LinkedResource, item: Mapping[str, Any]) -> None:
        """Keep ``item`` as the latest state of a record the run created (e.g. after an update);
        records the ledger did not see created are not the run's and are ignored."""
        record_id = item.get(ID)
        if isinstance(record_id, str):
            with self._lock:
                record = self._records.get((resource.name, record_id))
                if record is not None:
                    record.item = dict(item)

    def listed(self, resource: LinkedResource, ids: list[str], active: set[str]) -> None:
        """A listing by ``ids`` found ``active`` of them active (the others not)."""
        with self._lock:
            for record_id in ids:
                record = self._records.get((resource.name, record_id))
                if record is not None:
                    record.active = record_id in active

    # - reading it -

    @property
    def wrote(self) -> bool:
        """Whether the run created anything (identified or not)."""
        with self._lock:
            return bool(self._records) or any(self._unidentified.values())

    def items(self, resource: LinkedResource) -> dict[str, dict[str, Any]]:
        """Every record of ``resource`` the run created, by id."""
        with self._lock:
            return {r.id: dict(r.item) for r in self._records.values() if r.resource == resource.name}

    def live(self, resource: LinkedResource) -> list[dict[str, Any]]:
        """The records of ``resource`` the run created and has not deleted, oldest first."""
        with self._lock:
            return [
                dict(r.item) for r in self._records.values() if r.resource == resource.name and not r.deleted
            ]

    def to_delete(self, resource: LinkedResource) -> list[str]:
        """Ids of the records of ``resource`` still left as far as the ledger knows."""
        with self._lock:
            return [r.id for r in self._records.values() if r.resource == resource.name and r.left]

    def tally(self) -> Tally:
        with self._lock:
            records = list(self._records.values())
            unidentified = sum(self._unidentified.values())
            left = sum(1 for r in records if r.left) + unidentified
            deleted = sum(1 for r in records if not r.left and r.deleted)
            gone = sum(1 for r in records if not r.left and not r.deleted)
            surplus = sum(self._surplus.values())
        return Tally(len(records) + unidentified, deleted, gone, left, self.asked, surplus)

    def leftovers(self, resource: LinkedResource | None = None) -> list[str]:
        """What the run created and could not delete, one line each: ``<resource> <id>``, and per
        resource the records created without an id the run could use."""
        with self._lock:
            lines = [
                f"{r.resource} {r.id}"
                for r in self._records.values()
                if r.left and (resource is None or r.resource == resource.name)
            ]
            lines += [
                f"{name}: {count} records answered as created without an {ID} the run could use "
                "(missing, not a string, or one already given): they cannot be deleted"
                for name, count in self._unidentified.items()
                if count and (resource is None or name == resource.name)
            ]
        return lines

    def notes(self) -> list[str]:
        """What the summary should say of answers that named records the run did not ask for."""
        with self._lock:
            surplus = dict(self._surplus)
        return [
            f"{operation} answered {count} more records than its requests asked for: "
            "not counted as the run's, and left alone"
            for operation, count in surplus.items()
        ]
