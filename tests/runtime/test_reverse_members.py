"""The Reverse client's member operations (search, enrolment), reached generically from the catalog.

A QA harness enrols a test customer and searches for them the way Mews does; these methods come from
the spec through the runtime, so they validate, retry and raise like the membership ones.
"""

from __future__ import annotations

import uuid

import pytest

from mews_loyalty import AsyncReverseClient, ProblemDetailError, RequestValidationError, ReverseClient
from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._generated.reverse.client.models import Member, SearchMembersResponse
from mews_loyalty._spec.catalog import catalog
from mews_loyalty.mock.reverse import create_app

TOKEN = "runtime-reverse-token-0123456789"
ENTERPRISE = uuid.UUID("0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11")
CUSTOMER = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "birthday": "1815-12-10"}


@pytest.fixture
def reference_url():
    with serve_in_thread(create_app([TOKEN], seed_data=True)) as url:
        yield url


def test_enrol_twice_then_search_through_the_generic_accessors(reference_url):
    # The whole member flow from a harness: enrol, enrol again (same membership), find by email.
    with ReverseClient(base_url=reference_url, token=TOKEN) as provider:
        first = provider.members.enroll_member(mews_enterprise_id=ENTERPRISE, customer=CUSTOMER)
        again = provider.members.enroll_member(mews_enterprise_id=str(ENTERPRISE), customer=CUSTOMER)
        assert isinstance(first, Member)
        assert first.membership.provider_membership_id == again.membership.provider_membership_id
        found = provider.members.search_members(
            mews_enterprise_id=ENTERPRISE, member_filter={"email": "ADA@example.com"}
        )
        assert isinstance(found, SearchMembersResponse)
        assert [m.membership.provider_membership_id for m in found.data] == [
            first.membership.provider_membership_id
        ]
        listed = provider.list_memberships(
            [first.membership.provider_membership_id], enterprise_id=ENTERPRISE
        )
        assert listed[0].status.value == "enrolled"


@pytest.mark.anyio
async def test_the_async_client_has_the_same_member_operations(reference_url):
    async with AsyncReverseClient(base_url=reference_url, token=TOKEN) as provider:
        member = await provider.members.enroll_member(mews_enterprise_id=ENTERPRISE, customer=CUSTOMER)
        found = await provider.members.search_members(
            mews_enterprise_id=ENTERPRISE, member_filter={"firstName": "Ada", "lastName": "Lovelace"}
        )
        assert member.membership.provider_membership_id in [
            m.membership.provider_membership_id for m in found.data
        ]


def test_an_incomplete_filter_is_refused_before_sending(make_reverse_client, provider):
    # The combination rule comes from the spec; a harness must test the provider, not its own typo.
    client = make_reverse_client(provider)
    with pytest.raises(RequestValidationError, match="memberFilter: give at least one complete combination"):
        client.members.search_members(mews_enterprise_id=ENTERPRISE, member_filter={"firstName": "Ada"})
    with pytest.raises(RequestValidationError, match="memberFilter"):
        client.members.search_members(
            mews_enterprise_id=ENTERPRISE, member_filter={"email": "ada@example.com", "x": 1}
        )
    with pytest.raises(TypeError, match="member_filter"):
        client.members.search_members(mews_enterprise_id=ENTERPRISE, filter={"email": "ada@example.com"})
    assert provider.requests == []


def test_a_provider_problem_is_raised_with_its_type(reference_url):
    # The provider's own refusal (here a wrong token) arrives as a typed problem, token not in the message.
    with (
        ReverseClient(base_url=reference_url, token="not-the-token-0123456789") as provider,
        pytest.raises(ProblemDetailError) as raised,
    ):
        provider.members.search_members(
            mews_enterprise_id=ENTERPRISE, member_filter={"email": "a@example.com"}
        )
    assert raised.value.status == 401
    assert "not-the-token" not in str(raised.value)


def test_search_is_retried_like_a_read_and_enrolment_is_not():
    # A search changes nothing; an enrolment against a provider that breaks the rule could duplicate.
    operations = catalog("reverse").by_id
    assert operations["searchMembers"].idempotent
    assert not operations["enrollMember"].idempotent


def test_the_client_lists_its_resources_in_errors():
    client = ReverseClient(base_url="https://provider.example", token=TOKEN)
    with pytest.raises(AttributeError, match="members, memberships"):
        _ = client.loyalty
    assert "search_members" in dir(client.members)
    client.close()


def test_the_list_and_the_link_are_found_by_what_the_spec_says_they_do():
    # The Reverse client's list and link calls come from x-effect, not from operation names.
    reverse = catalog("reverse")
    assert reverse.single("read", batched=True).operation_id == "listMemberships"
    assert reverse.single("link").operation_id == "updateMembershipLink"
    with pytest.raises(LookupError, match="expected one operation with x-effect read, found"):
        reverse.single("read")  # the list and the search both read: ambiguous without batched=
