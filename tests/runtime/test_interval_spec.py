"""Interval ends are what the spec's ``x-interval`` names, for the SDK and the mock alike.

The shipped spec names them ``StartUtc`` and ``EndUtc``; the copy below names them ``Since`` and
``Until`` and lists them as required end first, so any rule that guessed the ends (the two required
properties, in order) would send windows backwards. The whole path runs over the copy: the SDK's
tuple arguments, its 3-month check and its windowed ``iter_all``, and the mock's filtering and
refusals, over a real socket.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Annotated

import httpx
import pytest
from pydantic import MISSING, AwareDatetime, BaseModel, ConfigDict, Field

from mews_loyalty import RequestValidationError
from mews_loyalty._generated.connector.models import LoyaltyMembershipFilterParameters
from mews_loyalty._spec import catalog as _spec
from mews_loyalty._spec.catalog import Catalog, Interval, build_catalog, load_document
from mews_loyalty._wire import formats as _formats

from .mock_server import KINDS, MockServers, membership, program

GET_ALL = "loyaltyMemberships_getAll"


class Window(BaseModel):
    """What the model generator would make of the renamed interval (a stand-in for regeneration)."""

    model_config = ConfigDict(extra="forbid")
    since: Annotated[AwareDatetime, Field(alias="Since")]
    until: Annotated[AwareDatetime, Field(alias="Until")]


class WindowedFilter(LoyaltyMembershipFilterParameters):
    created_utc: Annotated[Window | MISSING | None, Field(alias="CreatedUtc")] = MISSING
    updated_utc: Annotated[Window | MISSING | None, Field(alias="UpdatedUtc")] = MISSING


def renamed_document() -> dict[str, object]:
    document = copy.deepcopy(dict(load_document("connector")))
    interval = document["components"]["schemas"]["TimeFilterInterval"]
    ends = interval["properties"]
    interval["properties"] = {"Since": ends["StartUtc"], "Until": ends["EndUtc"]}
    interval["required"] = ["Until", "Since"]
    interval["x-interval"] = {"start": "Since", "end": "Until"}
    return document


@pytest.fixture
def renamed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    """The copy's catalog, seen by every module of the SDK and the mock that reads the catalog."""
    built = build_catalog("connector", renamed_document())
    edited = Catalog(
        api="connector",
        document=built.document,
        operations=tuple(
            replace(op, request_model=WindowedFilter) if op.operation_id == GET_ALL else op
            for op in built.operations
        ),
    )
    real = _spec.catalog
    for module in list(sys.modules.values()):
        if module is _spec or not module.__name__.startswith("mews_loyalty"):
            continue
        if getattr(module, "catalog", None) is real:
            monkeypatch.setattr(module, "catalog", lambda api: edited if api == "connector" else real(api))
    _formats._request_checker.cache_clear()  # format paths are cached per request schema
    yield edited
    _formats._request_checker.cache_clear()


@pytest.fixture
def mocks(fake_time):
    with MockServers(fake_time) as servers:
        yield servers


def test_the_catalog_reads_the_ends_the_spec_names(renamed):
    assert renamed.by_id[GET_ALL].intervals["CreatedUtc"] == Interval("CreatedUtc", "Since", "Until", 3)
    shipped = _spec.catalog("connector").by_id[GET_ALL].intervals
    assert shipped["UpdatedUtc"] == Interval("UpdatedUtc", "StartUtc", "EndUtc", 3)


