"""Typed resource classes for the SDK, written into ``generated/mews_loyalty/_generated/<api>/resources``.

    module = build_module(api, yaml.safe_load(api.spec.read_text(encoding="utf-8")))
    files = render(module)         # {"__init__.py": ..., "inputs.py": ..., "<resource>.py": ...}

Every operation of a spec becomes one method of its resource's class (``LoyaltyMembershipsResource``,
blocking, and ``AsyncLoyaltyMembershipsResource``, in the module ``loyalty_memberships.py``), with
keyword-only snake_case parameters typed from the request schema, a result typed as the attrs class of
the response, and a docstring naming its HTTP method, path and operationId. The methods only delegate to
the runtime's generic ``Resource`` (``run_page``, ``run_iterate``, ``run_batch``, ``run_call``); their
bases are the runtime's (``mews_loyalty/_client/typed.py``). What an operation does is read by the very
readers the runtime's catalog uses (``mews_loyalty._spec.marks.shape``, the names by
``mews_loyalty._spec.naming``), which import nothing but the standard library:

* a request with ``Limitation`` is a paged query: ``get_all`` returns one ``Page``, ``iter_all`` every
  item of every page;
* a request whose first required non-envelope property is a bounded array is a bulk call, taking that
  array's items (TypedDicts generated from the item schema, or the generated attrs models);
* anything else is a single call.

Bulk items and object-valued parameters get a TypedDict per object schema (``LoyaltyMembershipAddParametersDict``),
string enums a ``Literal`` of their values beside the generated enum (``ActivityStateLiteral``), both in
``inputs.py``.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jinja2

from codegen.apis import CODEGEN, Api
from mews_loyalty._spec import marks
from mews_loyalty._spec.naming import class_name, first_tag, identifier, resource_and_action, snake_case

PAGE_PREFIX = "get_"
ITERATOR_PREFIX = "iter_"
TEMPLATES = CODEGEN / "resource_templates"  # (codegen/templates holds overrides of upstream's templates)
INPUTS_MODULE = "inputs"  # resources/inputs.py: the TypedDicts and Literals every resource module shares


class ResourceSpecError(ValueError):
    """The spec has a shape the resource generator cannot type (named in the message)."""


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


@dataclass(frozen=True)
class Parameter:
    name: str  # python keyword
    wire: str
    annotation: str
    required: bool
    description: str


# The keywords the SDK adds to every method (and ``iter_*``); a spec field of the same name is refused.
CALL_OPTIONS = (
    Parameter(
        "timeout",
        "",
        "Timeout | None",
        False,
        "Seconds (or an httpx.Timeout) for this call; the client's when left out.",
    ),
    Parameter(
        "max_retries", "", "int | None", False, "Retries of this call's requests; the client's when left out."
    ),
)
RESUME_FROM = Parameter(
    "resume_from",
    "",
    "ExportResume | None",
    False,
    "Go on from where a failed export stopped: the ``resume`` of its error (same arguments as that export).",
)
RESERVED = frozenset(parameter.name for parameter in (*CALL_OPTIONS, RESUME_FROM))
RAW_MODES = frozenset({"page", "batch", "call"})  # the single-request calls (a batch of one request at most)


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
    endpoint: str  # "POST /api/connector/v1/loyaltyMemberships/getAll"
    operation_id: str
    options: tuple[Parameter, ...] = CALL_OPTIONS  # the SDK's own keywords, after the spec's

    @property
    def raw(self) -> bool:
        """Whether ``with_raw_response`` offers this method (it sends one request)."""
        return self.mode in RAW_MODES

    @property
    def raw_result(self) -> str:
        return f"RawResponse[{self.result}]"


PAGE_SIZE = Parameter(
    "page_size", "", "int | None", False, "Items per page; the API's maximum when left out."
)
CURSOR = Parameter(
    "cursor", "", "UUID | str | None", False, "Start after this item (a page's ``next_cursor``)."
)


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
    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            return marks.resolve(self.document, schema)
        except (KeyError, ValueError) as error:
            raise ResourceSpecError(f"unresolvable or cyclic $ref {schema.get('$ref')}: {error}") from None

    def description(self, schema: Mapping[str, Any]) -> str:
        """A property's own description, else that of the schema it refers to."""
        if schema.get("description"):
            return str(schema["description"])
        if "$ref" in schema:
            return self.description(self.schemas.get(marks.ref_name(schema) or "", {}))
        for option in schema.get("anyOf", schema.get("oneOf", ())):
            found = self.description(option)
            if found:
                return found
        return ""

    # --- input types ----------------------------------------------------------------------------
    def input_type(self, schema: Mapping[str, Any]) -> list[str]:
        """The Python types a caller may pass for a value of this schema, as union members."""
        name = marks.ref_name(schema)
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
        interval = marks.interval_of(self.document, prop) is not None
        if interval:  # the runtime also takes (start, end) for an interval
            members.insert(
                -1 if members[-1] == "None" else len(members), "tuple[datetime.datetime, datetime.datetime]"
            )
        if not required and "None" not in members:
            members.append("None")
        description = self.description(prop)
        if interval and marks.MAX_INTERVAL_KEY in prop:
            description += (
                f" A longer interval: ``get_*`` refuses it, ``iter_*`` walks it in consecutive windows of at"
                f" most {prop[marks.MAX_INTERVAL_KEY]} calendar months."
            )
        return Parameter(
            name=identifier(wire),
            wire=wire,
            annotation=_union(members),
            required=required,
            description=description.strip(),
        )

    def operation(self, http: str, path: str, raw: Mapping[str, Any]) -> list[Method]:
        """The typed methods of one operation: a page and an iterator, a bulk call, or a single call."""
        operation_id = str(raw["operationId"])
        try:
            shape = marks.shape(operation_id, self.document, raw)
        except ValueError as error:
            raise ResourceSpecError(str(error)) from None
        required = set(shape.request.get("required", ()))
        skip = marks.ENVELOPE_FIELDS | {marks.PAGING_FIELD, shape.batch_field}
        found = [
            self.parameter(wire, prop, wire in required)
            for wire, prop in shape.request.get("properties", {}).items()
            if wire not in skip
        ]
        for parameter in found:
            if parameter.name in RESERVED:
                raise ResourceSpecError(
                    f"{operation_id}: request field {parameter.wire!r} would be the keyword"
                    f" {parameter.name!r}, which the SDK adds to every method ({', '.join(sorted(RESERVED))});"
                    " rename the field in the spec or the reserved keyword in codegen/resources.py"
                )
        _, action = resource_and_action(operation_id, first_tag(raw))
        base = Method(
            name=action,
            action=action,
            mode="call",
            summary=_one_line(str(raw.get("summary") or operation_id)).rstrip(".") + ".",
            description=str(raw.get("description") or ""),
            parameters=tuple(sorted(found, key=lambda parameter: not parameter.required)),  # required first
            items=None,
            result="",
            endpoint=f"{http.upper()} {path}",
            operation_id=operation_id,
        )
        item_class = self.model(shape.result_item_schema) if shape.result_item_schema else "Any"
        if shape.page_items is not None:
            return self.page_methods(base, item_class)
        if shape.batch_field is not None:
            return [self.batch_method(base, shape, item_class)]
        result = self.model(shape.response_schema) if shape.response_schema else "dict[str, Any]"
        return [replace(base, result=result)]

    @staticmethod
    def page_methods(base: Method, item_class: str) -> list[Method]:
        """``get_all`` returns one page; ``iter_all`` (for a ``get_`` action) every item of every page."""
        page = replace(
            base,
            mode="page",
            parameters=(*base.parameters, PAGE_SIZE, CURSOR),
            result=f"{{page}}[{item_class}]",
        )
        if not base.action.startswith(PAGE_PREFIX):
            return [page]
        every = replace(
            base,
            name=ITERATOR_PREFIX + base.action.removeprefix(PAGE_PREFIX),
            mode="iterate",
            summary=f"Every item of every page: {base.summary[:1].lower()}{base.summary[1:]}",
            parameters=(*base.parameters, PAGE_SIZE),
            result=f"{{iterator}}[{item_class}]",
            options=(*CALL_OPTIONS, RESUME_FROM),
        )
        return [page, every]

    def batch_method(self, base: Method, shape: marks.Shape, item_class: str) -> Method:
        """A bulk call: the items are positional, sent in batches of at most the array's ``maxItems``."""
        field_name = str(shape.batch_field)
        items_schema = shape.request["properties"][field_name]
        item_type = _union(self.input_type(self.resolve(items_schema).get("items", {})))
        items = Parameter(
            name="ids" if snake_case(field_name).endswith("_ids") else "items",
            wire=field_name,
            annotation=f"Iterable[{item_type}]",
            required=True,
            description=f"{self.description(items_schema)} Sent in batches of at most {shape.batch_limit}.".strip(),
        )
        result = f"ResultList[{item_class}]" if shape.result_items is not None else "None"
        return replace(base, mode="batch", items=items, result=result)

    def build(self) -> Module:
        grouped: dict[str, list[Method]] = {}
        for path, item in self.document.get("paths", {}).items():
            for http in marks.HTTP_METHODS:
                if http in item:
                    raw = item[http]
                    resource, _ = resource_and_action(str(raw["operationId"]), first_tag(raw))
                    grouped.setdefault(resource, []).extend(self.operation(http, str(path), raw))
        tags = {
            snake_case(str(tag["name"])): str(tag.get("description", ""))
            for tag in self.document.get("tags", ())
        }
        for accessor, methods in grouped.items():
            if accessor == INPUTS_MODULE:
                raise ResourceSpecError(
                    f"a resource may not be named {INPUTS_MODULE!r}: its module holds the inputs"
                )
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


