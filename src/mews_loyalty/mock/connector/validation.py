"""Request validation for every Connector operation: exactly what the spec rejects gets a 400.

    data = parse_object(raw)                                  # malformed, too deep, not an object: 400
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
from dataclasses import dataclass
from typing import Any

import orjson
import pydantic
from pydantic import BaseModel

from mews_loyalty._spec.catalog import Operation
from mews_loyalty._wire.formats import FormatChecker, describe_formats, format_checker, is_uri
from mews_loyalty._wire.nesting import NestedTooDeep, check_nesting
from mews_loyalty.mock.connector.errors import BAD_REQUEST, ConnectorError

# Stands in for a URI the spec takes and pydantic's URL type does not, only while building the
# model; what the caller sent is what is checked and stored.
URI_PLACEHOLDER = "https://uri.invalid/"


def parse_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400 (also for one nested past ``MAX_DEPTH`` levels)."""
    try:
        check_nesting(raw)
        data = orjson.loads(raw)
    except NestedTooDeep as error:
        message = f"The request body nests arrays and objects deeper than {error.limit} levels."
        raise ConnectorError(BAD_REQUEST, message) from None
    except orjson.JSONDecodeError as error:
        raise ConnectorError(BAD_REQUEST, f"The request body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConnectorError(BAD_REQUEST, "The request body must be a JSON object.")
    return data


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
    formats: FormatChecker

    @classmethod
    def for_operation(cls, operation: Operation) -> RequestValidator:
        return cls(operation, format_checker(operation))

    def validate(self, raw: bytes, data: dict[str, Any]) -> BaseModel:
        request = self._model(raw, data)
        problems = [
            _problem(_where(location), f"Input should be a valid {describe_formats(formats)}")
            for location, formats in self.formats.violations(data)
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
