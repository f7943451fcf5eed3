"""The runtime is generic over the catalog: an operation added to the spec works with no new SDK code.

The "new" operations below are copies of existing ones under new names and paths, standing in for a
regenerated spec: a new paged action on an existing resource and a whole new resource.
"""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from mews_loyalty import AsyncResource, RequestValidationError
from mews_loyalty._client.typed import AsyncTypedResource
from mews_loyalty._generated.connector.client import models
from mews_loyalty._generated.connector.resources import RESOURCE_CLASSES
from mews_loyalty._spec.catalog import Catalog, catalog

from .fakes import PROGRAM_ID, FakeConnector, add_item, error_body, stored_item

BASE = "/api/connector/v1"


@pytest.fixture
def extended_catalog(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    real = catalog("connector")
    recent = replace(
        real.by_id["loyaltyTiers_getAll"],
        operation_id="loyaltyTiers_getRecent",
        action="get_recent",
        path=f"{BASE}/loyaltyTiers/getRecent",
    )
    rewards = [
        replace(
            real.by_id[f"loyaltyPrograms_{action}"],
            operation_id=f"loyaltyRewards_{action}",
            resource="loyalty_rewards",
            path=f"{BASE}/loyaltyRewards/{action}",
        )
        for action in ("getAll", "add")
    ]
    extended = Catalog(
        api="connector", document=real.document, operations=(*real.operations, recent, *rewards)
    )
    monkeypatch.setattr("mews_loyalty._client.connector.catalog", lambda api: extended)
    return extended


class NewOperationsServer:
    """Serves the stand-in operations: tiers page two at a time, rewards echo back as programs."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bodies: list[dict[str, object]] = []
        self.rate_limited_once = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.paths.append(request.url.path)
        self.bodies.append(body)
        if request.url.path.endswith("/loyaltyTiers/getRecent"):
            tiers = [stored_item("loyalty_tiers", n) for n in range(3)]
            start = 0 if "Cursor" not in body["Limitation"] else 2
            page = tiers[start : start + body["Limitation"]["Count"]]
            return httpx.Response(
                200, json={"LoyaltyTiers": page, "Cursor": page[-1]["Id"] if page else None}
            )
        if request.url.path.endswith("/loyaltyRewards/add"):
            if not self.rate_limited_once:
                self.rate_limited_once = True
                return httpx.Response(429, json=error_body("Slow down"), headers={"Retry-After": "2"})
            created = [
                stored_item("loyalty_programs", n, Code=item["Code"])
                for n, item in enumerate(body["LoyaltyPrograms"])
            ]
            return httpx.Response(200, json={"LoyaltyPrograms": created})
        return httpx.Response(404)


def test_every_catalog_resource_has_an_accessor(make_client):
    # Accessors come from the catalog, not from a hand-kept list that could fall behind the spec; each
    # is the class generated for it, so editors and mypy see its typed methods.
    client = make_client(FakeConnector())
    names = sorted(catalog("connector").resources())
    assert sorted(client.resource_names) == names
    assert sorted(RESOURCE_CLASSES) == names
    assert all(type(getattr(client, name)) is RESOURCE_CLASSES[name] for name in names)
    assert set(names) <= set(dir(client))
    with pytest.raises(AttributeError, match="loyalty_memberships"):
        _ = client.loyalty_membership


def test_a_new_paged_action_pages_with_its_own_iterator(make_client, extended_catalog):
    # A new query gets one-page and all-pages methods, filters and validation, by its action name.
    server = NewOperationsServer()
    tiers = make_client(FakeConnector(), transport=httpx.MockTransport(server.handle)).loyalty_tiers
    assert {"get_recent", "iter_recent"} <= set(dir(tiers))
    page = tiers.get_recent(page_size=2, loyalty_program_ids=[PROGRAM_ID])
    assert [tier.code for tier in page] == ["T0", "T1"]
    everything = list(tiers.iter_recent(page_size=2, loyalty_program_ids=[PROGRAM_ID]))
    assert [tier.code for tier in everything] == ["T0", "T1", "T2"]
    assert all(isinstance(tier, models.LoyaltyTier) for tier in everything)
    assert server.paths == [f"{BASE}/loyaltyTiers/getRecent"] * 3
    with pytest.raises(TypeError, match="account_ids"):
        tiers.iter_recent(account_ids=[PROGRAM_ID])


def test_a_new_resource_batches_retries_and_validates(make_client, extended_catalog, fake_time):
    # A whole new resource: batching at the spec's limit, the 429 retry, decoding and validation.
    server = NewOperationsServer()
    client = make_client(FakeConnector(), transport=httpx.MockTransport(server.handle))
    rewards = client.loyalty_rewards
    created = rewards.add([add_item("loyalty_programs", n) for n in range(1001)])
    assert [len(body["LoyaltyPrograms"]) for body in server.bodies] == [1000, 1000, 1]  # 429, retry, rest
    assert fake_time.sleeps == [2.0]
    assert len(created) == 1001
    assert isinstance(created[0], models.LoyaltyProgram)
    with pytest.raises(RequestValidationError, match=r"LoyaltyPrograms\[0\]\.Name"):
        rewards.add([{**add_item("loyalty_programs", 0), "Name": ""}])


def test_an_unknown_action_names_the_ones_that_exist(make_client):
    # A typo in an action should list the real choices instead of a bare AttributeError.
    with pytest.raises(AttributeError, match="get_all, iter_all, add, update, delete"):
        _ = make_client(FakeConnector()).loyalty_programs.get_everything


@pytest.mark.anyio
async def test_async_clients_build_the_same_accessors(make_async_client, extended_catalog):
    # The async client reads the same catalog: new operations appear there too.
    client = make_async_client(FakeConnector())
    assert isinstance(client.loyalty_rewards, AsyncResource)  # not generated yet: the untyped resource
    assert isinstance(client.loyalty_tiers, AsyncTypedResource)
    assert "iter_recent" in dir(client.loyalty_tiers)
