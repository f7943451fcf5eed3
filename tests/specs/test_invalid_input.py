"""Input the contract forbids must be rejected by the spec and by the generated pydantic models alike.

Loosening the spec to accept every documented example must not make it accept garbage: the mocks
answer 400 only for what the models reject, and the contract suite fuzzes with what the spec rejects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from mews_loyalty._spec.catalog import ApiName, catalog
from tests.conftest import load_examples
from tests.specs._schema import schema_errors

UUID = "905a4489-0960-4ac9-96ec-793f47365c92"


def documented(api: ApiName, operation_id: str, kind: str = "request") -> dict[str, Any]:
    for example in load_examples(api):
        if example["operationId"] == operation_id and example["kind"] == kind:
            return copy.deepcopy(example["body"])
    raise LookupError(operation_id)


def first_add_item(body: dict[str, Any]) -> dict[str, Any]:
    return body["LoyaltyMemberships"][0]  # type: ignore[no-any-return]


Mutation = Callable[[dict[str, Any]], None]
CASES: list[tuple[str, ApiName, str, Mutation]] = [
    ("add with no items", "connector", "loyaltyMemberships_add", lambda b: b.update(LoyaltyMemberships=[])),
    (
        "add with 1001 items",
        "connector",
        "loyaltyMemberships_add",
        lambda b: b.update(LoyaltyMemberships=b["LoyaltyMemberships"] * 1001),
    ),
    (
        "256-character code",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).update(Code="C" * 256),
    ),
    (
        "256-character membership number",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).update(MembershipNumber="C" * 256),
    ),
    (
        "unknown state",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).update(State="Active"),
    ),
    (
        "state in wrong case",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).update(State="enrolled"),
    ),
    (
        "missing AccountId",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).pop("AccountId"),
    ),
    (
        "non-uuid AccountId",
        "connector",
        "loyaltyMemberships_add",
        lambda b: first_add_item(b).update(AccountId="42"),
    ),
    ("missing ClientToken", "connector", "loyaltyMemberships_add", lambda b: b.pop("ClientToken")),
    ("empty AccessToken", "connector", "loyaltyMemberships_add", lambda b: b.update(AccessToken="")),
    ("unknown property", "connector", "loyaltyMemberships_add", lambda b: b.update(Unknown=1)),
    (
        "LanguageCode without CultureCode",
        "connector",
        "loyaltyMemberships_add",
        lambda b: b.update(LanguageCode="en-US"),
    ),
    ("Count 0", "connector", "loyaltyMemberships_getAll", lambda b: b["Limitation"].update(Count=0)),
    ("Count 1001", "connector", "loyaltyMemberships_getAll", lambda b: b["Limitation"].update(Count=1001)),
    (
        "Count as a string",
        "connector",
        "loyaltyMemberships_getAll",
        lambda b: b["Limitation"].update(Count="5"),
    ),
    (
        "non-uuid cursor",
        "connector",
        "loyaltyMemberships_getAll",
        lambda b: b["Limitation"].update(Cursor="x"),
    ),
    ("missing Limitation", "connector", "loyaltyMemberships_getAll", lambda b: b.pop("Limitation")),
    (
        "interval without end",
        "connector",
        "loyaltyMemberships_getAll",
        lambda b: b["CreatedUtc"].pop("EndUtc"),
    ),
    (
        "unknown activity state",
        "connector",
        "loyaltyMemberships_getAll",
        lambda b: b.update(ActivityStates=["Live"]),
    ),
    ("empty id filter", "connector", "loyaltyMemberships_getAll", lambda b: b.update(AccountIds=[])),
    (
        "1001 ids in a filter",
        "connector",
        "loyaltyMemberships_getAll",
        lambda b: b.update(AccountIds=[UUID] * 1001),
    ),
    (
        "delete non-uuid id",
        "connector",
        "loyaltyMemberships_delete",
        lambda b: b.update(LoyaltyMembershipIds=["a"]),
    ),
    (
        "update wrapper without Value",
        "connector",
        "loyaltyMemberships_update",
        lambda b: b["LoyaltyMembershipUpdates"][0].update(Points={}),
    ),
    (
        "clearing a value that cannot be empty",
        "connector",
        "loyaltyMemberships_update",
        lambda b: b["LoyaltyMembershipUpdates"][0].update(IsPrimary={"Value": None}),
    ),
    (
        "51-character tier name",
        "connector",
        "loyaltyTiers_add",
        lambda b: b["LoyaltyTiers"][0].update(Name="T" * 51),
    ),
    (
        "tiers without program filter",
        "connector",
        "loyaltyTiers_getAll",
        lambda b: b.pop("LoyaltyProgramIds"),
    ),
    (
        "unknown program type",
        "connector",
        "loyaltyPrograms_add",
        lambda b: b["LoyaltyPrograms"][0].update(Type="Spa"),
    ),
    ("no ids", "reverse", "listMemberships", lambda b: b.update(providerMembershipIds=[])),
    ("101 ids", "reverse", "listMemberships", lambda b: b.update(providerMembershipIds=["a"] * 101)),
    ("51-character id", "reverse", "listMemberships", lambda b: b.update(providerMembershipIds=["i" * 51])),
    ("missing enterprise", "reverse", "listMemberships", lambda b: b.pop("mewsEnterpriseId")),
    ("non-uuid customer", "reverse", "updateMembershipLink", lambda b: b.update(mewsCustomerId="c-1")),
    ("isLinked as a string", "reverse", "updateMembershipLink", lambda b: b.update(isLinked="true")),
]


@pytest.mark.parametrize(("api", "operation_id", "mutate"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_request_is_rejected_by_spec_and_model(api: ApiName, operation_id: str, mutate: Mutation):
    body = documented(api, operation_id)
    mutate(body)
    op = catalog(api).by_id[operation_id]
    assert schema_errors(api, op.request_schema, body), "the spec accepted it"
    # The models cannot express `dependentRequired`; the catalog checks it beside them.
    if not op.missing_dependents(body):
        with pytest.raises(pydantic.ValidationError):
            op.request_model.model_validate_json(json.dumps(body), strict=True)


def test_locale_codes_come_together_or_not_at_all():
    # NOTES.md: LanguageCode and CultureCode are optional on every request but go as a pair.
    op = catalog("connector").by_id["loyaltyTiers_delete"]
    assert op.missing_dependents({"LanguageCode": "en-US"}) == ["LanguageCode requires CultureCode"]
    assert op.missing_dependents({"CultureCode": "en-US"}) == ["CultureCode requires LanguageCode"]
    assert op.missing_dependents({"LanguageCode": "cs-CZ", "CultureCode": "cs-CZ"}) == []
    assert op.missing_dependents({}) == []


def test_invalid_response_status_is_rejected():
    # Providers answer statuses in lower case; a casing slip must fail conformance.
    body = documented("reverse", "listMemberships", "response")
    body["data"][1]["status"] = "NotFound"
    op = catalog("reverse").by_id["listMemberships"]
    assert op.response_schema is not None
    assert schema_errors("reverse", op.response_schema, body)
    with pytest.raises(pydantic.ValidationError):
        op.response_model.model_validate_json(json.dumps(body), strict=True)  # type: ignore[union-attr]
