"""The scenario checks' access to the server: credentials, listing by id, creating valid records.

``ConnectorRecords`` holds what every Connector check needs (the client, the credentials, the
ledger, the run's results) and makes the requests they share: a listing filtered by ids, the
values a listing's required filters need, and complete valid records, created in reference order
within the write budget.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._spec.catalog import PAGING_FIELD, Operation
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty._wire.encode import PAGE_SIZE_FIELD
from mews_loyalty.contract._exchange.api_client import ApiClient, Exchange
from mews_loyalty.contract._report.results import NotRunnable, Results, ScenarioError
from mews_loyalty.contract._run.ledger import Ledger
from mews_loyalty.contract._scenarios import values as S
from mews_loyalty.contract._scenarios.links import (
    ID,
    batch_item_schema,
    document,
    require_ids_filter,
    resource_named,
)

ACTIVITY = "ActivityStates"


@dataclass(frozen=True)
class Credentials:
    client_token: str
    access_token: str
    client: str

    def apply(self, body: dict[str, Any]) -> None:
        body["ClientToken"] = self.client_token
        body["AccessToken"] = self.access_token
        body["Client"] = self.client


@dataclass
class ConnectorRecords:
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

    def list_body(
        self, resource: LinkedResource, parents: Mapping[str, list[str]] | None = None
    ) -> dict[str, Any]:
        """Fields a getAll must carry besides the envelope: values for its required filters."""
        fields: dict[str, Any] = {}
        for name in resource.required_filters:
            values = (parents or {}).get(name)
            if not values:
                values = self.known_ids(resource, name)
            fields[name] = values[:1000] or [str(uuid.uuid4())]
        return fields

    def known_ids(self, resource: LinkedResource, name: str) -> list[str]:
        """Ids of some existing records of the resource whose ids ``resource``'s filter ``name`` takes."""
        source = resource.filter_sources.get(name)
        if source is None:
            return []
        owner = resource_named(source)
        created = [str(i[ID]) for i in self.ledger.live(owner)]
        if created:
            return created
        if owner.required_filters:
            return []
        page = self.call(owner.get_all, Limitation={PAGE_SIZE_FIELD: 100})
        return [item[ID] for item in page.items(owner.items) if isinstance(item.get(ID), str)]

    def list_ids(
        self,
        resource: LinkedResource,
        ids: list[str],
        states: list[str] | None,
        parents: Mapping[str, list[str]],
    ) -> tuple[Exchange, list[dict[str, Any]]]:
        fields = self.list_body(resource, parents)
        fields[require_ids_filter(resource)] = ids
        if states is not None:
            fields[ACTIVITY] = states
        fields[PAGING_FIELD] = {PAGE_SIZE_FIELD: 1000}
        exchange = self.call(resource.get_all, **fields)
        return exchange, exchange.items(resource.items)

    def parents_of(self, resource: LinkedResource, items: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Values for the required filters that list ``items`` (e.g. the programs of some tiers)."""
        parents: dict[str, list[str]] = {}
        for name in resource.required_filters:
            field_name = resource.parents.get(name)
            if field_name is None:  # the spec does not say which field of an item the filter reads
                continue
            parents[name] = sorted({str(i[field_name]) for i in items if isinstance(i.get(field_name), str)})
        return parents

    # - creating records -

    def add_item_fields(
        self, resource: LinkedResource, overrides: Mapping[str, Any], variant: int
    ) -> dict[str, Any]:
        """A complete valid item for ``resource.add``: every property the schema offers, references
        resolved to records this run created (creating them when needed)."""
        assert resource.add is not None
        schema = batch_item_schema(resource.add)
        item: dict[str, Any] = {}
        chosen: dict[str, str] = dict(overrides)
        for name, sub in schema.get("properties", {}).items():
            if name in overrides:
                item[name] = overrides[name]
                continue
            if name in self.values:
                item[name] = self.values[name]
                continue
            if S.is_deprecated(document(), sub):
                continue
            if name in resource.reference_targets:
                target = resource_named(resource.reference_targets[name])
                chosen[name] = self.reference_for(target, chosen)
                item[name] = chosen[name]
                continue
            if name == "ChainId":  # only portfolio tokens need it; the chain comes from the token
                continue
            item[name] = S.make_value(
                document(), sub, name=name, variant=variant, reference=lambda _name: None
            )
        return item

    def reference_for(self, target: LinkedResource, chosen: Mapping[str, str]) -> str:
        """An active record of ``target`` consistent with the references chosen so far."""
        for record in reversed(self.ledger.live(target)):
            if all(record.get(k) == v for k, v in chosen.items() if k in target.reference_targets):
                return str(record[ID])
        overrides = {k: v for k, v in chosen.items() if k in target.reference_targets}
        return str(self.create(target, overrides)[ID])

    def spend_one(self) -> None:
        """Stop before creating a record the write budget (``--max-writes``) does not allow."""
        if self.ledger.exhausted:  # the client's gate would refuse the add: do not build it first
            raise NotRunnable(self.ledger.refusal)

    def create(self, resource: LinkedResource, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Create one record; raises ``ScenarioError`` when the server refuses."""
        assert resource.add is not None
        assert resource.add.batch_field is not None
        self.spend_one()
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


def chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
