"""Stable ids for findings: the same server behaviour gives the same id, run after run.

    kind("'x' is not of type 'integer' at /Items/3/Amount")   # -> "'…' is not of type '…' at /Items/*/Amount"
    finding_id("response_schema_conformance", "loyaltyMembers/getAll", reason)   # -> "f-3c9a1e07b2"

A reason names the deviation and carries data (values the server sent or the run generated, record
ids, array indexes, counts). ``kind`` keeps the first and drops the second: quoted values, ids, numbers
and array indexes become placeholders, so two runs that meet the same deviation with other data name
it alike. ``finding_id`` hashes (check, operation, kind) into a short id; ``cause_id`` hashes (check,
kind), the id of one deviation across every operation where it occurs. The report's ``findings/``
records and ``mews-loyalty contract replay`` use ``finding_id``; the causes of ``results.json`` may
use ``cause_id``. This module is the one place either is computed.
"""

from __future__ import annotations

import hashlib
import re

# What carries data in a reason, most specific first; each becomes one placeholder.
_DATA = (
    (re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""), "'…'"),  # quoted values
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"(?<=/)\d+(?=/|\b)"), "*"),  # array indexes in JSON pointers and paths
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<n>"),  # counts, sizes, seconds, status codes
)
# Status codes name the kind of deviation (a 500 is not a 404): kept as their class.
_STATUS = re.compile(r"\b([1-5])\d\d\b")
ID_LENGTH = 10


def kind(reason: str) -> str:
    """``reason`` without its data: the same deviation met with other values reads alike."""
    text = " ".join(reason.split())
    text = _STATUS.sub(lambda match: f"{match.group(1)}xx", text)
    for pattern, placeholder in _DATA:
        text = pattern.sub(placeholder, text)
    return text


def _short_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:ID_LENGTH]


def finding_id(check: str, operation: str, reason: str) -> str:
    """The id of one finding: ``check`` failed on ``operation`` for ``reason`` (normalised by ``kind``)."""
    return "f-" + _short_hash(check, operation, kind(reason))


def cause_id(check: str, reason_kind: str) -> str:
    """The id of one cause: ``check`` failed for the reason of kind ``reason_kind``, on any operation."""
    return "c-" + _short_hash(check, reason_kind)


__all__ = ["cause_id", "finding_id", "kind"]
