"""OpenAPI 3.0 and 3.1 documents reduced to what a client can observe, so two of them compare fairly.

    operations = extract_operations(document, "/api/connector/v1/loyalty")
    operations[("post", "/api/connector/v1/loyaltyTiers/add")].body.properties["LoyaltyTiers"].items

Each operation keeps its request body and its responses (status, JSON body, headers); each schema
becomes a :class:`Shape`, in which the ways of writing the same thing no longer differ:

- ``$ref`` is resolved (local JSON pointers; a reference cycle becomes ``Shape(recursive_ref=...)``);
- ``allOf`` is merged, so OpenAPI 3.0's single-reference wrapper ``allOf: [$ref]`` with
  ``nullable: true`` or a description beside it is the referenced schema plus those keywords;
- null is one flag, ``nullable``, whether written ``nullable: true`` (3.0), ``type: [x, 'null']``
  or ``anyOf: [x, {type: 'null'}]`` (3.1); an untyped schema admits null in both versions;
- ``anyOf``/``oneOf`` alternatives that differ only in ``format`` (``date`` or ``date-time``) merge
  into one shape with both formats; other alternatives stay apart as ``variants``;
- a double negation ``not: {not: X}`` is ``X``, and ``anyOf`` of ``required``-only alternatives
  beside properties (Mews' ``memberFilter``) is one ``required-combinations`` constraint;
- 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` become 3.1's numeric form;
- string, number and array keywords written beside an ``allOf`` wrapper of an update value
  (an object whose only job is its ``Value``), where validators ignore them, move onto ``Value``,
  where they were meant to apply (Mews writes ``maxLength: 255`` beside ``allOf: [StringUpdateValue]``;
  specs/README.md, Connector item 4).

Titles, descriptions, examples, links and ``x-`` annotations are dropped; ``x-max-interval-in-months``
is kept as a constraint, since the SDK and the mocks enforce it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mews_loyalty._spec.marks import HTTP_METHODS, MAX_INTERVAL_KEY

# Keywords that bound a value; compared one by one (see codegen/upstream.py for what "tighter" means).
LOWER_BOUNDS = frozenset({"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset(
    {"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties", MAX_INTERVAL_KEY}
)
OTHER_CONSTRAINTS = frozenset({"pattern", "multipleOf", "uniqueItems"})
CONSTRAINTS = LOWER_BOUNDS | UPPER_BOUNDS | OTHER_CONSTRAINTS

# Keywords that cannot apply to an object; beside an update-value wrapper they are meant for `Value`.
NON_OBJECT_KEYWORDS = frozenset(
    {
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)
UPDATE_VALUE_PROPERTY = "Value"
# One of several property combinations must be complete (``anyOf`` of ``required`` lists): compared
# as one constraint, so a property added beside it reads as that, not as five changed alternatives.
REQUIRED_COMBINATIONS = "required-combinations"
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples"})
JSON_MEDIA_TYPE = "application/json"


class DocumentError(ValueError):
    """The document is not an OpenAPI document this module can read."""


@dataclass(frozen=True)
class Shape:
    """What one schema admits, in a form that does not depend on how it was written."""

    types: frozenset[str] | None = None  # JSON types other than null; None: any type
    nullable: bool = True
    formats: frozenset[str] = frozenset()  # empty: any format
    enum: frozenset[Any] | None = None  # non-null values; None: not restricted to a list
    constraints: Mapping[str, Any] = field(default_factory=dict)
    deprecated: bool = False
    properties: Mapping[str, Shape] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    closed: bool = False  # additionalProperties: false
    items: Shape | None = None
    variants: tuple[Shape, ...] = ()  # anyOf/oneOf alternatives that do not merge into one shape
    recursive_ref: str | None = None  # set on a reference back to a schema being expanded


ANY = Shape()


@dataclass(frozen=True)
class Response:
    status: str
    body: Shape | None  # None: no JSON body
    headers: Mapping[str, bool]  # lower-case header name -> required


@dataclass(frozen=True)
class Operation:
    method: str  # lower case
    path: str
    operation_id: str
    deprecated: bool
    body: Shape | None  # None: no JSON request body
    body_required: bool
    responses: Mapping[str, Response]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def extract_operations(document: Mapping[str, Any], path_prefix: str) -> dict[tuple[str, str], Operation]:
    """The operations under ``path_prefix``, keyed by ``(method, path)``; other paths are not read."""
    paths = document.get("paths")
    if not isinstance(document.get("openapi"), str) or not isinstance(paths, Mapping):
        raise DocumentError("not an OpenAPI 3 document (no `openapi` version or no `paths`)")
    normaliser = _Normaliser(document)
    operations: dict[tuple[str, str], Operation] = {}
    for path, raw_item in paths.items():
        if not str(path).startswith(path_prefix):
            continue
        item = normaliser.deref(raw_item)
        for method in HTTP_METHODS:
            if isinstance(item.get(method), Mapping):
                operations[(method, str(path))] = normaliser.operation(method, str(path), item[method])
    return operations


class _Normaliser:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise DocumentError(f"only local references are supported, found {ref!r}")
        target: Any = self.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")  # RFC 6901
            if not isinstance(target, Mapping) or token not in target:
                raise DocumentError(f"unresolvable reference {ref!r}")
            target = target[token]
        if not isinstance(target, Mapping):
            raise DocumentError(f"reference {ref!r} does not point at an object")
        return target

    def deref(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """A response, request body, header or path item with its ``$ref`` chain followed."""
        seen: set[str] = set()
        while "$ref" in node:
            ref = str(node["$ref"])
            if ref in seen:
                raise DocumentError(f"reference cycle at {ref!r}")
            seen.add(ref)
            node = self.resolve(ref)
        return node

    def operation(self, method: str, path: str, raw: Mapping[str, Any]) -> Operation:
        body, body_required = None, False
        if "requestBody" in raw:
            request = self.deref(raw["requestBody"])
            body = self._content_shape(request)
            body_required = bool(request.get("required", False))
        responses = {}
        for status, raw_response in raw.get("responses", {}).items():
            response = self.deref(raw_response)
            headers = {
                str(name).lower(): bool(self.deref(header).get("required", False))
                for name, header in response.get("headers", {}).items()
            }
            responses[str(status)] = Response(str(status), self._content_shape(response), headers)
        return Operation(
            method=method,
            path=path,
            operation_id=str(raw.get("operationId", f"{method.upper()} {path}")),
            deprecated=bool(raw.get("deprecated", False)),
            body=body,
            body_required=body_required,
            responses=responses,
        )

    def _content_shape(self, holder: Mapping[str, Any]) -> Shape | None:
        content = holder.get("content") or {}
        media = content.get(JSON_MEDIA_TYPE) or next(
            (value for key, value in content.items() if str(key).endswith("json")), None
        )
        if media is None:
            return None
        return self.shape(media.get("schema", {}), ())

    def _inline(
        self, node: Mapping[str, Any], seen: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """``node`` with its own ``$ref`` and ``allOf`` merged in (subschemas stay as written)."""
        node = dict(node)
        double = node.get("not")
        if isinstance(double, Mapping) and set(double) == {"not"} and isinstance(double["not"], Mapping):
            # `not: {not: X}` is X (our memberFilter writes Mews' `anyOf` so; specs/README.md).
            del node["not"]
            node["allOf"] = [*(node.get("allOf") or []), double["not"]]
        if "$ref" in node:
            ref = str(node.pop("$ref"))
            if ref in seen:
                return {"x-recursive-ref": ref}, seen
            target, seen = self._inline(self.resolve(ref), (*seen, ref))
            return _overlay(target, node), seen
        if isinstance(node.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in node.pop("allOf"):
                inlined, seen = self._inline(part, seen)
                merged = _overlay(merged, inlined)
            siblings = node
            value = merged.get("properties", {}).get(UPDATE_VALUE_PROPERTY)
            misplaced = {key: siblings.pop(key) for key in NON_OBJECT_KEYWORDS & siblings.keys()}
            if misplaced and value is not None and _is_object(merged):
                merged["properties"] = {
                    **merged["properties"],
                    UPDATE_VALUE_PROPERTY: {"allOf": [value], **misplaced},
                }
            else:
                siblings.update(misplaced)
            return _overlay(merged, siblings), seen
        return node, seen

    def shape(self, node: Mapping[str, Any], seen: tuple[str, ...]) -> Shape:
        schema, seen = self._inline(node, seen)
        if "x-recursive-ref" in schema:
            return Shape(recursive_ref=str(schema["x-recursive-ref"]))
        combinations = _required_combinations(self, schema)
        if combinations is not None:
            plain = self.shape({key: value for key, value in schema.items() if key != "anyOf"}, seen)
            return replace(plain, constraints={**plain.constraints, REQUIRED_COMBINATIONS: combinations})
        for keyword in ("anyOf", "oneOf"):
            if isinstance(schema.get(keyword), list):
                return self._alternatives(schema, keyword, seen)

        return self._plain(schema, seen)

    def _plain(self, schema: Mapping[str, Any], seen: tuple[str, ...]) -> Shape:
        """The shape of a schema without alternatives: its types, values, constraints and subschemas."""
        types = _declared_types(schema)
        enum_values = _enum_values(schema)
        nullable = (
            types is None
            or "null" in types
            or schema.get("nullable") is True
            or (enum_values is not None and None in enum_values)
        )
        items = schema.get("items")
        return Shape(
            types=None if types is None else frozenset(types - {"null"}),
            nullable=nullable,
            formats=frozenset({str(schema["format"])}) if "format" in schema else frozenset(),
            enum=None if enum_values is None else frozenset(v for v in enum_values if v is not None),
            constraints=_constraints(schema),
            deprecated=bool(schema.get("deprecated", False)),
            properties={
                str(name): self.shape(sub, seen) for name, sub in (schema.get("properties") or {}).items()
            },
            required=frozenset(str(name) for name in schema.get("required", ())),
            closed=schema.get("additionalProperties") is False
            or schema.get("unevaluatedProperties") is False,
            items=self.shape(items, seen) if isinstance(items, Mapping) else None,
        )

    def _alternatives(self, schema: Mapping[str, Any], keyword: str, seen: tuple[str, ...]) -> Shape:
        siblings = {key: value for key, value in schema.items() if key != keyword}
        shapes = [self.shape({"allOf": [alternative], **siblings}, seen) for alternative in schema[keyword]]
        null_only = [s for s in shapes if s.types == frozenset() and s.nullable]
        others = [s for s in shapes if s not in null_only]
        has_null = bool(null_only) or any(s.nullable for s in others)
        if not others:
            return Shape(types=frozenset(), nullable=True)
        if len(others) == 1:
            return replace(others[0], nullable=has_null)
        merged = _merge_formats(others)
        if merged is not None:
            return replace(merged, nullable=has_null)
        types: frozenset[str] | None = frozenset()
        for other in others:
            types = None if types is None or other.types is None else types | other.types
        return Shape(types=types, nullable=has_null, variants=tuple(others))


def _required_combinations(
    normaliser: _Normaliser, schema: Mapping[str, Any]
) -> tuple[tuple[str, ...], ...] | None:
    """``anyOf`` of ``required``-only alternatives (one property combination must be complete), sorted."""
    alternatives = schema.get("anyOf")
    if not isinstance(alternatives, list) or not alternatives:
        return None
    combinations = []
    for alternative in alternatives:
        if not isinstance(alternative, Mapping):
            return None
        if "$ref" in alternative:
            alternative = normaliser.resolve(str(alternative["$ref"]))
        if set(alternative) - ANNOTATIONS - {"required"} or not alternative.get("required"):
            return None
        combinations.append(tuple(sorted(str(name) for name in alternative["required"])))
    return tuple(sorted(combinations))


def _declared_types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a schema states (``type``, or implied by ``properties``/``items``); None: any."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return None


def _enum_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values a schema allows by ``const`` or ``enum``, None when it lists none."""
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if isinstance(schema.get("enum"), list) else None


