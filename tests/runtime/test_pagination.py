"""Auto-pagination over every paged resource of the catalog: where exports silently lose or repeat data."""

from __future__ import annotations

import gc
import uuid
from types import SimpleNamespace

import httpx
import pytest

from mews_loyalty import Page, UnexpectedResponseError
from mews_loyalty._generated.connector.client import models
from mews_loyalty._spec.catalog import catalog

from .fakes import PROGRAM_ID, FakeConnector, item_id, seeded, stored_item

RESOURCES = sorted(catalog("connector").resources())
# Filters a resource's query cannot go without (tiers are listed per program).
REQUIRED_FILTERS = {"loyalty_tiers": {"loyalty_program_ids": [PROGRAM_ID]}}
ITEM_CLASSES = {
    "loyalty_memberships": models.LoyaltyMembership,
    "loyalty_programs": models.LoyaltyProgram,
    "loyalty_tiers": models.LoyaltyTier,
}


def limitations(server: FakeConnector) -> list[dict[str, object]]:
    return [body["Limitation"] for body in server.sent()]


@pytest.mark.parametrize("resource", RESOURCES)
def test_empty_list_takes_one_request_with_the_largest_page(make_client, resource):
    # Nothing to export must cost one request, not a loop; the default page is the spec's maximum.
    server = FakeConnector()
    client = make_client(server)
    assert list(getattr(client, resource).iter_all(**REQUIRED_FILTERS.get(resource, {}))) == []
    assert limitations(server) == [{"Count": 1000}]


@pytest.mark.parametrize("resource", RESOURCES)
def test_short_last_page_ends_the_iteration_and_every_item_comes_once(make_client, resource):
    # 2500 items = two full pages and a short one; each later request continues from the previous cursor.
    server = FakeConnector(items=seeded(2500, resource))
    client = make_client(server)
    items = list(getattr(client, resource).iter_all(**REQUIRED_FILTERS.get(resource, {})))
    assert [str(item.id) for item in items] == [item_id(resource, n) for n in range(2500)]
    assert all(isinstance(item, ITEM_CLASSES[resource]) for item in items)
    assert limitations(server) == [
        {"Count": 1000},
        {"Count": 1000, "Cursor": item_id(resource, 999)},
        {"Count": 1000, "Cursor": item_id(resource, 1999)},
    ]


def test_exact_multiple_of_the_page_size_stops_at_the_empty_page(make_client):
    # A full last page looks like "more to come"; the empty page after it (Cursor null) must end the loop.
    server = FakeConnector(items=seeded(2000))
    items = list(make_client(server).loyalty_memberships.iter_all())
    assert len(items) == 2000
    assert len(server.requests) == 3
    assert server.sent()[2]["Limitation"]["Cursor"] == item_id("loyalty_memberships", 1999)


def test_null_cursor_on_a_full_page_is_the_last_page(make_client):
    # The spec makes a null Cursor final even when the page is full; asking again would repeat the data.
    server = FakeConnector()
    full_page = [stored_item("loyalty_memberships", n) for n in range(2)]
    server.script("loyaltyMemberships_getAll", httpx.Response(200, json={"LoyaltyMemberships": full_page}))
    items = list(make_client(server).loyalty_memberships.iter_all(page_size=2))
    assert len(items) == 2
    assert len(server.requests) == 1


def test_get_all_returns_one_page_and_its_cursor_continues(make_client):
    # Callers paging by hand need the cursor and the "last page" rule without re-deriving them.
    server = FakeConnector(items=seeded(3, "loyalty_programs"))
    programs = make_client(server).loyalty_programs
    first = programs.get_all(page_size=2)
    assert isinstance(first, Page)
    assert len(first) == 2
    assert first.cursor == uuid.UUID(item_id("loyalty_programs", 1))
    assert not first.is_last
    second = programs.get_all(page_size=2, cursor=first.next_cursor)
    assert [program.code for program in second] == ["P2"]
    assert second.is_last
    assert second.next_cursor is None


def test_filters_travel_with_every_page_request(make_client):
    # Dropping a filter on page two would mix unrelated records into an export.
    server = FakeConnector(items=seeded(5))
    account = uuid.uuid4()
    items = list(
        make_client(server).loyalty_memberships.iter_all(
            page_size=2,
            account_ids=[account, "1b8c3d5e-0000-4000-8000-000000000009"],
            activity_states=["Active"],
        )
    )
    assert len(items) == 5
    assert len(server.requests) == 3
    for body in server.sent():
        assert body["AccountIds"] == [str(account), "1b8c3d5e-0000-4000-8000-000000000009"]
        assert body["ActivityStates"] == ["Active"]


def test_a_server_repeating_the_cursor_cannot_loop_forever(make_client):
    # A faulty server (or proxy cache) answering the same page forever must not hang an export.
    server = FakeConnector()
    page = {
        "LoyaltyMemberships": [stored_item("loyalty_memberships", 0)],
        "Cursor": item_id("loyalty_memberships", 0),
    }
    server.script("loyaltyMemberships_getAll", *[httpx.Response(200, json=page) for _ in range(3)])
    with pytest.raises(UnexpectedResponseError, match="a second time"):
        list(make_client(server).loyalty_memberships.iter_all(page_size=1))
    assert len(server.requests) == 2


def cursor_cycle() -> httpx.MockTransport:
    """A server whose pages point A -> B -> A -> ... for ever: full pages, each naming the other cursor."""
    pages = [item_id("loyalty_memberships", n) for n in (1, 2)]
    sent: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        cursor = pages[len(sent) % 2]
        item = stored_item("loyalty_memberships", len(sent) % 2)
        return httpx.Response(200, json={"LoyaltyMemberships": [item], "Cursor": cursor})

    return httpx.MockTransport(handle)


@pytest.mark.timeout(10)
def test_a_cursor_cycle_over_two_pages_stops_with_an_error(make_client):
    # A -> B -> A is as endless as A -> A; remembering only the last cursor would page for ever.
    client = make_client(SimpleNamespace(transport=cursor_cycle()))
    with pytest.raises(UnexpectedResponseError, match="a second time, after 3 pages"):
        list(client.loyalty_memberships.iter_all(page_size=1))


@pytest.mark.timeout(10)
@pytest.mark.anyio
async def test_the_async_export_stops_on_a_cursor_cycle_too(make_async_client):
    client = make_async_client(SimpleNamespace(transport=cursor_cycle()))
    with pytest.raises(UnexpectedResponseError, match="a second time, after 3 pages"):
        _ = [item async for item in client.loyalty_memberships.iter_all(page_size=1)]


def test_an_export_makes_each_item_as_it_is_taken(make_client):
    # iter_all builds an item only when its consumer takes it: a consumer that handles each item and
    # lets it go never holds a page of them (and the garbage collector never meets a page of them).
    server = FakeConnector(items=seeded(2500))
    walk = make_client(server).loyalty_memberships.iter_all()
    alive = []
    for number, membership in enumerate(walk):
        assert isinstance(membership, models.LoyaltyMembership)
        if number in (0, 999, 1000, 2499):
            gc.collect()
            alive.append(sum(type(obj) is models.LoyaltyMembership for obj in gc.get_objects()))
        del membership
    assert number == 2499
    assert max(alive) < 10, alive  # a page read at once would leave up to 1 000 alive
