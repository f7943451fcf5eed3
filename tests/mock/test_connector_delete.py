"""Soft delete: gone from the default listing, visible under ActivityStates, and guarded."""

from __future__ import annotations

import pytest

from tests.mock.conftest import CONNECTOR, ConnectorApi

UNKNOWN_ID = "0b6f4a2e-3a8e-4c55-9f0c-3d1f6a6b9e10"


def ids(api: ConnectorApi, operation_id: str, **filters: object) -> list[str]:
    page = api.ok(operation_id, Limitation={"Count": 1000}, **filters)
    return [item["Id"] for item in page[str(CONNECTOR.by_id[operation_id].page_items)]]


def test_a_deleted_membership_is_listed_only_under_deleted(api: ConnectorApi):
    # The default listing hides deleted records (the spec: absent ActivityStates = active only),
    # yet a sync job asking for Deleted must still learn about them.
    program_id = api.add_program()
    kept, gone = (item["Id"] for item in api.add_memberships(program_id, 2))
    assert api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=[gone]) == {}
    assert ids(api, "loyaltyMemberships_getAll") == [kept]
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=None) == [kept]
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=["Active"]) == [kept]
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=["Deleted"]) == [gone]
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=["Active", "Deleted"]) == [gone, kept]
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=[]) == []


def test_deleting_twice_succeeds_so_a_retried_delete_is_safe(api: ConnectorApi):
    # A delete retried after a timeout must not turn into an error.
    program_id = api.add_program()
    membership_id = api.add_memberships(program_id, 1)[0]["Id"]
    api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=[membership_id])
    api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=[membership_id])
    assert ids(api, "loyaltyMemberships_getAll", ActivityStates=["Deleted"]) == [membership_id]


@pytest.mark.parametrize(
    "operation_id", ["loyaltyMemberships_delete", "loyaltyPrograms_delete", "loyaltyTiers_delete"]
)
def test_deleting_an_unknown_id_is_refused_and_deletes_nothing(api: ConnectorApi, operation_id: str):
    # All-or-nothing: one bad id in a batch leaves the good ones alone.
    program_id = api.add_program()
    known = {
        "loyaltyMemberships_delete": lambda: api.add_memberships(program_id, 1)[0]["Id"],
        "loyaltyPrograms_delete": lambda: api.add_program("Other", "OT1"),
        "loyaltyTiers_delete": lambda: api.add_tier(program_id),
    }[operation_id]()
    batch_field = str(CONNECTOR.by_id[operation_id].batch_field)
    message = api.error(operation_id, 400, **{batch_field: [known, UNKNOWN_ID]})
    assert message.startswith(f"Invalid {batch_field}[1]")
    get_all = operation_id.replace("_delete", "_getAll")
    filters = {"LoyaltyProgramIds": [program_id]} if get_all == "loyaltyTiers_getAll" else {}
    assert known in ids(api, get_all, **filters)


def test_a_program_with_active_memberships_cannot_be_deleted(api: ConnectorApi):
    # The one deletion rule Mews documents; deleting the memberships first makes it possible.
    program_id = api.add_program()
    memberships = [item["Id"] for item in api.add_memberships(program_id, 2)]
    message = api.error("loyaltyPrograms_delete", 403, LoyaltyProgramIds=[program_id])
    assert "2 active loyalty memberships" in message
    api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=memberships[:1])
    assert "1 active loyalty membership;" in api.error(
        "loyaltyPrograms_delete", 403, LoyaltyProgramIds=[program_id]
    )
    api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=memberships[1:])
    api.ok("loyaltyPrograms_delete", LoyaltyProgramIds=[program_id])
    assert ids(api, "loyaltyPrograms_getAll", ActivityStates=["Deleted"]) == [program_id]


def test_moving_memberships_away_frees_their_program(api: ConnectorApi):
    # The count of active memberships follows updates, not only adds and deletes.
    program_id = api.add_program()
    other_id = api.add_program("Gold Exclusive Club", "GEC07")
    membership_id = api.add_memberships(program_id, 1)[0]["Id"]
    api.ok(
        "loyaltyMemberships_update",
        LoyaltyMembershipUpdates=[
            {"LoyaltyMembershipId": membership_id, "LoyaltyProgramId": {"Value": other_id}}
        ],
    )
    api.ok("loyaltyPrograms_delete", LoyaltyProgramIds=[program_id])
    api.error("loyaltyPrograms_delete", 403, LoyaltyProgramIds=[other_id])


def test_deleted_records_cannot_be_referenced_or_updated(api: ConnectorApi):
    # A deleted program or tier is not there for new memberships; a deleted membership stays as it was.
    program_id = api.add_program()
    tier_id = api.add_tier(program_id)
    membership_id = api.add_memberships(program_id, 1)[0]["Id"]
    api.ok("loyaltyTiers_delete", LoyaltyTierIds=[tier_id])
    message = api.error(
        "loyaltyMemberships_add",
        400,
        LoyaltyMemberships=[
            {
                "AccountId": UNKNOWN_ID,
                "LoyaltyProgramId": program_id,
                "IsPrimary": True,
                "LoyaltyTierId": tier_id,
            }
        ],
    )
    assert "LoyaltyTierId" in message
    api.ok("loyaltyMemberships_delete", LoyaltyMembershipIds=[membership_id])
    api.error(
        "loyaltyMemberships_update",
        400,
        LoyaltyMembershipUpdates=[{"LoyaltyMembershipId": membership_id, "Points": {"Value": 1}}],
    )
    api.ok("loyaltyPrograms_delete", LoyaltyProgramIds=[program_id])
    api.error(
        "loyaltyMemberships_add",
        400,
        LoyaltyMemberships=[{"AccountId": UNKNOWN_ID, "LoyaltyProgramId": program_id, "IsPrimary": True}],
    )
