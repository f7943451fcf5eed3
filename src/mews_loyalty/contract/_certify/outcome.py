"""What a certification rehearsal did: each flow's record, how the run ended, what it left behind.

certification.verdict          # "PASSED", "FAILED", "COULD NOT RUN", "INTERRUPTED", "NO VERDICT ..."
exit_status(certification)     # 0, 1, 2, or 128 + the signal that interrupted it
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mews_loyalty.contract._certify.flows import FAILED, FlowRecord

DEFAULT_REPORT_DIR = Path("reports/certification")
PAGE, DOCUMENT = "certification.html", "certification.json"
PASSED_VERDICT, FAILED_VERDICT = "PASSED", "FAILED"


@dataclass
class Certification:
    """What a rehearsal did: each flow's record, how it ended, what it left at the provider."""

    base_url: str
    run_id: str
    enterprise_id: str
    customer_id: str
    email: str
    tokens: int  # how many were given (never their values)
    timeout: float
    latency_budget: float
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0
    records: list[FlowRecord] = field(default_factory=list)
    could_not_run: str | None = None
    interrupted: str | None = None  # the signal's name
    faults: list[str] = field(default_factory=list)  # the rehearsal's own bugs, outside any flow
    traces: list[str] = field(default_factory=list, repr=False)  # their tracebacks, for --debug
    enrolled: list[str] = field(default_factory=list)  # membership ids created: the API cannot delete them
    leftovers: list[str] = field(default_factory=list)  # what the run could not undo (a link)
    folder: Path = DEFAULT_REPORT_DIR

    @property
    def all_faults(self) -> list[str]:
        return [*self.faults, *(f"{r.flow.title}: {r.fault}" for r in self.records if r.fault is not None)]

    @property
    def verdict(self) -> str:
        if self.could_not_run is not None:
            return "COULD NOT RUN"
        if self.interrupted is not None:
            return "INTERRUPTED"
        if self.all_faults:
            return "NO VERDICT (the rehearsal itself failed)"
        if self.leftovers or any(record.state == FAILED for record in self.records):
            return FAILED_VERDICT
        return PASSED_VERDICT


def exit_status(certification: Certification) -> int:
    """The contract suite's endings: 128 + the interrupting signal, 2 could not run or a fault of the
    rehearsal, 1 a flow failed, 0 every flow that could run passed."""
    if certification.interrupted is not None:
        return 128 + signal.Signals[certification.interrupted].value
    verdict = certification.verdict
    return 0 if verdict == PASSED_VERDICT else 1 if verdict == FAILED_VERDICT else 2


__all__ = [
    "DEFAULT_REPORT_DIR",
    "DOCUMENT",
    "FAILED_VERDICT",
    "PAGE",
    "PASSED_VERDICT",
    "Certification",
    "exit_status",
]
