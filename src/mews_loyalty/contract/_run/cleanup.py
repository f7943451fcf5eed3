"""Clean-up: delete every record the run created, dependents first, within an optional deadline.

What is left is the ledger's to say (``Ledger.leftovers``): a record is left until a listing by id
no longer finds it active (or, when no listing can be made, until a delete of it succeeded).
``settle`` turns the ledger into the run's results once, whether clean-up finished, ran out of
time or was cut short: the ``cleanup`` check's verdict per resource, the leftovers with their ids,
and the summary's ``writes`` counts, all from the same record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty.contract._report.results import Results, ScenarioError, Writes
from mews_loyalty.contract._run.ledger import Ledger
from mews_loyalty.contract._run.signals import check_deadline
from mews_loyalty.contract._scenarios.links import ID, resources
from mews_loyalty.contract._scenarios.records import ConnectorRecords, chunks

LIST_CHUNK = 1000  # ids per listing (the Connector's id filters take up to 1000)


class _Deadline:
    """Whether clean-up may still send a request: until ``end`` on ``clock`` (None: no limit)."""

    def __init__(self, end: float | None, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._end = end

    @property
    def passed(self) -> bool:
        check_deadline(None)  # a second signal cuts the clean-up at once (raises signals.CleanupCut)
        return self._end is not None and self._clock() >= self._end


def cleanup(
    records: ConnectorRecords, deadline: float | None = None, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Delete every active record the run created, dependents first.

    With a ``deadline`` (a time on ``clock``: an interrupted run gives itself a few seconds), no
    request is sent once it has passed (a request under way finishes, bounded by the client's own
    deadline): what could not be deleted stays in the ledger as left, with its id, and a note says
    clean-up was cut short. Whatever ends it early, ``settle`` then reports what is left.
    """
    limit = _Deadline(deadline, clock)
    for resource in reversed(resources()):
        if (
            resource.delete is None
            or resource.delete.batch_field is None
            or not records.ledger.items(resource)
        ):
            continue
        if limit.passed:
            records.results.notes.append(f"cleanup cut short by its deadline: {resource.name} not deleted")
            continue
        try:
            _delete_all(records, resource, limit)
        except ScenarioError as error:
            records.results.notes.append(f"cleanup of {resource.name} stopped: {error.message}")
        if limit.passed and records.ledger.leftovers(resource):
            records.results.notes.append(
                f"cleanup cut short by its deadline: {resource.name} not all deleted"
            )


def _delete_all(records: ConnectorRecords, resource: LinkedResource, deadline: _Deadline) -> None:
    assert resource.delete is not None
    assert resource.delete.batch_field is not None
    ledger = records.ledger
    created = ledger.items(resource)
    parents = records.parents_of(resource, list(created.values()))
    try:
        _list_active(records, resource, list(created), parents, deadline)
    except ScenarioError as error:  # cannot list them: delete every one not known to be deleted
        records.results.notes.append(f"cleanup of {resource.name}: {error.message}")
    for chunk in chunks(ledger.to_delete(resource), resource.delete.batch_limit or LIST_CHUNK):
        if deadline.passed:
            return
        records.call(resource.delete, **{resource.delete.batch_field: chunk})
    _list_active(records, resource, list(created), parents, deadline)


def _list_active(
    records: ConnectorRecords,
    resource: LinkedResource,
    ids: list[str],
    parents: Mapping[str, list[str]],
    deadline: _Deadline,
) -> None:
    """List ``ids`` among the active records and tell the ledger which of them are."""
    for chunk in chunks(ids, LIST_CHUNK):
        if deadline.passed:
            return
        exchange, found = records.list_ids(resource, chunk, ["Active"], parents)
        if exchange.status != 200:
            raise ScenarioError(
                resource.get_all.operation_id, f"cannot list created records: {exchange.describe()}"
            )
        records.ledger.listed(resource, chunk, {str(i[ID]) for i in found if i.get(ID) in chunk})


def settle(results: Results, ledger: Ledger) -> None:
    """Put what the ledger says into ``results``: per resource the ``cleanup`` check's verdict,
    the leftovers with their ids, notes on records answered beyond those asked for, and (for a run
    that may write) the ``writes`` counts. Call once, after clean-up, however it ended."""
    for resource in resources():
        if resource.delete is None or not (ledger.items(resource) or ledger.leftovers(resource)):
            continue
        left = ledger.leftovers(resource)
        results.expect(
            "cleanup",
            resource.delete.operation_id,
            not left,
            f"{len(left)} {resource.name} records created by the run are still there: {left[:10]}",
        )
    results.leftovers += ledger.leftovers()
    results.notes += ledger.notes()
    if results.writes is not None:
        tally = ledger.tally()
        results.writes = Writes(
            results.writes.budget,
            tally.created,
            tally.deleted,
            tally.left,
            gone=tally.gone,
            asked=tally.asked,
        )
