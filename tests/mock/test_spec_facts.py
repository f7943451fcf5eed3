"""What the mock reads of each resource comes from the spec's marks, never from a name or a shape.

Each test serves an edited copy of the Connector spec (its catalog seen by every module that reads
the catalog, a stand-in model where regeneration would write one) on which a guess would go wrong:

- ``x-record-id`` names the property of an update item that identifies the record: the copy lists a
  second uuid first among the item's required properties, where "the first required uuid" would look;
- ``x-filter`` says what a ``getAll`` filter keeps: the copy renames ``AccountIds`` to ``Holders``, which
  neither a table of names nor a name minus its "s" maps to the items' ``AccountId``;
- the links of an add's answer say which field references which record, and what it must match: the
  copy drops one, and the mock stops checking it (or, where its own rules need it, does not start).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

import pytest
from pydantic import MISSING, Field

from mews_loyalty._generated.connector.models import LoyaltyMembershipFilterParameters
from mews_loyalty._spec import catalog as _spec
from mews_loyalty._spec.catalog import Catalog, Operation, build_catalog, load_document
from mews_loyalty._wire import formats as _formats
from mews_loyalty.mock.connector import ConnectorMockConfig, create_app
from tests.mock.conftest import CONNECTOR, FakeTime, connector_server

GET_ALL = "loyaltyMemberships_getAll"
UPDATE_ITEM = "LoyaltyMembershipUpdateParameters"
ACCOUNT = "00000000-0000-4000-8000-{:012d}"


class HoldersFilter(LoyaltyMembershipFilterParameters):
    """What the model generator would make of the renamed filter (a stand-in for regeneration)."""

    holders: Annotated[list[UUID] | MISSING | None, Field(alias="Holders", min_length=1)] = MISSING


def connector_copy() -> dict[str, Any]:
    return copy.deepcopy(dict(load_document("connector")))


@pytest.fixture
def serve_copy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Catalog]]:
    """Make every module of the SDK and the mock read the catalog of an edited copy of the spec."""

    def install(document: dict[str, Any], edit: Callable[[Operation], Operation] = lambda op: op) -> Catalog:
        built = build_catalog("connector", document)
        edited = Catalog("connector", built.document, tuple(edit(op) for op in built.operations))
        real = _spec.catalog
        for module in list(sys.modules.values()):
            if module is _spec or not module.__name__.startswith("mews_loyalty"):
                continue
            if getattr(module, "catalog", None) is real:
                monkeypatch.setattr(
                    module, "catalog", lambda api: edited if api == "connector" else real(api)
                )
        _formats._request_checker.cache_clear()
        return edited

    yield install
    _formats._request_checker.cache_clear()


@pytest.fixture
def config() -> ConnectorMockConfig:
    return ConnectorMockConfig(rate_limit=None, now=FakeTime().now)


def test_an_update_finds_its_record_by_the_item_s_x_record_id(serve_copy, config):
    document = connector_copy()
    item = document["components"]["schemas"][UPDATE_ITEM]
    item["properties"] = {"ReferralId": {"type": "string", "format": "uuid"}, **item["properties"]}
    item["required"] = ["ReferralId", "LoyaltyMembershipId"]
    assert item["x-record-id"] == "LoyaltyMembershipId"
    serve_copy(document)
    with connector_server(config) as api:
        [added] = api.add_memberships(api.add_program(), 1)
        body = api.ok(
            "loyaltyMemberships_update",
            LoyaltyMembershipUpdates=[{"LoyaltyMembershipId": added["Id"], "Points": {"Value": 7}}],
        )
    assert [(changed["Id"], changed["Points"]) for changed in body["LoyaltyMemberships"]] == [
        (added["Id"], 7)
    ]


def test_without_x_record_id_the_mock_refuses_to_start(serve_copy, config):
    document = connector_copy()
    del document["components"]["schemas"][UPDATE_ITEM]["x-record-id"]
    serve_copy(document)
    with pytest.raises(
        LookupError, match="loyaltyMemberships_update: the spec does not say which item property"
    ):
        create_app(config)


def renamed_filter_document() -> dict[str, Any]:
    document = connector_copy()
    request = document["components"]["schemas"]["LoyaltyMembershipFilterParameters"]
    request["properties"] = {
        ("Holders" if name == "AccountIds" else name): prop for name, prop in request["properties"].items()
    }
    assert request["properties"]["Holders"]["x-filter"] == {"property": "AccountId"}
    return document


def with_holders(op: Operation) -> Operation:
    return replace(op, request_model=HoldersFilter) if op.operation_id == GET_ALL else op


def test_a_filter_reads_the_item_property_its_x_filter_names(serve_copy, config):
    catalog = serve_copy(renamed_filter_document(), with_holders)
    assert catalog.by_id[GET_ALL].filter_targets["Holders"].property == "AccountId"
    with connector_server(config) as api:
        program = api.add_program()
        added = api.add_memberships(program, 3)
        page = api.ok(GET_ALL, Holders=[ACCOUNT.format(1)], Limitation={"Count": 10})
    assert [item["Id"] for item in page["LoyaltyMemberships"]] == [added[1]["Id"]]
    assert CONNECTOR.by_id[GET_ALL].filter_targets["AccountIds"].property == "AccountId"  # the shipped one


def test_a_filter_without_x_filter_stops_the_mock_at_startup(serve_copy, config):
    document = renamed_filter_document()
    del document["components"]["schemas"]["LoyaltyMembershipFilterParameters"]["properties"]["Holders"][
        "x-filter"
    ]
    serve_copy(document, with_holders)
    with pytest.raises(LookupError, match=r"loyaltyMemberships_getAll\.Holders: .*\(x-filter\)"):
        create_app(config)


def links_of(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The links of an operation's 200 answer in a copy of the spec."""
    [raw] = [
        item["post"] for item in document["paths"].values() if item["post"]["operationId"] == operation_id
    ]
    return raw["responses"]["200"]["links"]  # type: ignore[no-any-return]


