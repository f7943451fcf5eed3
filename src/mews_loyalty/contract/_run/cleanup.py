"""Clean-up: delete every record the run created, dependents first, and report what is left."""

from __future__ import annotations

from collections.abc import Mapping

from mews_loyalty.contract._report.results import ScenarioError
from mews_loyalty.contract._run.signals import check_deadline
from mews_loyalty.contract._scenarios.graph import ID, Resource, resources
from mews_loyalty.contract._scenarios.records import ConnectorRecords, chunks


def cleanup(records: ConnectorRecords, deadline: float | None = None) -> list[str]:
    """Delete every active record the run created, dependents first; returns what is left.

    With a ``deadline`` (an interrupted run's bound, ``signals.cleaning``) it stops before the first
    request past it, raising ``CleanupCut``; the caller lists what is left from the ledger.
    """
    leftovers: list[str] = []
    for resource in reversed(resources()):
        created = records.ledger.items(resource)
        if not created or resource.delete is None or resource.delete.batch_field is None:
            continue
        check_deadline(deadline)
        ids = list(created)
        parents = records.parents_of(resource, list(created.values()))
        try:
            try:
                active = _active(records, resource, ids, parents)
            except ScenarioError:  # cannot list them: delete every one not known to be deleted
                active = [i for i in ids if i not in records.ledger.deleted]
            for chunk in chunks(active, resource.delete.batch_limit or 1000):
                check_deadline(deadline)
                records.call(resource.delete, **{resource.delete.batch_field: chunk})
            remaining = _active(records, resource, ids, parents)
        except Exception as error:
            remaining = [i for i in ids if i not in records.ledger.deleted]
            records.results.notes.append(f"cleanup of {resource.name} stopped: {error}")
        records.results.expect(
            "cleanup",
            resource.delete.operation_id,
            not remaining,
            f"{len(remaining)} {resource.name} records created by the run are still active: {remaining[:10]}",
        )
        leftovers += [f"{resource.name} {i}" for i in remaining]
    return leftovers


def _active(
    records: ConnectorRecords, resource: Resource, ids: list[str], parents: Mapping[str, list[str]]
) -> list[str]:
    active: list[str] = []
    for chunk in chunks(ids, 1000):
        exchange, found = records.list_ids(resource, chunk, ["Active"], parents)
        if exchange.status != 200:
            raise ScenarioError(
                resource.get_all.operation_id, f"cannot list created records: {exchange.describe()}"
            )
        active += [str(i[ID]) for i in found if i.get(ID) in chunk]
    return active
