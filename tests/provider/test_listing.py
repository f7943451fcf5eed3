"""``POST /memberships/list``: one entry per requested id, in request order, whatever the backend returns."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from mews_loyalty._spec.catalog import catalog
from mews_loyalty.provider import ListMembershipsResponse, Membership
from mews_loyalty.provider._backend import batch_lookup
from tests.provider._support import AUTH, LIST, MembershipsOnly, assert_conforms, list_body

pytestmark = pytest.mark.anyio


def member(membership_id: str, **fields: object) -> dict[str, object]:
    return {
        "providerMembershipId": membership_id,
        "membershipNumber": f"no-{membership_id}",
        "status": "enrolled",
    } | fields


class FixedBackend(MembershipsOnly):
    """Answers every lookup with the same entries, whatever was asked."""

    def __init__(self, entries: object) -> None:
        self.entries = entries

    def list_memberships(self, request):
        return self.entries

    def link_membership(self, request):
        return True


async def listed(kit_client, entries, *ids):
    async with kit_client(FixedBackend(entries)) as client:
        response = await client.post(LIST, json=list_body(*ids), headers=AUTH)
    return response, assert_conforms(response)


def statuses(body):
    return [(entry["providerMembershipId"], entry["status"]) for entry in body["data"]]


async def test_unknown_ids_come_back_as_not_found_in_request_order(kit_client):
    # Mews pairs answers with its memberships by id and removes those reported notFound; an unknown
    # id echoes as its own membershipNumber because the schema requires one.
    response, body = await listed(
        kit_client, [member("B"), member("A", status="pending")], "A", "unknown", "B"
    )
    assert response.status_code == 200
    assert statuses(body) == [("A", "pending"), ("unknown", "notFound"), ("B", "enrolled")]
    assert body["data"][1] == {
        "providerMembershipId": "unknown",
        "membershipNumber": "unknown",
        "status": "notFound",
    }


async def test_entries_nobody_asked_for_are_dropped(kit_client, caplog):
    # The spec answers exactly the requested ids; extras would make Mews update the wrong profiles.
    with caplog.at_level(logging.WARNING, "mews_loyalty.provider"):
        _, body = await listed(kit_client, [member("A"), member("Z")], "A")
    assert statuses(body) == [("A", "enrolled")]
    assert "not requested" in caplog.text


async def test_a_repeated_id_is_answered_at_each_position(kit_client):
    # The schema lets ids repeat; answering per position keeps "one entry per requested id".
    _, body = await listed(kit_client, [member("A"), member("A", status="canceled")], "A", "B", "A")
    assert statuses(body) == [("A", "enrolled"), ("B", "notFound"), ("A", "enrolled")]


async def test_an_entry_that_breaks_the_schema_is_withheld_not_reported_not_found(kit_client, caplog):
    # notFound makes Mews delete the membership; an id left out is asked for again later. So a bad
    # entry (tier over 50 characters) is left out, and the rest of the batch still answers.
    with caplog.at_level(logging.ERROR, "mews_loyalty.provider"):
        _, body = await listed(kit_client, [member("A", tier="x" * 51), member("B")], "A", "B", "C")
    assert statuses(body) == [("B", "enrolled"), ("C", "notFound")]
    assert "withheld" in caplog.text


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([member("A", expiresAt="2030-01-01T00:00:00")], id="naive-expiry"),
        pytest.param([member("A", status="active")], id="unknown-status"),
        pytest.param([member("A", membershipNumber=None)], id="null-number"),
        pytest.param([member("A", deeplinkUrl="not a url")], id="bad-url"),
        pytest.param([member("A", colour="red")], id="extra-property"),
    ],
)
async def test_when_no_entry_conforms_the_answer_is_a_500_problem(kit_client, entries):
    # With nothing conforming left, an empty data array would break minItems: it is a provider fault.
    response, body = await listed(kit_client, entries, "A")
    assert response.status_code == 500
    assert body["type"] == "https://purl.mews.com/problem/core/internal-server-error"


@pytest.mark.parametrize(
    "entries",
    [pytest.param(None, id="none"), pytest.param("A", id="string"), pytest.param(42, id="number")],
)
async def test_a_result_that_is_not_a_collection_is_a_500_not_all_not_found(kit_client, entries):
    # A backend that forgot its return statement must not tell Mews that every membership is gone.
    response, _ = await listed(kit_client, entries, "A", "B")
    assert response.status_code == 500


async def test_backends_may_return_models_mappings_dataclasses_or_the_response(kit_client):
    # Pleasant to implement: whatever shape is natural to the backend, the wire answer is the same.
    @dataclasses.dataclass
    class Row:
        provider_membership_id: str
        membership_number: str
        status: str
        points: int

    shapes = [
        [Membership.model_validate(member("A", points=5))],
        [member("A", points=5)],
        [{"provider_membership_id": "A", "membership_number": "no-A", "status": "enrolled", "points": 5}],
        [Row("A", "no-A", "enrolled", 5)],
        ListMembershipsResponse.model_validate({"data": [member("A", points=5)]}),
        (entry for entry in [member("A", points=5)]),
    ]
    answers = [(await listed(kit_client, shape, "A", "B"))[1] for shape in shapes]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["data"] == [
        {"providerMembershipId": "A", "membershipNumber": "no-A", "points": 5, "status": "enrolled"},
        {"providerMembershipId": "B", "membershipNumber": "B", "status": "notFound"},
    ]


async def test_optional_fields_are_serialized_as_the_spec_spells_them(kit_client):
    # Wire names, an offset on expiresAt and no nulls for absent optional fields.
    entry = member(
        "A", tier="Gold", points=0, expiresAt="2027-01-01T10:00:00+02:00", deeplinkUrl="https://p.example/m/A"
    )
    _, body = await listed(kit_client, [entry], "A")
    assert body["data"] == [
        {
            "providerMembershipId": "A",
            "membershipNumber": "no-A",
            "tier": "Gold",
            "points": 0,
            "status": "enrolled",
            "expiresAt": "2027-01-01T10:00:00+02:00",
            "deeplinkUrl": "https://p.example/m/A",
        }
    ]


def test_the_reference_provider_answers_its_seed_data(reference):
    # The seeded reference provider knows one membership in each state and nothing else.
    ids = ["M-1001", "M-1002", "M-1003", "M-1004", "M-1005", "M-1006", "M-9999"]
    response = reference.post(LIST, json=list_body(*ids), headers=AUTH)
    body = assert_conforms(response)
    assert statuses(body) == [
        ("M-1001", "enrolled"),
        ("M-1002", "enrolled"),
        ("M-1003", "enrolled"),
        ("M-1004", "pending"),
        ("M-1005", "canceled"),
        ("M-1006", "declined"),
        ("M-9999", "notFound"),
    ]
    assert body["data"][0] == {
        "providerMembershipId": "M-1001",
        "membershipNumber": "1001-2002-3003",
        "tier": "Gold",
        "points": 12500,
        "status": "enrolled",
        "expiresAt": "2027-12-31T23:59:59Z",
        "deeplinkUrl": "https://loyalty-provider.example.com/members/M-1001",
    }


def test_a_full_batch_of_100_ids_is_answered(reference):
    # The limit itself is valid: 100 ids in, 100 entries out.
    ids = [f"M-{n}" for n in range(1000, 1100)]
    body = assert_conforms(reference.post(LIST, json=list_body(*ids), headers=AUTH))
    assert [entry["providerMembershipId"] for entry in body["data"]] == ids


def test_the_lookup_shape_is_read_from_the_catalog():
    # The kit names no operation: if the spec's list operation changed shape so that the keys could
    # no longer be inferred, notFound completion would silently stop; this pins the inference.
    operations = catalog("reverse").by_id
    lookup = batch_lookup(operations["listMemberships"])
    assert lookup is not None
    assert (lookup.keys_field, lookup.items_alias, lookup.key_alias) == (
        "provider_membership_ids",
        "data",
        "providerMembershipId",
    )
    assert lookup.item_model is Membership
    assert lookup.unknown("X").model_dump(mode="json", by_alias=True) == {
        "providerMembershipId": "X",
        "membershipNumber": "X",
        "status": "notFound",
    }
    assert batch_lookup(operations["updateMembershipLink"]) is None
