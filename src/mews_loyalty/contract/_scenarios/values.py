"""Reading the spec's schemas: resolving references, making valid values, comparing what came back.

The scenario checks build their request bodies from the spec rather than naming fields, so a field
or resource added to the spec is exercised without new code. Values are deterministic (a ``variant``
number picks among them) and clearly marked as test data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from mews_loyalty._spec.catalog import resolve

Schema = Mapping[str, Any]
# Chooses the value of a uuid property that names another resource (None: make one up).
ReferencedId = Callable[[str], str | None]


def types(schema: Schema) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind or ())


# Of a string that may take several formats, the one sent: a date before a date-time. Where our
# spec widens a field to both (``ExpirationDateInput``), Mews' published spec says ``date``; a date
# is what every reader of the field takes.
PREFERRED_FORMATS = ("date",)


def _preference(schema: Schema) -> int:
    fmt = schema.get("format")
    return PREFERRED_FORMATS.index(fmt) if fmt in PREFERRED_FORMATS else len(PREFERRED_FORMATS)


def non_null(document: Schema, node: Schema) -> Schema:
    """The schema without its ``null`` alternative (``anyOf [X, null]`` -> X; ``[T, 'null']`` -> T).

    Of several other alternatives, the first in ``PREFERRED_FORMATS`` order, else the first written.
    """
    schema = resolve(document, node)
    branches = [resolve(document, b) for b in schema.get("anyOf", schema.get("oneOf", ()))]
    if branches:
        kept = sorted((b for b in branches if types(b) != {"null"}), key=_preference)
        return non_null(document, kept[0]) if kept else schema
    kinds = types(schema)
    if "null" in kinds and len(kinds) > 1:
        narrowed = dict(schema)
        narrowed["type"] = sorted(kinds - {"null"})[0]
        return narrowed
    return schema


def nullable(document: Schema, node: Schema) -> bool:
    schema = resolve(document, node)
    branches = [resolve(document, b) for b in schema.get("anyOf", schema.get("oneOf", ()))]
    if branches:
        return any(types(b) == {"null"} or nullable(document, b) for b in branches)
    return "null" in types(schema)


def properties(document: Schema, node: Schema) -> dict[str, Schema]:
    return dict(resolve(document, node).get("properties", {}))


def is_deprecated(document: Schema, node: Schema) -> bool:
    return bool(node.get("deprecated") or resolve(document, node).get("deprecated"))


def make_value(
    document: Schema,
    node: Schema,
    *,
    name: str,
    variant: int,
    reference: ReferencedId,
    avoid: Any = None,
) -> Any:
    """A valid value for ``node`` (never null), different from ``avoid`` when the schema allows it."""
    schema = non_null(document, node)
    if "enum" in schema:
        options = [option for option in schema["enum"] if option is not None]
        choices = [option for option in options if option != avoid] or options
        return choices[variant % len(choices)]
    kind = next(iter(sorted(types(schema))), "object" if "properties" in schema else "string")
    if kind == "boolean":
        return not avoid if isinstance(avoid, bool) else variant % 2 == 1
    if kind == "integer":
        low = int(schema.get("minimum", -(2**31)))
        high = int(schema.get("maximum", 2**31 - 1))
        value = max(low, min(high, 100 + variant * 7))
        return value if value != avoid else max(low, min(high, value + 1))
    if kind == "number":
        return float(100 + variant * 7)
    if kind == "array":
        return [
            make_value(document, schema.get("items", {}), name=name, variant=variant, reference=reference)
        ]
    if kind == "object":
        return {
            key: make_value(document, sub, name=key, variant=variant, reference=reference)
            for key, sub in properties(document, schema).items()
            if key in schema.get("required", ())
        }
    return _string(schema, name=name, variant=variant, reference=reference, avoid=avoid)


def _string(schema: Schema, *, name: str, variant: int, reference: ReferencedId, avoid: Any) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        chosen = reference(name)
        return chosen if chosen is not None else str(uuid.UUID(int=0x5EED0000 + variant, version=4))
    if fmt == "date-time":
        return f"20{31 + variant % 60}-0{1 + variant % 9}-1{variant % 10}T10:20:30Z"
    if fmt == "date":
        return f"20{31 + variant % 60}-0{1 + variant % 9}-1{variant % 10}"
    if fmt in {"uri", "url"}:
        return f"https://contract-test.example.com/{name.lower()}/{variant}"
    text = f"ct-{name[:12]}-{uuid.uuid4().hex[:8]}-{variant}"
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", 10_000))
    text = text[:high] if len(text) > high else text + "x" * max(0, low - len(text))
    return text if text != avoid else text[:-1] + ("y" if text[-1] != "y" else "z")


def _moment(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def same_value(sent: Any, received: Any) -> bool:
    """Whether a value read back is the value sent, allowing the representations the spec allows.

    A date may come back as a date-time at midnight UTC, date-times compare as instants, UUIDs
    compare case-insensitively.
    """
    if sent == received:
        return True
    if isinstance(sent, str) and isinstance(received, str):
        if sent.lower() == received.lower() and _is_uuid(sent):
            return True
        left, right = _moment(sent), _moment(received)
        if left is not None and right is not None:
            return left == right
    if isinstance(sent, date) and isinstance(received, str):
        return same_value(sent.isoformat(), received)
    return False


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