@pytest.mark.parametrize("kind", KINDS)
def test_a_year_walks_windows_named_as_the_spec_says_and_the_mock_filters_by_them(
    renamed, mocks, fake_time, kind
):
    server = mocks.start(now=lambda: datetime.fromtimestamp(fake_time.now, UTC))
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    start = datetime.fromtimestamp(fake_time.now, UTC)
    created = []
    for month in range(15):  # two memberships every 28 days, spread over more than a year
        added = client.loyalty_memberships.add([membership(club.id, month * 10 + n) for n in range(2)])
        created += [(item.id, datetime.fromtimestamp(fake_time.now, UTC)) for item in added]
        fake_time.now += 28 * 86400
    end = start + timedelta(days=366)
    inside = [identifier for identifier, moment in created if start <= moment < end]
    assert 0 < len(inside) < len(created)
    server.log.clear()

    walked = [item.id for item in client.loyalty_memberships.iter_all(created_utc=(start, end), page_size=5)]
    assert sorted(walked) == sorted(inside)
    assert len(walked) == len(set(walked))
    seen = server.log.of(GET_ALL)
    assert {entry.status for entry in seen} == {200}
    windows = list(
        dict.fromkeys((s.body["CreatedUtc"]["Since"], s.body["CreatedUtc"]["Until"]) for s in seen)
    )
    assert len(windows) == 5
    assert datetime.fromisoformat(windows[0][0]) == start
    assert datetime.fromisoformat(windows[-1][1]) == end
    assert all(left[1] == right[0] for left, right in pairwise(windows))
    assert all(since < until for since, until in windows)


def test_the_sdk_refuses_a_long_interval_by_the_spec_s_ends_before_sending(renamed, mocks):
    server = mocks.start()
    memberships = server.client("sync").loyalty_memberships
    start = datetime(2025, 1, 31, tzinfo=UTC)
    with pytest.raises(RequestValidationError, match=r"UpdatedUtc.*longer than 3 months"):
        memberships.get_all(updated_utc={"Since": start, "Until": start + timedelta(days=120)})
    with pytest.raises(RequestValidationError, match="CreatedUtc"):  # the old names are not the spec's
        memberships.get_all(created_utc={"StartUtc": start, "EndUtc": start + timedelta(days=1)})
    assert server.log.of() == []
    assert list(memberships.get_all(created_utc=(start, datetime(2025, 4, 30, tzinfo=UTC)))) == []


def test_the_mock_refuses_reversed_and_long_intervals_naming_the_spec_s_ends(renamed, mocks):
    server = mocks.start()
    op = renamed.by_id[GET_ALL]

    def get_all(interval: dict[str, str]) -> httpx.Response:
        body = {
            "ClientToken": server.client_token,
            "AccessToken": server.access_token,
            "Client": "interval tests 1.0",
            "Limitation": {"Count": 10},
            "CreatedUtc": interval,
        }
        return httpx.post(server.base_url + op.path, json=body)

    reversed_ = get_all({"Since": "2025-02-01T00:00:00Z", "Until": "2025-01-01T00:00:00Z"})
    assert reversed_.status_code == 403
    assert reversed_.json()["Message"] == "Invalid CreatedUtc: Since is later than Until."
    long = get_all({"Since": "2025-01-01T00:00:00Z", "Until": "2025-06-01T00:00:00Z"})
    assert long.status_code == 403
    assert "at most 3 months" in long.json()["Message"]
    assert get_all({"Since": "2025-01-01T00:00:00Z", "Until": "2025-03-01T00:00:00Z"}).status_code == 200
    assert get_all({"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-03-01T00:00:00Z"}).status_code == 400


def test_a_limit_on_a_property_that_is_no_interval_is_a_spec_error():
    document = renamed_document()
    filters = document["components"]["schemas"]["LoyaltyMembershipFilterParameters"]
    filters["properties"]["AccountIds"]["x-max-interval-in-months"] = 3
    with pytest.raises(ValueError, match="AccountIds: x-max-interval-in-months"):
        build_catalog("connector", document)


def test_x_interval_must_name_two_properties_of_the_interval():
    document = renamed_document()
    document["components"]["schemas"]["TimeFilterInterval"]["x-interval"] = {"start": "Since", "end": "To"}
    with pytest.raises(ValueError, match="x-interval"):
        build_catalog("connector", document)
