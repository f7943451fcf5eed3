"""The string formats of JSON Schema, checked as the specs mean them (RFC 3339, 3986, 4122, 5321).

    FORMATS["uuid"]("3fa85f64-5717-4562-b3fc-2c963f66afa6")   # True
    is_uri("https://rewards.example.com/m/1")                 # True
    checker = FormatChecker.of(document, {"$ref": "#/components/schemas/X"})   # once per schema
    checker.violations(data)      # [(("AccountIds", 0), frozenset({"uuid"})), ...]
    checker.normalised(data)      # "{3FA85F64-...}" at a uuid place -> "3fa85f64-..."

pydantic reads these more leniently (braced or bare-hex UUIDs, date-times without seconds, IRIs), so
the SDK before sending, the mock and the provider kit all check request values with the one
``FormatChecker``: what the SDK sends, the servers accept. Value ranges are the models' business.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mews_loyalty._spec.catalog import ApiName, Operation, catalog, resolve

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"  # scheme
    r"(?:"
    r"//(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"  # "//" userinfo "@"
    r"(?:\[(?P<literal>[^\]]*)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"  # host
    r"(?::[0-9]*)?"  # port
    rf"(?:/{_PCHAR}*)*"  # path-abempty
    rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute, path-rootless or empty
    r")"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?"  # query
    rf"(?:#(?:{_PCHAR}|[/?])*)?"  # fragment
)
# RFC 5321 Mailbox: a dot-atom or quoted local part, "@", a host name or an address literal (ASCII;
# internationalised addresses are the separate "idn-email" format).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_EMAIL = re.compile(
    rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")'
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[^\[\]\\]+\])"
)
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def is_uri(text: str) -> bool:
    match = _URI.fullmatch(text)
    if match is None:
        return False
    literal = match.group("literal")
    if literal is None or _IP_FUTURE.fullmatch(literal):
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return "%" not in literal  # RFC 3986 has no zone identifiers


FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda text: _UUID.fullmatch(text) is not None,
    "date": lambda text: _DATE.fullmatch(text) is not None,
    "date-time": lambda text: _DATE_TIME.fullmatch(text) is not None,
    "uri": is_uri,
    "email": lambda text: _EMAIL.fullmatch(text) is not None,  # lengths are the schema's business
}

_HYPHENATED = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The other spellings of a UUID people paste (and pydantic accepts): braced, URN, 32 bare hex digits.
_UUID_SPELLINGS = re.compile(
    rf"\{{({_HYPHENATED})\}}|[uU][rR][nN]:[uU][uU][iI][dD]:({_HYPHENATED})|([0-9a-fA-F]{{32}})"
)


def canonical_uuid(text: str) -> str | None:
    """``{3FA85F64-...}``, ``urn:uuid:3fa85f64-...`` or 32 hex digits -> ``3fa85f64-5717-...``; else None."""
    match = _UUID_SPELLINGS.fullmatch(text)
    if match is None:
        return None
    digits = next(group for group in match.groups() if group is not None).replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


ITEM = "*"  # path segment: every item of an array
Path = tuple[str, ...]
Location = tuple[str | int, ...]  # where a value is in a JSON document: names and array indexes


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind or ())


def _scalars(
    document: Mapping[str, Any], node: Mapping[str, Any], path: Path
) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every scalar schema the schema allows, by path (``anyOf`` / ``oneOf`` branches share a path)."""
    schema = resolve(document, node)
    for branch in schema.get("anyOf", schema.get("oneOf", ())):
        yield from _scalars(document, branch, path)
    for name, child in schema.get("properties", {}).items():
        yield from _scalars(document, child, (*path, name))
    if isinstance(schema.get("items"), Mapping):
        yield from _scalars(document, schema["items"], (*path, ITEM))
    if _types(schema) - {"object", "array", "null"}:
        yield path, schema


def _values_at(data: Any, path: Path) -> list[tuple[Location, Any]]:
    """Every value at ``path`` in ``data``, with where it is, in document order (one level of the
    path at a time: a bulk body holds thousands of items)."""
    level: list[tuple[Location, Any]] = [((), data)]
    for head in path:
        if head == ITEM:
            level = [
                ((*where, index), item)
                for where, value in level
                if isinstance(value, list)
                for index, item in enumerate(value)
            ]
        else:
            level = [
                ((*where, head), value[head])
                for where, value in level
                if isinstance(value, dict) and head in value
            ]
    return level


