"""The fast route from a page or a batch answer to the generated attrs models.

``from_dict`` over ``json.loads`` costs about three times the ``json.loads`` alone: a Python call for
every UUID, enum and nested object. Here msgspec decodes the body in C straight into ``Struct``
mirrors of the attrs classes (ids made there, no intermediate dicts), and code compiled once per item
class turns the mirrors into the attrs instances. The types users see are the attrs classes, unchanged.

The mirrors and that code are derived from the generated classes (their fields and type hints) and
the spec (their properties' wire names), so a new operation or property needs nothing here.

Two steps, so that nothing can fail once items are handed out:

* ``prepare`` (the whole body, at once) converts what msgspec leaves as strings and could still be
  refused: dates and date-times, with ``fromisoformat`` as ``from_dict`` does; an enum value the enum
  does not list goes through the generated ``parse_enum`` there, which warns about it.
* ``build`` (one item at a time) makes the attrs instances: enum members, nested objects and lists.
  It cannot fail, so an export may build each item only when its consumer takes it
  (``ItemReader.stream``): a page's thousand items are then never all alive at once, which spares
  the garbage collector much of its work.

The route is all or nothing and never decides anything: whatever it does not take exactly as the
generated ``from_dict`` would (an id msgspec does not read as ``UUID()`` would, a value of another
type, a missing required property, a date ``fromisoformat`` refuses, a class it has no mirror for),
it gives up on, and the body goes the usual way, ``json.loads`` and ``from_dict``, with the same
results, errors and warnings as before. Enum values are left as strings in the mirrors and read as
``parse_enum`` reads them, so an unknown one is kept and warned about on this route too; unknown
properties are skipped, as ``from_dict`` skips them. One difference is not in any value: ``from_dict``
hands out one shared ``UUID`` instance for an id it has seen lately, this route a new one each time.
"""

from __future__ import annotations

import datetime
import importlib
import itertools
import threading
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

import attrs
import msgspec

from mews_loyalty._spec.catalog import CURSOR_FIELD, ApiName, catalog, client_package, resolve
from mews_loyalty._spec.naming import class_name, snake_case

_KEPT = (str, int, bool)  # msgspec reads these as from_dict keeps them (strictly: no coercion)


class Unread(Exception):
    """The fast route did not take this body; decode it the usual way."""


class _NoMirror(Exception):
    """A class (or one it holds) that the fast route does not read exactly as ``from_dict``."""


# How a field is read, as a small tree: kept as msgspec gives it; a leaf converted by ``prepare``
# (``conversion`` over ``{value}``, which may raise); an enum looked up by ``build``; a nested class;
# a list of any of these; or any of these or None.
@dataclass(frozen=True)
class _Kept:
    pass


@dataclass(frozen=True)
class _Leaf:
    conversion: str


@dataclass(frozen=True)
class _EnumMember:
    members: str  # name of the enum's value -> member map
    enum: str  # name of the enum class


@dataclass(frozen=True)
class _Nested:
    cls: type


@dataclass(frozen=True)
class _ListOf:
    item: _Kind


@dataclass(frozen=True)
class _OrNone:
    value: _Kind


_Kind = _Kept | _Leaf | _EnumMember | _Nested | _ListOf | _OrNone


@dataclass(frozen=True)
class _Mirror:
    struct: type  # the msgspec Struct
    fields: tuple[tuple[str, _Kind], ...]  # (attrs field name, how it is read), in constructor order
    cls_name: str  # name the attrs class is bound to


