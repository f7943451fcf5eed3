"""Request validation for every Connector operation: exactly what the spec rejects gets a 400.

    data = parse_object(raw)                                  # malformed JSON, not an object: 400
    request = RequestValidator.for_operation(op).validate(raw, data)   # 400 naming the parameter

Three layers, all read from the operation catalog and the spec, none written per operation:

1. The generated pydantic model, strict (``"5"`` is not an integer, ``1`` is not a boolean).
2. String formats (``uuid``, ``date-time``, ``date``, ``uri``) as JSON Schema defines them. pydantic
   is more lenient than the formats (it takes ``{...}``-braced and hyphen-less UUIDs, date-times
   with a space or without seconds, unix timestamps, IRIs), so the spec's formats are checked on
   the raw JSON as well, at the places the request schema puts them. Where the strict model is
   stricter than the spec (``5.0`` is an integer to JSON Schema; some RFC 3986 URIs are not WHATWG
   URLs), the spec wins.
3. ``dependentRequired`` (``LanguageCode`` and ``CultureCode`` come together), which the models
   cannot express.

Messages name the offending top-level parameter first, as Mews does ("Invalid Limitation"), then
the path and the problem; ``Details`` lists every problem found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pydantic
from pydantic import BaseModel

from mews_loyalty._formats import FORMATS, is_uri
from mews_loyalty._spec import Operation, catalog, resolve
from mews_loyalty.mock._connector_errors import BAD_REQUEST, ConnectorError

ITEM = "*"  # path segment: every item of an array
Path = tuple[str, ...]

# Stands in for a URI the spec takes and pydantic's URL type does not, only while building the
# model; what the caller sent is what is checked and stored.
URI_PLACEHOLDER = "https://uri.invalid/"


def parse_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ConnectorError(BAD_REQUEST, f"The request body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConnectorError(BAD_REQUEST, "The request body must be a JSON object.")
    return data


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind or ())


def _scalars(
    document: Mapping[str, Any], node: Mapping[str, Any], path: Path
) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every scalar schema the request schema allows, by path (``anyOf`` branches share a path)."""
    schema = resolve(document, node)
    for branch in schema.get("anyOf", schema.get("oneOf", ())):
        yield from _scalars(document, branch, path)
    for name, child in schema.get("properties", {}).items():
        yield from _scalars(document, child, (*path, name))
    if "items" in schema:
        yield from _scalars(document, schema["items"], (*path, ITEM))
    if _types(schema) - {"object", "array", "null"}:
        yield path, schema


def _format_paths(document: Mapping[str, Any], root: Mapping[str, Any]) -> dict[Path, frozenset[str]]:
    """Where strings must match a format, and the formats (any one of them) a value may match."""
    alternatives: dict[Path, list[Mapping[str, Any]]] = {}
    for path, schema in _scalars(document, root, ()):
        alternatives.setdefault(path, []).append(schema)
    formats: dict[Path, frozenset[str]] = {}
    for path, schemas in alternatives.items():
        strings = [schema.get("format") for schema in schemas if "string" in _types(schema)]
        if strings and None not in strings and set(strings) <= FORMATS.keys():
            formats[path] = frozenset(str(name) for name in strings)
    return formats


def _values_at(data: Any, path: Path, where: str = "") -> Iterator[tuple[str, Any]]:
    if not path:
        yield where, data
        return
    head, rest = path[0], path[1:]
    if head == ITEM:
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from _values_at(item, rest, f"{where}[{index}]")
    elif isinstance(data, dict) and head in data:
        yield from _values_at(data[head], rest, f"{where}.{head}" if where else head)


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _locate(data: Any, location: tuple[int | str, ...]) -> tuple[Any, Any]:
    """The container and key of the value an error points at (trailing union tags ignored)."""
    container: Any = None
    key: Any = None
    current = data
    for part in location:
        found_in_object = isinstance(current, dict) and isinstance(part, str) and part in current
        found_in_array = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if found_in_object or found_in_array:
            container, key, current = current, part, current[part]
        elif isinstance(current, (dict, list)):
            return None, None
        else:
            break
    return container, key


def _as_the_spec_reads_it(error: pydantic.ValidationError, data: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of ``data`` the strict model takes where only the model, not the spec, objects; or None."""
    reconciled: dict[str, Any] = _copy_json(data)
    changed = False
    for item in error.errors(include_input=False):
        container, key = _locate(reconciled, item["loc"])
        if container is None:
            continue
        value = container[key]
        if item["type"] == "int_type" and isinstance(value, float) and value.is_integer():
            container[key] = int(value)
            changed = True
        elif item["type"].startswith("url_") and isinstance(value, str) and is_uri(value):
            container[key] = URI_PLACEHOLDER
            changed = True
    return reconciled if changed else None


def _problem(where: str, message: str) -> dict[str, str]:
    return {"Parameter": where, "Problem": message}


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problems(error: pydantic.ValidationError) -> list[dict[str, str]]:
    return [_problem(_where(item["loc"]), item["msg"]) for item in error.errors(include_input=False)]


def _reject(problems: list[dict[str, str]]) -> ConnectorError:
    first = problems[0]
    parameter = re.split(r"[.\[]", first["Parameter"], maxsplit=1)[0] or "request body"
    return ConnectorError(
        BAD_REQUEST,
        f"Invalid {parameter}: {first['Parameter']}: {first['Problem']}",
        details=problems,
    )


@dataclass(frozen=True)
class RequestValidator:
    """Validates request bodies of one operation against its spec."""

    operation: Operation
    format_paths: tuple[tuple[Path, frozenset[str]], ...]

    @classmethod
    def for_operation(cls, operation: Operation) -> RequestValidator:
        document = catalog(operation.api).document
        formats = _format_paths(document, {"$ref": f"#/components/schemas/{operation.request_schema}"})
        return cls(operation, tuple(formats.items()))

    def validate(self, raw: bytes, data: dict[str, Any]) -> BaseModel:
        request = self._model(raw, data)
        problems = [
            _problem(where, f"Input should be a valid {' or '.join(sorted(formats))}")
            for path, formats in self.format_paths
            for where, value in _values_at(data, path)
            if isinstance(value, str) and not any(FORMATS[name](value) for name in formats)
        ]
        problems += [
            _problem(other, f"Field required when {name} is sent")
            for name, others in self.operation.dependent_required.items()
            if name in data
            for other in others
            if other not in data
        ]
        if problems:
            raise _reject(problems)
        return request

    def _model(self, raw: bytes, data: dict[str, Any]) -> BaseModel:
        model = self.operation.request_model
        try:
            return model.model_validate_json(raw, strict=True)
        except pydantic.ValidationError as error:
            # Only a failed validation pays for asking what the spec would have taken.
            reconciled = _as_the_spec_reads_it(error, data)
            if reconciled is None:
                raise _reject(_problems(error)) from None
        try:
            # The standard library, not orjson: a whole number may exceed 64 bits here.
            return model.model_validate_json(json.dumps(reconciled).encode(), strict=True)
        except pydantic.ValidationError as error:
            raise _reject(_problems(error)) from None
