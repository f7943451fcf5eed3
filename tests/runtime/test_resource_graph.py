"""The resource graph: what the spec's links say of each resource, read once for the mock and the suite."""

from __future__ import annotations

import copy
import importlib
import sys
from typing import Any

import pytest

from mews_loyalty._spec.catalog import build_catalog, catalog, load_document
from mews_loyalty._spec.graph import Dependent, Reference, resource_graph


def connector_copy() -> dict[str, Any]:
    return copy.deepcopy(dict(load_document("connector")))


def links_of(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    [raw] = [
        item["post"] for item in document["paths"].values() if item["post"]["operationId"] == operation_id
    ]
    return raw["responses"]["200"]["links"]  # type: ignore[no-any-return]


def test_the_shipped_spec_s_links_make_the_graph():
    graph = resource_graph(catalog("connector"))
    assert [resource.name for resource in graph.resources] == [
        "loyalty_programs",
        "loyalty_tiers",
        "loyalty_memberships",
    ]
    assert graph["loyalty_tiers"].references == (Reference("LoyaltyProgramId", "loyalty_programs"),)
    # The link from a tier's add copies the tier's program into the membership: the two must match.
    assert graph["loyalty_memberships"].references == (
        Reference("LoyaltyProgramId", "loyalty_programs"),
        Reference("LoyaltyTierId", "loyalty_tiers", {"LoyaltyProgramId": "LoyaltyProgramId"}),
    )
    assert graph.dependents("loyalty_programs") == (
        Dependent("loyalty_tiers", "LoyaltyProgramId"),
        Dependent("loyalty_memberships", "LoyaltyProgramId"),
    )
    assert graph.dependents("loyalty_memberships") == ()
    assert {r.name: (r.ids_filter, r.id_field) for r in graph.resources} == {
        "loyalty_programs": ("LoyaltyProgramIds", "LoyaltyProgramId"),
        "loyalty_tiers": ("LoyaltyTierIds", "LoyaltyTierId"),
        "loyalty_memberships": ("LoyaltyMembershipIds", "LoyaltyMembershipId"),
    }
    listed = catalog("connector").schema("LoyaltyMembership")["properties"]  # the listing's item component
    assert graph["loyalty_memberships"].item_properties == tuple(listed)
    assert resource_graph(catalog("reverse")).resources == ()  # no paged listings: no resources


def test_only_an_add_s_successful_answer_feeds_the_graph():
    # A link on an error answer says nothing about the records an add makes.
    document = connector_copy()
    [raw] = [
        item["post"]
        for item in document["paths"].values()
        if item["post"]["operationId"] == "loyaltyPrograms_add"
    ]
    raw["responses"]["400"] = {"description": "refused", "links": links_of(document, "loyaltyPrograms_add")}
    raw["responses"]["200"]["links"] = {}
    graph = resource_graph(build_catalog("connector", document))
    assert graph["loyalty_tiers"].references == ()
    assert graph["loyalty_programs"].ids_filter is None
    assert graph.dependents("loyalty_programs") == ()


def test_a_reference_cycle_keeps_the_rest_in_catalog_order():
    # A link making programs reference memberships closes a cycle: nothing is dropped or repeated.
    document = connector_copy()
    links_of(document, "loyaltyMemberships_add")["AddProgramForMembership"] = {
        "operationId": "loyaltyPrograms_add",
        "requestBody": {"LoyaltyPrograms": [{"Sponsor": "$response.body#/LoyaltyMemberships/0/Id"}]},
    }
    graph = resource_graph(build_catalog("connector", document))
    assert graph["loyalty_programs"].reference_targets == {"Sponsor": "loyalty_memberships"}
    assert [r.name for r in graph.resources] == [
        "loyalty_memberships",
        "loyalty_programs",
        "loyalty_tiers",
    ]


def test_a_resource_with_two_paged_reads_is_refused(monkeypatch):
    # Which one lists the records would be a guess.
    document = connector_copy()
    path, item = next(
        (p, i) for p, i in document["paths"].items() if i["post"]["operationId"] == "loyaltyTiers_getAll"
    )
    twin = copy.deepcopy(item)
    twin["post"]["operationId"] = "loyaltyTiers_getMore"
    document["paths"][path + "More"] = twin
    # Regeneration would write this module; the generated getAll function stands in.
    api = "mews_loyalty._generated.connector.client.api.loyalty_tiers"
    monkeypatch.setitem(
        sys.modules, f"{api}.loyalty_tiers_get_more", importlib.import_module(f"{api}.loyalty_tiers_get_all")
    )
    with pytest.raises(LookupError, match="loyalty_tiers: expected one paged read operation"):
        resource_graph(build_catalog("connector", document))
