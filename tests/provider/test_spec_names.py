"""The kit's backend method names, a lookup's key and its unknown entry come from the spec, never names.

A backend method is the operation's ``x-provider-method`` (absent: the operationId in snake case),
and a batch lookup's answer is keyed by the item property of the same component as the requested
keys; the request schema's name and the batch field's plural play no part. What an unknown key is
answered with is the operation's ``x-not-found-item``, not an enum value found by its spelling.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from dataclasses import replace
from enum import StrEnum
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field

import mews_loyalty._generated.reverse.models
from mews_loyalty._spec.catalog import build_catalog, catalog, load_document
from mews_loyalty.provider import ProviderBackend
from mews_loyalty.provider._backend import batch_lookup, bind

LIST_PATH = "/memberships/list"
CLIENT_API = "mews_loyalty._generated.reverse.client.api.memberships"


def test_the_backend_protocol_has_exactly_the_methods_the_spec_names():
    named = {op.provider_method for op in catalog("reverse").operations}
    declared = {
        name
        for name, _ in inspect.getmembers(ProviderBackend, inspect.isfunction)
        if not name.startswith("_")
    }
    assert named == declared == {"search_members", "enroll_member", "list_memberships", "link_membership"}


def edited_reverse() -> dict[str, object]:
    document = copy.deepcopy(dict(load_document("reverse")))
    listing = document["paths"][LIST_PATH]["post"]
    # A renamed request schema and batch field: the old rules would look for `list_memberships_v2`
    # (from the schema) and key the answer by `membershipKey` (the field without its "s").
    schemas = document["components"]["schemas"]
    request = schemas.pop("listMembershipsRequest")
    request["properties"]["membershipKeys"] = request["properties"].pop("providerMembershipIds")
    request["required"] = ["mewsEnterpriseId", "membershipKeys"]
    schemas["listMembershipsV2Request"] = request
    listing["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/listMembershipsV2Request"
    }
    del listing["x-provider-method"]
    listing["operationId"] = "lookUpMemberships"
    return document


def test_without_the_mark_the_method_is_the_operation_id_and_the_key_is_the_keys_component(monkeypatch):
    # Regeneration would write the renamed request class and client module; the list's stand in.
    monkeypatch.setattr(
        mews_loyalty._generated.reverse.models,
        "ListMembershipsV2Request",
        mews_loyalty._generated.reverse.models.ListMembershipsRequest,
        raising=False,
    )
    stand_in = importlib.import_module(f"{CLIENT_API}.list_memberships")
    monkeypatch.setitem(sys.modules, f"{CLIENT_API}.look_up_memberships", stand_in)
    op = build_catalog("reverse", edited_reverse()).by_id["lookUpMemberships"]
    assert op.provider_method == "look_up_memberships"
    assert (op.batch_field, op.batch_key) == ("membershipKeys", "providerMembershipId")


def test_a_marked_method_name_is_used_and_a_missing_one_is_named():
    document = copy.deepcopy(dict(load_document("reverse")))
    document["paths"][LIST_PATH]["post"]["x-provider-method"] = "fetch_memberships"
    operations = build_catalog("reverse", document).operations

    class Backend:
        def search_members(self, request): ...
        def enroll_member(self, request): ...
        def link_membership(self, request): ...
        def list_memberships(self, request): ...

    with pytest.raises(TypeError, match=r"lacks the backend method\(s\) fetch_memberships$"):
        bind(Backend(), operations)
    lookup = batch_lookup(next(op for op in operations if op.provider_method == "fetch_memberships"))
    assert lookup is not None
    assert lookup.key_alias == "providerMembershipId"


class GoneStatus(StrEnum):
    """A status enum whose unknown-key value is not spelled ``notFound`` (a stand-in for regeneration)."""

    enrolled = "enrolled"
    gone = "gone"


class GoneMembership(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_membership_id: Annotated[str, Field(alias="providerMembershipId")]
    membership_number: Annotated[str, Field(alias="membershipNumber")]
    status: GoneStatus


class GoneListResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: list[GoneMembership]


def renamed_status() -> dict[str, object]:
    document = copy.deepcopy(dict(load_document("reverse")))
    document["components"]["schemas"]["membershipStatus"]["enum"] = ["enrolled", "gone"]
    listing = document["paths"][LIST_PATH]["post"]
    listing["x-not-found-item"] = {**listing["x-not-found-item"], "status": "gone"}
    return document


def test_an_unknown_key_is_answered_with_the_spec_s_x_not_found_item():
    # The old rule looked for an enum member spelled "notFound" and, finding none, kept no lookup.
    listing = build_catalog("reverse", renamed_status()).by_id["listMemberships"]
    lookup = batch_lookup(replace(listing, response_model=GoneListResponse))
    assert lookup is not None
    unknown = lookup.unknown("M-404")
    assert unknown.model_dump(by_alias=True) == {
        "providerMembershipId": "M-404",
        "membershipNumber": "M-404",
        "status": GoneStatus.gone,
    }


def test_without_x_not_found_item_the_kit_guesses_no_unknown_entry():
    document = copy.deepcopy(dict(load_document("reverse")))
    del document["paths"][LIST_PATH]["post"]["x-not-found-item"]
    assert batch_lookup(build_catalog("reverse", document).by_id["listMemberships"]) is None


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (
            {"providerMembershipId": "$key", "status": "notFound"},
            r"lacks required ones \['membershipNumber'\]",
        ),
        (
            {"providerMembershipId": "M-1", "membershipNumber": "$key", "status": "notFound"},
            "must answer the key",
        ),
        (
            {"providerMembershipId": "$key", "membershipNumber": "$key", "status": "notFound", "tierx": 1},
            "tierx",
        ),
    ],
)
def test_the_catalog_refuses_an_x_not_found_item_that_is_no_valid_entry(mark, message):
    document = copy.deepcopy(dict(load_document("reverse")))
    document["paths"][LIST_PATH]["post"]["x-not-found-item"] = mark
    with pytest.raises(ValueError, match=message):
        build_catalog("reverse", document)
