"""The async clients behave like the blocking ones: same paging, batching, retries, errors and pacing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mews_loyalty import (
    AsyncConnectorClient,
    ForbiddenError,
    MewsConnectionError,
    ProblemDetailError,
    RequestValidationError,
)
from mews_loyalty._generated.connector.client import models
from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN
from mews_loyalty._transport.window import SlidingWindow

from .fakes import SERVE, FakeConnector, add_item, error_body, item_id, problem, seeded

pytestmark = pytest.mark.anyio


async def test_iter_all_pages_with_async_for(make_async_client):
    # The async export must walk the same cursor chain as the blocking one.
    server = FakeConnector(items=seeded(2500))
    memberships = make_async_client(server).loyalty_memberships
    ids = [str(item.id) async for item in memberships.iter_all(activity_states=["Active"])]
    assert ids == [item_id("loyalty_memberships", n) for n in range(2500)]
    assert [body["Limitation"].get("Cursor") for body in server.sent()] == [
        None,
        item_id("loyalty_memberships", 999),
        item_id("loyalty_memberships", 1999),
    ]


async def test_get_all_returns_a_page_of_attrs_models(make_async_client):
    # One awaited page, typed items and the cursor to continue.
    server = FakeConnector(items=seeded(3, "loyalty_programs"))
    page = await make_async_client(server).loyalty_programs.get_all(page_size=2)
    assert all(isinstance(program, models.LoyaltyProgram) for program in page)
    assert page.next_cursor == uuid.UUID(item_id("loyalty_programs", 1))


async def test_validation_happens_before_the_first_await(make_async_client):
    # Errors in arguments surface where iter_all is called, even before iteration starts.
    server = FakeConnector()
    with pytest.raises(TypeError, match="acount_ids"):
        make_async_client(server).loyalty_memberships.iter_all(acount_ids=[])
    assert server.requests == []


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1001, [1000, 1]), (2500, [1000, 1000, 500])])
async def test_add_update_delete_batch(make_async_client, count, sizes):
    # Same split at 1000 for every write.
    server = FakeConnector()
    tiers = make_async_client(server).loyalty_tiers
    created = await tiers.add([add_item("loyalty_tiers", n) for n in range(count)])
    updated = await tiers.update([{"LoyaltyTierId": str(t.id), "Ordering": {"Value": 1}} for t in created])
    assert await tiers.delete([t.id for t in created]) is None
    assert len(created) == len(updated) == count
    for operation_id, field in [
        ("loyaltyTiers_add", "LoyaltyTiers"),
        ("loyaltyTiers_update", "LoyaltyTierUpdates"),
        ("loyaltyTiers_delete", "LoyaltyTierIds"),
    ]:
        assert [len(body[field]) for body in server.sent(operation_id)] == sizes


async def test_a_write_is_not_retried_after_it_reached_the_server(make_async_client, fake_time):
    # The no-duplicate guarantee holds for the async client too.
    server = FakeConnector()
    server.script("loyaltyMemberships_add", httpx.ReadTimeout("lost"))
    with pytest.raises(MewsConnectionError) as caught:
        await make_async_client(server).loyalty_memberships.add([add_item("loyalty_memberships", 0)])
    assert caught.value.may_have_reached_server
    assert len(server.requests) == 1
    assert fake_time.sleeps == []


async def test_reads_and_429s_are_retried_with_the_injected_async_sleep(make_async_client, fake_time):
    # Retries wait through the injected sleeper, so nothing in the event loop really blocks.
    server = FakeConnector(items=seeded(1))
    server.script("loyaltyMemberships_getAll", httpx.Response(500, json=error_body("x")))
    server.script(
        "loyaltyMemberships_add", httpx.Response(429, json=error_body("x"), headers={"Retry-After": "4"})
    )
    client = make_async_client(server)
    assert len([m async for m in client.loyalty_memberships.iter_all()]) == 1
    assert len(await client.loyalty_memberships.add([add_item("loyalty_memberships", 0)])) == 1
    assert fake_time.sleeps == [0.375, 4.0]


async def test_errors_and_partial_results(make_async_client):
    # A failing second batch raises the typed error with the first batch's results attached.
    server = FakeConnector()
    server.script("loyaltyPrograms_add", SERVE, httpx.Response(403, json=error_body("Closed.")))
    with pytest.raises(ForbiddenError) as caught:
        await make_async_client(server).loyalty_programs.add(
            [add_item("loyalty_programs", n) for n in range(1500)]
        )
    assert len(caught.value.completed_results) == 1000
    with pytest.raises(RequestValidationError, match=r"LoyaltyPrograms\[0\]\.Type"):
        await make_async_client(server).loyalty_programs.add(
            [{**add_item("loyalty_programs", 0), "Type": "X"}]
        )


async def test_pacing_keeps_the_async_export_under_the_limit(make_async_client, fake_time):
    # Async exports are the fastest way to hit the limit; pacing must hold there as well.
    server = FakeConnector(items=seeded(250), window=SlidingWindow(200, 30.0), time=fake_time)
    client = make_async_client(server, rate_limit=(200, 30.0))
    assert len([m async for m in client.loyalty_memberships.iter_all(page_size=1)]) == 250
    assert server.rejected == 0
    assert sum(fake_time.sleeps) == pytest.approx(30.0 * (1 + WINDOW_SAFETY_MARGIN))


async def test_async_context_manager_closes_the_pool(tokens):
    # `async with` must release connections even when the body raises.
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    client = AsyncConnectorClient(client_token="c", access_token=tokens.access_token, transport=transport)

    async def fail_inside() -> None:
        async with client:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_inside()
    assert client._sender._http.is_closed


async def test_async_reverse_client(make_async_reverse_client, provider):
    # The QA harness in async form: batches of 100, link/unlink, problem details.
    client = make_async_reverse_client(provider)
    found = await client.list_memberships(
        [f"M-{n}" for n in range(101)], enterprise_id="0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11"
    )
    assert len(found) == 101
    assert [len(c.body["providerMembershipIds"]) for c in provider.requests] == [100, 1]
    await client.link("0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11", "M-1", "5b1f0f4e-9a57-4d6b-a3c1-7c9e0b2d4f10")
    await client.unlink("0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11", "M-1", "5b1f0f4e-9a57-4d6b-a3c1-7c9e0b2d4f10")
    assert provider.links == {"M-1": False}
    provider.script("listMemberships", problem(400, "Bad request", "Missing id."))
    with pytest.raises(ProblemDetailError, match="Missing id"):
        await client.list_memberships(["M-1"], enterprise_id="0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11")
