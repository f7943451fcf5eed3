"""--seed-data: a small, realistic data set that is the same every time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson

from mews_loyalty.mock.connector import DEMO_CHAIN_ID
from mews_loyalty.mock.connector.rules import build_store
from mews_loyalty.mock.connector.seed import (
    DOCUMENTED_MEMBERSHIP_ID,
    GOLD_EXCLUSIVE_CLUB_ID,
    PLATINUM_CLUB_ID,
    seed,
)
from tests.mock.conftest import ConnectorApi, spec_errors

ANCHOR = datetime(2025, 11, 4, 12, 0, tzinfo=UTC)
ITEM_SCHEMAS = {
    "loyalty_programs": "LoyaltyProgram",
    "loyalty_tiers": "LoyaltyTier",
    "loyalty_memberships": "LoyaltyMembership",
}


def dump(memberships: int = 300, *, minimal: bool = False) -> dict[str, list[tuple[bytes, int, int, bool]]]:
    store = build_store()
    seed(store, chain_id=DEMO_CHAIN_ID, anchor=ANCHOR, memberships=memberships, minimal=minimal)
    return {
        name: [(r.json, r.created_us, r.updated_us, r.deleted) for r in store[name].newest_first()]
        for name in ITEM_SCHEMAS
    }


def test_the_same_anchor_gives_the_same_data():
    # QA scripts and bug reports refer to seeded records by id; they must not change between runs.
    assert dump() == dump()


def test_minimal_memberships_hold_only_what_the_spec_requires():
    # --seed-minimal (for benchmarks): the smallest valid records, and the same ones every time.
    data = dump(minimal=True)
    assert data == dump(minimal=True)
    memberships = [orjson.loads(row[0]) for row in data["loyalty_memberships"]]
    assert len(memberships) == 300
    minimal = [
        m for m in memberships if m["Id"] != DOCUMENTED_MEMBERSHIP_ID and m.get("MembershipNumber") is None
    ]
    assert len(minimal) >= 290  # all but the documented memberships
    for membership in minimal:
        assert spec_errors("LoyaltyMembership", membership) == []
        assert {name for name, value in membership.items() if value is not None} == {
            "Id",
            "ChainId",
            "AccountId",
            "LoyaltyProgramId",
            "State",
            "IsPrimary",
        }
        assert membership["CreatorProfile"] is None
        assert membership["UpdaterProfile"] is None


def test_the_data_set_is_small_realistic_and_valid():
    # A chain with the two documented programs, their tiers and a few hundred memberships in
    # every state, some deleted; every record is a valid item of the spec.
    data = dump()
    assert [len(data[name]) for name in ITEM_SCHEMAS] == [2, 5, 300]
    records = {name: [orjson.loads(row[0]) for row in rows] for name, rows in data.items()}
    for name, items in records.items():
        for item in items:
            assert spec_errors(ITEM_SCHEMAS[name], item) == []
    memberships = records["loyalty_memberships"]
    assert Counter(m["State"] for m in memberships).keys() == {
        "New",
        "Pending",
        "Enrolled",
        "Canceled",
        "Declined",
    }
    assert {m["LoyaltyProgramId"] for m in memberships} == {PLATINUM_CLUB_ID, GOLD_EXCLUSIVE_CLUB_ID}
    tiers = {t["Id"]: t["LoyaltyProgramId"] for t in records["loyalty_tiers"]}
    assert all(tiers[m["LoyaltyTierId"]] == m["LoyaltyProgramId"] for m in memberships if m["LoyaltyTierId"])
    assert 0 < sum(row[3] for row in data["loyalty_memberships"]) < 30
    assert len({m["Id"] for m in memberships}) == 300


def test_seeded_records_answer_through_the_api(seeded_api: ConnectorApi):
    # The documented ids work against --seed-data, so the docs' examples find their records.
    page = seeded_api.ok(
        "loyaltyMemberships_getAll", LoyaltyMembershipIds=[DOCUMENTED_MEMBERSHIP_ID], Limitation={"Count": 1}
    )
    assert page["LoyaltyMemberships"][0]["MembershipNumber"] == "MBR-2025-AX49ZT73"
    everything = seeded_api.all_pages("loyaltyMemberships_getAll", 1000, ActivityStates=["Active", "Deleted"])
    assert len(everything) == 300
    assert seeded_api.error("loyaltyPrograms_delete", 403, LoyaltyProgramIds=[PLATINUM_CLUB_ID])
