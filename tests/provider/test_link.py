"""``PUT /memberships/link`` on the reference provider: links per enterprise and customer."""

from __future__ import annotations

from uuid import UUID

import httpx

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.mock.reverse import SEED_CUSTOMER_ID, SEED_ENTERPRISE_ID, InMemoryProvider, create_app
from mews_loyalty.provider import create_provider_app
from tests.provider._support import (
    AUTH,
    CUSTOMER,
    ENTERPRISE,
    LINK,
    LIST,
    NEXT_TOKEN,
    OTHER_CUSTOMER,
    TOKEN,
    assert_conforms,
    field_errors,
    link_body,
    list_body,
)


def put_link(client, membership_id, **options):
    response = client.put(LINK, json=link_body(membership_id, **options), headers=AUTH)
    return response.status_code, assert_conforms(response)


def test_link_then_unlink_round_trip():
    # The staff action in Mews: link a customer to a membership, later remove that link.
    backend = InMemoryProvider.seeded()
    key = (UUID(ENTERPRISE), "M-1002")
    app = create_provider_app(backend, [TOKEN])
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url) as client:
        assert put_link(client, "M-1002") == (200, {"success": True})
        assert backend.links[key] == UUID(CUSTOMER)
        assert put_link(client, "M-1002", linked=False) == (200, {"success": True})
        assert key not in backend.links
        # Unlinking keeps the membership by default.
        body = assert_conforms(client.post(LIST, json=list_body("M-1002"), headers=AUTH))
    assert body["data"][0]["status"] == "enrolled"


def test_a_second_customer_cannot_take_a_linked_membership_until_it_is_unlinked(reference):
    # One membership belongs to one customer per enterprise: a takeover is a 422 business rule.
    assert put_link(reference, "M-1002") == (200, {"success": True})
    status, problem = put_link(reference, "M-1002", customer=OTHER_CUSTOMER)
    assert status == 422
    assert problem["type"] == "https://purl.mews.com/problem/core/unprocessable-content"
    assert field_errors(problem) == {("#/mewsCustomerId", "field-not-allowed-value")}
    assert put_link(reference, "M-1002", linked=False) == (200, {"success": True})
    assert put_link(reference, "M-1002", customer=OTHER_CUSTOMER) == (200, {"success": True})


def test_links_are_kept_per_enterprise(reference):
    # Each Mews enterprise has its own customers, so a membership links separately in each.
    other_enterprise = "00000000-0000-4000-8000-0000000000e2"
    assert put_link(reference, "M-1003")[0] == 200
    assert put_link(reference, "M-1003", customer=OTHER_CUSTOMER, mewsEnterpriseId=other_enterprise)[0] == 200


def test_linking_and_unlinking_are_idempotent(reference):
    # Mews retries a PUT after a network failure; the retry must succeed and change nothing.
    assert put_link(reference, "M-1002") == (200, {"success": True})
    assert put_link(reference, "M-1002") == (200, {"success": True})
    assert put_link(reference, "M-1002", linked=False) == (200, {"success": True})
    assert put_link(reference, "M-1002", linked=False) == (200, {"success": True})


def test_an_unknown_membership_is_not_linked(reference):
    # success=false: the link was not changed; the request itself was valid, so no error status.
    assert put_link(reference, "M-9999") == (200, {"success": False})


def test_canceled_and_declined_memberships_cannot_be_linked(reference):
    # A business rule of the provider: only live memberships take a customer (422, localized).
    for membership_id in ("M-1005", "M-1006"):
        response = reference.put(
            LINK, json=link_body(membership_id), headers={**AUTH, "Accept-Language": "de"}
        )
        problem = assert_conforms(response)
        assert response.status_code == 422
        assert problem["title"] == "Nicht verarbeitbarer Inhalt"
        assert "Mitgliedschaft" in problem["detail"]
        assert field_errors(problem) == {("#/providerMembershipId", "field-not-allowed-value")}


def test_the_seed_link_is_present(reference):
    # The seed links M-1001 to a customer of the seed enterprise; another customer cannot take it.
    body = link_body("M-1001", customer="00000000-0000-4000-8000-000000000bad")
    response = reference.put(LINK, json=body | {"mewsEnterpriseId": str(SEED_ENTERPRISE_ID)}, headers=AUTH)
    assert response.status_code == 422
    again = link_body("M-1001", customer=str(SEED_CUSTOMER_ID)) | {
        "mewsEnterpriseId": str(SEED_ENTERPRISE_ID)
    }
    assert reference.put(LINK, json=again, headers=AUTH).json() == {"success": True}


def test_delete_on_unlink_forgets_the_membership_once_no_enterprise_links_it():
    # The spec lets a provider delete an unlinked membership; Mews then sees it as notFound.
    with serve_in_thread(create_app([NEXT_TOKEN], seed_data=True, delete_on_unlink=True)) as base_url:
        headers = {"Authorization": f"Bearer {NEXT_TOKEN}"}
        with httpx.Client(base_url=base_url, headers=headers) as client:
            other_enterprise = "00000000-0000-4000-8000-0000000000e2"
            assert client.put(LINK, json=link_body("M-1002")).json() == {"success": True}
            second = link_body("M-1002") | {"mewsEnterpriseId": other_enterprise}
            assert client.put(LINK, json=second).json() == {"success": True}
            assert client.put(LINK, json=link_body("M-1002", linked=False)).json() == {"success": True}
            still_linked = client.post(LIST, json=list_body("M-1002")).json()["data"][0]["status"]
            assert client.put(LINK, json=second | {"isLinked": False}).json() == {"success": True}
            gone = client.post(LIST, json=list_body("M-1002")).json()["data"][0]["status"]
            retried = client.put(LINK, json=second | {"isLinked": False}).json()
    assert (still_linked, gone, retried) == ("enrolled", "notFound", {"success": True})
