"""Upstream watch: how Mews' published specs differ from ours, and whether it breaks our users.

    python -m codegen.upstream --connector-spec swagger.yaml                 # report, grouped by operation
    python -m codegen.upstream --reverse-spec loyalty-partner-api.yaml       # the Loyalty Partner (Reverse) API
    python -m codegen.upstream --reverse-spec memberships.md --reverse-spec members.md   # GitBook pages
    python -m codegen.upstream --connector-spec https://api.mews.com/swagger/connector/swagger.yaml
    python -m codegen.upstream --connector-spec swagger.yaml --format json   # for machines
    python -m codegen.upstream --connector-spec swagger.yaml --show-known    # also what we chose to differ in

Exit status: 0 when no difference is both breaking and unrecorded, 1 when one is, 2 for usage errors
(bad arguments, unreadable or unreachable document, no loyalty operations in it).

The loyalty operations (paths under ``/api/connector/v1/loyalty``) are taken from both documents,
the rest of Mews' document is not read. Operations are paired by method and path (then by
operationId, for a moved path); their request and response bodies are compared as property trees
after normalisation (``codegen/_openapi_normalise.py``: 3.0 ``nullable`` and 3.1 null types,
``allOf`` wrappers, ``$ref``), so component names do not matter. Differences that
``codegen/upstream_known.yaml`` records as deliberate (each pointing at its specs/README.md item)
are left out of the verdict.

Every difference reads as what Mews' document has *compared with ours*: ``property-added`` is a
property only Mews has. Whether it breaks our users (code written against our SDK, whose models are
generated from our spec and reject what it does not allow) follows one rule with two sides:

- in a **request** (what our users send), Mews accepting *more* than our spec is non-breaking and
  Mews accepting *less* is breaking: our SDK may send what Mews now rejects;
- in a **response** (what our users receive), Mews sending *less* variety than our spec is
  non-breaking and Mews sending *more* is breaking: our models may reject what Mews now sends.

Applied to each kind of difference (kind: in a request / in a response):

    operation-added                  non-breaking (our SDK does not offer it yet)
    operation-removed, -path-changed breaking (our calls fail)
    property-added                   breaking if Mews requires it, else non-breaking /
                                     breaking if our schema is closed (our models forbid unknown keys)
    property-removed                 breaking if Mews' schema is closed (it rejects the property) /
                                     breaking (our users read it)
    required-added                   breaking / non-breaking
    required-removed                 non-breaking / breaking (it may be missing)
    nullable-added                   non-breaking / breaking (a null our models reject)
    nullable-removed                 breaking / non-breaking
    type-changed, format-changed     non-breaking only if Mews accepts a superset / sends a subset
    enum-value-added                 non-breaking / breaking (our enums are strict)
    enum-value-removed               breaking / non-breaking
    enum-restriction-added/-removed  as for enum values: a new restriction is a removal, a dropped one an addition
    constraint-changed               breaking if tightened / breaking if relaxed
                                     (minLength, maxLength, minItems, maxItems, minimum, maximum,
                                     pattern, x-max-interval-in-months, ...)
    additional-properties-changed    breaking if Mews closes the object / breaking if Mews opens it
    deprecated-added, -removed       non-breaking (a warning)
    variants-changed, body-changed,  breaking (alternatives or bodies that no longer correspond)
    recursion-changed
    status-added, status-removed     breaking for a 2xx (a success we cannot parse or never get),
                                     non-breaking for an error status
    header-removed                   breaking if our spec requires the header, else non-breaking
    header-added                     non-breaking
    body-required-changed            breaking if Mews requires a body our spec lets callers omit

Titles, descriptions, examples, links, ``x-`` annotations and ``dependentRequired`` are not
compared.

**The Reverse API** (``--reverse-spec``, repeatable) is compared the same way with
``specs/reverse/openapi.yaml`` (every path), with its own recorded deviations
(``codegen/upstream_known_reverse.yaml``). Mews publishes it only as OpenAPI fragments embedded in
its operation pages (one self-contained JSON document per operation), so a source may also be a
page (Markdown, HTML, text) holding such fragments: they are merged into one document. Our
operations that a set of fragments does not cover are listed as *not compared* rather than removed;
those we reconstructed (``x-reconstructed-from``) are listed as *reconstructed, not published* when
Mews' document lacks them, and once Mews publishes one, every difference of it is reported, so the
reconstruction is replaced by what Mews says.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml

from codegen._openapi_normalise import (
    ANY,
    LOWER_BOUNDS,
    UPPER_BOUNDS,
    DocumentError,
    Operation,
    Response,
    Shape,
    extract_operations,
)
from codegen.apis import CODEGEN, SPECS
from codegen.apis import ROOT as ROOT_DIR

OURS = SPECS / "connector" / "openapi.yaml"
KNOWN = CODEGEN / "upstream_known.yaml"
LOYALTY_PREFIX = "/api/connector/v1/loyalty"
REVERSE_OURS = SPECS / "reverse" / "openapi.yaml"
REVERSE_KNOWN = CODEGEN / "upstream_known_reverse.yaml"
REVERSE_PREFIX = "/"
RECONSTRUCTED_KEY = "x-reconstructed-from"
FETCH_TIMEOUT_SECONDS = 60.0
USAGE_ERROR = 2

Side = Literal["request", "response"]

KINDS = frozenset(
    {
        "operation-added",
        "operation-removed",
        "operation-path-changed",
        "status-added",
        "status-removed",
        "header-added",
        "header-removed",
        "body-changed",
        "body-required-changed",
        "property-added",
        "property-removed",
        "required-added",
        "required-removed",
        "type-changed",
        "format-changed",
        "nullable-added",
        "nullable-removed",
        "enum-value-added",
        "enum-value-removed",
        "enum-restriction-added",
        "enum-restriction-removed",
        "constraint-changed",
        "additional-properties-changed",
        "deprecated-added",
        "deprecated-removed",
        "variants-changed",
        "recursion-changed",
    }
)


class UpstreamError(Exception):
    """A document could not be read, fetched or understood; the message says which and why."""


@dataclass(frozen=True)
class Difference:
    operation: str  # operationId (ours when both have the operation)
    endpoint: str  # "POST /api/connector/v1/loyaltyTiers/add"
    location: str  # "operation", "request" or "response <status>"
    property_path: str  # "LoyaltyTiers[].Name"; "" for the body or the operation itself
    kind: str
    breaking: bool
    reason: str  # why it is (not) breaking
    keyword: str | None = None  # the constraint or header, for kinds that need one
    upstream: Any = None  # the value in Mews' document (None: absent)
    ours: Any = None  # the value in ours (None: absent)
    known: str | None = None  # id of the recorded deviation that explains it

    @property
    def classification(self) -> str:
        return "breaking" if self.breaking else "non-breaking"

    def describe(self) -> str:
        what = self.kind if self.keyword is None else f"{self.kind} {self.keyword}"
        values = ""
        if self.upstream is not None or self.ours is not None:
            values = f": ours {_show(self.ours)}, upstream {_show(self.upstream)}"
        return f"{what}{values} ({self.reason})"


# --- comparing ---------------------------------------------------------------------------------


def compare(
    upstream: Mapping[tuple[str, str], Operation], ours: Mapping[tuple[str, str], Operation]
) -> list[Difference]:
    """Every difference between two sets of operations, Mews' first, ours second."""
    found: list[Difference] = []
    only_upstream = {key: op for key, op in upstream.items() if key not in ours}
    only_ours = {key: op for key, op in ours.items() if key not in upstream}
    moved = {
        key: next(other for other in only_upstream.values() if other.operation_id == op.operation_id)
        for key, op in only_ours.items()
        if any(other.operation_id == op.operation_id for other in only_upstream.values())
    }
    for key, op in ours.items():
        if key in upstream:
            found += _compare_operations(upstream[key], op)
        elif key in moved:
            theirs = moved[key]
            found.append(
                _operation_difference(
                    op, "operation-path-changed", True, "our calls go to the old path", theirs.path, op.path
                )
            )
            found += _compare_operations(theirs, op)
        else:
            found.append(_operation_difference(op, "operation-removed", True, "our calls to it fail"))
    moved_ids = {op.operation_id for op in moved.values()}
    for op in only_upstream.values():
        if op.operation_id not in moved_ids:
            found.append(_operation_difference(op, "operation-added", False, "our SDK does not offer it yet"))
    return found


