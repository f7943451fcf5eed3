"""``POST /members/search`` and ``POST /members``: the kit's rules and the reference provider's state."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mews_loyalty.provider import Member
from tests.provider._support import (
    AUTH,
    CUSTOMER,
    ENTERPRISE,
    LINK,
    LIST,
    assert_conforms,
    field_errors,
    link_body,
    list_body,
)

SEARCH = "/members/search"
ENROL = "/members"
OTHER_ENTERPRISE = "00000000-0000-4000-8000-0000000000e2"
INVALID_CRITERIA = "https://purl.mews.com/problem/loyalty/invalid-member-search-criteria"
EVE = {
    "firstName": "Eve",
    "lastName": "Smith",
    "email": "eve.smith@example.com",
    "birthday": "1990-01-02",
    "phoneNumber": "+420123456789",
    "address": {"line1": "Na Příkopě 1", "city": "Prague", "postalCode": "11000", "countryCode": "CZ"},
}


def enrol(client: httpx.Client, customer: dict, enterprise: str = ENTERPRISE, **extra) -> httpx.Response:
    return client.post(
        ENROL, json={"mewsEnterpriseId": enterprise, "customer": customer, **extra}, headers=AUTH
    )


def search(client: httpx.Client, member_filter: dict, enterprise: str = ENTERPRISE) -> httpx.Response:
    body = {"mewsEnterpriseId": enterprise, "memberFilter": member_filter}
    return client.post(SEARCH, json=body, headers=AUTH)


def found_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [member["membership"]["providerMembershipId"] for member in assert_conforms(response)["data"]]


def test_enrolling_twice_answers_the_same_membership(reference):
    # Mews' enrolment rule: a customer the provider already has gets the same 200, never a duplicate.
    first = enrol(reference, EVE)
    assert first.status_code == 200, first.text
    member = assert_conforms(first)
    assert member["membership"]["status"] == "enrolled"
    assert {k: member[k] for k in ("firstName", "lastName", "email")} == {
        k: EVE[k] for k in ("firstName", "lastName", "email")
    }
    again = enrol(reference, {**EVE, "email": "EVE.SMITH@example.com", "phoneNumber": "+1 555"})
    assert assert_conforms(again)["membership"] == member["membership"]


def test_enrolment_accepts_properties_the_reconstruction_does_not_know(reference):
    # The enrolment schema is reconstructed: a real Mews call with a property we never saw must pass.
    response = enrol(
        reference,
        {
            **EVE,
            "email": "new.props@example.com",
            "mewsCustomerId": CUSTOMER,
            "address": {"city": "X", "floor": 3},
        },
        loyaltyProgramId="gold",
    )
    assert response.status_code == 200, response.text
    assert "mewsCustomerId" not in assert_conforms(response)  # answered with what the spec documents


def test_each_complete_filter_combination_finds_the_enrolled_member(reference):
    # Mews searches by whatever the customer profile holds; each documented combination must find them.
    membership = assert_conforms(enrol(reference, EVE))["membership"]
    combinations = [
        {"email": "Eve.Smith@example.com"},
        {"membershipNumber": membership["membershipNumber"]},
        {"providerMembershipId": membership["providerMembershipId"]},
        {"firstName": "eve", "lastName": "SMITH"},
        {"lastName": "Smith", "city": "prague", "countryCode": "cz"},
        # Mews sends all it knows; a property outside the complete combinations does not narrow it.
        {"email": "eve.smith@example.com", "phoneNumber": "+1 000", "postalCode": "99999"},
    ]
    for member_filter in combinations:
        assert found_ids(search(reference, member_filter)) == [membership["providerMembershipId"]], (
            member_filter
        )
    assert found_ids(search(reference, {"email": "nobody@example.com"})) == []


def test_a_filter_completing_no_combination_is_the_documented_problem(reference):
    # The errors guide: loyalty/invalid-member-search-criteria, 400, pointing at the filter.
    response = search(reference, {"firstName": "Eve"})
    assert response.status_code == 400
    problem = assert_conforms(response)
    assert problem["type"] == INVALID_CRITERIA
    assert field_errors(problem) == {
        ("#/memberFilter", "field-required"),
        ("#/memberFilter/lastName", "field-required"),
    }
    empty = assert_conforms(search(reference, {}))
    assert empty["type"] == INVALID_CRITERIA


def test_a_malformed_filter_is_a_plain_bad_request(reference):
    # A wrong value is a schema problem first: core/bad-request naming the field, not "criteria".
    response = search(reference, {"email": "not-an-email"})
    assert response.status_code == 400
    problem = assert_conforms(response)
    assert problem["type"].endswith("/core/bad-request")
    assert ("#/memberFilter/email", "field-invalid-format") in field_errors(problem)
    unknown = assert_conforms(search(reference, {"email": "eve@example.com", "nickname": "E"}))
    assert ("#/memberFilter/nickname", "field-not-allowed-value") in field_errors(unknown)


def test_enterprises_keep_their_members_apart(reference):
    # One token serves every property; a member enrolled for one enterprise is unknown to another.
    membership_id = assert_conforms(enrol(reference, EVE))["membership"]["providerMembershipId"]
    assert found_ids(search(reference, {"email": EVE["email"]}, OTHER_ENTERPRISE)) == []
    other = assert_conforms(enrol(reference, EVE, OTHER_ENTERPRISE))["membership"]["providerMembershipId"]
    assert other != membership_id
    listed = assert_conforms(
        reference.post(
            LIST, json={**list_body(membership_id), "mewsEnterpriseId": OTHER_ENTERPRISE}, headers=AUTH
        )
    )
    assert listed["data"][0]["status"] == "notFound"


def test_an_enrolled_member_is_listed_and_linkable(reference):
    # Enrol, refresh, link: the workflow Mews runs right after an enrolment.
    membership = assert_conforms(enrol(reference, EVE))["membership"]
    listed = assert_conforms(
        reference.post(LIST, json=list_body(membership["providerMembershipId"]), headers=AUTH)
    )
    assert listed["data"] == [membership]
    linked = reference.put(LINK, json=link_body(membership["providerMembershipId"]), headers=AUTH)
    assert assert_conforms(linked) == {"success": True}


def test_a_customer_without_email_is_recognised_by_name_birthday_and_phone(reference):
    # Every schema-valid customer is enrolled (never a 422 for what the spec allows), and recognised again.
    anonymous = assert_conforms(enrol(reference, {"firstName": "Anonymous"}))
    assert (
        assert_conforms(enrol(reference, {"firstName": "anonymous"}))["membership"] == anonymous["membership"]
    )
    other = assert_conforms(enrol(reference, {"firstName": "Anonymous", "birthday": "1990-01-01"}))
    assert other["membership"] != anonymous["membership"]


def test_seeded_members_are_found_in_every_enterprise(reference):
    # The demo data: search finds the seeded customers, whichever enterprise asks.
    for enterprise in (ENTERPRISE, OTHER_ENTERPRISE):
        assert found_ids(search(reference, {"email": "john.doe@example.com"}, enterprise)) == ["M-1001"]
    # Two seeded John Does: the name filter finds both.
    assert sorted(found_ids(search(reference, {"firstName": "John", "lastName": "Doe"}))) == [
        "M-1001",
        "M-1005",
    ]


class _Members:
    def __init__(self) -> None:
        self.member = Member.model_validate(
            {
                "firstName": "A",
                "membership": {"providerMembershipId": "X", "membershipNumber": "1", "status": "enrolled"},
            }
        )

    def list_memberships(self, request):
        return []

    def link_membership(self, request):
        return True


class SyncMembers(_Members):
    def search_members(self, request):
        return iter([self.member])  # any iterable of members

    def enroll_member(self, request):
        return self.member


class AsyncMembers(_Members):
    async def search_members(self, request):
        await asyncio.sleep(0)
        return {"data": [self.member.model_dump(by_alias=True)]}

    async def enroll_member(self, request):
        await asyncio.sleep(0)
        return self.member.model_dump(by_alias=True)


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [SyncMembers, AsyncMembers], ids=["def", "async def"])
async def test_search_and_enrol_backends_may_be_sync_or_async(kit_client, backend):
    # The kit calls either kind and shapes what they return (models, mappings, iterables) to the spec.
    async with kit_client(backend()) as client:
        found = await client.post(
            SEARCH,
            json={"mewsEnterpriseId": ENTERPRISE, "memberFilter": {"membershipNumber": "1"}},
            headers=AUTH,
        )
        assert [m["membership"]["providerMembershipId"] for m in assert_conforms(found)["data"]] == ["X"]
        enrolled = await client.post(
            ENROL, json={"mewsEnterpriseId": ENTERPRISE, "customer": {"lastName": "A"}}, headers=AUTH
        )
        assert assert_conforms(enrolled)["membership"]["providerMembershipId"] == "X"


@pytest.mark.anyio
async def test_a_backend_never_sees_an_incomplete_filter(kit_client):
    # The kit refuses the filter before the backend runs, so backends need no combination checks.
    calls = []

    class Recording(SyncMembers):
        def search_members(self, request):
            calls.append(request)
            return []

    async with kit_client(Recording()) as client:
        response = await client.post(
            SEARCH,
            json={"mewsEnterpriseId": ENTERPRISE, "memberFilter": {"lastName": "Doe", "city": "X"}},
            headers=AUTH,
        )
    assert response.status_code == 400
    assert assert_conforms(response)["type"] == INVALID_CRITERIA
    # The location filter is the nearest: the missing country is named.
    assert ("#/memberFilter/countryCode", "field-required") in field_errors(response.json())
    assert calls == []


def test_the_criteria_problem_speaks_the_requested_language(reference):
    # Front desk staff read these texts in Mews; the kit's languages cover the new problem too.
    body = {"mewsEnterpriseId": ENTERPRISE, "memberFilter": {"firstName": "Eve"}}
    texts = set()
    for language in ("en", "cs", "de"):
        response = reference.post(SEARCH, json=body, headers={**AUTH, "Accept-Language": language})
        assert response.headers["content-language"] == language
        problem = assert_conforms(response)
        texts.add((problem["title"], problem["errors"][0]["detail"]))
    assert len(texts) == 3
