"""What integrators of Stainless-built SDKs reach for: per-call options, configured copies, raw responses,
request ids, page navigation and resumable exports, on the blocking and the async clients alike.

Each feature is checked through the fake servers, so the SDK's real request, retry and decode code runs.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from mews_loyalty import (
    AsyncPage,
    ClientClosedError,
    MewsConnectionError,
    Page,
    RawResponse,
    ResultList,
    ServerError,
)
from mews_loyalty._generated.connector.client.models import LoyaltyMembership

from .fakes import SERVE, FakeConnector, add_item, error_body, item_id, seeded
from .test_interval_windows import JAN_31, DatedMemberships

GET_ALL = "loyaltyMemberships_getAll"
ADD = "loyaltyMemberships_add"


def failure(status: int) -> httpx.Response:
    return httpx.Response(status, json=error_body(f"failure {status}"))


def ids(items: list[LoyaltyMembership]) -> list[str]:
    return [str(item.id) for item in items]


# --- per-call timeout= and max_retries= -------------------------------------------------------------


def test_max_retries_per_call_overrides_the_client_s(make_client):
    server = FakeConnector(items=seeded(3))
    server.script(GET_ALL, *[failure(503)] * 10)
    client = make_client(server, max_retries=4)
    with pytest.raises(ServerError):
        client.loyalty_memberships.get_all(max_retries=0)
    assert len(server.requests) == 1  # no retry at all
    with pytest.raises(ServerError):
        client.loyalty_memberships.get_all(max_retries=1)
    assert len(server.requests) == 3


def test_timeout_per_call_reaches_the_request_and_the_client_s_applies_otherwise(make_client):
    seen: list[dict[str, float | None]] = []
    server = FakeConnector(items=seeded(3))

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return server.handle(request)

    client = make_client(server, transport=httpx.MockTransport(record), timeout=30.0)
    client.loyalty_memberships.get_all(timeout=2.5)
    client.loyalty_memberships.add([add_item("loyalty_memberships", 0)], timeout=httpx.Timeout(1.0, read=9.0))
    client.loyalty_memberships.get_all()
    # Each wait is the part asked for, cut to what is left of the attempt's deadline (its longest
    # part): a hair under the number once the attempt has started.
    assert seen[0] == pytest.approx({"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}, abs=0.5)
    assert seen[1] == pytest.approx({"connect": 1.0, "read": 9.0, "write": 1.0, "pool": 1.0}, abs=0.5)
    assert seen[2] == pytest.approx({"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}, abs=0.5)


def test_a_negative_max_retries_is_refused_before_sending(make_client):
    server = FakeConnector()
    with pytest.raises(ValueError, match="max_retries must be 0 or more"):
        make_client(server).loyalty_memberships.get_all(max_retries=-1)
    assert server.requests == []


def test_reverse_shortcuts_take_the_call_options_too(make_reverse_client, provider):
    provider.script("listMemberships", *[failure(503)] * 5)
    client = make_reverse_client(provider, max_retries=3)
    with pytest.raises(ServerError):
        client.list_memberships(["M-1"], enterprise_id="8c2a3e7e-0000-4000-8000-000000000001", max_retries=0)
    assert len(provider.requests) == 1


# --- with_options() -----------------------------------------------------------------------------------


def test_with_options_copies_use_their_options_and_leave_the_original_alone(make_client):
    server = FakeConnector(items=seeded(3))
    server.script(GET_ALL, *[failure(503)] * 10)
    client = make_client(server, max_retries=2)
    patient = client.with_options(max_retries=5)
    with pytest.raises(ServerError):
        client.with_options(max_retries=0).loyalty_memberships.get_all()
    assert len(server.requests) == 1
    with pytest.raises(ServerError):
        patient.with_options(timeout=3.0).loyalty_memberships.get_all()  # a copy of a copy keeps its retries
    assert len(server.requests) == 1 + 6
    server.scripted.clear()
    server.script(GET_ALL, *[failure(503)] * 2)
    assert len(client.loyalty_memberships.get_all()) == 3  # the original still retries twice
    assert len(server.requests) == 1 + 6 + 3


def test_with_options_copies_share_the_connection_pool(make_client, tokens):
    opened: list[int] = []

    class CountingTransport(httpx.MockTransport):
        def close(self) -> None:
            opened.append(-1)

    server = FakeConnector(items=seeded(2))
    client = make_client(server, transport=CountingTransport(server.handle))
    copy = client.with_options(timeout=5.0)
    copy.loyalty_memberships.get_all()
    copy.close()  # the copy closes nothing: the pool is the original's
    assert opened == []
    assert len(client.loyalty_memberships.get_all()) == 2
    client.close()
    assert opened == [-1]
    with pytest.raises(ClientClosedError):  # one pool: closed for the copy too
        copy.loyalty_memberships.get_all()


def test_with_options_copies_share_the_rate_limit_window(make_client, fake_time):
    # Two requests per 10 s: the original and its copy take turns in one window, so the third waits.
    server = FakeConnector(items=seeded(1))
    client = make_client(server, rate_limit=(2, 10.0))
    copy = client.with_options(max_retries=0)
    client.loyalty_memberships.get_all()
    copy.loyalty_memberships.get_all()
    assert fake_time.sleeps == []
    copy.loyalty_memberships.get_all()
    assert sum(fake_time.sleeps) >= 10.0  # a window of its own would have let it through at once


# --- request ids, page navigation -------------------------------------------------------------------


def test_pages_carry_their_request_id_and_walk_with_the_same_arguments(make_client):
    server = FakeConnector(items=seeded(25))
    page = make_client(server).loyalty_memberships.get_all(
        page_size=10, activity_states=["Active"], timeout=4
    )
    assert isinstance(page, Page)
    assert page.request_id == "req-1"
    pages = list(page.iter_pages())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [p.request_id for p in pages] == ["req-1", "req-2", "req-3"]
    assert [item for p in pages for item in ids(p.items)] == [
        item_id("loyalty_memberships", n) for n in range(25)
    ]
    assert all(body["ActivityStates"] == ["Active"] for body in server.sent())
    assert server.sent()[1]["Limitation"] == {"Count": 10, "Cursor": item_id("loyalty_memberships", 9)}
    assert pages[1].has_next_page()
    assert not pages[2].has_next_page()
    with pytest.raises(RuntimeError, match="no next page: this is the last page"):
        pages[2].get_next_page()


def test_a_bulk_write_lists_the_request_id_of_each_batch(make_client):
    server = FakeConnector()
    added = make_client(server).loyalty_memberships.add(
        [add_item("loyalty_memberships", n) for n in range(2500)]
    )
    assert isinstance(added, ResultList)
    assert len(added) == 2500
    assert added.request_ids == ["req-1", "req-2", "req-3"]
    deleted_none = make_client(server).loyalty_memberships.delete([item_id("loyalty_memberships", 0)])
    assert deleted_none is None


@pytest.mark.anyio
async def test_async_pages_navigate_with_await(make_async_client):
    server = FakeConnector(items=seeded(15))
    page = await make_async_client(server).loyalty_memberships.get_all(page_size=10)
    assert isinstance(page, AsyncPage)
    assert page.has_next_page()
    following = await page.get_next_page()
    assert (following.request_id, len(following), following.has_next_page()) == ("req-2", 5, False)
    assert [len(p) async for p in page.iter_pages()] == [10, 5]


# --- with_raw_response ------------------------------------------------------------------------------


def test_raw_response_of_a_page_a_write_and_a_single_call(make_client, make_reverse_client, provider):
    server = FakeConnector(items=seeded(3))
    raw = make_client(server).loyalty_memberships.with_raw_response.get_all(page_size=2)
    assert isinstance(raw, RawResponse)
    assert (raw.status_code, raw.request_id, raw.headers["Request-Id"]) == (200, "req-1", "req-1")
    page = raw.parse()
    assert len(page) == 2
    assert page.request_id == "req-1"
    assert len(page.get_next_page()) == 1  # parsed pages navigate as any other
    written = make_client(server).loyalty_memberships.with_raw_response.add(
        [add_item("loyalty_memberships", 9)]
    )
    assert written.parse().request_ids == [written.request_id]
    reverse = make_reverse_client(provider).memberships.with_raw_response.list_memberships(
        ["M-1"], mews_enterprise_id="8c2a3e7e-0000-4000-8000-000000000001"
    )
    assert reverse.status_code == 200
    assert [m.provider_membership_id for m in reverse.parse()] == ["M-1"]


def test_raw_response_refuses_calls_of_more_than_one_request_before_sending(make_client):
    server = FakeConnector()
    raw = make_client(server).loyalty_memberships.with_raw_response
    with pytest.raises(ValueError, match="sends one request: give 1 to 1000 items"):
        raw.add([add_item("loyalty_memberships", n) for n in range(1001)])
    assert not hasattr(type(raw), "iter_all")
    with pytest.raises(TypeError, match="sends a request per page, so it has no raw response"):
        raw.iter_all()  # reached untyped, still refused
    assert server.requests == []


@pytest.mark.anyio
async def test_async_raw_response(make_async_client):
    server = FakeConnector(items=seeded(3))
    raw = await make_async_client(server).loyalty_memberships.with_raw_response.get_all()
    assert raw.status_code == 200
    page = raw.parse()
    assert isinstance(page, AsyncPage)
    assert len(page) == 3


# --- resuming a failed export -----------------------------------------------------------------------


def export_until_failure(iterator):
    done: list[LoyaltyMembership] = []
    try:
        done.extend(iterator)
    except (ServerError, MewsConnectionError) as error:
        return done, error
    raise AssertionError("the export did not fail")


def test_a_failed_export_resumes_with_exactly_the_remaining_items(make_client):
    server = FakeConnector(items=seeded(2500))
    server.script(GET_ALL, SERVE, SERVE, *[failure(503)] * 3)  # the third page fails after 2 retries
    memberships = make_client(server, max_retries=2).loyalty_memberships
    done, error = export_until_failure(memberships.iter_all(activity_states=["Active"]))
    assert len(done) == 2000
    assert error.resume is not None
    assert (error.resume.window, str(error.resume.cursor)) == (0, item_id("loyalty_memberships", 1999))
    rest = list(memberships.iter_all(activity_states=["Active"], resume_from=error.resume))
    assert ids(done + rest) == [item_id("loyalty_memberships", n) for n in range(2500)]


def test_a_resume_with_other_arguments_is_refused(make_client):
    server = FakeConnector(items=seeded(1500))
    server.script(GET_ALL, SERVE, *[failure(503)] * 3)
    memberships = make_client(server, max_retries=2).loyalty_memberships
    _, error = export_until_failure(memberships.iter_all(activity_states=["Active"]))
    with pytest.raises(ValueError, match="resume_from belongs to another export"):
        memberships.iter_all(activity_states=["Deleted"], resume_from=error.resume)


def test_a_failed_walk_over_interval_windows_resumes_in_its_window(make_client):
    server = DatedMemberships(60, JAN_31, timedelta(days=7))
    year = (JAN_31, JAN_31 + timedelta(days=365))
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 6:  # in the second window (each window takes 4 pages of 4 or fewer)
            raise httpx.ConnectError("reset")
        return server.handle(request)

    client = make_client(FakeConnector(), transport=httpx.MockTransport(flaky), max_retries=0)
    done, error = export_until_failure(client.loyalty_memberships.iter_all(created_utc=year, page_size=4))
    assert error.resume is not None
    assert error.resume.window >= 1
    rest = list(client.loyalty_memberships.iter_all(created_utc=year, page_size=4, resume_from=error.resume))
    expected = [item["Id"] for item in server.items if year[0] <= item["_created"] < year[1]]
    assert ids(done + rest) == expected


@pytest.mark.anyio
async def test_an_async_export_resumes_too(make_async_client):
    server = FakeConnector(items=seeded(25))
    server.script(GET_ALL, SERVE, failure(500))
    memberships = make_async_client(server, max_retries=0).loyalty_memberships
    done: list[LoyaltyMembership] = []
    stopped = None
    try:
        async for item in memberships.iter_all(page_size=10):
            done.append(item)
    except ServerError as error:
        stopped = error.resume
    assert stopped is not None
    rest = [item async for item in memberships.iter_all(page_size=10, resume_from=stopped)]
    assert ids(done + rest) == [item_id("loyalty_memberships", n) for n in range(25)]