class _Compiler:
    """Mirrors of one API's attrs classes and the code that reads them, each made once.

    The code is Python source made from the mirrors' kinds and compiled once per item class; nested
    classes are inlined, so an item costs one call of ``prepare`` and one of ``build``, however
    deep it is. All of it shares one namespace, where every name it uses is made unique.
    """

    def __init__(self, api: ApiName) -> None:
        self.api = api
        self.made: dict[type, _Mirror] = {}
        self.making: set[type] = set()
        self.numbers = itertools.count()
        generated_types = importlib.import_module(f"{client_package(api)}.types")
        self.namespace: dict[str, Any] = {"_parse_enum": generated_types.parse_enum}

    def compiled(self, cls: type) -> tuple[type, Callable[[Any], None], Callable[[Any], Any]]:
        """(Struct mirror, prepare(mirror), build(mirror) -> attrs instance); _NoMirror when there
        can be none."""
        mirror = self._mirror(cls)
        kind = _Nested(cls)
        prepare = "\n".join(self._prepare(kind, "m", "m", "    ")) or "    pass"
        source = f"def prepare(m):\n{prepare}\n\ndef build(m):\n    return {self._build(kind, 'm')}\n"
        made: dict[str, Any] = {}
        exec(source, self.namespace, made)  # noqa: S102 (made from field names and the templates below)
        return mirror.struct, made["prepare"], made["build"]

    def _name(self, value: Any = None) -> str:
        """A new name, bound to ``value`` in the namespace when one is given (else a variable's)."""
        name = f"_{next(self.numbers)}"
        if value is not None:
            self.namespace[name] = value
        return name

    # --- mirrors ----------------------------------------------------------------------------------

    def _mirror(self, cls: type) -> _Mirror:
        if cls not in self.made:
            if cls in self.making:  # a schema that holds itself: left to from_dict
                raise _NoMirror(f"{cls.__name__} holds itself")
            self.making.add(cls)
            try:
                self.made[cls] = self._make(cls)
            finally:
                self.making.discard(cls)
        return self.made[cls]

    def _make(self, cls: type) -> _Mirror:
        schema = _schemas(self.api).get(cls.__name__)
        if not attrs.has(cls) or schema is None:
            raise _NoMirror(cls.__name__)
        names = {field.name for field in attrs.fields(cls)}
        wire: dict[str, str] = {}  # field name -> property name
        for name in resolve(catalog(self.api).document, schema).get("properties", {}):
            # the generator's name: snake case, with a "_" after a keyword or a builtin (``type_``)
            python = snake_case(name)
            wire[python if python in names else f"{python}_"] = name
        hints = typing.get_type_hints(cls)
        struct_fields: list[tuple[str, Any, Any]] = []  # (name, mirror type, default or NODEFAULT)
        kinds: list[tuple[str, _Kind]] = []
        for field in attrs.fields(cls):
            if field.name not in wire or not field.init:
                raise _NoMirror(f"{cls.__name__}.{field.name}")
            required = field.default is attrs.NOTHING
            if not required and field.default is not None:
                raise _NoMirror(f"{cls.__name__}.{field.name} defaults to {field.default!r}")
            mirror, kind = self._field(hints[field.name])
            if not required and not isinstance(kind, _OrNone):  # absent reads as None
                mirror, kind = mirror | None, _OrNone(kind)
            struct_fields.append((field.name, mirror, msgspec.NODEFAULT if required else None))
            kinds.append((field.name, kind))
        try:
            struct = msgspec.defstruct(
                f"{cls.__name__}Mirror",
                struct_fields,
                rename={field.name: wire[field.name] for field in attrs.fields(cls)},
                module=__name__,
                gc=False,  # never in a cycle: the collector need not track them
            )
        except (TypeError, ValueError) as error:  # a field name msgspec does not allow
            raise _NoMirror(f"{cls.__name__}: {error}") from None
        return _Mirror(struct, tuple(kinds), self._name(cls))

    def _field(self, hint: Any) -> tuple[Any, _Kind]:
        """(mirror type, how the value is read) for a type hint of a generated class."""
        args = typing.get_args(hint)
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            rest = [arg for arg in args if arg is not type(None)]
            if len(rest) < len(args):  # X | None
                mirror, kind = self._field(_union(rest))
                return mirror | None, _OrNone(kind)
            enum = _enum_or_str(rest)
            if enum is None:
                raise _NoMirror(str(hint))
            # Enum | str, what parse_enum returns
            return str, _EnumMember(self._name(enum._value2member_map_), self._name(enum))
        if typing.get_origin(hint) is list:
            mirror, kind = self._field(args[0])
            if isinstance(kind, _ListOf) or (isinstance(kind, _OrNone) and isinstance(kind.value, _ListOf)):
                raise _NoMirror(f"a list of lists: {hint}")  # prepare converts list items in place
            return list[mirror], _ListOf(kind)  # type: ignore[valid-type]
        if hint is UUID:  # made by msgspec, in C: the same value parse_uuid gives, or a refusal
            return UUID, _Kept()
        if hint in _KEPT:
            return hint, _Kept()
        if hint is datetime.datetime or hint is datetime.date:
            return str, _Leaf(f"{self._name(hint.fromisoformat)}({{value}})")
        if attrs.has(hint):
            self._mirror(hint)
            return self.made[hint].struct, _Nested(hint)
        raise _NoMirror(str(hint))

    # --- code -------------------------------------------------------------------------------------

    def _converts(self, kind: _Kind) -> bool:
        """Whether ``prepare`` has anything to convert or check in a value of this kind."""
        if isinstance(kind, (_Leaf, _EnumMember)):
            return True
        if isinstance(kind, _ListOf):
            return self._converts(kind.item)
        if isinstance(kind, _OrNone):
            return self._converts(kind.value)
        if isinstance(kind, _Nested):
            return any(self._converts(field) for _, field in self.made[kind.cls].fields)
        return False

    def _prepare(self, kind: _Kind, target: str, value: str, indent: str) -> list[str]:
        """Statements that convert, in place, the leaves of ``value`` (a name) held at ``target``."""
        if not self._converts(kind):
            return []
        if isinstance(kind, _Leaf):
            return [f"{indent}{target} = {kind.conversion.format(value=value)}"]
        if isinstance(kind, _EnumMember):
            # a value the enum does not list goes through parse_enum now, while the operation is
            # known: it warns (or, for an enum of another type, refuses); build then keeps the string
            return [
                f"{indent}if {value} not in {kind.members}:",
                f"{indent}    _parse_enum({kind.enum}, {value})",
            ]
        if isinstance(kind, _OrNone):
            held = self._name()
            inner = self._prepare(kind.value, target, held, indent + "    ")
            return [f"{indent}if ({held} := {value}) is not None:", *inner]
        if isinstance(kind, _ListOf):
            each = self._name()
            if isinstance(kind.item, _Leaf):
                return [
                    f"{indent}{target} = [{kind.item.conversion.format(value=each)} for {each} in {value}]"
                ]
            if isinstance(kind.item, _OrNone) and isinstance(kind.item.value, _Leaf):
                converted = kind.item.value.conversion.format(value=each)
                return [f"{indent}{target} = [None if {each} is None else {converted} for {each} in {value}]"]
            return [f"{indent}for {each} in {value}:", *self._prepare(kind.item, each, each, indent + "    ")]
        assert isinstance(kind, _Nested)
        lines = []
        for name, field in self.made[kind.cls].fields:
            if self._converts(field):
                held = self._name()
                lines += [f"{indent}{held} = {value}.{name}"]
                lines += self._prepare(field, f"{value}.{name}", held, indent)
        return lines

    def _build(self, kind: _Kind, value: str) -> str:
        """An expression making the attrs value of a prepared ``value``."""
        if isinstance(kind, (_Kept, _Leaf)):  # a leaf was converted by prepare
            return value
        if isinstance(kind, _EnumMember):  # what parse_enum returns (prepare saw to any other value)
            return f"({kind.members}[{value}] if {value} in {kind.members} else {value})"
        if isinstance(kind, _OrNone):
            held = self._name()
            inner = self._build(kind.value, held)
            return value if inner == held else f"(None if ({held} := {value}) is None else {inner})"
        if isinstance(kind, _ListOf):
            each = self._name()
            inner = self._build(kind.item, each)
            return value if inner == each else f"[{inner} for {each} in {value}]"
        mirror = self.made[kind.cls]
        arguments = ", ".join(self._build(field, f"{value}.{name}") for name, field in mirror.fields)
        return f"{mirror.cls_name}({arguments})"