def render(module: Module) -> dict[str, str]:
    """The resources package of one API, file name -> Python source: ``__init__.py`` (re-exports and the
    accessor tables), ``inputs.py`` (TypedDicts and Literals) and one module per resource."""
    environment = _environment()
    inputs = [*sorted(module.literals), *module.typed_dicts]
    typed_dict_annotations = [
        item.annotation for typed in module.typed_dicts.values() for item in typed.fields
    ]
    files = {
        "__init__.py": environment.get_template("package.py.jinja").render(
            module=module, inputs_module=INPUTS_MODULE
        ),
        f"{INPUTS_MODULE}.py": environment.get_template("inputs.py.jinja").render(
            module=module, models=_used(typed_dict_annotations, sorted(module.models))
        ),
    }
    for resource in module.resources:
        annotations = [_annotations(method) for method in resource.methods]
        files[f"{resource.accessor}.py"] = environment.get_template("resource.py.jinja").render(
            module=module,
            resource=resource,
            models=_used(annotations, sorted(module.models)),
            inputs=_used(annotations, inputs),
            inputs_module=INPUTS_MODULE,
        )
    return files


def _annotations(method: Method) -> str:
    parameters = (*method.parameters, *([method.items] if method.items else []))
    return " ".join([method.result, *(parameter.annotation for parameter in parameters)])


def _used(annotations: Iterable[str], names: Iterable[str]) -> list[str]:
    """The names (in their given order) that occur in the annotations as names, not as attributes:
    ``Membership`` in ``MembershipDict | Membership | mews_loyalty._generated.reverse.models.Membership``
    once, from its second member."""
    seen = {match for text in annotations for match in re.findall(r"(?<![.\w])[A-Za-z_]\w*", text)}
    return [name for name in names if name in seen]


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders Python source, not HTML
    )
    environment.filters["docstring"] = _docstring
    environment.filters["wrap"] = lambda text, width=96: "\n".join(_wrap(_one_line(text), width))
    return environment


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


__all__ = ["INPUTS_MODULE", "Module", "ResourceSpecError", "build_module", "render"]
