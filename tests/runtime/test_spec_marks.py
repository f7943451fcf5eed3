"""The catalog reads ``x-record-id`` and ``x-filter`` as the spec states them and refuses them misplaced."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mews_loyalty._spec.catalog import FilterTarget, build_catalog, catalog, load_document

Edit = Callable[[dict[str, Any]], None]


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]  # type: ignore[no-any-return]


def membership_filters(document: dict[str, Any]) -> dict[str, Any]:
    return schemas(document)["LoyaltyMembershipFilterParameters"]["properties"]  # type: ignore[no-any-return]


def test_the_shipped_spec_says_what_every_filter_keeps_and_which_property_names_an_updated_record():
    connector = catalog("connector")
    for op in connector.operations:
        if op.is_paged:
            assert set(op.filter_targets) == set(op.filters), op.operation_id
        if op.effect == "update":
            assert op.batch_item_id is not None, op.operation_id
    get_all = connector.by_id["loyaltyMemberships_getAll"].filter_targets
    assert get_all["AccountIds"] == FilterTarget("AccountIds", "AccountId", None)
    # Marks on a shared component apply to every property whose schema it is.
    assert get_all["ChainIds"] == FilterTarget("ChainIds", None, "chain")
    assert get_all["CreatedUtc"] == FilterTarget("CreatedUtc", None, "created")


def set_filter(name: str, mark: object) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        membership_filters(document)[name]["x-filter"] = mark

    return edit


def set_record_id(name: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        schemas(document)["LoyaltyMembershipUpdateParameters"]["x-record-id"] = name

    return edit


def filter_on_add(document: dict[str, Any]) -> None:
    add = schemas(document)["MultipleLoyaltyMembershipAddParameters"]
    add["properties"]["ChainId"]["x-filter"] = {"property": "ChainId"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            set_filter("AccountIds", {"property": "Holder"}),
            "names 'Holder', no property of LoyaltyMembership",
        ),
        (set_filter("AccountIds", {"record": "created"}), "no x-interval filter"),
        (set_filter("AccountIds", {"record": "owner"}), "record must be one of"),
        (set_filter("AccountIds", {"property": "AccountId", "record": "chain"}), "must be {property: P}"),
        (set_filter("AccountIds", "AccountId"), "must be {property: P}"),
        (set_record_id("Points"), "'Points' is no required property of the batch item"),
        (set_record_id("MembershipId"), "'MembershipId' is no required property"),
        (filter_on_add, r"loyaltyMemberships_add\.ChainId: x-filter on an operation that is no paged read"),
    ],
    ids=[
        "unknown-property",
        "created-not-interval",
        "unknown-fact",
        "both",
        "bare",
        "optional-id",
        "absent-id",
        "not-a-listing",
    ],
)
def test_a_misplaced_mark_is_refused_with_its_place(edit: Edit, message: str):
    document = copy.deepcopy(dict(load_document("connector")))
    edit(document)
    with pytest.raises(ValueError, match=message):
        build_catalog("connector", document)
