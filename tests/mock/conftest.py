"""Helpers for the Connector mock's tests: a client that sends the demo tokens, checks that every
answer conforms to the spec, and time the tests control.

    with connector_server(config) as api:        # a real server on 127.0.0.1, stopped afterwards
        page = api.ok("loyaltyMemberships_getAll", Limitation={"Count": 100})
        error = api.call("loyaltyPrograms_delete", LoyaltyProgramIds=[...])   # any status
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from mews_loyalty.mock.connector.store import ConnectorStore

CONNECTOR = catalog("connector")
DEMO_TOKENS = {
    "ClientToken": DEMO_CLIENT_TOKEN,
    "AccessToken": DEMO_ACCESS_TOKEN,
    "Client": "mews-loyalty tests 1.0",
}
PROGRAM_ID = "f701dafb-5765-4cf4-b1dd-1f602a740ae5"  # the programs, tiers and memberships Mews' examples name
OTHER_PROGRAM_ID = "da34b396-41f7-47f6-8847-aecf00a3f19e"
TIER_ID = "69eedfd2-6f25-42fc-b3c8-39df70f85e37"
OTHER_TIER_ID = "3cad97ef-5257-4ced-8599-8e6bbd33331f"
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@functools.cache
def _validator(component: str) -> jsonschema_rs.Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": CONNECTOR.document["components"]}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def spec_errors(component: str, instance: Any) -> list[str]:
    """Why ``instance`` does not match a component of the Connector spec (empty when it does)."""
    return [
        f"{error.instance_path}: {error.message}" for error in _validator(component).iter_errors(instance)
    ]


def response_component(op: Operation, status: int) -> str:
    """The schema the spec documents for ``status`` of ``op``."""
    response: Any = CONNECTOR.document["paths"][op.path]["post"]["responses"][str(status)]
    while "$ref" in response:
        response = CONNECTOR.document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return str(response["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


def assert_conforms(op: Operation, response: httpx.Response) -> None:
    """The answer is one the spec documents for the operation: status, body schema and headers."""
    assert response.status_code in op.documented_statuses, response.text
    assert response.headers["content-type"] == "application/json"
    request_id = response.headers.get("Request-Id")
    assert request_id
    body = response.json()
    assert spec_errors(response_component(op, response.status_code), body) == []
    if response.status_code >= 400:
        assert body["RequestId"] == request_id
        assert body["Message"]
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) >= 1


@dataclass
class FakeTime:
    """A wall clock and a monotonic clock that move only when a test says so."""

    moment: datetime = START
    seconds: float = 1000.0
    step: timedelta = field(default=timedelta(0))  # added after every reading of ``now``

    def now(self) -> datetime:
        current = self.moment
        self.moment += self.step
        return current

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.moment += timedelta(seconds=seconds)


class ConnectorApi:
    """Calls operations by id with the demo tokens, checking every answer against the spec."""

    def __init__(self, base_url: str, tokens: dict[str, str] | None = None) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.tokens = dict(DEMO_TOKENS if tokens is None else tokens)

    def post(self, path: str, content: bytes | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, content=content, **kwargs)

    def call(self, operation_id: str, body: dict[str, Any] | None = None, /, **fields: Any) -> httpx.Response:
        op = CONNECTOR.by_id[operation_id]
        response = self.client.post(op.path, json={**self.tokens, **(body or {}), **fields})
        assert_conforms(op, response)
        return response

    def ok(self, operation_id: str, body: dict[str, Any] | None = None, /, **fields: Any) -> Any:
        response = self.call(operation_id, body, **fields)
        assert response.status_code == 200, response.text
        return response.json()

    def error(
        self, operation_id: str, status: int, body: dict[str, Any] | None = None, /, **fields: Any
    ) -> str:
        """The message of an error answer that must have ``status``."""
        response = self.call(operation_id, body, **fields)
        assert response.status_code == status, response.text
        return str(response.json()["Message"])

    def all_pages(self, operation_id: str, count: int, **filters: Any) -> list[dict[str, Any]]:
        items_field = CONNECTOR.by_id[operation_id].page_items
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.ok(operation_id, Limitation={"Count": count, "Cursor": cursor}, **filters)
            items += page[items_field]
            if page["Cursor"] is None:
                assert page[items_field] == []
                return items
            assert page["Cursor"] == page[items_field][-1]["Id"]
            cursor = page["Cursor"]

    def add_program(self, name: str = "Platinum Club", code: str = "PC01") -> str:
        body = self.ok(
            "loyaltyPrograms_add",
            LoyaltyPrograms=[{"Name": name, "Code": code, "Type": "Hotel", "Subscription": "Free"}],
        )
        return str(body["LoyaltyPrograms"][0]["Id"])

    def add_tier(self, program_id: str, name: str = "Gold", ordering: int = 1) -> str:
        body = self.ok(
            "loyaltyTiers_add",
            LoyaltyTiers=[
                {"LoyaltyProgramId": program_id, "Name": name, "Code": name[:3].upper(), "Ordering": ordering}
            ],
        )
        return str(body["LoyaltyTiers"][0]["Id"])

    def add_memberships(self, program_id: str, count: int, **fields: Any) -> list[dict[str, Any]]:
        items = [
            {
                "AccountId": f"00000000-0000-4000-8000-{index:012d}",
                "LoyaltyProgramId": program_id,
                "IsPrimary": True,
                **fields,
            }
            for index in range(count)
        ]
        added: list[dict[str, Any]] = []
        for start in range(0, count, 1000):
            added += self.ok("loyaltyMemberships_add", LoyaltyMemberships=items[start : start + 1000])[
                "LoyaltyMemberships"
            ]
        return added


@contextlib.contextmanager
def connector_server(
    config: ConnectorMockConfig | None = None, store: ConnectorStore | None = None
) -> Iterator[ConnectorApi]:
    config = config or ConnectorMockConfig(rate_limit=None)
    with serve_in_thread(create_app(config, store=store)) as base_url:
        api = ConnectorApi(base_url)
        try:
            yield api
        finally:
            api.client.close()


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(clock: FakeTime) -> Iterator[ConnectorApi]:
    """An empty mock with demo tokens, no rate limit and the test's clock."""
    with connector_server(ConnectorMockConfig(rate_limit=None, now=clock.now)) as connector:
        yield connector


@pytest.fixture
def seeded_api(clock: FakeTime) -> Iterator[ConnectorApi]:
    """The mock with its --seed-data set."""
    with connector_server(ConnectorMockConfig(rate_limit=None, now=clock.now, seed_data=True)) as connector:
        yield connector