def _values_only(data: Any, path: Path) -> list[Any]:
    """The values ``_values_at`` finds, without where they are."""
    level = [data]
    for head in path:
        if head == ITEM:
            level = [item for value in level if isinstance(value, list) for item in value]
        else:
            level = [value[head] for value in level if isinstance(value, dict) and head in value]
    return level


def _all_match(data: Any, path: Path, checks: tuple[Callable[[str], bool], ...]) -> bool:
    """Whether every string at ``path`` matches one of ``checks``: the common case, found without
    noting where each value is (``_values_at`` tells that for the rare body that fails)."""
    first, others = checks[0], checks[1:]
    for value in _values_only(data, path):
        if isinstance(value, str) and not first(value) and not any(check(value) for check in others):
            return False
    return True


def _replaced(data: Any, location: Location, value: Any) -> Any:
    """A copy of ``data`` with the value at ``location`` replaced (containers on the way copied)."""
    if not location:
        return value
    head, rest = location[0], location[1:]
    copy: Any = list(data) if isinstance(data, list) else dict(data)
    copy[head] = _replaced(data[head], rest, value)
    return copy


@dataclass(frozen=True)
class FormatChecker:
    """Where a schema requires string formats, computed once, and the check of any JSON value against it.

    A place counts when every string the schema allows there has a known format; a value must match
    one of them (``ExpirationDate`` takes a ``date`` or a ``date-time``).
    """

    paths: tuple[tuple[Path, frozenset[str]], ...]

    @classmethod
    def of(cls, document: Mapping[str, Any], schema: Mapping[str, Any]) -> FormatChecker:
        alternatives: dict[Path, list[Mapping[str, Any]]] = {}
        for path, scalar in _scalars(document, schema, ()):
            alternatives.setdefault(path, []).append(scalar)
        found: list[tuple[Path, frozenset[str]]] = []
        for path, schemas in alternatives.items():
            strings = [scalar.get("format") for scalar in schemas if "string" in _types(scalar)]
            if strings and None not in strings and set(strings) <= FORMATS.keys():
                found.append((path, frozenset(str(name) for name in strings)))
        return cls(tuple(found))

    def violations(self, data: Any) -> list[tuple[Location, frozenset[str]]]:
        """Every string in ``data`` that matches none of the formats of its place."""
        return [
            (where, formats)
            for path, formats in self.paths
            if not _all_match(data, path, tuple(FORMATS[name] for name in formats))
            for where, value in _values_at(data, path)
            if isinstance(value, str) and not any(FORMATS[name](value) for name in formats)
        ]

    def normalised_and_violations(self, data: Any) -> tuple[Any, list[tuple[Location, frozenset[str]]]]:
        """``(normalised(data), violations(normalised(data)))``, each place's values checked once when
        they all match (what the SDK does before sending every body: thousands of ids in a bulk write)."""
        needs_a_look = [
            (path, formats)
            for path, formats in self.paths
            if not _all_match(data, path, tuple(FORMATS[name] for name in formats))
        ]
        if not needs_a_look:
            return data, []
        looked = FormatChecker(tuple(needs_a_look))
        normalised = looked.normalised(data)
        return normalised, looked.violations(normalised)

    def normalised(self, data: Any) -> Any:
        """``data`` with UUIDs spelled another common way (braced, URN, bare hex) in canonical form
        wherever only a ``uuid`` is allowed; ``data`` itself when nothing needed it."""
        for path, formats in self.paths:
            if formats != {"uuid"} or _all_match(data, path, (FORMATS["uuid"],)):
                continue
            for where, value in _values_at(data, path):
                if isinstance(value, str) and not FORMATS["uuid"](value):
                    canonical = canonical_uuid(value)
                    if canonical is not None:
                        data = _replaced(data, where, canonical)
        return data


def describe_formats(formats: frozenset[str]) -> str:
    """``frozenset({"date", "date-time"})`` -> ``"date or date-time"``."""
    return " or ".join(sorted(formats))


@cache
def _request_checker(api: ApiName, request_schema: str) -> FormatChecker:
    return FormatChecker.of(catalog(api).document, {"$ref": f"#/components/schemas/{request_schema}"})


def format_checker(operation: Operation) -> FormatChecker:
    """The formats of ``operation``'s request body, computed once: the SDK, the mock and the kit use it."""
    return _request_checker(operation.api, operation.request_schema)
