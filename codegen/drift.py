"""Compares a fresh generation with generated/ and explains every difference."""

from __future__ import annotations

import difflib
import filecmp
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from codegen.apis import APIS, GENERATED, ROOT
from codegen.generate import IGNORED, PROVENANCE, generate_into, sha256

DIFF_LINES_PER_FILE = 40


@dataclass
class DriftReport:
    missing: list[str] = field(default_factory=list)  # would be generated, not in generated/
    extra: list[str] = field(default_factory=list)  # in generated/, would not be generated
    differing: list[str] = field(default_factory=list)
    stale_specs: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.differing or self.stale_specs)

    def render(self) -> str:
        if self.clean:
            return "generated/ is up to date with specs/ and codegen/."
        lines = ["generated/ is stale: run `nox -s regen` and commit the result."]
        for spec in self.stale_specs:
            lines.append(f"  spec changed since generation: {spec}")
        for name, paths in (("missing", self.missing), ("extra", self.extra), ("differs", self.differing)):
            lines.extend(f"  {name}: generated/{path}" for path in paths)
        return "\n".join([*lines, *self.diffs])


def _compare(fresh: Path, current: Path, prefix: str, report: DriftReport) -> None:
    cmp = filecmp.dircmp(fresh, current, ignore=sorted(IGNORED))
    report.missing.extend(f"{prefix}{name}" for name in sorted(cmp.left_only))
    report.extra.extend(f"{prefix}{name}" for name in sorted(cmp.right_only))
    report.differing.extend(f"{prefix}{name}" for name in sorted(cmp.funny_files))
    for name in sorted(cmp.common_files):
        # dircmp's own comparison is shallow (size and mtime); compare contents.
        if not filecmp.cmp(fresh / name, current / name, shallow=False):
            report.differing.append(f"{prefix}{name}")
            report.diffs.append(_diff(fresh / name, current / name, f"{prefix}{name}"))
    for name in sorted(cmp.common_dirs):
        _compare(fresh / name, current / name, f"{prefix}{name}/", report)


def _diff(fresh: Path, current: Path, label: str) -> str:
    lines = list(
        difflib.unified_diff(
            current.read_text(encoding="utf-8", errors="replace").splitlines(),
            fresh.read_text(encoding="utf-8", errors="replace").splitlines(),
            fromfile=f"generated/{label} (committed)",
            tofile=f"generated/{label} (from specs)",
            lineterm="",
        )
    )
    if len(lines) > DIFF_LINES_PER_FILE:
        lines = [*lines[:DIFF_LINES_PER_FILE], f"... {len(lines) - DIFF_LINES_PER_FILE} more diff lines"]
    return "\n".join(lines)


def _stale_specs(current: Path) -> list[str]:
    try:
        recorded = json.loads((current / PROVENANCE).read_text(encoding="utf-8"))["specs"]
    except (OSError, ValueError, KeyError):
        return [f"generated/{PROVENANCE} is missing or unreadable"]
    stale = []
    for api in APIS:
        entry = recorded.get(api.name, {})
        if entry.get("sha256") != sha256(api.spec):
            stale.append(
                f"{api.spec.relative_to(ROOT).as_posix()} (sha256 {sha256(api.spec)[:12]}, "
                f"generated from {str(entry.get('sha256'))[:12]})"
            )
    return stale


def check(current: Path = GENERATED) -> DriftReport:
    """Regenerate into a temporary folder and compare with ``current``; writes nothing else."""
    report = DriftReport(stale_specs=_stale_specs(current))
    with tempfile.TemporaryDirectory(prefix="mews-drift-") as tmp:
        fresh = Path(tmp)
        generate_into(fresh)
        _compare(fresh, current, "", report)
    return report
