"""Update values: absent or null keeps a field, {"Value": x} sets it, {"Value": null} clears it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mock.conftest import ConnectorApi, FakeTime

FULL = {
    "State": "Pending",
    "MembershipNumber": "MBR-2025-AX49ZT73",
    "Points": 22,
    "ExpirationDate": "2029-12-24",
    "Url": "https://rewards.example.com/member/PRV-MBR-9842XKLT",
}


def added_membership(api: ConnectorApi, **fields: Any) -> dict[str, Any]:
    program_id = api.add_program()
    tier_id = api.add_tier(program_id)
    return api.add_memberships(program_id, 1, LoyaltyTierId=tier_id, **{**FULL, **fields})[0]


def update(api: ConnectorApi, membership_id: str, **changes: Any) -> dict[str, Any]:
    body = api.ok(
        "loyaltyMemberships_update",
        LoyaltyMembershipUpdates=[{"LoyaltyMembershipId": membership_id, **changes}],
    )
    return body["LoyaltyMemberships"][0]


def listed(api: ConnectorApi, membership_id: str) -> dict[str, Any]:
    page = api.ok("loyaltyMemberships_getAll", LoyaltyMembershipIds=[membership_id], Limitation={"Count": 1})
    return page["LoyaltyMemberships"][0]


KEPT = [
    "State",
    "Code",
    "MembershipNumber",
    "Points",
    "ExpirationDate",
    "Url",
    "LoyaltyTierId",
    "LoyaltyProgramId",
]


@pytest.mark.parametrize("form", ["absent", "null"])
def test_an_absent_or_null_update_value_keeps_every_field(api: ConnectorApi, form: str):
    # Mews documents both spellings as "keep": a client that sends nulls for untouched fields
    # must not wipe them.
    before = added_membership(api)
    changes = {} if form == "absent" else dict.fromkeys(KEPT)
    after = update(api, before["Id"], **changes)
    assert {name: after[name] for name in KEPT} == {name: before[name] for name in KEPT}
    assert listed(api, before["Id"]) == after


def test_a_value_sets_each_field(api: ConnectorApi):
    # Every wrapper kind of the spec (guid, state, boolean, string, int32, date-time, url, tier).
    before = added_membership(api)
    program_id = before["LoyaltyProgramId"]
    other_tier = api.add_tier(program_id, "Platinum", 2)
    after = update(
        api,
        before["Id"],
        LoyaltyProgramId={"Value": program_id},
        State={"Value": "Canceled"},
        IsPrimary={"Value": False},
        MembershipNumber={"Value": "MBR-2026-NEW"},
        ProviderMembershipId={"Value": "PRV-MBR-2"},
        Points={"Value": 42},
        ExpirationDate={"Value": "2038-01-19T05:14:07+02:00"},
        Url={"Value": "https://final-rewards.example.com/member/2"},
        LoyaltyTierId={"Value": other_tier},
    )
    assert after == {
        **before,
        "State": "Canceled",
        "IsPrimary": False,
        "Code": "MBR-2026-NEW",
        "MembershipNumber": "MBR-2026-NEW",
        "ProviderMembershipId": "PRV-MBR-2",
        "Points": 42,
        "ExpirationDate": "2038-01-19T03:14:07Z",  # stored in UTC
        "Url": "https://final-rewards.example.com/member/2",
        "LoyaltyTierId": other_tier,
    }
    assert listed(api, before["Id"]) == after


@pytest.mark.parametrize(
    "field",
    ["MembershipNumber", "Code", "ProviderMembershipId", "Points", "ExpirationDate", "Url", "LoyaltyTierId"],
)
def test_a_null_value_clears_a_nullable_field(api: ConnectorApi, field: str):
    # {"Value": null} is the only way to empty a field; the others must stay.
    before = update(api, added_membership(api)["Id"], ProviderMembershipId={"Value": "PRV-MBR-1"})
    after = update(api, before["Id"], **{field: {"Value": None}})
    cleared = {"MembershipNumber", "Code"} if field in {"MembershipNumber", "Code"} else {field}
    assert {name for name in after if after[name] != before[name] and name != "UpdaterProfile"} == cleared
    assert all(after[name] is None for name in cleared)


@pytest.mark.parametrize("field", ["State", "IsPrimary", "LoyaltyProgramId"])
def test_a_null_value_cannot_clear_a_required_field(api: ConnectorApi, field: str):
    # The spec's non-nullable wrappers reject {"Value": null}: a membership always has a state.
    before = added_membership(api)
    changes = {"LoyaltyMembershipUpdates": [{"LoyaltyMembershipId": before["Id"], field: {"Value": None}}]}
    assert api.error("loyaltyMemberships_update", 400, changes).startswith("Invalid LoyaltyMembershipUpdates")


def test_code_is_the_former_name_of_membership_number(api: ConnectorApi):
    # Both names write the same value; old clients send Code, new ones MembershipNumber.
    before = added_membership(api)
    after = update(api, before["Id"], Code={"Value": "OLD-NAME"})
    assert (after["Code"], after["MembershipNumber"]) == ("OLD-NAME", "OLD-NAME")
    same = update(api, before["Id"], Code={"Value": "BOTH"}, MembershipNumber={"Value": "BOTH"})
    assert same["MembershipNumber"] == "BOTH"


def test_different_code_and_membership_number_are_refused(api: ConnectorApi):
    # Silently picking one of two conflicting numbers would lose the caller's intent.
    before = added_membership(api)
    message = api.error(
        "loyaltyMemberships_update",
        403,
        LoyaltyMembershipUpdates=[
            {"LoyaltyMembershipId": before["Id"], "Code": {"Value": "A"}, "MembershipNumber": {"Value": "B"}}
        ],
    )
    assert "Code" in message
    assert listed(api, before["Id"]) == before


def test_a_tier_of_another_program_is_refused(api: ConnectorApi):
    # A membership's tier belongs to its program; moving program without the tier breaks that.
    before = added_membership(api)
    other_program = api.add_program("Gold Exclusive Club", "GEC07")
    message = api.error(
        "loyaltyMemberships_update",
        403,
        LoyaltyMembershipUpdates=[
            {"LoyaltyMembershipId": before["Id"], "LoyaltyProgramId": {"Value": other_program}}
        ],
    )
    assert "LoyaltyTierId" in message
    moved = update(
        api, before["Id"], LoyaltyProgramId={"Value": other_program}, LoyaltyTierId={"Value": None}
    )
    assert (moved["LoyaltyProgramId"], moved["LoyaltyTierId"]) == (other_program, None)


def test_a_failing_item_leaves_the_whole_batch_unapplied(api: ConnectorApi):
    # Writes are all-or-nothing, so a client can retry a failed batch as it was.
    before = added_membership(api)
    api.error(
        "loyaltyMemberships_update",
        400,
        LoyaltyMembershipUpdates=[
            {"LoyaltyMembershipId": before["Id"], "Points": {"Value": 1}},
            {"LoyaltyMembershipId": "0b6f4a2e-3a8e-4c55-9f0c-3d1f6a6b9e10", "Points": {"Value": 2}},
        ],
    )
    assert listed(api, before["Id"])["Points"] == before["Points"]


def test_an_update_records_the_updater_and_the_time(api: ConnectorApi, clock: FakeTime):
    # UpdatedUtc filters find changed records: the update must move the record's change time.
    before = added_membership(api)
    assert before["CreatorProfile"] == {"Discriminator": "Integration", "EnterpriseProfile": None}
    clock.advance(3600)
    changed_at = clock.moment
    update(api, before["Id"], Points={"Value": 5})
    window = {"StartUtc": changed_at.isoformat(), "EndUtc": changed_at.isoformat()}
    found = api.ok("loyaltyMemberships_getAll", UpdatedUtc=window, Limitation={"Count": 10})[
        "LoyaltyMemberships"
    ]
    assert [item["Id"] for item in found] == [before["Id"]]
    assert found[0]["UpdaterProfile"] == {"Discriminator": "Integration", "EnterpriseProfile": None}


def test_program_and_tier_updates_use_the_same_wrappers(api: ConnectorApi):
    # The wrappers are generic: programs and tiers keep, set and refuse null the same way.
    program_id = api.add_program()
    tier_id = api.add_tier(program_id, "Gold", 1)
    program = api.ok(
        "loyaltyPrograms_update",
        LoyaltyProgramUpdates=[
            {"LoyaltyProgramId": program_id, "Name": {"Value": "Platinum Club Extra"}, "Type": None}
        ],
    )["LoyaltyPrograms"][0]
    assert (program["Name"], program["Type"], program["Code"]) == ("Platinum Club Extra", "Hotel", "PC01")
    tier = api.ok(
        "loyaltyTiers_update", LoyaltyTierUpdates=[{"LoyaltyTierId": tier_id, "Ordering": {"Value": 7}}]
    )["LoyaltyTiers"][0]
    assert (tier["Name"], tier["Ordering"]) == ("Gold", 7)
    api.error(
        "loyaltyTiers_update", 400, LoyaltyTierUpdates=[{"LoyaltyTierId": tier_id, "Name": {"Value": None}}]
    )