def _operation_difference(
    op: Operation, kind: str, breaking: bool, reason: str, upstream: Any = None, ours: Any = None
) -> Difference:
    return Difference(
        op.operation_id, op.label, "operation", "", kind, breaking, reason, None, upstream, ours
    )


def _compare_operations(theirs: Operation, ours: Operation) -> Iterator[Difference]:
    context = _Context(ours.operation_id, ours.label)
    if theirs.deprecated != ours.deprecated:
        kind = "deprecated-added" if theirs.deprecated else "deprecated-removed"
        yield context.at("operation", "").difference(kind, False, "a warning, nothing stops working")
    request = context.at("request", "")
    if theirs.body_required and not ours.body_required:
        yield request.difference(
            "body-required-changed", True, "Mews requires a body we may omit", True, False
        )
    elif ours.body_required and not theirs.body_required:
        yield request.difference("body-required-changed", False, "Mews accepts a missing body", False, True)
    yield from _compare_bodies(request, "request", theirs.body, ours.body)
    for status in sorted(ours.responses.keys() | theirs.responses.keys()):
        where = context.at(f"response {status}", "")
        success = status.startswith("2")
        if status not in theirs.responses:
            yield where.difference(
                "status-removed",
                success,
                "a success we expect never comes" if success else "an error that no longer occurs",
            )
        elif status not in ours.responses:
            yield where.difference(
                "status-added",
                success,
                "a success our client cannot parse" if success else "handled as an unexpected error status",
            )
        else:
            yield from _compare_responses(where, theirs.responses[status], ours.responses[status])


