"""The ledger: every record the run saw created or deleted, whoever sent the request.

Scenarios, fuzzing and a server that wrongly accepted a bad token all create records; the ledger
notes each from the responses (``observe``), so that clean-up deletes exactly what the run made and
the summary counts it against the write budget.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._spec.catalog import Operation
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty.contract._exchange.api_client import server_json
from mews_loyalty.contract._scenarios.graph import ID, resource_of


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

    def remember(self, resource: LinkedResource, item: Mapping[str, Any]) -> None:
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

    def items(self, resource: LinkedResource) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.created.get(resource.name, {}))

    def live(self, resource: LinkedResource) -> list[dict[str, Any]]:
        with self._lock:
            return [i for k, i in self.created.get(resource.name, {}).items() if k not in self.deleted]

    def forget(self, record_id: str) -> None:
        with self._lock:
            self.deleted.add(record_id)
