"""Every request Mews documents for these operations gets a 200 once the records it names exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mews_loyalty.mock.connector import DEMO_CHAIN_ID, ConnectorMockConfig
from mews_loyalty.mock.connector.rules import build_store
from mews_loyalty.mock.connector.seed import DOCUMENTED_MEMBERSHIPS, PROGRAMS
from mews_loyalty.mock.connector.store import ConnectorStore
from tests.conftest import load_examples
from tests.mock.conftest import CONNECTOR, OTHER_TIER_ID, PROGRAM_ID, TIER_ID, ConnectorApi, connector_server

REQUESTS = [example for example in load_examples("connector") if example["kind"] == "request"]
RESPONSES = {
    (example["operationId"], example["file"].split(".")[-2]): example["body"]
    for example in load_examples("connector")
    if example["kind"] == "response"
}
# The examples' intervals: a membership created and changed inside them is found by the filters.
IN_THE_EXAMPLES_WINDOW = (
    int((datetime(2022, 10, 16, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6
)
TIERS = (
    {"Id": TIER_ID, "LoyaltyProgramId": PROGRAM_ID, "Name": "Platinum", "Code": "P1", "Ordering": 1},
    {"Id": OTHER_TIER_ID, "LoyaltyProgramId": PROGRAM_ID, "Name": "Silver", "Code": "S1", "Ordering": 2},
)


def named_records(with_memberships: bool, state: str | None = None) -> ConnectorStore:
    """The programs and tiers the examples name (and their memberships, when the example needs them)."""
    store = build_store()
    for program in PROGRAMS:
        store["loyalty_programs"].insert(
            {**program, "ChainId": DEMO_CHAIN_ID}, chain_id=DEMO_CHAIN_ID, created_us=0
        )
    for tier in TIERS:
        store["loyalty_tiers"].insert(tier, chain_id=DEMO_CHAIN_ID, created_us=0)
    if with_memberships:
        for membership in DOCUMENTED_MEMBERSHIPS:
            store["loyalty_memberships"].insert(
                {**membership, "ChainId": DEMO_CHAIN_ID, "State": state or membership["State"]},
                chain_id=DEMO_CHAIN_ID,
                created_us=IN_THE_EXAMPLES_WINDOW,
            )
    return store


def records_for(operation_id: str) -> ConnectorStore:
    """What an example of ``operation_id`` names: deleting the example's programs needs them free
    of memberships; every other example may name the example memberships."""
    return named_records(with_memberships=operation_id != "loyaltyPrograms_delete")


@pytest.fixture
def examples_api(request: pytest.FixtureRequest) -> Iterator[ConnectorApi]:
    store = records_for(request.node.callspec.params["example"]["operationId"])
    with connector_server(ConnectorMockConfig(rate_limit=None), store=store) as api:
        yield api


@pytest.mark.parametrize("example", [pytest.param(e, id=e["file"].removesuffix(".json")) for e in REQUESTS])
def test_a_documented_request_gets_a_200(examples_api: ConnectorApi, example: dict[str, Any]):
    # Integrators copy these requests from Mews' docs first; with the demo tokens they must work
    # as written, and the answer must be shaped like the documented one.
    op = CONNECTOR.by_id[example["operationId"]]
    response = examples_api.client.post(op.path, json=example["body"])
    assert response.status_code == 200, response.text
    documented = RESPONSES.get((example["operationId"], example["file"].split(".")[-2]))
    if documented is not None and op.page_items:
        assert set(response.json()) == set(documented)


def test_the_documented_get_all_finds_the_documented_membership():
    # Every filter of Mews' example matches the example membership, so the mock must answer the
    # documented response. (The docs show it "New" while the request asks for Pending or Enrolled
    # memberships; stored as Enrolled, it satisfies both.)
    example = next(e for e in REQUESTS if e["file"] == "loyaltyMemberships_getAll.request.2.json")
    store = named_records(with_memberships=True, state="Enrolled")
    with connector_server(ConnectorMockConfig(rate_limit=None), store=store) as api:
        body = api.ok("loyaltyMemberships_getAll", example["body"])
    documented = RESPONSES[("loyaltyMemberships_getAll", "2")]
    assert body == {
        **documented,
        "LoyaltyMemberships": [{**documented["LoyaltyMemberships"][0], "State": "Enrolled"}],
    }