@cache
def _schemas(api: ApiName) -> dict[str, dict[str, Any]]:
    """Class name -> its component schema (the classes both generators make of components)."""
    components = catalog(api).document.get("components", {}).get("schemas", {})
    return {class_name(name): schema for name, schema in components.items()}


def _enum_or_str(members: list[Any]) -> type[Enum] | None:
    """The enum of ``SomeEnum | str``, else None."""
    enums = [member for member in members if member is not str]
    if len(members) == 2 and len(enums) == 1 and isinstance(enums[0], type) and issubclass(enums[0], Enum):
        return enums[0]
    return None


def _union(members: list[Any]) -> Any:
    union = members[0]
    for member in members[1:]:
        union = union | member
    return union


@cache
def _compiler(api: ApiName) -> _Compiler:
    return _Compiler(api)


class ItemReader:
    """Reads a body that holds a list of one item class (and maybe a cursor) by the fast route."""

    def __init__(self, api: ApiName, item_class: type, items_field: str) -> None:
        item_mirror, self._prepare, self._build = _compiler(api).compiled(item_class)
        body = msgspec.defstruct(
            f"{item_class.__name__}ListMirror",
            [("items", list[item_mirror]), ("cursor", Any, None)],  # type: ignore[valid-type]
            rename={"items": items_field, "cursor": CURSOR_FIELD},
            module=__name__,
            gc=False,
        )
        self._decoder = msgspec.json.Decoder(body)

    def _prepared(self, content: bytes) -> tuple[list[Any], Any]:
        """(prepared item mirrors, raw cursor); Unread when the body is not one to take."""
        try:
            decoded: Any = self._decoder.decode(content)
            prepare = self._prepare
            for item in decoded.items:
                prepare(item)
        except Exception as error:  # any refusal: the usual route decides
            raise Unread from error
        return decoded.items, decoded.cursor

    def read(self, content: bytes) -> tuple[list[Any], Any]:
        """(items, raw cursor), every item built."""
        mirrors, cursor = self._prepared(content)
        return list(map(self._build, mirrors)), cursor

    def stream(self, content: bytes) -> tuple[int, Iterator[Any], Any]:
        """(number of items, the items built as they are taken, raw cursor). Anything that could be
        refused was refused here already: taking the items cannot fail."""
        mirrors, cursor = self._prepared(content)
        return len(mirrors), map(self._build, mirrors), cursor


_compiling = threading.Lock()


@cache
def item_reader(api: ApiName, item_class: type, items_field: str) -> ItemReader | None:
    """The fast route for bodies holding a list of ``item_class`` under ``items_field``; None when
    the class has no mirror."""
    # One compilation at a time: two threads making the same class would each see the other's in
    # progress as a class that holds itself, and the class would be left to from_dict for good.
    with _compiling:
        try:
            return ItemReader(api, item_class, items_field)
        except _NoMirror:
            return None


__all__ = ["ItemReader", "Unread", "item_reader"]
