"""Cursor paging of getAll: newest first, every record exactly once, and a clear end."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.mock.conftest import ConnectorApi


def test_walking_2500_memberships_returns_each_once_newest_first(api: ConnectorApi):
    # The scenario integrators run nightly: add in batches, then page through everything. A cursor
    # off by one would skip or repeat a membership at every page boundary.
    program_id = api.add_program()
    added = api.add_memberships(program_id, 2500)
    walked = api.all_pages("loyaltyMemberships_getAll", 100)
    assert [item["Id"] for item in walked] == [item["Id"] for item in reversed(added)]
    assert max(Counter(item["Id"] for item in walked).values()) == 1


@pytest.mark.parametrize("count", [1, 7, 1000])
def test_any_page_size_walks_the_same_records(api: ConnectorApi, count: int):
    # Page sizes that do not divide the total leave a short last page; a full last page is
    # followed by an empty one with a null cursor, as Mews documents.
    program_id = api.add_program()
    added = api.add_memberships(program_id, 21)
    walked = api.all_pages("loyaltyMemberships_getAll", count)
    assert [item["Id"] for item in walked] == [item["Id"] for item in reversed(added)]


def test_the_cursor_is_the_oldest_item_and_the_next_page_is_strictly_older(api: ConnectorApi):
    # Records added after a walk started are newer than the cursor, so they must not appear on
    # later pages of that walk (no duplicates, no surprises mid-walk).
    program_id = api.add_program()
    api.add_memberships(program_id, 5)
    first = api.ok("loyaltyMemberships_getAll", Limitation={"Count": 2})
    api.add_memberships(program_id, 3)
    rest = api.ok("loyaltyMemberships_getAll", Limitation={"Count": 1000, "Cursor": first["Cursor"]})
    assert first["Cursor"] == first["LoyaltyMemberships"][-1]["Id"]
    assert len(rest["LoyaltyMemberships"]) == 3
    assert not {m["Id"] for m in rest["LoyaltyMemberships"]} & {m["Id"] for m in first["LoyaltyMemberships"]}


def test_an_empty_list_has_a_null_cursor(api: ConnectorApi):
    # "Cursor is null only when no item was returned": clients stop on it.
    assert api.ok("loyaltyMemberships_getAll", Limitation={"Count": 10}) == {
        "LoyaltyMemberships": [],
        "Cursor": None,
    }


def test_a_cursor_that_names_nothing_is_refused(api: ConnectorApi):
    # A made-up cursor is a client bug; answering an empty page would hide it.
    message = api.error(
        "loyaltyMemberships_getAll",
        400,
        Limitation={"Count": 10, "Cursor": "0b6f4a2e-3a8e-4c55-9f0c-3d1f6a6b9e10"},
    )
    assert message.startswith("Invalid Limitation")


@pytest.mark.parametrize("count", [0, 1001])
def test_a_page_size_outside_1_to_1000_is_invalid_limitation(api: ConnectorApi, count: int):
    # Mews' own wording for this mistake is "Invalid Limitation".
    assert api.error("loyaltyMemberships_getAll", 400, Limitation={"Count": count}).startswith(
        "Invalid Limitation"
    )


def test_paging_with_a_filter_walks_only_matching_records(api: ConnectorApi):
    # Filters and cursors combine: each page holds only matching records and the walk still ends.
    program_id = api.add_program()
    other_id = api.add_program("Gold Exclusive Club", "GEC07")
    ours = api.add_memberships(program_id, 30)
    api.add_memberships(other_id, 30)
    walked = api.all_pages("loyaltyMemberships_getAll", 4, LoyaltyProgramIds=[program_id])
    assert [item["Id"] for item in walked] == [item["Id"] for item in reversed(ours)]


def test_paging_by_ids_keeps_newest_first_order(api: ConnectorApi):
    # An id filter is answered from the index, not a scan; the order must still be by creation.
    program_id = api.add_program()
    added = api.add_memberships(program_id, 10)
    wanted = [added[2]["Id"], added[7]["Id"], added[4]["Id"]]
    walked = api.all_pages("loyaltyMemberships_getAll", 2, LoyaltyMembershipIds=wanted)
    assert [item["Id"] for item in walked] == [added[7]["Id"], added[4]["Id"], added[2]["Id"]]
