"""``python -m bench [section ...]``: run the benchmarks, print a table, write results.json and a chart.

Every figure is reported beside a baseline measured in the same run, as a ratio; nothing here is a
pass/fail assertion. Sections: decode, paging, paging_minimal, bulk_add, bulk_export, mock_server,
codegen_times, contract_rate, contract_run, hostile, proxy.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path

from bench._measure import Section

SECTIONS = (
    "decode",
    "paging",
    "paging_minimal",
    "bulk_add",
    "bulk_export",
    "mock_server",
    "codegen_times",
    "contract_rate",
    "contract_run",
    "hostile",
    "proxy",
)
OUT = Path(__file__).resolve().parent


def table(sections: list[Section]) -> str:
    lines = []
    for section in sections:
        lines.append(
            f"\n{section.name}  (baseline: {section.baseline}; ratio {'higher' if section.higher_is_better else 'lower'} is better)"
        )
        for label, value in section.rows.items():
            ratio = section.ratio(label) if section.baseline in section.rows else float("nan")
            lines.append(f"  {label:<52} {value:>12.3f} {section.unit:<6} {ratio:>7.2f}x")
        lines.extend(f"  - {note}" for note in section.notes)
    return "\n".join(lines)


def chart(sections: list[Section], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in sections if s.baseline in s.rows and len(s.rows) > 1]
    fig, axes = plt.subplots(len(shown), 1, figsize=(9, 2.2 * len(shown)), squeeze=False)
    for axis, section in zip(axes[:, 0], shown, strict=True):
        labels = list(section.rows)
        axis.barh(labels, [section.ratio(label) for label in labels], color="#4a7ab5")
        axis.axvline(1.0, color="black", linewidth=0.8)
        axis.set_title(
            f"{section.name} (x baseline, {'higher' if section.higher_is_better else 'lower'} is better)",
            fontsize=9,
        )
        axis.tick_params(labelsize=8)
        axis.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        print(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    sections = []
    for name in names:
        print(f"running {name} ...", flush=True)
        sections.append(importlib.import_module(f"bench.{name}").run())
    print(table(sections))
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "sections": {
            section.name: section.as_dict() for section in sections if section.baseline in section.rows
        },
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(sections, OUT / "results.png")
    print(f"\nwrote {OUT / 'results.json'} and {OUT / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