def _is_object(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    return (
        declared == "object"
        or (isinstance(declared, list) and "object" in declared)
        or (declared is None and "properties" in schema)
    )


def _overlay(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``allOf`` semantics for the keywords we compare: properties and required add up, the rest overrides."""
    merged = {**base, **extra}
    if "properties" in base and "properties" in extra:
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if "required" in base and "required" in extra:
        merged["required"] = [*base["required"], *extra["required"]]
    return merged


def _constraints(schema: Mapping[str, Any]) -> dict[str, Any]:
    found = {key: schema[key] for key in CONSTRAINTS if key in schema}
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0 writes exclusiveness as a flag on minimum/maximum; 3.1 as the bound itself.
        if isinstance(found.get(exclusive), bool) and found.pop(exclusive) and bound in found:
            found[exclusive] = found.pop(bound)
    return found


def _merge_formats(shapes: Iterable[Shape]) -> Shape | None:
    """One shape for alternatives that differ only in format (e.g. a date or a date-time), else None."""
    first, *rest = shapes
    plain = replace(first, formats=frozenset(), nullable=False)
    formats = set(first.formats)
    for shape in rest:
        if replace(shape, formats=frozenset(), nullable=False) != plain:
            return None
        if not shape.formats or not formats:
            formats = set()  # one alternative takes any format: so does the union
        else:
            formats |= shape.formats
    return replace(first, formats=frozenset(formats), nullable=any(s.nullable for s in [first, *rest]))