def test_what_a_reference_must_match_comes_from_the_spec_s_links(serve_copy, config):
    # The link from a tier's add to a membership's add copies the tier's program into the membership:
    # that, not a table of the mock, is why a membership's tier must belong to its program.
    def tier_of_another_program(api) -> tuple[str, str]:
        program, other = api.add_program(), api.add_program("Gold Exclusive Club", "GEC07")
        return program, api.add_tier(other)

    with connector_server(config) as api:
        program, tier = tier_of_another_program(api)
        item = {"AccountId": ACCOUNT.format(1), "LoyaltyProgramId": program, "LoyaltyTierId": tier}
        message = api.error("loyaltyMemberships_add", 403, LoyaltyMemberships=[{**item, "IsPrimary": True}])
    assert "LoyaltyTierId" in message
    document = connector_copy()
    link = links_of(document, "loyaltyTiers_add")["AddMembershipInTier"]
    del link["requestBody"]["LoyaltyMemberships"][0]["LoyaltyProgramId"]
    serve_copy(document)
    with connector_server(config) as api:
        program, tier = tier_of_another_program(api)
        [added] = api.add_memberships(program, 1, LoyaltyTierId=tier)
    assert (added["LoyaltyProgramId"], added["LoyaltyTierId"]) == (program, tier)


@pytest.mark.parametrize(
    ("source", "link", "error"),
    [
        ("loyaltyPrograms_add", "AddTierToProgram", r"loyalty_tiers\.LoyaltyProgramId: the spec's links"),
        ("loyaltyPrograms_add", "AddMembershipToProgram", r"loyalty_memberships: the spec's links"),
    ],
    ids=["chain_from", "kept_while_used_by"],
)
def test_the_mock_s_rules_name_only_references_the_spec_s_links_state(
    serve_copy, config, source, link, error
):
    # The mock's table says what it does with a reference (whose chain a tier lives in, what keeps a
    # program alive); the reference itself is the spec's. Without the link, the mock does not start.
    document = connector_copy()
    del links_of(document, source)[link]
    serve_copy(document)
    with pytest.raises(LookupError, match=error):
        create_app(config)
