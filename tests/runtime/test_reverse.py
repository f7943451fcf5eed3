"""The Reverse API client a QA harness uses against a provider: batching, link/unlink, problem details."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mews_loyalty import (
    AuthenticationError,
    ProblemDetailError,
    RateLimitError,
    RequestValidationError,
    ServerError,
)
from mews_loyalty._generated.reverse.client.models import LinkMembershipResponse, Membership, MembershipStatus
from mews_loyalty._spec.catalog import catalog

from .fakes import problem

ENTERPRISE = uuid.UUID("0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11")
CUSTOMER = "5b1f0f4e-9a57-4d6b-a3c1-7c9e0b2d4f10"


def test_list_memberships_splits_over_100_ids_and_merges_in_order(make_reverse_client, provider):
    # Mews sends at most 100 ids per call; a harness replaying a day's arrivals has many more.
    ids = [f"M-{n}" for n in range(250)]
    found = make_reverse_client(provider).list_memberships(ids, enterprise_id=ENTERPRISE)
    assert [len(c.body["providerMembershipIds"]) for c in provider.requests] == [100, 100, 50]
    assert [m.provider_membership_id for m in found] == ids
    assert all(isinstance(m, Membership) and m.status is MembershipStatus.ENROLLED for m in found)
    assert {c.body["mewsEnterpriseId"] for c in provider.requests} == {str(ENTERPRISE)}


def test_no_ids_sends_nothing(make_reverse_client, provider):
    # An empty request is invalid for the provider (minItems 1); an empty list simply has no answer.
    assert make_reverse_client(provider).list_memberships([], enterprise_id=ENTERPRISE) == []
    assert provider.requests == []


def test_link_and_unlink_send_is_linked_and_the_bearer_token(make_reverse_client, provider, tokens):
    # The only difference between link and unlink on the wire is isLinked; getting it backwards unlinks guests.
    client = make_reverse_client(provider)
    linked = client.link(ENTERPRISE, "M-1", CUSTOMER, provider_enterprise_id="HOTEL-7")
    assert isinstance(linked, LinkMembershipResponse)
    assert linked.success is True
    assert provider.links == {"M-1": True}
    client.unlink(str(ENTERPRISE), "M-1", uuid.UUID(CUSTOMER))
    assert provider.links == {"M-1": False}
    first, second = (c.body for c in provider.requests)
    assert first == {
        "mewsEnterpriseId": str(ENTERPRISE),
        "providerMembershipId": "M-1",
        "mewsCustomerId": CUSTOMER,
        "providerEnterpriseId": "HOTEL-7",
        "isLinked": True,
    }
    assert second["isLinked"] is False
    assert all(c.operation.method == "PUT" for c in provider.requests)
    assert provider.requests[0].headers["Authorization"] == f"Bearer {tokens.provider_token}"


def test_problem_details_are_raised_with_their_field_pointers(make_reverse_client, provider):
    # A provider's 422 says which field broke which rule; the harness reports exactly that.
    errors = [
        {
            "type": "https://purl.mews.com/problem/core/field-too-long",
            "pointer": "#/providerMembershipIds/3",
            "detail": "At most 50 characters.",
        }
    ]
    provider.script(
        "listMemberships",
        problem(422, "Unprocessable", "One id is too long.", errors=errors, instance="urn:req:42"),
    )
    with pytest.raises(ProblemDetailError) as caught:
        make_reverse_client(provider).list_memberships(["M-1"], enterprise_id=ENTERPRISE)
    error = caught.value
    assert (error.status, error.title, error.detail) == (422, "Unprocessable", "One id is too long.")
    assert error.type == "https://purl.mews.com/problem/core/unprocessable-content"
    assert error.instance == "urn:req:42"
    assert [(e.pointer, e.detail) for e in error.errors] == [
        ("#/providerMembershipIds/3", "At most 50 characters.")
    ]
    assert "#/providerMembershipIds/3: At most 50 characters." in str(error)
    assert len(provider.requests) == 1  # a business-rule answer is final


def test_a_wrong_token_is_a_401_problem(make_reverse_client, provider):
    # The most common harness failure: the provider rotated the token.
    with pytest.raises(AuthenticationError) as caught:
        make_reverse_client(provider, token="stale").list_memberships(["M-1"], enterprise_id=ENTERPRISE)
    assert caught.value.status == 401
    assert isinstance(caught.value, ProblemDetailError), "the problem details stay attached"


def test_a_problem_429_is_a_rate_limit_error_with_its_wait(make_reverse_client, provider):
    # `except RateLimitError` must serve both APIs; the Retry-After past the retry-wait cap comes back.
    answer = problem(429, "Too Many Requests", "Slow down.")
    answer.headers["Retry-After"] = "300"
    provider.script("listMemberships", answer)
    with pytest.raises(RateLimitError) as caught:
        make_reverse_client(provider).list_memberships(["M-1"], enterprise_id=ENTERPRISE)
    assert isinstance(caught.value, ProblemDetailError)
    assert (caught.value.retry_after, caught.value.detail) == (300, "Slow down.")


def test_an_error_that_is_not_problem_json_maps_by_status(make_reverse_client, provider):
    # Providers behind gateways answer some errors in plain text; they still need a typed error.
    provider.script("updateMembershipLink", *[httpx.Response(502, text="Bad gateway") for _ in range(6)])
    with pytest.raises(ServerError):
        make_reverse_client(provider).link(ENTERPRISE, "M-1", CUSTOMER)


@pytest.mark.parametrize("operation_id", ["listMemberships", "updateMembershipLink"])
def test_list_and_the_idempotent_put_are_retried_on_server_errors(
    make_reverse_client, provider, fake_time, operation_id
):
    # Linking twice leaves the same link, so a PUT may be retried like a read.
    assert catalog("reverse").by_id[operation_id].idempotent
    provider.script(operation_id, problem(500, "Oops", "Try again."))
    client = make_reverse_client(provider)
    if operation_id == "listMemberships":
        assert len(client.list_memberships(["M-1"], enterprise_id=ENTERPRISE)) == 1
    else:
        assert client.link(ENTERPRISE, "M-1", CUSTOMER).success is True
    assert len(provider.requests) == 2
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (
            lambda c: c.list_memberships(["x" * 51], enterprise_id=ENTERPRISE),
            "providerMembershipIds[0]: String should have at most 50 characters",
        ),
        (
            lambda c: c.list_memberships(["M-1"], enterprise_id="not-a-uuid"),
            "mewsEnterpriseId: Input should be a valid UUID",
        ),
        (lambda c: c.link(ENTERPRISE, "M-1", "nobody"), "mewsCustomerId: Input should be a valid UUID"),
    ],
    ids=["id-too-long", "bad-enterprise", "bad-customer"],
)
def test_requests_are_validated_against_the_reverse_spec(make_reverse_client, provider, call, path):
    # A harness must test the provider, not its own typos.
    with pytest.raises(RequestValidationError, match=path.replace("[", r"\[").replace("]", r"\]")):
        call(make_reverse_client(provider))
    assert provider.requests == []


def test_the_base_url_path_prefix_is_kept(make_reverse_client, provider):
    # Providers often mount the API under a path (https://provider.example/provider/memberships/list).
    make_reverse_client(provider).list_memberships(["M-1"], enterprise_id=ENTERPRISE)
    assert provider.requests[0].url == "https://provider.example/provider/memberships/list"


def test_construction_needs_a_base_url_and_a_token():
    # Both come from the provider; a missing one is a harness misconfiguration.
    from mews_loyalty import ReverseClient

    with pytest.raises(ValueError, match="token is required"):
        ReverseClient(base_url="https://p.example", token="")
    with pytest.raises(ValueError, match="base_url is required"):
        ReverseClient(base_url="", token="t")