def _compare_responses(where: _Context, theirs: Response, ours: Response) -> Iterator[Difference]:
    for name in sorted(ours.headers.keys() - theirs.headers.keys()):
        required = ours.headers[name]
        reason = "our spec promises it, Mews may not send it" if required else "optional in our spec"
        yield replace(where.difference("header-removed", required, reason), keyword=name)
    for name in sorted(theirs.headers.keys() - ours.headers.keys()):
        yield replace(
            where.difference("header-added", False, "our client ignores headers it does not know"),
            keyword=name,
        )
    yield from _compare_bodies(where, "response", theirs.body, ours.body)


def _compare_bodies(
    where: _Context, side: Side, theirs: Shape | None, ours: Shape | None
) -> Iterator[Difference]:
    if theirs is None and ours is None:
        return
    if theirs is None or ours is None:
        yield where.difference(
            "body-changed",
            True,
            "Mews declares no JSON body" if theirs is None else "our spec declares no JSON body",
            None if theirs is None else "json",
            None if ours is None else "json",
        )
        return
    yield from _compare_shapes(where, side, theirs, ours)


@dataclass(frozen=True)
class _Context:
    operation: str
    endpoint: str
    location: str = ""
    property_path: str = ""

    def at(self, location: str, prop: str) -> _Context:
        return replace(self, location=location, property_path=prop)

    def child(self, name: str) -> _Context:
        return replace(self, property_path=f"{self.property_path}.{name}" if self.property_path else name)

    def difference(
        self,
        kind: str,
        breaking: bool,
        reason: str,
        upstream: Any = None,
        ours: Any = None,
        keyword: str | None = None,
    ) -> Difference:
        return Difference(
            self.operation,
            self.endpoint,
            self.location,
            self.property_path,
            kind,
            breaking,
            reason,
            keyword,
            upstream,
            ours,
        )


# Wider: Mews' schema admits more values than ours. None: neither contains the other.
Wider = bool | None


def _verdict(side: Side, wider: Wider) -> tuple[bool, str]:
    if wider is None:
        return True, "neither side admits all the other does"
    if side == "request":
        return (
            (False, "Mews accepts more than our SDK sends")
            if wider
            else (True, "Mews rejects what our SDK may send")
        )
    return (
        (True, "Mews may send what our models reject")
        if wider
        else (False, "Mews sends less than our models accept")
    )


def _judged(
    where: _Context,
    side: Side,
    kind: str,
    wider: Wider,
    upstream: Any = None,
    ours: Any = None,
    keyword: str | None = None,
) -> Difference:
    breaking, reason = _verdict(side, wider)
    return where.difference(kind, breaking, reason, upstream, ours, keyword)


