"""Bulk writes split at the spec's 1000-item limit, for memberships, programs and tiers alike."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mews_loyalty import ForbiddenError, RequestValidationError
from mews_loyalty._generated.connector.client import models
from mews_loyalty._generated.connector.models import LoyaltyMembershipAddParameters
from mews_loyalty._spec.catalog import catalog

from .fakes import PROGRAM_ID, SERVE, FakeConnector, add_item, error_body, item_id, seeded, update_item

RESOURCES = sorted(catalog("connector").resources())


def label(resource: str, item: dict[str, object] | object) -> object:
    """What tells items of a resource apart in these tests: the membership number, else the code."""
    name = "MembershipNumber" if resource == "loyalty_memberships" else "Code"
    if isinstance(item, dict):
        return item[name]
    return getattr(item, "membership_number" if resource == "loyalty_memberships" else "code")


SPLITS = [(0, []), (1, [1]), (1000, [1000]), (1001, [1000, 1]), (2500, [1000, 1000, 500])]


def batch_sizes(server: FakeConnector, operation_id: str, field: str) -> list[int]:
    return [len(body[field]) for body in server.sent(operation_id)]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize(("count", "sizes"), SPLITS, ids=[str(count) for count, _ in SPLITS])
def test_add_splits_into_batches_and_returns_every_result_in_order(make_client, resource, count, sizes):
    # Over 1000 items the server rejects the whole call; results must line up with the caller's items.
    op = catalog("connector").resources()[resource]["add"]
    server = FakeConnector()
    created = getattr(make_client(server), resource).add([add_item(resource, n) for n in range(count)])
    assert batch_sizes(server, op.operation_id, op.batch_field) == sizes
    assert [label(resource, item) for item in created] == [
        label(resource, add_item(resource, n)) for n in range(count)
    ]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize(("count", "sizes"), SPLITS[1:4:2], ids=["1", "1001"])
def test_update_splits_into_batches(make_client, resource, count, sizes):
    # Updates have their own batch field (e.g. LoyaltyMembershipUpdates); the catalog, not the name, finds it.
    op = catalog("connector").resources()[resource]["update"]
    server = FakeConnector()
    changed = getattr(make_client(server), resource).update([update_item(resource, n) for n in range(count)])
    assert batch_sizes(server, op.operation_id, op.batch_field) == sizes
    assert [str(item.id) for item in changed] == [item_id(resource, n) for n in range(count)]


@pytest.mark.parametrize("resource", RESOURCES)
def test_delete_takes_uuids_or_strings_and_splits(make_client, resource):
    # Ids come from earlier results (UUID) or from files (str); both must reach the wire as strings.
    op = catalog("connector").resources()[resource]["delete"]
    ids = [uuid.UUID(item_id(resource, n)) if n % 2 else item_id(resource, n) for n in range(1001)]
    server = FakeConnector()
    assert getattr(make_client(server), resource).delete(ids) is None
    sent = [identifier for body in server.sent(op.operation_id) for identifier in body[op.batch_field]]
    assert batch_sizes(server, op.operation_id, op.batch_field) == [1000, 1]
    assert sent == [item_id(resource, n) for n in range(1001)]


def test_a_rejected_item_in_a_late_batch_stops_everything_before_sending(make_client):
    # Sending batches 1 and 2 and then failing on 3 would leave half an import behind.
    items = [add_item("loyalty_memberships", n) for n in range(2500)]
    items[1500]["MembershipNumber"] = "x" * 256
    server = FakeConnector()
    with pytest.raises(RequestValidationError) as caught:
        make_client(server).loyalty_memberships.add(items)
    assert "LoyaltyMemberships[1500].MembershipNumber: String should have at most 255 characters" in str(
        caught.value
    )
    assert server.requests == []


def test_generated_attrs_and_pydantic_models_are_accepted_as_items(make_client):
    # Integrators hold generated models as often as dicts; all three forms must produce the same body.
    account = uuid.uuid4()
    attrs_item = models.LoyaltyMembershipAddParameters(
        account_id=account, loyalty_program_id=uuid.UUID(PROGRAM_ID), is_primary=True, points=None
    )
    pydantic_item = LoyaltyMembershipAddParameters(
        AccountId=account, LoyaltyProgramId=PROGRAM_ID, IsPrimary=True
    )
    dict_item = {"AccountId": str(account), "LoyaltyProgramId": PROGRAM_ID, "IsPrimary": True}
    server = FakeConnector()
    make_client(server).loyalty_memberships.add([attrs_item, pydantic_item, dict_item])
    sent = server.sent()[0]["LoyaltyMemberships"]
    assert sent[0] == dict_item  # an attrs model leaves its None fields out (absent and None are one)
    assert sent[1] == dict_item
    assert sent[2] == dict_item


def test_update_values_keep_the_difference_between_absent_null_and_set(make_client):
    # {"Value": null} clears, null keeps; collapsing them would wipe or keep data by accident.
    server = FakeConnector()
    update = {
        "LoyaltyMembershipId": item_id("loyalty_memberships", 0),
        "Points": {"Value": None},
        "MembershipNumber": None,
        "State": {"Value": "Canceled"},
    }
    make_client(server).loyalty_memberships.update([update])
    assert server.sent()[0]["LoyaltyMembershipUpdates"] == [update]


def test_chain_id_for_portfolio_tokens_goes_into_every_batch(make_client):
    # A portfolio token needs ChainId on each write; forgetting it on batch 2 would write to no chain.
    chain = uuid.uuid4()
    server = FakeConnector()
    make_client(server).loyalty_programs.add(
        [add_item("loyalty_programs", n) for n in range(1001)], chain_id=chain
    )
    assert [body["ChainId"] for body in server.sent()] == [str(chain), str(chain)]


def test_a_failing_batch_reports_what_earlier_batches_already_did(make_client):
    # After batch 1 is created and batch 2 fails, the caller must know not to add batch 1 again.
    server = FakeConnector()
    server.script(
        "loyaltyMemberships_add", SERVE, httpx.Response(403, json=error_body("The program is closed."))
    )
    with pytest.raises(ForbiddenError) as caught:
        make_client(server).loyalty_memberships.add([add_item("loyalty_memberships", n) for n in range(2500)])
    assert caught.value.completed_batches == 1
    assert len(caught.value.completed_results) == 1000
    assert len(server.requests) == 2  # the third batch is never sent


def test_an_unknown_parameter_is_refused_even_with_no_items(make_client):
    # A typo must fail loudly on the empty run too, not only once data shows up.
    with pytest.raises(TypeError, match="chain_idd"):
        make_client(FakeConnector()).loyalty_memberships.add([], chain_idd=uuid.uuid4())


def test_seeded_fake_pages_what_add_stored(make_client):
    # The fake's stored-newest-first order is what the pagination tests rely on; check it once.
    server = FakeConnector(items=seeded(1, "loyalty_tiers"))
    client = make_client(server)
    client.loyalty_tiers.add([add_item("loyalty_tiers", 7)])
    codes = [tier.code for tier in client.loyalty_tiers.iter_all(loyalty_program_ids=[PROGRAM_ID])]
    assert codes == ["T7", "T0"]
