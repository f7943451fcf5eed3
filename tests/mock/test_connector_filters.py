"""Every getAll filter of the spec, on records whose differences the filters must tell apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from mews_loyalty.mock.connector import DEMO_CHAIN_ID
from tests.mock.conftest import CONNECTOR, START, ConnectorApi, FakeTime

OTHER_CHAIN = "5fcd1933-22f2-40b9-84da-7db04cbecec2"
HOUR = timedelta(hours=1)
ACCOUNT_X, ACCOUNT_Y = "fadd5bb6-b428-45d5-94f8-fd0d89fece6d", "bccdafd1-3e44-439d-861f-341526b597a9"


def interval(start: datetime, end: datetime) -> dict[str, str]:
    return {
        "StartUtc": start.isoformat().replace("+00:00", "Z"),
        "EndUtc": end.isoformat().replace("+00:00", "Z"),
    }


@dataclass
class World:
    """Three memberships A, B, C created an hour apart (C changed later), in two programs with tiers."""

    ids: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


@pytest.fixture
def world(api: ConnectorApi, clock: FakeTime) -> World:
    p1 = api.add_program("Platinum Club", "PC01")
    clock.advance(3600)
    p2 = api.add_program("Gold Exclusive Club", "GEC07")
    t1 = api.add_tier(p1, "Platinum", 1)
    clock.advance(3600)
    t2 = api.add_tier(p1, "Silver", 2)
    clock.moment = START
    ids = {"P1": p1, "P2": p2, "T1": t1, "T2": t2}
    specs = {
        "A": {"AccountId": ACCOUNT_X, "LoyaltyProgramId": p1, "MembershipNumber": "N-A"},
        "B": {"AccountId": ACCOUNT_Y, "LoyaltyProgramId": p2, "State": "Pending", "Code": "N-B"},
        "C": {"AccountId": ACCOUNT_Y, "LoyaltyProgramId": p1, "State": "Canceled"},
    }
    for name, fields in specs.items():
        added = api.ok("loyaltyMemberships_add", LoyaltyMemberships=[{"IsPrimary": True, **fields}])
        ids[name] = added["LoyaltyMemberships"][0]["Id"]
        clock.advance(3600)
    api.ok(
        "loyaltyMemberships_update",
        LoyaltyMembershipUpdates=[
            {"LoyaltyMembershipId": ids["A"], "ProviderMembershipId": {"Value": "PA"}},
            {"LoyaltyMembershipId": ids["B"], "ProviderMembershipId": {"Value": "PB"}},
        ],
    )
    clock.advance(3600)  # START + 4h: C changes
    api.ok(
        "loyaltyMemberships_update",
        LoyaltyMembershipUpdates=[{"LoyaltyMembershipId": ids["C"], "Points": {"Value": 1}}],
    )
    return World(ids)


Case = tuple[str, Callable[[World], Any], list[str]]
MEMBERSHIP_CASES: list[Case] = [
    ("ChainIds", lambda w: [DEMO_CHAIN_ID], ["C", "B", "A"]),
    ("ChainIds", lambda w: [OTHER_CHAIN], []),
    ("LoyaltyMembershipIds", lambda w: [w["A"], w["C"]], ["C", "A"]),
    ("AccountIds", lambda w: [ACCOUNT_Y], ["C", "B"]),
    ("LoyaltyProgramIds", lambda w: [w["P1"]], ["C", "A"]),
    ("MembershipStates", lambda w: ["Pending", "Canceled"], ["C", "B"]),
    ("MembershipStates", lambda w: ["Enrolled"], ["A"]),  # the default state of an add
    ("ActivityStates", lambda w: ["Active"], ["C", "B", "A"]),
    ("Codes", lambda w: ["N-A", "N-B"], ["B", "A"]),  # Code and MembershipNumber are one value
    ("MembershipNumbers", lambda w: ["N-B"], ["B"]),
    ("ProviderMembershipIds", lambda w: ["PB", "nobody"], ["B"]),
    ("CreatedUtc", lambda w: interval(START, START + 2 * HOUR), ["B", "A"]),  # the end is exclusive
    ("CreatedUtc", lambda w: interval(START + HOUR, START + HOUR), ["B"]),  # equal ends: that instant
    ("CreatedUtc", lambda w: interval(START + HOUR / 2, START + HOUR / 2), []),
    ("UpdatedUtc", lambda w: interval(START + 3 * HOUR, START + 4 * HOUR), ["B", "A"]),
    ("UpdatedUtc", lambda w: interval(START + 4 * HOUR, START + 4 * HOUR), ["C"]),
]
PROGRAM_CASES: list[Case] = [
    ("ChainIds", lambda w: [DEMO_CHAIN_ID, OTHER_CHAIN], ["P2", "P1"]),
    ("LoyaltyProgramIds", lambda w: [w["P1"]], ["P1"]),
    ("Codes", lambda w: ["GEC07"], ["P2"]),
    ("ActivityStates", lambda w: ["Deleted"], []),
    ("CreatedUtc", lambda w: interval(START, START + HOUR), ["P1"]),
    ("UpdatedUtc", lambda w: interval(START + HOUR, START + 2 * HOUR), ["P2"]),
]
TIER_CASES: list[Case] = [
    ("LoyaltyProgramIds", lambda w: [w["P1"], w["P2"]], ["T2", "T1"]),
    ("LoyaltyProgramIds", lambda w: [w["P2"]], []),
    ("LoyaltyTierIds", lambda w: [w["T1"]], ["T1"]),
    ("ChainIds", lambda w: [OTHER_CHAIN], []),
    ("ActivityStates", lambda w: ["Active", "Deleted"], ["T2", "T1"]),
    ("UpdatedUtc", lambda w: interval(START + 2 * HOUR, START + 3 * HOUR), ["T2"]),
]
CASES = {
    "loyaltyMemberships_getAll": MEMBERSHIP_CASES,
    "loyaltyPrograms_getAll": PROGRAM_CASES,
    "loyaltyTiers_getAll": TIER_CASES,
}
PARAMS = [
    pytest.param(
        operation_id, name, value, expected, id=f"{operation_id}-{name}-{'+'.join(expected) or 'none'}"
    )
    for operation_id, cases in CASES.items()
    for name, value, expected in cases
]


@pytest.mark.parametrize(("operation_id", "name", "value", "expected"), PARAMS)
def test_a_filter_keeps_exactly_the_matching_records(
    api: ConnectorApi,
    world: World,
    operation_id: str,
    name: str,
    value: Callable[[World], Any],
    expected: list[str],
):
    # Each case separates records that differ in the filtered field only where it matters, so a
    # filter reading the wrong field, or an interval end on the wrong side, fails here.
    required = (
        {"LoyaltyProgramIds": [world["P1"], world["P2"]]} if operation_id == "loyaltyTiers_getAll" else {}
    )
    body = {**required, name: value(world), "Limitation": {"Count": 100}}
    items = api.ok(operation_id, body)[str(CONNECTOR.by_id[operation_id].page_items)]
    assert [item["Id"] for item in items] == [world[key] for key in expected]


@pytest.mark.parametrize("operation_id", list(CASES))
def test_every_filter_of_the_spec_is_tested(operation_id: str):
    # A filter added to the spec must get a case here (the mock refuses to start without a rule).
    assert {name for name, _, _ in CASES[operation_id]} == set(CONNECTOR.by_id[operation_id].filters)


def test_filters_combine_with_and(api: ConnectorApi, world: World):
    # Several filters narrow together: program P1 and account Y is only C.
    body = {"LoyaltyProgramIds": [world["P1"]], "AccountIds": [ACCOUNT_Y], "Limitation": {"Count": 100}}
    assert [item["Id"] for item in api.ok("loyaltyMemberships_getAll", body)["LoyaltyMemberships"]] == [
        world["C"]
    ]


@pytest.mark.parametrize(
    ("operation_id", "name"),
    [
        ("loyaltyMemberships_getAll", "CreatedUtc"),
        ("loyaltyMemberships_getAll", "UpdatedUtc"),
        ("loyaltyPrograms_getAll", "CreatedUtc"),
        ("loyaltyTiers_getAll", "UpdatedUtc"),
    ],
)
def test_an_interval_may_span_three_months_and_no_more(api: ConnectorApi, operation_id: str, name: str):
    # x-max-interval-in-months: 3 is Mews' limit; a schema cannot say it, so the mock must.
    required = (
        {"LoyaltyProgramIds": ["f701dafb-5765-4cf4-b1dd-1f602a740ae5"]} if "Tiers" in operation_id else {}
    )
    start = datetime.fromisoformat("2025-11-30T10:00:00+00:00")
    three_months = datetime.fromisoformat("2026-02-28T10:00:00+00:00")  # the 30th does not exist: month end
    api.ok(operation_id, {**required, name: interval(start, three_months), "Limitation": {"Count": 1}})
    message = api.error(
        operation_id,
        403,
        {
            **required,
            name: interval(start, three_months + timedelta(microseconds=1)),
            "Limitation": {"Count": 1},
        },
    )
    assert message == f"Invalid {name}: the interval may span at most 3 months."


def test_an_interval_that_ends_before_it_starts_is_refused(api: ConnectorApi):
    # An inverted interval selects nothing; saying so beats an empty page that looks like "no data".
    message = api.error(
        "loyaltyMemberships_getAll", 403, CreatedUtc=interval(START + HOUR, START), Limitation={"Count": 1}
    )
    assert "StartUtc is later than EndUtc" in message


def test_interval_ends_with_offsets_compare_as_instants(api: ConnectorApi, world: World):
    # 10:00+01:00 is 09:00Z: the filter compares instants, not the text.
    body = {"CreatedUtc": {"StartUtc": "2025-03-01T10:00:00+01:00", "EndUtc": "2025-03-01T10:00:00+01:00"}}
    items = api.ok("loyaltyMemberships_getAll", body, Limitation={"Count": 10})["LoyaltyMemberships"]
    assert [item["Id"] for item in items] == [world["A"]]
