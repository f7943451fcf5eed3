"""iter_all walks a CreatedUtc/UpdatedUtc interval longer than the spec allows in windows within it.

Exporting a year of memberships by creation time is an everyday job; Mews refuses more than three
months per request. The walk must cover the interval exactly (no gap, no overlap, so each item comes
once), keep every window within the limit as Mews counts months, and page each window in order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mews_loyalty import RequestValidationError
from mews_loyalty._generated.connector.client.models import TimeFilterInterval
from mews_loyalty._wire.encode import add_months, calendar_windows

from .fakes import FakeConnector, stored_item

JAN_31 = datetime(2025, 1, 31, 12, tzinfo=UTC)


def test_windows_from_a_month_end_stay_within_three_calendar_months():
    # 31 January + 3 months is 30 April; chaining from each window's own end keeps every window legal.
    windows = calendar_windows(JAN_31, datetime(2026, 1, 31, 12, tzinfo=UTC), 3)
    assert [(start.date().isoformat(), end.date().isoformat()) for start, end in windows] == [
        ("2025-01-31", "2025-04-30"),
        ("2025-04-30", "2025-07-30"),
        ("2025-07-30", "2025-10-30"),
        ("2025-10-30", "2026-01-30"),
        ("2026-01-30", "2026-01-31"),
    ]


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)),
    months=st.integers(min_value=1, max_value=12),
)
def test_windows_cover_the_interval_exactly_and_each_is_within_the_limit(start, length, months):
    end = start + length
    windows = calendar_windows(start, end, months)
    assert windows[0][0] == start
    assert windows[-1][1] == end
    assert all(left[1] == right[0] for left, right in pairwise(windows))
    assert all(low < high <= add_months(low, months) for low, high in windows) or windows == [(start, end)]


class DatedMemberships:
    """A server that filters memberships by CreatedUtc/UpdatedUtc as Mews does, refusing long intervals."""

    def __init__(self, count: int, first: datetime, step: timedelta) -> None:
        self.items = [
            stored_item(
                "loyalty_memberships",
                n,
                _created=first + n * step,
                _updated=first + n * step + timedelta(days=40),
            )
            for n in range(count)
        ]
        self.windows: list[tuple[str, dict[str, str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        selected = self.items
        for name, stamp in (("CreatedUtc", "_created"), ("UpdatedUtc", "_updated")):
            if body.get(name):
                low, high = (datetime.fromisoformat(body[name][end]) for end in ("StartUtc", "EndUtc"))
                if high > add_months(low, 3):
                    return httpx.Response(400, json={"Message": f"{name} is too long."})
                self.windows.append((name, body[name]))
                selected = [item for item in selected if low <= item[stamp] < high]
        start = 0
        cursor = body["Limitation"].get("Cursor")
        if cursor:
            start = next(i for i, item in enumerate(selected) if item["Id"] == cursor) + 1
        page = selected[start : start + body["Limitation"]["Count"]]
        wire = [{k: v for k, v in item.items() if not k.startswith("_")} for item in page]
        return httpx.Response(
            200, json={"LoyaltyMemberships": wire, "Cursor": page[-1]["Id"] if page else None}
        )


@pytest.mark.parametrize(
    "interval",
    [
        (JAN_31, JAN_31 + timedelta(days=365)),
        {"StartUtc": "2025-01-31T12:00:00Z", "EndUtc": "2026-01-31T12:00:00Z"},
        TimeFilterInterval(start_utc=JAN_31, end_utc=JAN_31 + timedelta(days=365)),
    ],
    ids=["tuple", "wire-dict", "attrs-model"],
)
def test_a_year_comes_back_once_each_in_window_order(make_client, interval):
    server = DatedMemberships(60, JAN_31 - timedelta(days=20), timedelta(days=7))  # spills over both ends
    client = make_client(FakeConnector(), transport=httpx.MockTransport(server.handle))
    walked = [m.id for m in client.loyalty_memberships.iter_all(created_utc=interval, page_size=4)]
    expected = [
        item["Id"] for item in server.items if JAN_31 <= item["_created"] < JAN_31 + timedelta(days=365)
    ]
    assert [str(identifier) for identifier in walked] == expected
    distinct = list(dict.fromkeys(tuple(window.values()) for _, window in server.windows))
    assert len(distinct) == 5


def test_two_long_intervals_walk_every_pair_of_windows(make_client):
    # An item matches one window of each filter, so walking every pair still yields it exactly once.
    server = DatedMemberships(60, JAN_31, timedelta(days=7))
    client = make_client(FakeConnector(), transport=httpx.MockTransport(server.handle))
    year = (JAN_31, JAN_31 + timedelta(days=365))
    walked = [str(m.id) for m in client.loyalty_memberships.iter_all(created_utc=year, updated_utc=year)]
    expected = [
        item["Id"]
        for item in server.items
        if item["_created"] < year[1] and item["_updated"] < year[1] and item["_updated"] >= year[0]
    ]
    assert walked == expected
    assert len(walked) == len(set(walked))


def test_an_interval_within_the_limit_is_one_walk_as_before(make_client):
    server = DatedMemberships(5, JAN_31, timedelta(days=1))
    client = make_client(FakeConnector(), transport=httpx.MockTransport(server.handle))
    assert len(list(client.loyalty_memberships.iter_all(created_utc=(JAN_31, add_months(JAN_31, 3))))) == 5
    assert len(server.windows) == 1


def test_get_all_still_refuses_a_long_interval_and_a_bad_window_is_refused_before_sending(make_client):
    server = FakeConnector()
    memberships = make_client(server).loyalty_memberships
    with pytest.raises(RequestValidationError, match="CreatedUtc"):
        memberships.get_all(created_utc=(JAN_31, JAN_31 + timedelta(days=365)))
    with pytest.raises(RequestValidationError, match="AccountIds"):  # every window validated up front
        memberships.iter_all(created_utc=(JAN_31, JAN_31 + timedelta(days=365)), account_ids=["nope"])
    assert server.requests == []


@pytest.mark.anyio
async def test_the_async_client_walks_the_same_windows(make_async_client):
    server = DatedMemberships(40, JAN_31, timedelta(days=9))
    client = make_async_client(FakeConnector(), transport=httpx.MockTransport(server.handle))
    year = (JAN_31, JAN_31 + timedelta(days=365))
    walked = [str(m.id) async for m in client.loyalty_memberships.iter_all(created_utc=year, page_size=3)]
    assert walked == [item["Id"] for item in server.items if item["_created"] < year[1]]
    assert len({tuple(window.values()) for _, window in server.windows}) == 5
