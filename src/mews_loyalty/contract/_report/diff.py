"""``mews-loyalty contract diff RUN_A RUN_B``: what changed between two runs, cause by cause.

Each RUN is a folder given to ``--report-dir`` (its ``<api>/results.json`` are read) or the ``<api>``
folder inside it. Causes are matched by their stable id (``causes.cause_id``), so two runs against
the same server behaviour list nothing, whatever data they sent. Printed: the causes that appeared
(in RUN_B only), disappeared (in RUN_A only) and changed count.

Exit status: 1 when an error cause appeared (a warning, one a baseline accepts, does not count), 0
otherwise, 2 when a run could not be read (or the two share no API).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mews_loyalty.contract._report.text import printable

RESULTS = "results.json"
APIS = ("connector", "reverse")


class UnreadableRun(Exception):
    """A run folder holds no results.json this command can read."""


@dataclass(frozen=True)
class Change:
    """One cause's difference between the runs: ``before``/``after`` are its counts (0: absent)."""

    api: str
    cause: Mapping[str, Any]  # as results.json has it (RUN_B's when present there)
    before: int
    after: int

    @property
    def what(self) -> str:
        if not self.before:
            return "appeared"
        return "disappeared" if not self.after else "changed"

    def line(self) -> str:
        counts = {
            "appeared": f"{self.after} cases",
            "disappeared": f"{self.before} cases",
            "changed": f"{self.before} -> {self.after} cases",
        }[self.what]
        cause = self.cause
        return (
            f"{self.what:<12}{cause.get('severity', '?'):<8}{cause.get('id', '?')}  {self.api} "
            f"[{cause.get('check', '?')}] {counts}: {cause.get('kind', '')}"
        )


def run_results(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The causes of each API a run folder holds: ``folder/results.json`` or ``folder/<api>/results.json``."""
    files = [folder / RESULTS] if (folder / RESULTS).is_file() else [folder / api / RESULTS for api in APIS]
    found: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found[str(data["api"])] = [dict(cause) for cause in data["causes"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UnreadableRun(f"{path}: not a run's results.json with causes ({error})") from None
    if not found:
        raise UnreadableRun(f"{folder}: no {RESULTS} (give the --report-dir folder or its <api> folder)")
    return found


def changes(
    before: Mapping[str, list[dict[str, Any]]], after: Mapping[str, list[dict[str, Any]]]
) -> list[Change]:
    """The causes that appeared, disappeared or changed count, API by API, in that order."""
    found: list[Change] = []
    for api in sorted(set(before) & set(after)):
        old = {str(c["id"]): c for c in before[api]}
        new = {str(c["id"]): c for c in after[api]}
        for identifier in sorted(old.keys() | new.keys()):
            was, now = old.get(identifier), new.get(identifier)
            count_before = int(was["count"]) if was else 0
            count_after = int(now["count"]) if now else 0
            if count_before != count_after:
                found.append(Change(api, now or was or {}, count_before, count_after))
    order = ("appeared", "disappeared", "changed")
    return sorted(found, key=lambda c: order.index(c.what))


def diff(run_a: Path, run_b: Path) -> tuple[list[str], int]:
    """The lines to print and the exit status (see the module's docstring)."""
    try:
        before, after = run_results(run_a), run_results(run_b)
    except UnreadableRun as error:
        return [f"mews-loyalty contract diff: {error}"], 2
    shared = sorted(set(before) & set(after))
    if not shared:
        return [f"mews-loyalty contract diff: the runs share no API ({sorted(before)} / {sorted(after)})"], 2
    found = changes(before, after)
    appeared_errors = [c for c in found if c.what == "appeared" and c.cause.get("severity") == "error"]
    lines = [change.line() for change in found]
    lines.append(
        f"{len(found)} causes differ ({sum(c.what == 'appeared' for c in found)} appeared, "
        f"{sum(c.what == 'disappeared' for c in found)} disappeared, {sum(c.what == 'changed' for c in found)} "
        f"changed count) in {', '.join(shared)}; {len(appeared_errors)} new error causes"
    )
    return [printable(line) for line in lines], 1 if appeared_errors else 0
