"""Timing helpers: best-of-N wall time, so a noisy neighbour inflates no ratio."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def best_time(func: Callable[[], object], *, repeat: int = 7, number: int = 5) -> float:
    """Seconds per call: the fastest of ``repeat`` rounds of ``number`` calls (after one warm-up)."""
    func()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def best_times_interleaved(
    funcs: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 7,
    cpu: dict[str, float] | None = None,
    settle: bool = False,
) -> dict[str, float]:
    """Seconds per call of each function: the fastest of ``rounds`` calls, taken in turns (one call of
    each per round, after one warm-up each), so a neighbour's burst of load falls on all of them rather
    than on one: side-by-side ratios stay comparable on a shared machine.

    ``cpu``, when given, receives each function's least CPU time of this process per call: against a
    server in another process, the client's own cost, which a loaded machine's scheduling barely moves.

    ``settle`` runs each function once more, untimed, right before each timed call, so that every timed
    call follows a call of itself. Without it a call pays for what the one before it left: a function
    that needs more memory than its predecessor freed takes page faults (thousands a call, counted in
    its CPU time) that the other never does.
    """
    for func in funcs.values():
        func()
    best = dict.fromkeys(funcs, float("inf"))
    least_cpu = dict.fromkeys(funcs, float("inf"))
    for _ in range(rounds):
        for label, func in funcs.items():
            if settle:
                func()
            started, started_cpu = time.perf_counter(), time.process_time()
            func()
            best[label] = min(best[label], time.perf_counter() - started)
            least_cpu[label] = min(least_cpu[label], time.process_time() - started_cpu)
    if cpu is not None:
        cpu.update(least_cpu)
    return best


def cpu_note(cpu: Mapping[str, float], baseline: str) -> str:
    """``client CPU: raw 0.17 s; SDK 0.34 s (1.98x)``: the figures ``best_times_interleaved`` gave."""
    rows = [f"{label} {seconds:.3f} s ({seconds / cpu[baseline]:.2f}x)" for label, seconds in cpu.items()]
    return "client CPU (this process; the server runs in its own): " + "; ".join(rows)


@dataclass
class Section:
    """One benchmark: a baseline and rows measured against it."""

    name: str
    baseline: str
    unit: str
    rows: dict[str, float] = field(default_factory=dict)  # label -> absolute figure (in `unit`)
    notes: list[str] = field(default_factory=list)
    higher_is_better: bool = False

    def ratio(self, label: str) -> float:
        return self.rows[label] / self.rows[self.baseline]

    def as_dict(self) -> dict[str, object]:
        return {
            "baseline": self.baseline,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "rows": {
                label: {"value": value, "ratio": self.ratio(label)} for label, value in self.rows.items()
            },
            "notes": self.notes,
        }
