"""Root causes: the run's findings grouped by what the server does wrong, each with a stable id.

A cause is one (check, kind of deviation), spanning the operations where it occurs: a missing
``Request-Id`` is one cause with a count per operation, not a row per operation and message. The
kind is the finding's message with its data taken out (``deviation_kind``): quoted values, numbers,
ids, bodies and array indexes of JSON pointers go, the schema keyword, the pointer, the header name,
the status class (``4xx``) and the scenario step stay. So the id, a short hash of (check, kind), is the
same for the same server behaviour across runs, whatever data they sent or got (Prism ``--dynamic``'s
random answers included).

Severity: ``error`` breaks the contract and fails the run; ``warning`` does not: a cause of an
advisory check (``ADVISORY``: what Mews' users would notice, which no document forbids), or a cause a
baseline accepts (``read_baseline``: one cause id per line, the rest of the line its reason, ``#`` a
comment).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mews_loyalty.contract._report.results import Failure, Results

ERROR, WARNING = "error", "warning"
SEVERITIES = (ERROR, WARNING)  # the order causes are listed in
# Checks whose findings are advice: shown as warnings, never failing a run (each with why it is advice).
ADVISORY: dict[str, str] = {
    "search_email_case": "Mews searches by the e-mail a guest typed, in whatever letter case",
    "duplicate_members": "staff pick a member from the list: one member twice reads as two",
    "problem_type": "Mews shows users only a generic message for a problem type outside its list",
    "latency_budget": "Mews' timeout is unpublished; a receptionist waits on the answer",
}
KIND_LIMIT = 200  # characters of a kind: enough to tell deviations apart, short enough to read

# Each (pattern, replacement) in order: what varies with the data is replaced by a placeholder.
_CUSTOM_CHECK = re.compile(r"^Custom check failed: `[^`]*`: ")
_BODY = re.compile(r"\{[^{}\[\]]*\}|\[[^{}\[\]]*\]")  # innermost object or list: replaced until none is left
_NORMALISE: tuple[tuple[re.Pattern[str], str], ...] = (
    # what schemathesis did to a generated request (random per run): keep only where it was invalid
    (re.compile(r"(Invalid component:)(?: (in \w+))?.*"), r"\1 \2"),
    (re.compile(r"\bcurl .*"), "curl …"),  # a request quoted in the message
    (re.compile(r"\bhttps?://\S+"), "<url>"),
    (re.compile(r"\bmust (set|clear) \w+"), r"must \1 <property>"),  # the property a scenario step chose
    (re.compile(r"[{\[].*"), "\x00"),  # what is left of a body cut short (messages are truncated)
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""), "'…'"),  # quoted values
    (re.compile(r"\b(?:GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE|QUERY|CONNECT)\b"), "<method>"),
    (re.compile(r"/\d+(?=/|\b)"), ""),  # array indexes in JSON pointers (`/items/3/Name`)
    (re.compile(r"(?<![\w.])([1-5])\d\d(?![\w.])"), r"\1xx"),  # HTTP statuses, as their class
    (re.compile(r"\d+(?:\.\d+)?(?!xx)"), "N"),  # counts, sizes, seconds (not a status class)
    (re.compile(r"\s+"), " "),
)


def deviation_kind(message: str) -> str:
    """The kind of deviation a finding's message describes, with no data in it: the first, in
    sorted order, of its ``; ``-separated problems normalised (a finding listing several is one
    case; the others stay in its message), so that the same problems in another order or with
    another mix of data-dependent companions give the same kind."""
    parts = {_normalise(part) for part in _CUSTOM_CHECK.sub("", message).split("; ")}
    return min((part for part in parts if part), default="(no message)")[:KIND_LIMIT]


def _normalise(text: str) -> str:
    while True:  # bodies and lists, innermost first, so that nested ones go whole
        text, replaced = _BODY.subn("\x00", text)
        if not replaced:
            break
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text.replace("\x00", "{…}").strip()


def cause_id(check: str, kind: str) -> str:
    """The cause's stable id: eight hex digits of a hash of its check and kind."""
    return hashlib.sha256(f"{check}\n{kind}".encode()).hexdigest()[:8]


@dataclass
class Cause:
    """One root cause: a check, a kind of deviation, the cases per operation and the findings."""

    id: str
    check: str
    kind: str
    operations: dict[str, int]  # operation -> failing cases
    findings: list[Failure] = field(default_factory=list)  # every distinct message kept, under its cause
    accepted: str | None = None  # the baseline's reason, when it accepts this cause

    @property
    def severity(self) -> str:
        return ERROR if self.accepted is None and self.check not in ADVISORY else WARNING

    @property
    def why_warning(self) -> str:
        """Why the cause is a warning (the baseline's reason, or why the check is advice); empty for an error."""
        if self.accepted is not None:
            return f"accepted: {self.accepted}"
        return f"advice: {ADVISORY[self.check]}" if self.check in ADVISORY else ""

    @property
    def count(self) -> int:
        return sum(self.operations.values())

    @property
    def curl(self) -> str:
        """One representative exchange: the first finding's masked curl line that has one."""
        return next((f.curl for f in self.findings if f.curl), "")

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "check": self.check,
            "kind": self.kind,
            "count": self.count,
            "operation": next(iter(self.operations)) if len(self.operations) == 1 else None,
            "operations": self.operations,
            "accepted": self.accepted,
            "curl": self.curl,
            "findings": len(self.findings),
        }


def causes(results: Results) -> list[Cause]:
    """The run's causes, errors before warnings, then the most cases first (then by id)."""
    found = {
        (check, kind): Cause(
            cause_id(check, kind),
            check,
            kind,
            dict(sorted(per_operation.items(), key=lambda item: (-item[1], item[0]))),
            accepted=results.accepted.get(cause_id(check, kind)),
        )
        for (check, kind), per_operation in results.cause_cases.items()
    }
    for failure in results.failures:
        found[(failure.check, failure.kind)].findings.append(failure)
    return sorted(found.values(), key=lambda c: (SEVERITIES.index(c.severity), -c.count, c.id))


class BaselineError(Exception):
    """A baseline file that cannot be read or holds a line that is not a cause id."""


def read_baseline(path: Path) -> dict[str, str]:
    """Accepted cause ids and their reasons from a baseline file (``#`` starts a comment)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read the baseline {path}: {error}") from None
    return parse_baseline(text.splitlines(), str(path))


def parse_baseline(lines: Iterable[str], source: str = "baseline") -> dict[str, str]:
    accepted: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        text = line.partition("#")[0].strip()
        if not text:
            continue
        identifier, _, reason = text.partition(" ")
        if not re.fullmatch(r"[0-9a-f]{8}", identifier):
            raise BaselineError(f"{source}:{number}: not a cause id (8 hex digits): {identifier!r}")
        accepted[identifier] = reason.strip() or "accepted"
    return accepted


def baseline_lines(found: Iterable[Cause]) -> list[str]:
    """A baseline accepting ``found``: each id with its check and kind as the reason, to edit."""
    return [f"{c.id} {c.check}: {c.kind}" for c in found]


def operations_text(operations: Mapping[str, int], limit: int = 4) -> str:
    """``op 3, op2 1, ... and 5 more``: the operations of a cause with their cases."""
    shown = [f"{operation} {count}" for operation, count in list(operations.items())[:limit]]
    more = len(operations) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