def _compare_shapes(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    """Every difference between two schemas at ``where``, in a fixed order: what values are (types,
    null, formats, enums, constraints), how the schema is marked, then its properties and items."""
    if theirs.recursive_ref or ours.recursive_ref:
        if (theirs.recursive_ref is None) != (ours.recursive_ref is None):
            yield where.difference("recursion-changed", True, "one side nests itself, the other does not")
        return
    yield from _compare_kinds(where, side, theirs, ours)
    yield from _compare_enums(where, side, theirs, ours)
    yield from _compare_constraints(where, side, theirs, ours)
    yield from _compare_marks(where, side, theirs, ours)
    yield from _compare_properties(where, side, theirs, ours)
    if theirs.items is not None or ours.items is not None:
        yield from _compare_shapes(
            replace(where, property_path=f"{where.property_path}[]"),
            side,
            theirs.items or ANY,
            ours.items or ANY,
        )


def _compare_kinds(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    """The JSON types, nullability and formats of the two schemas."""
    if theirs.types != ours.types:
        wider = _contains(_expand_number(theirs.types), _expand_number(ours.types))
        yield _judged(where, side, "type-changed", wider, _sorted(theirs.types), _sorted(ours.types))
    if theirs.nullable != ours.nullable:
        kind = "nullable-added" if theirs.nullable else "nullable-removed"
        yield _judged(where, side, kind, theirs.nullable)
    if theirs.formats != ours.formats:
        # An empty set of formats is every format.
        wider = _contains(theirs.formats or None, ours.formats or None)
        yield _judged(
            where,
            side,
            "format-changed",
            wider,
            _sorted(theirs.formats) or None,
            _sorted(ours.formats) or None,
        )


def _compare_constraints(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    """Each validation keyword (bounds, lengths, pattern, ...) either side states, by name."""
    for keyword in sorted(theirs.constraints.keys() | ours.constraints.keys()):
        mine, their = ours.constraints.get(keyword), theirs.constraints.get(keyword)
        if mine != their:
            yield _judged(
                where, side, "constraint-changed", _looser(keyword, their, mine), their, mine, keyword
            )


def _compare_marks(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    """Deprecation, alternatives, and (for objects) whether unknown properties are allowed."""
    if theirs.deprecated != ours.deprecated:
        kind = "deprecated-added" if theirs.deprecated else "deprecated-removed"
        yield where.difference(kind, False, "a warning, nothing stops working")
    if theirs.variants != ours.variants:
        yield where.difference("variants-changed", True, "alternatives differ; compare them by hand")
    is_object = "object" in (theirs.types or ()) or "object" in (ours.types or ())
    if is_object and theirs.closed != ours.closed:
        openness = {True: "closed", False: "open"}
        yield _judged(
            where,
            side,
            "additional-properties-changed",
            not theirs.closed,
            openness[theirs.closed],
            openness[ours.closed],
        )


def _compare_enums(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    if theirs.enum == ours.enum:
        return
    if theirs.enum is None or ours.enum is None:
        kind = "enum-restriction-removed" if theirs.enum is None else "enum-restriction-added"
        yield _judged(where, side, kind, theirs.enum is None, _sorted(theirs.enum), _sorted(ours.enum))
        return
    for value in sorted(theirs.enum - ours.enum, key=str):
        yield _judged(where, side, "enum-value-added", True, value, None)
    for value in sorted(ours.enum - theirs.enum, key=str):
        yield _judged(where, side, "enum-value-removed", False, None, value)


def _compare_properties(where: _Context, side: Side, theirs: Shape, ours: Shape) -> Iterator[Difference]:
    names = [*ours.properties, *(name for name in theirs.properties if name not in ours.properties)]
    for name in names:
        here = where.child(name)
        if name not in ours.properties:
            required = name in theirs.required
            if side == "request":
                reason = "Mews requires what our SDK does not send" if required else "a new optional input"
                yield here.difference(
                    "property-added", required, reason, "required" if required else "optional"
                )
            elif ours.closed:
                yield here.difference("property-added", True, "our response models forbid unknown properties")
            else:
                yield here.difference("property-added", False, "our response models allow unknown properties")
        elif name not in theirs.properties:
            if side == "response":
                yield here.difference("property-removed", True, "our users read it; Mews no longer sends it")
            elif theirs.closed:
                yield here.difference(
                    "property-removed", True, "our SDK may send it; Mews' closed schema rejects it"
                )
            else:
                yield here.difference("property-removed", False, "Mews' open schema still accepts it")
        else:
            if (name in theirs.required) != (name in ours.required):
                kind = "required-added" if name in theirs.required else "required-removed"
                yield _judged(here, side, kind, name not in theirs.required)
            yield from _compare_shapes(here, side, theirs.properties[name], ours.properties[name])


def _contains(theirs: frozenset[str] | None, ours: frozenset[str] | None) -> Wider:
    """True when Mews' set contains ours (None is everything), False when ours contains Mews', else None."""
    if theirs is None or (ours is not None and theirs > ours):
        return True
    if ours is None or ours > theirs:
        return False
    return None


def _expand_number(types: frozenset[str] | None) -> frozenset[str] | None:
    return types if types is None or "number" not in types else types | {"integer"}


def _looser(keyword: str, theirs: Any, ours: Any) -> Wider:
    """True when Mews' bound admits more than ours (absent admits everything)."""
    if keyword in LOWER_BOUNDS or keyword in UPPER_BOUNDS:
        if theirs is None or ours is None:
            return theirs is None
        return bool(theirs < ours) if keyword in LOWER_BOUNDS else bool(theirs > ours)
    if keyword == "uniqueItems":
        return not theirs
    return None  # pattern, multipleOf: no order between two different values


def _sorted(values: frozenset[Any] | None) -> list[Any] | None:
    return None if values is None else sorted(values, key=str)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "|".join(str(v) for v in value) or "null only"
    return json.dumps(value) if isinstance(value, bool) else str(value)


# --- recorded deviations -----------------------------------------------------------------------

_ABSENT = object()
_ENTRY_KEYS = frozenset(
    {"id", "readme", "why", "kind", "operations", "locations", "properties", "keyword", "upstream", "ours"}
)


@dataclass(frozen=True)
class KnownDeviation:
    """One difference we made on purpose: which differences it explains, and where it is recorded."""

    id: str
    readme: str  # a passage of specs/README.md that records the choice
    kind: str
    operations: tuple[re.Pattern[str], ...]
    locations: tuple[re.Pattern[str], ...]
    properties: tuple[re.Pattern[str], ...]
    keyword: str | None
    upstream: Any  # _ABSENT: any value
    ours: Any

    def explains(self, difference: Difference) -> bool:
        return (
            difference.kind == self.kind
            and (self.keyword is None or difference.keyword == self.keyword)
            and any(p.fullmatch(difference.operation) for p in self.operations)
            and any(p.fullmatch(difference.location) for p in self.locations)
            and any(p.fullmatch(difference.property_path) for p in self.properties)
            and (self.upstream is _ABSENT or difference.upstream == self.upstream)
            and (self.ours is _ABSENT or difference.ours == self.ours)
        )


def _glob(patterns: Any, field_name: str, entry_id: str) -> tuple[re.Pattern[str], ...]:
    """``*`` matches anything (dots and ``[]`` included); everything else is literal."""
    if patterns is None:
        patterns = ["*"]
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise UpstreamError(
            f"known deviation {entry_id!r}: {field_name} must be a string or a list of strings"
        )
    return tuple(re.compile(".*".join(re.escape(part) for part in p.split("*"))) for p in patterns)


def load_known(path: Path) -> list[KnownDeviation]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UpstreamError(f"cannot read the recorded deviations {path}: {error}") from error
    entries = raw.get("deviations") if isinstance(raw, Mapping) else None
    if not isinstance(entries, list):
        raise UpstreamError(f"{path}: expected a mapping with a `deviations` list")
    known = []
    for entry in entries:
        entry_id = str(entry.get("id", "?")) if isinstance(entry, Mapping) else "?"
        if not isinstance(entry, Mapping) or not {"id", "readme", "kind"} <= entry.keys():
            raise UpstreamError(f"{path}: deviation {entry_id!r} needs `id`, `readme` and `kind`")
        if unknown := entry.keys() - _ENTRY_KEYS:
            raise UpstreamError(f"{path}: deviation {entry_id!r} has unknown keys {sorted(unknown)}")
        if entry["kind"] not in KINDS:
            raise UpstreamError(f"{path}: deviation {entry_id!r} has unknown kind {entry['kind']!r}")
        known.append(
            KnownDeviation(
                id=entry_id,
                readme=str(entry["readme"]),
                kind=str(entry["kind"]),
                operations=_glob(entry.get("operations"), "operations", entry_id),
                locations=_glob(entry.get("locations"), "locations", entry_id),
                properties=_glob(entry.get("properties"), "properties", entry_id),
                keyword=entry.get("keyword"),
                upstream=entry.get("upstream", _ABSENT),
                ours=entry.get("ours", _ABSENT),
            )
        )
    return known


def apply_known(differences: Sequence[Difference], known: Sequence[KnownDeviation]) -> list[Difference]:
    """The differences, each explained one marked with the id of the first deviation that explains it."""
    return [
        replace(difference, known=next((k.id for k in known if k.explains(difference)), None))
        for difference in differences
    ]


# --- reading documents -------------------------------------------------------------------------


def load_document(source: str, *, http: httpx.Client | None = None) -> Mapping[str, Any]:
    """An OpenAPI document (YAML or JSON) from a file or an http(s) URL."""
    return parse_document(read_source(source, http=http), source)


def read_source(source: str, *, http: httpx.Client | None = None) -> str:
    """The text of a file or of an http(s) URL."""
    if re.match(r"https?://", source):
        return _fetch_text(source, http)
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise UpstreamError(f"cannot read {source}: {error.strerror or error}") from error


def parse_document(text: str, source: str, *, fragments: bool = False) -> Mapping[str, Any]:
    """A YAML or JSON document; with ``fragments``, also a page embedding OpenAPI JSON fragments."""
    document: Any = None
    error: yaml.YAMLError | None = None
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe loaders only)
    except yaml.YAMLError as caught:
        error = caught
    if isinstance(document, Mapping) and (not fragments or "openapi" in document):
        return document
    if fragments:
        embedded = embedded_documents(text)
        if embedded:
            return merge_fragments(embedded, source)
        raise UpstreamError(f"{source} is neither an OpenAPI document nor a page embedding OpenAPI fragments")
    if error is not None:
        raise UpstreamError(f"{source} is neither YAML nor JSON: {error}") from error
    raise UpstreamError(f"{source} is not an OpenAPI document")


FRAGMENT_START = re.compile(r'\{\s*"openapi"\s*:')


def embedded_documents(text: str) -> list[Mapping[str, Any]]:
    """Every complete JSON object that starts with ``"openapi"`` in a page (GitBook embeds them)."""
    decoder = json.JSONDecoder()
    found: list[Mapping[str, Any]] = []
    position = 0
    while (match := FRAGMENT_START.search(text, position)) is not None:
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            position = match.end()  # cut off (a page copy that stops mid-fragment): skip it
            continue
        if isinstance(value, Mapping) and isinstance(value.get("paths", {}), Mapping):
            found.append(value)
        position = end
    return found


def merge_fragments(documents: Sequence[Mapping[str, Any]], source: str) -> dict[str, Any]:
    """One document from self-contained fragments: paths and components united, equal repeats merged."""
    merged: dict[str, Any] = {"openapi": documents[0].get("openapi"), "info": documents[0].get("info", {})}
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    for document in documents:
        for path, item in (document.get("paths") or {}).items():
            target = paths.setdefault(str(path), {})
            for method, operation in (item or {}).items():
                if method in target and target[method] != operation:
                    raise UpstreamError(f"{source}: two fragments define {method.upper()} {path} differently")
                target[method] = operation
        for section, entries in (document.get("components") or {}).items():
            target = components.setdefault(str(section), {})
            for name, value in (entries or {}).items():
                if name in target and target[name] != value:
                    raise UpstreamError(
                        f"{source}: two fragments define components.{section}.{name} differently"
                    )
                target[name] = value
    merged["paths"] = paths
    merged["components"] = components
    return merged


def load_sources(sources: Sequence[str], *, http: httpx.Client | None = None) -> Mapping[str, Any]:
    """The Reverse API document from one or more sources (documents or pages with fragments)."""
    documents = [parse_document(read_source(source, http=http), source, fragments=True) for source in sources]
    return documents[0] if len(documents) == 1 else merge_fragments(documents, ", ".join(sources))


def _fetch_text(source: str, http: httpx.Client | None) -> str:
    client = http or httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
    try:
        response = client.get(source)
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        raise UpstreamError(f"cannot fetch {source}: HTTP {error.response.status_code}") from error
    except httpx.HTTPError as error:
        raise UpstreamError(
            f"cannot reach {source} ({type(error).__name__}: {error}); "
            "download it where the network allows and pass the file instead"
        ) from error
    finally:
        if http is None:
            client.close()
    return response.text


def loyalty_operations(
    document: Mapping[str, Any], source: str, prefix: str, api: str = "Connector"
) -> dict[tuple[str, str], Operation]:
    try:
        operations = extract_operations(document, prefix)
    except DocumentError as error:
        raise UpstreamError(f"{source}: {error}") from error
    if not operations:
        raise UpstreamError(f"{source} has no operations under {prefix}: is it the {api} API document?")
    return operations


# --- reporting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    upstream_source: str
    ours_source: str
    differences: tuple[Difference, ...]  # every difference, explained ones marked `known`
    unmatched_known: tuple[str, ...]  # recorded deviations that explained nothing
    not_compared: tuple[tuple[str, str], ...] = ()  # (our operation, why Mews' document has no match)
    notes: tuple[str, ...] = ()

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if d.known is None]

    @property
    def exit_status(self) -> int:
        return 1 if any(d.breaking for d in self.unexplained) else 0

    def render_text(self, *, show_known: bool = False) -> str:
        shown = [d for d in self.differences if show_known or d.known is None]
        lines = [f"Mews' published spec {self.upstream_source} compared with {self.ours_source}", ""]
        by_operation: dict[tuple[str, str], list[Difference]] = {}
        for difference in shown:
            by_operation.setdefault((difference.operation, difference.endpoint), []).append(difference)
        location_width = max((len(d.location) for d in shown), default=0)
        for (operation, endpoint), differences in by_operation.items():
            lines.append(f"{operation} ({endpoint})")
            for d in differences:
                recorded = "" if d.known is None else f"  [recorded deviation: {d.known}]"
                lines.append(
                    f"  {d.classification:<12}  {d.location:<{location_width}}  {d.property_path or '-'}  "
                    f"{d.describe()}{recorded}"
                )
            lines.append("")
        unexplained = self.unexplained
        breaking = sum(d.breaking for d in unexplained)
        lines.append(
            f"{len(unexplained)} differences: {breaking} breaking, {len(unexplained) - breaking} non-breaking; "
            f"{len(self.differences) - len(unexplained)} explained by recorded deviations"
            + ("" if show_known else " (--show-known lists them)")
            + "."
        )
        if self.unmatched_known:
            lines.append(
                "Recorded deviations that explained nothing (fixed upstream? remove them): "
                + ", ".join(self.unmatched_known)
            )
        for endpoint, why in self.not_compared:
            lines.append(f"Not compared: {endpoint}: {why}.")
        lines.extend(self.notes)
        return "\n".join(lines)

    def render_json(self) -> str:
        def plain(d: Difference) -> dict[str, Any]:
            return {**asdict(d), "classification": d.classification, "message": d.describe()}

        unexplained = self.unexplained
        return json.dumps(
            {
                "upstream": self.upstream_source,
                "ours": self.ours_source,
                "summary": {
                    "breaking": sum(d.breaking for d in unexplained),
                    "non_breaking": sum(not d.breaking for d in unexplained),
                    "known": len(self.differences) - len(unexplained),
                },
                "differences": [plain(d) for d in unexplained],
                "known": [plain(d) for d in self.differences if d.known is not None],
                "unmatched_known": list(self.unmatched_known),
                "not_compared": [{"endpoint": e, "why": w} for e, w in self.not_compared],
                "notes": list(self.notes),
                "exit_status": self.exit_status,
            },
            indent=2,
        )


def build_report(
    upstream_source: str,
    *,
    ours_source: str = str(OURS),
    known_path: Path = KNOWN,
    prefix: str = LOYALTY_PREFIX,
    http: httpx.Client | None = None,
) -> Report:
    known = load_known(known_path)
    theirs = loyalty_operations(load_document(upstream_source, http=http), upstream_source, prefix)
    ours = loyalty_operations(load_document(ours_source), ours_source, prefix)
    differences = apply_known(compare(theirs, ours), known)
    used = {d.known for d in differences}
    return Report(
        upstream_source,
        ours_source,
        tuple(differences),
        tuple(k.id for k in known if k.id not in used),
    )


def _is_whole_document(text: str) -> bool:
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe loaders only)
    except yaml.YAMLError:
        return False
    return isinstance(document, Mapping) and "openapi" in document


def reconstructed_operations(document: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """``(method, path)`` -> the page each reconstructed operation of ours comes from."""
    return {
        (method, str(path)): str(operation[RECONSTRUCTED_KEY])
        for path, item in (document.get("paths") or {}).items()
        for method, operation in (item or {}).items()
        if isinstance(operation, Mapping) and RECONSTRUCTED_KEY in operation
    }


def build_reverse_report(
    upstream_sources: Sequence[str],
    *,
    ours_source: str = str(REVERSE_OURS),
    known_path: Path = REVERSE_KNOWN,
    http: httpx.Client | None = None,
) -> Report:
    """Mews' published Reverse API (a whole document, or fragments from its pages) against ours."""
    label = ", ".join(upstream_sources)
    texts = [read_source(source, http=http) for source in upstream_sources]
    documents = [parse_document(t, s, fragments=True) for t, s in zip(texts, upstream_sources, strict=True)]
    fragments = len(texts) > 1 or not _is_whole_document(texts[0])
    upstream = documents[0] if len(documents) == 1 else merge_fragments(documents, label)
    ours_document = load_document(ours_source)
    theirs = loyalty_operations(upstream, label, REVERSE_PREFIX, "Reverse")
    ours = loyalty_operations(ours_document, ours_source, REVERSE_PREFIX, "Reverse")
    reconstructed = reconstructed_operations(ours_document)
    by_label = {op.label: key for key, op in ours.items()}
    kept: list[Difference] = []
    not_compared: list[tuple[str, str]] = []
    for difference in compare(theirs, ours):
        key = by_label.get(difference.endpoint)
        if difference.kind == "operation-removed" and key in reconstructed:
            not_compared.append(
                (difference.endpoint, f"reconstructed from {reconstructed[key]}, not published")
            )
        elif difference.kind == "operation-removed" and fragments:
            not_compared.append((difference.endpoint, "not in the published fragments"))
        else:
            kept.append(difference)
    notes = tuple(
        f"Published now: {ours[key].label} (ours is reconstructed from {page}); replace the reconstruction "
        "with Mews' schema in specs/reverse/openapi.yaml."
        for key, page in reconstructed.items()
        if key in theirs
    )
    known = load_known(known_path)
    differences = apply_known(kept, known)
    used = {d.known for d in differences}
    return Report(
        label,
        ours_source,
        tuple(differences),
        tuple(k.id for k in known if k.id not in used),
        tuple(not_compared),
        notes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen.upstream",
        description="Compare Mews' published Connector or Reverse API spec with ours in specs/.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--connector-spec", metavar="PATH_OR_URL", help="Mews' published Connector spec")
    which.add_argument(
        "--reverse-spec",
        action="append",
        metavar="PATH_OR_URL",
        help="Mews' published Reverse API spec, or a page embedding its OpenAPI fragments (repeatable)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--show-known", action="store_true", help="also list differences we made on purpose")
    parser.add_argument(
        "--ours",
        metavar="PATH",
        help=f"our spec (default: {OURS.relative_to(ROOT_DIR)} or {REVERSE_OURS.relative_to(ROOT_DIR)})",
    )
    parser.add_argument(
        "--known", metavar="PATH", help="recorded deviations (default: the API's upstream_known file)"
    )
    parser.add_argument(
        "--path-prefix", default=LOYALTY_PREFIX, help="Connector operations compared (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        if args.reverse_spec:
            report = build_reverse_report(
                args.reverse_spec,
                ours_source=args.ours or str(REVERSE_OURS),
                known_path=Path(args.known) if args.known else REVERSE_KNOWN,
            )
        else:
            report = build_report(
                args.connector_spec,
                ours_source=args.ours or str(OURS),
                known_path=Path(args.known) if args.known else KNOWN,
                prefix=args.path_prefix,
            )
    except UpstreamError as error:
        print(f"upstream: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(report.render_json() if args.format == "json" else report.render_text(show_known=args.show_known))
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
