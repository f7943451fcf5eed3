"""The write ledger and the budget gate: one record of what the run wrote, whatever the server answers.

The servers here are fakes that answer the way real ones misbehaved: Prism's static mode (the same
id for every add, deletes that change nothing), Prism's dynamic mode (random records, listings that
find none of them), adds without ids. Whatever they answer, the summary's ``writes`` line, the
leftovers and the ``cleanup`` check's verdict come from one record and agree; clean-up with a
deadline stops on time (a fake clock) and lists what it left, with ids. Whole runs against the
embedded mock create at most their budget, counted at the server, and a rule every response breaks
does not cut any operation's cases short.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty.contract._fuzz.events import KEPT_PER_CAUSE
from mews_loyalty.contract._report.results import NotRunnable, Results, Writes
from mews_loyalty.contract._report.summary import summary
from mews_loyalty.contract._run.cleanup import cleanup, settle
from mews_loyalty.contract._run.ledger import Ledger, records_in
from mews_loyalty.contract._scenarios.links import resource_of, resources
from tests.contract._mutants import connector_mutants
from tests.contract._proxy import Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import run_connector
from tests.runtime.fakes import FakeTime

# The phases that send creating cases under a budget (coverage sends them none: see FuzzPlan.negative_only).
CREATING_PHASES = ("examples", "fuzzing", "stateful")
WRITES_LINE = re.compile(r"writes: created (\d+), deleted (\d+), left (\d+) \((.*?)\)")


def writable() -> list[LinkedResource]:
    return [r for r in resources() if r.add is not None and r.delete is not None and r.add.batch_field]


def add_body(op: Operation, count: int) -> dict[str, Any]:
    assert op.batch_field is not None
    return {op.batch_field: [{"Name": f"item {i}"} for i in range(count)]}


def answer(resource: LinkedResource, *ids: Any) -> dict[str, Any]:
    return {resource.items: [{"Id": i, "Name": "x"} if i is not None else {"Name": "x"} for i in ids]}


def create(ledger: Ledger, resource: LinkedResource, *ids: Any, asked: int | None = None) -> None:
    """What the client does for one add: pass the gate, send, observe the answer."""
    assert resource.add is not None
    body = add_body(resource.add, len(ids) if asked is None else asked)
    assert ledger.admit(resource.add, body)
    ledger.observe(resource.add, 200, body, answer(resource, *ids))


# - the budget gate -


def test_a_request_counts_by_the_records_it_can_create() -> None:
    resource = writable()[0]
    add, delete = resource.add, resource.delete
    assert add is not None
    assert delete is not None
    assert add.batch_field is not None
    assert records_in(add, add_body(add, 3)) == 3
    assert records_in(add, {add.batch_field: []}) == 0
    assert records_in(add, {add.batch_field: {"Name": "one"}}) == 1  # a lenient server takes it for one
    assert records_in(add, {add.batch_field: "nonsense"}) == 0
    assert records_in(add, {}) == 0
    assert records_in(add, ["not", "an", "object"]) == 0
    assert records_in(add, b'{"%s": [{}, {}]}' % add.batch_field.encode()) == 2
    assert records_in(delete, {delete.batch_field: ["a", "b"]}) == 0  # only creates count
    assert records_in(resource.get_all, add_body(add, 5)) == 0


def test_the_gate_refuses_what_would_exceed_the_budget_before_it_is_sent() -> None:
    add = writable()[0].add
    assert add is not None
    assert add.batch_field is not None
    ledger = Ledger(budget=5)
    assert ledger.admit(add, add_body(add, 3))
    assert not ledger.admit(add, add_body(add, 3))  # 6 > 5: refused, nothing counted
    assert ledger.asked == 3
    assert ledger.admit(add, add_body(add, 2))
    assert ledger.exhausted
    assert ledger.admit(add, {add.batch_field: []})  # can create nothing: always admitted
    with pytest.raises(NotRunnable, match="--max-writes"):
        ledger.gate(add, add_body(add, 1))
    assert ledger.asked == 5


def test_an_unlimited_budget_admits_everything() -> None:
    add = writable()[0].add
    assert add is not None
    ledger = Ledger(budget=None)
    assert all(ledger.admit(add, add_body(add, 1000)) for _ in range(5))
    assert not ledger.exhausted


# - what the answers said -


def test_created_is_what_was_asked_and_answered_whatever_the_ids() -> None:
    # A server that answers the same id twice, or no id at all, cannot make created disagree with
    # what was asked for, nor hide a record from the leftovers.
    resource = writable()[0]
    ledger = Ledger(budget=10)
    create(ledger, resource, "a")
    create(ledger, resource, "a")  # the same id again: a record the run cannot tell apart
    create(ledger, resource, None)  # no id
    create(ledger, resource, 7)  # not a string
    tally = ledger.tally()
    assert (tally.created, tally.asked) == (4, 4)
    assert tally.created == tally.deleted + tally.gone + tally.left
    lines = ledger.leftovers()
    assert f"{resource.name} a" in lines
    assert any(line.startswith(f"{resource.name}: 3 records") for line in lines)


def test_records_answered_beyond_those_asked_for_are_not_the_runs() -> None:
    # Prism's dynamic mode answers an add of one item with several random records.
    resource = writable()[0]
    ledger = Ledger(budget=2)
    create(ledger, resource, "a", "b", "c", asked=1)
    tally = ledger.tally()
    assert (tally.created, tally.surplus) == (1, 2)
    assert list(ledger.items(resource)) == ["a"]
    assert len(ledger.notes()) == 1
    assert "2 more records" in ledger.notes()[0]


def test_only_answers_with_success_count() -> None:
    resource = writable()[0]
    assert resource.add is not None
    ledger = Ledger()
    body = add_body(resource.add, 1)
    ledger.observe(resource.add, 400, body, answer(resource, "a"))
    ledger.observe_raw(resource.add, 500, body, b'{"x": 1}')
    assert not ledger.wrote
    ledger.observe_raw(resource.add, 200, body, b"not json")  # success, but no record to name
    assert ledger.tally().left == 1
    assert not ledger.items(resource)


# - clean-up, on a fake server and a fake clock -


@dataclass
class Listed:
    status: int = 200

    def describe(self) -> str:
        return f"{self.status} (fake)"


@dataclass
class FakeRecords:
    """What clean-up uses of ``ConnectorRecords``, on an in-memory server where each request takes
    ``seconds`` of ``time``. ``deletes_work`` False: deletes answer 200 and change nothing (Prism's
    static mode); ``keeps`` False: listings find nothing (Prism's dynamic mode)."""

    ledger: Ledger
    time: FakeTime
    seconds: float = 1.0
    deletes_work: bool = True
    keeps: bool = True
    results: Results = field(default_factory=lambda: Results("connector", "http://fake"))
    active: dict[str, set[str]] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    def parents_of(self, resource: LinkedResource, items: list[dict[str, Any]]) -> dict[str, list[str]]:
        return {}

    def list_ids(
        self, resource: LinkedResource, ids: list[str], states: list[str] | None, parents: Any
    ) -> tuple[Listed, list[dict[str, Any]]]:
        self.time.sleep(self.seconds)
        self.sent.append(f"list {resource.name}")
        stored = self.active.get(resource.name, set()) if self.keeps else set()
        return Listed(), [{"Id": i} for i in ids if i in stored]

    def call(self, op: Operation, **fields: Any) -> Listed:
        self.time.sleep(self.seconds)
        self.sent.append(f"delete {op.resource}")
        ids = fields[op.batch_field or ""]
        if self.deletes_work:
            self.active.get(op.resource, set()).difference_update(ids)
        self.ledger.observe(op, 200, fields, {})  # what the client's observer does
        return Listed()


def server_with_records(per_resource: int = 2, **options: Any) -> FakeRecords:
    ledger = Ledger(budget=50)
    records = FakeRecords(ledger, FakeTime(start=0.0), **options)
    records.results.writes = Writes(50)
    for resource in writable():
        ids = [f"{resource.name}-{i}" for i in range(per_resource)]
        create(ledger, resource, *ids)
        records.active[resource.name] = set(ids)
    return records


def settled(records: FakeRecords) -> tuple[Results, str]:
    settle(records.results, records.ledger)
    return records.results, summary(records.results, [], None)


def agree(results: Results, text: str) -> tuple[int, int, int]:
    """The writes line, the leftovers and the cleanup verdict say the same; returns the line's counts."""
    found = WRITES_LINE.search(text)
    assert found is not None, text
    created, deleted, left = (int(n) for n in found.groups()[:3])
    assert results.writes is not None
    assert created == deleted + left + results.writes.gone
    cleanup_failed = "cleanup" in results.failing_checks()
    assert cleanup_failed == (left > 0) == bool(results.leftovers)
    identified = [line for line in results.leftovers if ":" not in line]
    assert len(identified) <= left
    return created, deleted, left


def test_cleanup_deletes_everything_and_the_counts_agree() -> None:
    records = server_with_records()
    cleanup(records)  # type: ignore[arg-type]
    results, text = settled(records)
    assert all(not ids for ids in records.active.values())
    assert agree(results, text) == (6, 6, 0)
    assert results.conforms


def test_deletes_that_change_nothing_are_left_not_deleted() -> None:
    # Prism's static mode: the delete answers 200, the listing still shows the record active.
    records = server_with_records(deletes_work=False)
    cleanup(records)  # type: ignore[arg-type]
    results, text = settled(records)
    assert agree(results, text) == (6, 0, 6)
    assert "NOT CLEANED UP: " + sorted(results.leftovers)[0] in text
    assert all(line.split(" ")[1] in records.active[line.split(" ")[0]] for line in results.leftovers)


def test_records_a_listing_never_finds_are_gone_not_left() -> None:
    # Prism's dynamic mode: listings by id find none of the records its adds answered.
    records = server_with_records(keeps=False)
    cleanup(records)  # type: ignore[arg-type]
    results, text = settled(records)
    assert agree(results, text) == (6, 0, 0)
    assert results.writes is not None
    assert results.writes.gone == 6
    assert "6 not found at clean-up" in text
    assert not any(line.startswith("delete") for line in records.sent)  # nothing of someone else's


def test_cleanup_stops_at_its_deadline_and_lists_what_it_left() -> None:
    # The interrupt path gives clean-up a few seconds: no request starts after they have passed,
    # and what was not deleted is reported with its id.
    records = server_with_records(seconds=1.0)
    cleanup(records, records.time.now + 2.5, clock=records.time.clock)  # type: ignore[arg-type]
    # Per resource: a listing, a delete, a listing (1 s each); the third request starts at 2 s.
    assert len(records.sent) == 3
    assert records.time.now == pytest.approx(3.0)
    results, text = settled(records)
    created, deleted, left = agree(results, text)
    assert (created, deleted, left) == (6, 2, 4)
    still = {f"{name} {i}" for name, ids in records.active.items() for i in ids}
    assert set(results.leftovers) == still
    assert any("cleanup cut short by its deadline" in note for note in results.notes)


def test_a_deadline_already_passed_sends_nothing_and_leaves_everything_listed() -> None:
    records = server_with_records(seconds=1.0)
    cleanup(records, records.time.now, clock=records.time.clock)  # type: ignore[arg-type]
    assert records.sent == []
    results, text = settled(records)
    assert agree(results, text) == (6, 0, 6)
    assert len(results.leftovers) == 6


def test_an_interrupted_cleanup_still_reports_what_it_left() -> None:
    # A second Ctrl-C ends clean-up mid-request: settling afterwards still lists every leftover.
    records = server_with_records()
    calls = 0
    original = records.call

    def interrupted(op: Operation, **fields: Any) -> Listed:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return original(op, **fields)

    records.call = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        cleanup(records)  # type: ignore[arg-type]
    results, text = settled(records)
    assert agree(results, text) == (6, 2, 4)


# - whole runs against the embedded mock -


def created_on_the_server(counted: list[str]) -> Any:
    """A proxy hook noting every record a creating request was answered with success for."""

    def note(flow: Flow, op: Operation | None, upstream: Answer) -> Answer:
        body = upstream.json()
        if op is not None and op.effect == "create" and upstream.status == 200 and isinstance(body, dict):
            for items in body.values():
                if isinstance(items, list):
                    counted.extend(str(item.get("Id")) for item in items if isinstance(item, dict))
        return upstream

    return note


def accepting_every_add(counted: list[str]) -> Any:
    """A proxy hook that answers every add itself, valid or not, with one new record per item sent:
    a lenient server, on which every invalid case the fuzzer sends creates records too."""

    def accept(flow: Flow, op: Operation | None) -> Flow | Answer:
        resource = resource_of(op) if op is not None and op.effect == "create" else None
        body = flow.json()
        if resource is None or not isinstance(body, dict):
            return flow
        batch = body.get(op.batch_field or "") if op is not None else None
        items = (
            [{**item, "Id": str(uuid.uuid4())} for item in batch if isinstance(item, dict)]
            if isinstance(batch, list)
            else []
        )
        counted.extend(item["Id"] for item in items)
        answer = json.dumps({resource.items: items}).encode()
        return Answer(200, {"content-type": "application/json", "Request-Id": str(uuid.uuid4())}, answer)

    return accept


@pytest.mark.parametrize("budget", [5, 50])
def test_a_writing_run_on_a_lenient_server_creates_at_most_its_budget(
    connector_mock: str, tmp_path: Path, budget: int
) -> None:
    # Every phase, scenarios and probes, against a server that creates records for invalid adds
    # too: what it was made to create, counted at the server, stays within --max-writes.
    counted: list[str] = []
    mutation = Mutation("lenient", "connector", frozenset(), on_request=accepting_every_add(counted))
    with serve_in_thread(MutatingProxy(connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, phases=CREATING_PHASES, max_writes=budget, max_examples=5)
    assert results.errors == []
    assert results.faults == []
    assert results.writes is not None
    assert 0 < len(counted) <= budget
    assert results.writes.created == len(counted)
    assert results.writes.asked <= budget


def test_a_writing_run_on_a_conforming_server_counts_what_it_created(
    connector_mock: str, tmp_path: Path
) -> None:
    # The writes line counts exactly what the server created, and clean-up deleted every one.
    counted: list[str] = []
    mutation = Mutation("count", "connector", frozenset(), on_response=created_on_the_server(counted))
    with serve_in_thread(MutatingProxy(connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, phases=("fuzzing",), max_writes=5, max_examples=5)
    assert results.conforms, [f"[{f.check}] {f.operation}: {f.message}" for f in results.failures]
    assert results.writes is not None
    assert 0 < len(counted) <= 5
    assert (results.writes.created, results.writes.deleted, results.writes.left) == (
        len(counted),
        len(counted),
        0,
    )


def test_one_rule_every_response_breaks_masks_no_case(connector_mock: str, tmp_path: Path) -> None:
    # A server that sends no Request-Id fails every response; fuzzing still gives every operation
    # all its cases (not one each), keeps a few failures per cause, and the summary says the counts.
    mutant = next(m for m in connector_mutants() if m.name == "drop_request_id")
    with serve_in_thread(MutatingProxy(connector_mock, mutant)) as url:
        results = run_connector(url, tmp_path, phases=("fuzzing",), max_examples=6)
    assert "request_id_header" in results.failing_checks()
    assert set(results.cases_by_operation) == {op.operation_id for op in catalog("connector").operations}
    assert all(phases == {"fuzzing": 6} for phases in results.cases_by_operation.values())
    assert all(t.failed >= 6 for (check, _), t in results.tallies.items() if check == "request_id_header")
    kept = [f for f in results.failures if f.check == "request_id_header"]
    assert 0 < len(kept) <= len(results.cases_by_operation) * KEPT_PER_CAUSE
    text = (tmp_path / "connector" / "summary.txt").read_text(encoding="utf-8")
    assert "cases per operation below: fuzzing" in text
    assert all(re.search(rf"{op}\s.*\s6  ", text) for op in results.cases_by_operation)


def test_a_server_that_goes_away_is_a_finding_on_the_operation_it_last_saw() -> None:
    # Fuzzing that goes on past failures reaches more bodies, and some take a server down (Prism
    # dies on a NUL body): that is the server's finding, on the request in flight, not a failed run.
    from schemathesis.engine import events
    from schemathesis.engine.errors import ServerUnavailable
    from schemathesis.engine.run import PhaseName

    from mews_loyalty.contract._exchange.masking import Secrets
    from mews_loyalty.contract._fuzz.events import Collector

    operations = catalog("connector").operations
    labels = {f"{op.method} {op.path}": op.operation_id for op in operations}
    culprit, other = operations[1], operations[0]
    outage = (
        "http://127.0.0.1:9 stopped responding. Last requests before it went away:\n\n"
        f"    curl -X POST -d $'\\x00' http://127.0.0.1:9{culprit.path}\n\n"
        f"    curl -X POST -d '{{}}' http://127.0.0.1:9{other.path}"
    )
    results = Results("connector", "http://127.0.0.1:9")
    collector = Collector(results, Secrets([]), "connector", labels)
    event = events.NonFatalError(
        error=ServerUnavailable(outage), phase=PhaseName.FUZZING, label="Server", related_to_operation=False
    )
    collector.handle(event)
    assert collector.fatal == []
    assert [(f.check, f.operation) for f in results.failures] == [("answers", culprit.operation_id)]
    assert "stopped responding" in results.failures[0].message
