"""The per-AccessToken sliding window: Mews' 200 requests in 30 seconds by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mews_loyalty.mock.connector import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHAIN_ID,
    Access,
    ConnectorMockConfig,
    config_from_args,
)
from tests.mock.conftest import ConnectorApi, FakeTime, connector_server

PAGE = {"Limitation": {"Count": 1}}
SECOND_TOKEN = "SECOND-0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF0123"


@pytest.fixture
def limited(clock: FakeTime) -> Iterator[ConnectorApi]:
    config = ConnectorMockConfig(
        clock=clock.monotonic,
        access_tokens={DEMO_ACCESS_TOKEN: Access((DEMO_CHAIN_ID,)), SECOND_TOKEN: Access((DEMO_CHAIN_ID,))},
    )
    with connector_server(config) as api:
        yield api


def test_the_201st_request_in_30_seconds_gets_429_with_retry_after_and_then_recovers(
    limited: ConnectorApi, clock: FakeTime
):
    # Clients must back off as Retry-After says; the window slides, so capacity comes back as the
    # oldest requests age out, not all at once at a fixed boundary.
    for _ in range(100):
        limited.ok("loyaltyMemberships_getAll", PAGE)
    clock.advance(10)
    for _ in range(100):
        limited.ok("loyaltyMemberships_getAll", PAGE)
    refused = limited.call("loyaltyMemberships_getAll", PAGE)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "20"  # the first hundred age out 30 s after they came
    assert "200 per access token in 30 seconds" in refused.json()["Message"]
    clock.advance(19.5)
    assert limited.call("loyaltyMemberships_getAll", PAGE).headers["Retry-After"] == "1"
    clock.advance(0.5)
    for _ in range(100):
        limited.ok("loyaltyMemberships_getAll", PAGE)
    assert limited.call("loyaltyMemberships_getAll", PAGE).status_code == 429


def test_every_operation_counts_and_each_token_has_its_own_window(limited: ConnectorApi):
    # The limit is per AccessToken, across operations: another connection is not slowed down.
    for _ in range(200):
        limited.ok("loyaltyPrograms_getAll", PAGE)
    assert limited.call("loyaltyTiers_delete", LoyaltyTierIds=[DEMO_CHAIN_ID]).status_code == 429
    limited.tokens["AccessToken"] = SECOND_TOKEN
    limited.ok("loyaltyPrograms_getAll", PAGE)


def test_refused_tokens_do_not_use_up_the_window(limited: ConnectorApi):
    # Someone guessing tokens must not lock out the real client of a token.
    limited.tokens["AccessToken"] = "guess"
    for _ in range(250):
        assert limited.call("loyaltyPrograms_getAll", PAGE).status_code == 401
    limited.tokens["AccessToken"] = DEMO_ACCESS_TOKEN
    limited.ok("loyaltyPrograms_getAll", PAGE)


def test_a_configured_rate_applies(clock: FakeTime):
    # --rate-limit 3/10 is how QA reproduces throttling quickly.
    config, _, _ = config_from_args(["--rate-limit", "3/10"])
    assert config.rate_limit == (3, 10.0)
    with connector_server(ConnectorMockConfig(rate_limit=config.rate_limit, clock=clock.monotonic)) as api:
        for _ in range(3):
            api.ok("loyaltyPrograms_getAll", PAGE)
        assert api.call("loyaltyPrograms_getAll", PAGE).headers["Retry-After"] == "10"


def test_the_rate_limit_can_be_switched_off(clock: FakeTime):
    # Load tests and schemathesis runs need the mock without throttling.
    config, _, _ = config_from_args(["--rate-limit", "off"])
    assert config.rate_limit is None
    with connector_server(ConnectorMockConfig(rate_limit=None, clock=clock.monotonic)) as api:
        for _ in range(250):
            api.ok("loyaltyPrograms_getAll", PAGE)
