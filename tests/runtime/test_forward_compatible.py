"""Reads survive what a server adds tomorrow: new enum values and new properties, at any depth.

Mews adds enum values and properties without a version bump; an SDK that stopped on them would stop
every running integration at once. Unknown enum values are kept as their strings (known ones still
decode to their members) and logged once per operation, enum and value; unknown properties are ignored.
Requests stay strict: the SDK never sends a value the spec does not list.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from mews_loyalty import RequestValidationError, UnexpectedResponseError
from mews_loyalty._generated.connector.client.models import (
    LoyaltyMembershipState,
    LoyaltyProgramType,
    ProfileData,
    ProfileDataDiscriminator,
)
from mews_loyalty._generated.reverse.client.models import MembershipStatus
from mews_loyalty._wire import decode as _results

from .fakes import PROGRAM_ID, FakeConnector, membership_payload, seeded, stored_item

LOGGER = "mews_loyalty"


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # "Once" is per process; each test starts as a fresh process would.
    monkeypatch.setattr(_results, "_warned", set())


def unknown_value_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "spec lists" in r.message
    ]


def test_an_unknown_enum_value_is_kept_as_its_string_and_known_ones_stay_members(make_client, caplog):
    memberships = [stored_item("loyalty_memberships", n) for n in range(3)]
    memberships[1]["State"] = "Suspended"
    server = FakeConnector(items={"loyalty_memberships": memberships})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        read = list(make_client(server).loyalty_memberships.iter_all())
    assert [m.state for m in read] == ["Enrolled", "Suspended", "Enrolled"]
    assert read[0].state is LoyaltyMembershipState.ENROLLED
    assert read[1].state == "Suspended"
    assert type(read[1].state) is str
    assert read[1].to_dict()["State"] == "Suspended"  # and it goes back out as it came
    [warning] = unknown_value_warnings(caplog)
    assert "loyaltyMemberships_getAll" in warning
    assert "'Suspended' is not a LoyaltyMembershipState value" in warning


def test_each_unknown_value_is_logged_once_per_operation(make_client, caplog):
    # A page of a thousand suspended memberships is one warning, not a thousand; another operation
    # meeting the same value is news and warns again.
    programs = [stored_item("loyalty_programs", n, Type="Airline") for n in range(5)]
    server = FakeConnector(items={"loyalty_programs": programs})
    client = make_client(server)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert {p.type_ for p in client.loyalty_programs.iter_all(page_size=2)} == {"Airline"}
        assert len(client.loyalty_programs.get_all().items) == 5
        server.script("loyaltyPrograms_add", httpx.Response(200, json={"LoyaltyPrograms": programs[:1]}))
        added = client.loyalty_programs.add(
            [{"Name": "Air", "Code": "AIR", "Type": "Hotel", "Subscription": "Free"}]
        )
    assert added[0].type_ == "Airline"
    warnings = unknown_value_warnings(caplog)
    assert len(warnings) == 2
    assert "loyaltyPrograms_getAll" in warnings[0]
    assert "loyaltyPrograms_add" in warnings[1]


def test_unknown_values_and_properties_in_nested_objects_lists_and_nullable_fields(make_client):
    profile = {
        "Discriminator": "Robot",  # nested unknown enum value
        "EnterpriseProfile": {"ProfileId": PROGRAM_ID, "Team": "night shift"},  # nested unknown property
        "Avatar": {"Url": "https://x"},  # unknown property holding an object
    }
    member = stored_item(
        "loyalty_memberships",
        0,
        CreatorProfile=profile,
        UpdaterProfile={"Discriminator": "Enterprise", "EnterpriseProfile": None, "Extra": [1, 2]},
        LoyaltyTierId=None,
        Badges=["gold", {"Level": 3}],  # unknown top-level property holding a list
    )
    server = FakeConnector(items={"loyalty_memberships": [member]})
    [read] = make_client(server).loyalty_memberships.get_all().items
    assert isinstance(read.creator_profile, ProfileData)
    assert read.creator_profile.discriminator == "Robot"
    assert isinstance(read.updater_profile, ProfileData)
    assert read.updater_profile.discriminator is ProfileDataDiscriminator.ENTERPRISE
    assert read.loyalty_tier_id is None
    assert not hasattr(read, "badges")


def test_programs_tiers_and_the_page_envelope_tolerate_additions(make_client):
    programs = [stored_item("loyalty_programs", 0, Subscription="Lifetime", Region="EU")]
    server = FakeConnector(items={"loyalty_programs": programs})

    def page_with_extras(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"LoyaltyPrograms": programs, "Cursor": None, "TotalCount": 1})

    server.script("loyaltyPrograms_getAll", page_with_extras)
    [program] = make_client(server).loyalty_programs.get_all()
    assert program.subscription == "Lifetime"
    assert program.type_ is LoyaltyProgramType.HOTEL


def test_the_reverse_api_reads_tolerantly_too(make_reverse_client, provider):
    entry = {**membership_payload("M-1"), "status": "suspended", "tierColour": "gold"}
    provider.script("listMemberships", httpx.Response(200, json={"data": [entry, membership_payload("M-2")]}))
    found = make_reverse_client(provider).memberships.list_memberships(
        ["M-1", "M-2"], mews_enterprise_id=PROGRAM_ID
    )
    assert [m.status for m in found] == ["suspended", MembershipStatus.ENROLLED]
    assert found[1].status is MembershipStatus.ENROLLED


def test_a_value_of_the_wrong_json_type_still_fails_clearly(make_client):
    # Tolerance is for values a server may add (strings of a string enum), not for broken answers.
    server = FakeConnector(items={"loyalty_memberships": [stored_item("loyalty_memberships", 0, State=3)]})
    with pytest.raises(UnexpectedResponseError, match="LoyaltyMembershipState"):
        make_client(server).loyalty_memberships.get_all()


def test_requests_stay_strict_about_enum_values(make_client):
    server = FakeConnector(items=seeded(1))
    with pytest.raises(RequestValidationError, match="MembershipStates"):
        make_client(server).loyalty_memberships.get_all(membership_states=["Suspended"])
    with pytest.raises(RequestValidationError, match=r"LoyaltyMemberships\[0\]\.State"):
        make_client(server).loyalty_memberships.add(
            [
                {
                    "AccountId": PROGRAM_ID,
                    "LoyaltyProgramId": PROGRAM_ID,
                    "IsPrimary": True,
                    "State": "Suspended",
                }
            ]
        )
    assert server.requests == []
