"""Every example Mews documents for these operations must be accepted by our specs and models.

Mews' published spec rejects 8 of its own 29 loyalty examples; ours is meant to accept all of them
(the choices are recorded in specs/README.md), so a regression here means a spec change broke a
documented use.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mews_loyalty._spec.catalog import ApiName, catalog
from tests.conftest import example_params, load_examples
from tests.specs._schema import component_for, schema_errors


def test_all_29_documented_connector_examples_are_kept_as_test_data():
    # The count in NOTES.md: 29 distinct request and response examples across the seeds and the
    # published reference. Losing one would silently shrink what this suite proves.
    assert len(load_examples("connector")) == 29


@pytest.mark.parametrize("example", example_params("connector"))
def test_connector_example_validates_against_spec(example: dict[str, Any]):
    assert schema_errors("connector", component_for("connector", example), example["body"]) == []


@pytest.mark.parametrize("example", example_params("reverse"))
def test_reverse_example_validates_against_spec(example: dict[str, Any]):
    assert schema_errors("reverse", component_for("reverse", example), example["body"]) == []


def _pydantic_model(api: ApiName, example: dict[str, Any]) -> Any:
    op = catalog(api).by_id[example["operationId"]]
    return op.request_model if example["kind"] == "request" else op.response_model


@pytest.mark.parametrize(
    ("api", "example"),
    [
        pytest.param(api, example, id=f"{api}-{example['file'].removesuffix('.json')}")
        for api in ("connector", "reverse")
        for example in load_examples(api)
    ],
)
def test_example_validates_against_pydantic_model_in_strict_mode(api: ApiName, example: dict[str, Any]):
    # The mocks validate requests exactly like this; a documented example that fails here would
    # be answered 400 by our own mock.
    _pydantic_model(api, example).model_validate_json(json.dumps(example["body"]), strict=True)
