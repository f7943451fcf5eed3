"""Shared by the provider tests: tokens, request bodies and the spec-conformance assertion."""

from __future__ import annotations

from typing import Any

import httpx

from mews_loyalty._spec.catalog import catalog
from tests.specs._schema import schema_errors

TOKEN = "current-token-0123456789"
NEXT_TOKEN = "next-token-9876543210"
ENTERPRISE = "00000000-0000-4000-8000-0000000000e1"
CUSTOMER = "00000000-0000-4000-8000-0000000000c1"
OTHER_CUSTOMER = "00000000-0000-4000-8000-0000000000c2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIST = "/memberships/list"
LINK = "/memberships/link"
CORE = "https://purl.mews.com/problem/core/"


def list_body(*ids: str, **extra: Any) -> dict[str, Any]:
    return {"mewsEnterpriseId": ENTERPRISE, "providerMembershipIds": list(ids), **extra}


def link_body(
    membership_id: str, *, linked: bool = True, customer: str = CUSTOMER, **extra: Any
) -> dict[str, Any]:
    return {
        "mewsEnterpriseId": ENTERPRISE,
        "providerMembershipId": membership_id,
        "mewsCustomerId": customer,
        "isLinked": linked,
        **extra,
    }


def assert_conforms(response: httpx.Response) -> Any:
    """The response is what the spec documents for its operation; returns the parsed body.

    Statuses and content types come from the catalog; bodies are checked against the spec's JSON
    Schema (200: the operation's response schema; errors: ``problemDetail``). Unknown paths and
    methods (404, 405) are not operations, and must still be problem documents.
    """
    operation = catalog("reverse").by_path.get((response.request.method, response.request.url.path))
    body = response.json()
    content_type = response.headers["content-type"].split(";")[0]
    if operation is None:
        assert response.status_code in {404, 405}, response.text
    else:
        assert response.status_code in operation.documented_statuses, response.text
    if response.status_code == 200:
        assert operation is not None
        assert operation.response_schema is not None
        assert content_type == "application/json"
        assert schema_errors("reverse", operation.response_schema, body) == []
    else:
        assert content_type == "application/problem+json"
        assert schema_errors("reverse", "problemDetail", body) == []
        assert body["status"] == response.status_code
    return body


def field_errors(body: dict[str, Any]) -> set[tuple[str, str]]:
    """``{(pointer, type name), ...}`` of a problem, e.g. ``("#/mewsEnterpriseId", "field-required")``."""
    return {(error["pointer"], error["type"].removeprefix(CORE)) for error in body.get("errors", [])}


class MembershipsOnly:
    """Base of the test backends about listing and linking: finds nobody, enrols nobody (422)."""

    def search_members(self, request: Any) -> list[Any]:
        return []

    def enroll_member(self, request: Any) -> Any:
        from mews_loyalty.provider import BusinessRuleViolation

        raise BusinessRuleViolation("This test backend enrols nobody.")
