"""Typed resource classes for the SDK, written into ``generated/mews_<api>_resources`` from a spec.

    module = build_module(api, yaml.safe_load(api.spec.read_text(encoding="utf-8")))
    text = render(module)          # Python source, formatted later with the other generated code

Every operation of a spec becomes one method of its resource's class (``LoyaltyMembershipsResource``,
blocking, and ``AsyncLoyaltyMembershipsResource``), with keyword-only snake_case parameters typed from
the request schema and a result typed as the attrs class of the response. The methods only delegate to
the runtime's generic ``Resource`` (``run_page``, ``run_iterate``, ``run_batch``, ``run_call``): what an
operation does follows from the same facts the runtime's catalog reads (``mews_loyalty/_spec/catalog.py``),
restated here because codegen does not import the runtime:

* a request with ``Limitation`` is a paged query: ``get_all`` returns one ``Page``, ``iter_all`` every
  item of every page;
* a request whose first required non-envelope property is a bounded array is a bulk call, taking that
  array's items (TypedDicts generated from the item schema, or the generated attrs models);
* anything else is a single call.

Bulk items and object-valued parameters get a TypedDict per object schema (``LoyaltyMembershipAddParametersDict``),
string enums a ``Literal`` of their values beside the generated enum (``ActivityStateLiteral``).
"""

from __future__ import annotations

import keyword
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from codegen.apis import CODEGEN, Api

# The same facts as mews_loyalty._spec.catalog (ENVELOPE_FIELDS, PAGING_FIELD, CURSOR_FIELD, MAX_INTERVAL_KEY,
# INTERVAL_KEY, and which properties are intervals: `_Builder.is_interval`, `_spec_marks.interval_of`);
# tests/codegen/test_resources.py checks that both agree.
ENVELOPE_FIELDS = frozenset({"ClientToken", "AccessToken", "Client", "LanguageCode", "CultureCode"})
PAGING_FIELD = "Limitation"
CURSOR_FIELD = "Cursor"
MAX_INTERVAL_KEY = "x-max-interval-in-months"
INTERVAL_KEY = "x-interval"
PAGE_PREFIX = "get_"
ITERATOR_PREFIX = "iter_"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
TEMPLATE = "module.py.jinja"  # in codegen/resource_templates (codegen/templates holds overrides of upstream)


class ResourceSpecError(ValueError):
    """The spec has a shape the resource generator cannot type (named in the message)."""


