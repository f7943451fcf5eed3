"""Body tokens: every operation refuses missing, empty and wrong tokens alike, and chains scope data."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mews_loyalty.mock.connector import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHAIN_ID,
    DEMO_CLIENT_TOKEN,
    Access,
    ConnectorMockConfig,
    create_app,
)
from tests.conftest import load_examples
from tests.mock.conftest import CONNECTOR, ConnectorApi, connector_server

CHAIN_A = "11111111-1111-4111-8111-111111111111"
CHAIN_B = "22222222-2222-4222-8222-222222222222"
PORTFOLIO_TOKEN = "PORTFOLIO-0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF"
CHAIN_A_TOKEN = "CHAIN-A-0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF01"
OWN_CLIENT_TOKEN = "OWN-CLIENT-0123456789ABCDEF0123456789ABCDEF-0123456789ABCD"
EXAMPLE_REQUESTS = {
    example["operationId"]: example["body"]
    for example in load_examples("connector")
    if example["kind"] == "request" and example["sources"] == ["published"]
}
TAMPERINGS = [
    (name, how)
    for name in ("ClientToken", "AccessToken")
    for how in ("missing", "empty", "wrong", "not a string", "other case")
]


def tampered(body: dict[str, Any], name: str, how: str) -> dict[str, Any]:
    body = {key: value for key, value in body.items() if key != name}
    if how == "missing":
        return body
    value: Any = {"empty": "", "wrong": "0" * 64, "not a string": 12345}.get(how)
    if how == "other case":
        value = {"ClientToken": DEMO_CLIENT_TOKEN, "AccessToken": DEMO_ACCESS_TOKEN}[name].lower()
    return {**body, name: value}


@pytest.fixture(scope="module")
def shared_api() -> Iterator[ConnectorApi]:
    with connector_server(ConnectorMockConfig(rate_limit=None, seed_data=True)) as connector:
        yield connector


@pytest.mark.parametrize("operation_id", sorted(EXAMPLE_REQUESTS))
@pytest.mark.parametrize(("name", "how"), TAMPERINGS)
def test_every_operation_refuses_bad_tokens_with_401(
    shared_api: ConnectorApi, operation_id: str, name: str, how: str
):
    # The body-token counterpart of an "ignored auth" check: a documented, otherwise valid request
    # with one bad token must be refused before it reads or changes anything.
    op = CONNECTOR.by_id[operation_id]
    response = shared_api.client.post(op.path, json=tampered(EXAMPLE_REQUESTS[operation_id], name, how))
    assert response.status_code == 401
    assert response.json()["RequestId"] == response.headers["Request-Id"]
    assert DEMO_CLIENT_TOKEN.lower() not in response.text.lower()
    assert DEMO_ACCESS_TOKEN.lower() not in response.text.lower()


def test_tokens_never_show_in_reprs_or_logs(caplog: pytest.LogCaptureFixture):
    # A config or app printed in a log or a traceback must not leak credentials.
    config = ConnectorMockConfig(
        client_tokens=frozenset({OWN_CLIENT_TOKEN}),
        access_tokens={PORTFOLIO_TOKEN: Access((CHAIN_A, CHAIN_B), portfolio=True)},
    )
    app = create_app(config)
    with caplog.at_level(logging.DEBUG), connector_server(config) as api:
        api.tokens = {"ClientToken": OWN_CLIENT_TOKEN, "AccessToken": PORTFOLIO_TOKEN, "Client": "t"}
        api.ok("loyaltyPrograms_getAll", Limitation={"Count": 1})
        api.tokens["AccessToken"] = CHAIN_A_TOKEN
        api.error("loyaltyPrograms_getAll", 401, Limitation={"Count": 1})
    shown = [repr(config), str(config), repr(app.state.pipeline), repr(app.state.store), caplog.text]
    for text in shown:
        assert OWN_CLIENT_TOKEN not in text
        assert PORTFOLIO_TOKEN not in text
        assert CHAIN_A_TOKEN not in text


def test_other_tokens_work_when_configured_and_demo_tokens_still_do():
    # Teams point their own staging tokens at the mock; the documented examples keep working.
    config = ConnectorMockConfig(
        client_tokens=frozenset({OWN_CLIENT_TOKEN, DEMO_CLIENT_TOKEN}),
        access_tokens={CHAIN_A_TOKEN: Access((CHAIN_A,)), DEMO_ACCESS_TOKEN: Access((DEMO_CHAIN_ID,))},
        rate_limit=None,
    )
    with connector_server(config) as api:
        api.ok("loyaltyPrograms_getAll", Limitation={"Count": 1})
        api.tokens = {"ClientToken": OWN_CLIENT_TOKEN, "AccessToken": CHAIN_A_TOKEN, "Client": "t"}
        program = api.ok(
            "loyaltyPrograms_add",
            LoyaltyPrograms=[{"Name": "A", "Code": "A", "Type": "Hotel", "Subscription": "Free"}],
        )["LoyaltyPrograms"][0]
        assert program["ChainId"] == CHAIN_A


@pytest.fixture
def portfolio() -> Iterator[tuple[ConnectorApi, ConnectorApi]]:
    """One mock, reached by a portfolio token (chains A and B) and by a single-chain token (A)."""
    config = ConnectorMockConfig(
        access_tokens={
            PORTFOLIO_TOKEN: Access((CHAIN_A, CHAIN_B), portfolio=True),
            CHAIN_A_TOKEN: Access((CHAIN_A,)),
        },
        rate_limit=None,
    )
    with connector_server(config) as whole:
        whole.tokens["AccessToken"] = PORTFOLIO_TOKEN
        single = ConnectorApi(str(whole.client.base_url), {**whole.tokens, "AccessToken": CHAIN_A_TOKEN})
        yield whole, single
        single.client.close()


PROGRAM = {"Name": "Platinum Club", "Code": "PC01", "Type": "Hotel", "Subscription": "Free"}


def test_a_portfolio_token_must_name_the_chain_of_a_write(portfolio: tuple[ConnectorApi, ConnectorApi]):
    # With several chains in reach, a write without ChainId would land somewhere arbitrary.
    whole, _ = portfolio
    assert "ChainId is required" in whole.error("loyaltyPrograms_add", 403, LoyaltyPrograms=[PROGRAM])
    assert "ChainId is required" in whole.error(
        "loyaltyPrograms_add", 403, ChainId=None, LoyaltyPrograms=[PROGRAM]
    )
    unreachable = "33333333-3333-4333-8333-333333333333"
    assert "Invalid ChainId" in whole.error(
        "loyaltyPrograms_add", 403, ChainId=unreachable, LoyaltyPrograms=[PROGRAM]
    )
    added = whole.ok("loyaltyPrograms_add", ChainId=CHAIN_B, LoyaltyPrograms=[PROGRAM])["LoyaltyPrograms"][0]
    assert added["ChainId"] == CHAIN_B


def test_a_single_chain_token_ignores_chain_id(portfolio: tuple[ConnectorApi, ConnectorApi]):
    # "Required with a portfolio token, ignored otherwise": the token's own chain wins.
    _, single = portfolio
    added = single.ok("loyaltyPrograms_add", ChainId=CHAIN_B, LoyaltyPrograms=[PROGRAM])["LoyaltyPrograms"][0]
    assert added["ChainId"] == CHAIN_A


def test_each_token_sees_and_changes_only_its_chains(portfolio: tuple[ConnectorApi, ConnectorApi]):
    # Chain scoping is the privacy boundary between properties: reads, writes and references.
    whole, single = portfolio
    in_a = whole.ok("loyaltyPrograms_add", ChainId=CHAIN_A, LoyaltyPrograms=[PROGRAM])["LoyaltyPrograms"][0][
        "Id"
    ]
    in_b = whole.ok("loyaltyPrograms_add", ChainId=CHAIN_B, LoyaltyPrograms=[PROGRAM])["LoyaltyPrograms"][0][
        "Id"
    ]

    def program_ids(api: ConnectorApi, **filters: Any) -> list[str]:
        page = api.ok("loyaltyPrograms_getAll", Limitation={"Count": 10}, **filters)
        return [item["Id"] for item in page["LoyaltyPrograms"]]

    assert program_ids(whole) == [in_b, in_a]
    assert program_ids(whole, ChainIds=[CHAIN_A]) == [in_a]
    assert program_ids(single) == [in_a]
    assert program_ids(single, ChainIds=[CHAIN_B]) == []
    single.error("loyaltyPrograms_delete", 400, LoyaltyProgramIds=[in_b])  # unknown to this token
    member = {"AccountId": CHAIN_B, "LoyaltyProgramId": in_b, "IsPrimary": True}
    single.error("loyaltyMemberships_add", 400, LoyaltyMemberships=[member])
    whole.error("loyaltyMemberships_add", 400, ChainId=CHAIN_A, LoyaltyMemberships=[member])
    added = whole.ok("loyaltyMemberships_add", ChainId=CHAIN_B, LoyaltyMemberships=[member])[
        "LoyaltyMemberships"
    ][0]
    assert added["ChainId"] == CHAIN_B
    tier = {"LoyaltyProgramId": in_b, "Name": "Gold", "Code": "G", "Ordering": 1}
    whole.error("loyaltyTiers_add", 400, ChainId=CHAIN_A, LoyaltyTiers=[tier])
    assert (
        whole.ok("loyaltyTiers_add", ChainId=CHAIN_B, LoyaltyTiers=[tier])["LoyaltyTiers"][0][
            "LoyaltyProgramId"
        ]
        == in_b
    )
