"""Validating wire JSON against a component of a spec, as a JSON Schema 2020-12 validator sees it."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS31Validator, oas31_format_checker

from mews_loyalty._spec.catalog import ApiName, catalog


def schema_errors(api: ApiName, component: str, instance: Any) -> list[str]:
    document = catalog(api).document
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    validator = OAS31Validator(schema, format_checker=oas31_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def component_for(api: ApiName, example: dict[str, Any]) -> str:
    op = catalog(api).by_id[example["operationId"]]
    name = op.request_schema if example["kind"] == "request" else op.response_schema
    assert name is not None, f"{op.operation_id} has no named {example['kind']} schema"
    return name