def snake_case(name: str) -> str:
    """``LoyaltyMembershipIds`` -> ``loyalty_membership_ids``, as the generators name fields and modules."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    snake = re.sub(r"[^a-zA-Z0-9]+", "_", words).strip("_").lower()
    return f"{snake}_" if keyword.iskeyword(snake) else snake


def class_name(component: str) -> str:
    """The class both generators make of a schema component (``membership`` -> ``Membership``)."""
    return component[:1].upper() + component[1:]


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


@dataclass(frozen=True)
class Parameter:
    name: str  # python keyword
    wire: str
    annotation: str
    required: bool
    description: str


@dataclass(frozen=True)
class Method:
    name: str
    action: str  # the runtime Resource's action name
    mode: str  # "page", "iterate", "batch" or "call"
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    items: Parameter | None  # the bulk call's items, positional
    result: str  # the result annotation ("None" for a bulk call without result items)


@dataclass(frozen=True)
class ResourceClass:
    accessor: str  # "loyalty_memberships"
    name: str  # "LoyaltyMembershipsResource"
    description: str
    methods: tuple[Method, ...]


@dataclass(frozen=True)
class TypedDictField:
    wire: str
    annotation: str
    required: bool
    description: str


@dataclass(frozen=True)
class TypedDictClass:
    name: str
    component: str
    description: str
    fields: tuple[TypedDictField, ...]


@dataclass
class Module:
    api: Api
    title: str
    resources: list[ResourceClass] = field(default_factory=list)
    typed_dicts: dict[str, TypedDictClass] = field(default_factory=dict)
    literals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # alias -> enum values
    models: set[str] = field(default_factory=set)  # attrs classes imported from the client package

    @property
    def accessors_class(self) -> str:
        return f"{pascal_case(self.api.name)}Resources"


class _Builder:
    """Walks one spec; collects TypedDicts, Literal aliases and model imports while typing schemas."""

    def __init__(self, api: Api, document: Mapping[str, Any]) -> None:
        self.document = document
        self.schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        self.module = Module(api=api, title=str(document.get("info", {}).get("title", api.name)))
        self._in_progress: set[str] = set()

    # --- schema helpers -------------------------------------------------------------------------
    @staticmethod
    def ref_name(schema: Mapping[str, Any] | None) -> str | None:
        if not schema or "$ref" not in schema:
            return None
        return str(schema["$ref"]).rsplit("/", 1)[-1]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen: set[str] = set()
        while "$ref" in schema:
            name = self.ref_name(schema)
            if name is None or name in seen or name not in self.schemas:
                raise ResourceSpecError(f"unresolvable or cyclic $ref {schema['$ref']}")
            seen.add(name)
            schema = self.schemas[name]
        return schema

    def description(self, schema: Mapping[str, Any]) -> str:
        """A property's own description, else that of the schema it refers to."""
        if schema.get("description"):
            return str(schema["description"])
        if "$ref" in schema:
            return self.description(self.schemas.get(self.ref_name(schema) or "", {}))
        for option in schema.get("anyOf", schema.get("oneOf", ())):
            found = self.description(option)
            if found:
                return found
        return ""

    def is_interval(self, schema: Mapping[str, Any]) -> bool:
        """Whether a property is an interval: its schema is an ``x-interval`` component, or that or null."""
        options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
        return len(options) == 1 and INTERVAL_KEY in self.resolve(options[0])

    def is_array(self, schema: Mapping[str, Any]) -> bool:
        kind = self.resolve(schema).get("type")
        return kind == "array" or (isinstance(kind, list) and "array" in kind)

    # --- input types ----------------------------------------------------------------------------
    def input_type(self, schema: Mapping[str, Any]) -> list[str]:
        """The Python types a caller may pass for a value of this schema, as union members."""
        name = self.ref_name(schema)
        if name is not None:
            target = self.resolve(schema)
            if target.get("enum") and target.get("type") == "string":
                return self.enum_type(name, target)
            if target.get("type") == "object" or "properties" in target:
                # The wire dict, the attrs model, or the pydantic model: the runtime sends all three.
                pydantic = f"{self.module.api.models_package}.{class_name(name)}"
                return [self.typed_dict(name, target), self.model(name), pydantic]
            return self.input_type(target)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return [member for option in schema[key] for member in self.input_type(option)]
        kinds = schema.get("type")
        if kinds is None:
            return ["Any"]
        members: list[str] = []
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            members.extend(self.json_type(kind, schema))
        return members

    def json_type(self, kind: str, schema: Mapping[str, Any]) -> list[str]:
        if kind == "null":
            return ["None"]
        if kind == "string":
            if schema.get("enum"):
                return [_literal(str(value) for value in schema["enum"])]
            return {
                "uuid": ["UUID", "str"],
                "date-time": ["datetime.datetime", "str"],
                "date": ["datetime.date", "str"],
            }.get(str(schema.get("format")), ["str"])
        if kind == "array":
            item = _union(self.input_type(schema.get("items", {})))
            return [f"Sequence[{item}]"]
        if kind == "object":
            return ["Mapping[str, Any]"]
        return {"integer": ["int"], "number": ["float"], "boolean": ["bool"]}.get(kind, ["Any"])

    def enum_type(self, name: str, target: Mapping[str, Any]) -> list[str]:
        alias = f"{class_name(name)}Literal"
        self.module.literals[alias] = tuple(str(value) for value in target["enum"])
        return [self.model(name), alias]

    def model(self, component: str) -> str:
        self.module.models.add(class_name(component))
        return class_name(component)

    def typed_dict(self, component: str, target: Mapping[str, Any]) -> str:
        name = f"{class_name(component)}Dict"
        if name in self.module.typed_dicts or name in self._in_progress:
            return name
        self._in_progress.add(name)
        required = set(target.get("required", ()))
        fields = []
        for wire, prop in target.get("properties", {}).items():
            if not wire.isidentifier() or keyword.iskeyword(wire):
                raise ResourceSpecError(f"{component}.{wire}: not usable as a TypedDict key")
            fields.append(
                TypedDictField(
                    wire=wire,
                    annotation=_union(self.input_type(prop)),
                    required=wire in required,
                    description=_one_line(self.description(prop)),
                )
            )
        self.module.typed_dicts[name] = TypedDictClass(
            name=name,
            component=component,
            description=_one_line(
                f"``{component}`` as sent (the generated attrs and pydantic ``{class_name(component)}`` are accepted too)."
                f" {target.get('description') or ''}"
            ),
            fields=tuple(fields),
        )
        self._in_progress.discard(name)
        return name

    # --- operations -----------------------------------------------------------------------------
    def parameter(self, wire: str, prop: Mapping[str, Any], required: bool) -> Parameter:
        members = self.input_type(prop)
        interval = self.is_interval(prop)
        if interval:  # the runtime also takes (start, end) for an interval
            members.insert(
                -1 if members[-1] == "None" else len(members), "tuple[datetime.datetime, datetime.datetime]"
            )
        if not required and "None" not in members:
            members.append("None")
        description = self.description(prop)
        if interval and MAX_INTERVAL_KEY in prop:
            description += (
                f" A longer interval: ``get_*`` refuses it, ``iter_*`` walks it in consecutive windows of at"
                f" most {prop[MAX_INTERVAL_KEY]} calendar months."
            )
        return Parameter(
            name=snake_case(wire),
            wire=wire,
            annotation=_union(members),
            required=required,
            description=description.strip(),
        )

    def operation(self, raw: Mapping[str, Any], resources: dict[str, list[Method]]) -> None:
        operation_id = str(raw["operationId"])
        tag = str(raw.get("tags", ["default"])[0])
        if "_" in operation_id:  # Connector: "<resource>_<action>"
            resource_part, action_part = operation_id.split("_", 1)
            resource, action = snake_case(resource_part), snake_case(action_part)
        else:
            resource, action = snake_case(tag), snake_case(operation_id)
        body = raw["requestBody"]["content"]["application/json"]["schema"]
        if self.ref_name(body) is None:
            raise ResourceSpecError(f"{operation_id}: the request body must be a named component")
        request = self.resolve(body)
        properties: Mapping[str, Any] = request.get("properties", {})
        required = set(request.get("required", ()))
        # YAML reads `200:` as an int and `"200":` as a str; the first 2xx is the result either way.
        success = sorted(
            (str(code), response) for code, response in raw["responses"].items() if str(code)[:1] == "2"
        )
        if not success:
            raise ResourceSpecError(f"{operation_id}: no 2xx response")
        ok = self.resolve(success[0][1])
        response_name = self.ref_name(ok.get("content", {}).get("application/json", {}).get("schema"))
        response = self.schemas[response_name] if response_name else {}
        page_items = None
        if PAGING_FIELD in properties and response_name is not None:
            page_items = next(name for name in response.get("properties", {}) if name != CURSOR_FIELD)
        batch_field = None if page_items else self.batch_field(properties, required)
        items_field = page_items or next(
            (name for name, prop in response.get("properties", {}).items() if self.is_array(prop)), None
        )
        item_class = "Any"
        if items_field is not None:
            item_ref = self.ref_name(self.resolve(response["properties"][items_field]).get("items"))
            item_class = self.model(item_ref) if item_ref else "Any"
        skip = ENVELOPE_FIELDS | {PAGING_FIELD, batch_field}
        found = [
            self.parameter(wire, prop, wire in required)
            for wire, prop in properties.items()
            if wire not in skip
        ]
        parameters = tuple(sorted(found, key=lambda parameter: not parameter.required))  # required first
        summary = _one_line(str(raw.get("summary") or operation_id)).rstrip(".") + "."
        description = str(raw.get("description") or "")
        methods = resources.setdefault(resource, [])
        if page_items is not None:
            page_size = Parameter(
                "page_size", "", "int | None", False, "Items per page; the API's maximum when left out."
            )
            cursor = Parameter(
                "cursor", "", "UUID | str | None", False, "Start after this item (a page's ``next_cursor``)."
            )
            methods.append(
                Method(
                    action,
                    action,
                    "page",
                    summary,
                    description,
                    (*parameters, page_size, cursor),
                    None,
                    f"Page[{item_class}]",
                )
            )
            if action.startswith(PAGE_PREFIX):
                every = f"Every item of every page: {summary[:1].lower()}{summary[1:]}"
                methods.append(
                    Method(
                        ITERATOR_PREFIX + action.removeprefix(PAGE_PREFIX),
                        action,
                        "iterate",
                        every,
                        description,
                        (*parameters, page_size),
                        None,
                        f"{{iterator}}[{item_class}]",
                    )
                )
        elif batch_field is not None:
            items_schema = properties[batch_field]
            limit = self.resolve(items_schema).get("maxItems")
            item_type = _union(self.input_type(self.resolve(items_schema).get("items", {})))
            items = Parameter(
                name="ids" if snake_case(batch_field).endswith("_ids") else "items",
                wire=batch_field,
                annotation=f"Iterable[{item_type}]",
                required=True,
                description=f"{self.description(items_schema)} Sent in batches of at most {limit}.".strip(),
            )
            result = f"list[{item_class}]" if items_field is not None else "None"
            methods.append(Method(action, action, "batch", summary, description, parameters, items, result))
        else:
            result = self.model(response_name) if response_name else "dict[str, Any]"
            methods.append(Method(action, action, "call", summary, description, parameters, None, result))

    def batch_field(self, properties: Mapping[str, Any], required: set[str]) -> str | None:
        for name in properties:
            if name not in required or name in ENVELOPE_FIELDS or name == PAGING_FIELD:
                continue
            prop = self.resolve(properties[name])
            if prop.get("type") == "array" and "maxItems" in prop:
                return name
        return None

    def build(self) -> Module:
        grouped: dict[str, list[Method]] = {}
        for item in self.document.get("paths", {}).values():
            for method in HTTP_METHODS:
                if method in item:
                    self.operation(item[method], grouped)
        tags = {
            snake_case(str(tag["name"])): str(tag.get("description", ""))
            for tag in self.document.get("tags", ())
        }
        for accessor, methods in grouped.items():
            self.module.resources.append(
                ResourceClass(
                    accessor=accessor,
                    name=f"{pascal_case(accessor)}Resource",
                    description=tags.get(accessor, ""),
                    methods=tuple(methods),
                )
            )
        return self.module


def _literal(values: Any) -> str:
    return "Literal[" + ", ".join(repr(value) for value in values) + "]"


def _union(members: list[str]) -> str:
    """``A | B | None`` with duplicates dropped and None last."""
    unique = list(dict.fromkeys(members))
    if "Any" in unique:
        return "Any"
    if "None" in unique:
        unique = [member for member in unique if member != "None"] + ["None"]
    return " | ".join(unique)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _docstring(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def build_module(api: Api, document: Mapping[str, Any]) -> Module:
    return _Builder(api, document).build()


def render(module: Module) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(CODEGEN / "resource_templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders Python source, not HTML
    )
    environment.filters["docstring"] = _docstring
    environment.filters["wrap"] = lambda text, width=96: "\n".join(_wrap(_one_line(text), width))
    return environment.get_template(TEMPLATE).render(module=module)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


__all__ = ["Module", "ResourceSpecError", "build_module", "render", "snake_case"]
