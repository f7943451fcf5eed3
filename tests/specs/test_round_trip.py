"""Documented wire JSON must survive decoding into our models and encoding back.

Integrators read responses through the generated attrs models and the mocks store what the pydantic
models parsed; if either dropped or reshaped a field, data would be lost on the way through.
"""

from __future__ import annotations

import datetime
import importlib
import json
from typing import Any

import pytest

from mews_loyalty._spec.catalog import ApiName, catalog, class_name, client_package
from tests.conftest import load_examples
from tests.specs._schema import component_for

PARAMS = [
    pytest.param(api, example, id=f"{api}-{example['file'].removesuffix('.json')}")
    for api in ("connector", "reverse")
    for example in load_examples(api)
]


def same_instant(value: Any) -> Any:
    """Normalise RFC 3339 timestamps, so ``...Z`` and ``...+00:00`` compare equal (the same instant)."""
    if isinstance(value, dict):
        return {key: same_instant(item) for key, item in value.items()}
    if isinstance(value, list):
        return [same_instant(item) for item in value]
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@pytest.mark.parametrize(("api", "example"), PARAMS)
def test_generated_client_model_round_trip(api: ApiName, example: dict[str, Any]):
    models = importlib.import_module(f"{client_package(api)}.models")
    cls = getattr(models, class_name(component_for(api, example)))
    decoded = cls.from_dict(example["body"])
    encoded = decoded.to_dict()
    assert same_instant(encoded) == same_instant(example["body"])
    assert cls.from_dict(encoded) == decoded
    json.dumps(encoded)  # what the client sends must be plain JSON


@pytest.mark.parametrize(("api", "example"), PARAMS)
def test_pydantic_model_round_trip_is_exact(api: ApiName, example: dict[str, Any]):
    op = catalog(api).by_id[example["operationId"]]
    model = op.request_model if example["kind"] == "request" else op.response_model
    assert model is not None
    parsed = model.model_validate_json(json.dumps(example["body"]), strict=True)
    # Absent fields stay absent (pydantic.MISSING) and nulls stay null: update wrappers depend on it.
    assert parsed.model_dump(mode="json", by_alias=True) == example["body"]
