"""Every request example in Mews' own guides is accepted by the mock, as written and with the
Requests guideline's ``"LanguageCode": null, "CultureCode": null``.

The examples are collected from Mews' documents themselves, beside the checkout in ``../shared``
(``MEWS_GUIDES`` names another place): each JSON body that follows an operation's address
(``[PlatformAddress]/api/connector/v1/...``) or the "Example" of a reference page titled like one
of the published operations, and every request ``example`` of the published spec. Where the
documents are not at hand, the same examples as this project keeps them (``tests/data/examples``)
are sent instead, so the test always sends something and says which source it read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mews_loyalty.mock.connector import ConnectorMockConfig
from tests.conftest import load_examples
from tests.mock.conftest import CONNECTOR, connector_server
from tests.mock.test_connector_examples import records_for

GUIDES = Path(os.environ.get("MEWS_GUIDES", Path(__file__).resolve().parents[2].parent / "shared"))
ADDRESS = re.compile(r"\[PlatformAddress\](/api/connector/v1/\S+)")
PUBLISHED = GUIDES / "reference" / "connector-loyalty-published.yaml"
# Mews' Requests guideline: both may be sent, together, as null.
LANGUAGE_NULLS = {"LanguageCode": None, "CultureCode": None}


def _json_after(text: str, start: int) -> Any:
    brace = text.find("{", start)
    return json.JSONDecoder().raw_decode(text, brace)[0] if brace >= 0 else None


def _published() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))
    return document


def _from_published() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path, item in _published()["paths"].items():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            examples = [content["example"]] if "example" in content else []
            examples += [entry["value"] for entry in content.get("examples", {}).values()]
            found += [(path, example) for example in examples]
    return found


def _from_pages() -> list[tuple[str, dict[str, Any]]]:
    by_title = {
        operation["summary"]: path
        for path, item in _published()["paths"].items()
        for operation in item.values()
        if "summary" in operation
    }
    found = []
    for page in sorted((GUIDES / "seeds").glob("*.txt")):
        text = page.read_text(encoding="utf-8")
        found += [(match.group(1), _json_after(text, match.end())) for match in ADDRESS.finditer(text)]
        title = next((line.strip() for line in text.splitlines()[:5] if line.strip() in by_title), None)
        for match in re.finditer(r"^Example\n(?=\{)", text, flags=re.MULTILINE):
            body = _json_after(text, match.end())
            if title is not None and isinstance(body, dict) and "ClientToken" in body:
                found.append((by_title[title], body))
    return found


def guide_requests() -> list[Any]:
    """(operationId, body) of every documented request, as pytest params naming their source."""
    by_path = {op.path: op.operation_id for op in CONNECTOR.operations}
    if PUBLISHED.is_file():
        collected = [(by_path[path], body) for path, body in _from_pages() + _from_published()]
        source = "guides"
    else:
        kept = [e for e in load_examples("connector") if e["kind"] == "request"]
        collected = [(e["operationId"], e["body"]) for e in kept]
        source = "kept"
    distinct = {json.dumps([op, body], sort_keys=True): (op, body) for op, body in collected}
    return [
        pytest.param(op, body, id=f"{source}-{op}-{n}")
        for n, (op, body) in enumerate(sorted(distinct.values(), key=lambda pair: pair[0]))
    ]


REQUESTS = guide_requests()


def test_the_guides_document_a_request_for_every_operation_they_describe():
    # A parser that found nothing would make every test below vacuous.
    documented = {param.values[0] for param in REQUESTS}
    assert {"loyaltyMemberships_getAll", "loyaltyMemberships_add"} <= documented
    assert len(REQUESTS) >= len(documented) >= 4


@pytest.mark.parametrize(("operation_id", "body"), REQUESTS)
@pytest.mark.parametrize("language", [{}, LANGUAGE_NULLS], ids=["as-written", "language-nulls"])
def test_the_mock_accepts_a_documented_request(
    operation_id: str, body: dict[str, Any], language: dict[str, Any]
):
    with connector_server(ConnectorMockConfig(rate_limit=None), store=records_for(operation_id)) as api:
        response = api.client.post(CONNECTOR.by_id[operation_id].path, json={**body, **language})
    assert response.status_code == 200, response.text


def test_one_language_field_alone_is_refused_even_null():
    # "Both or neither" is about the properties sent (dependentRequired): one alone is a 400.
    operation_id, body = REQUESTS[0].values
    with connector_server(ConnectorMockConfig(rate_limit=None), store=records_for(operation_id)) as api:
        alone = api.client.post(CONNECTOR.by_id[operation_id].path, json={**body, "LanguageCode": None})
    assert alone.status_code == 400, alone.text
    assert "CultureCode" in alone.text
