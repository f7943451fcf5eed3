"""Seeded fault injection for resilience tests: some requests fail or stall, reproducibly.

    plan = FaultPlan.parse("429=0.05,500=0.02,408=0.01,delay=0.2", seed=7, delay_seconds=1.5)
    faults = FaultInjector(plan)
    fault = faults.draw()   # Fault(status=500, delay=0.0) or Fault(status=None, delay=1.5) or ...

Each ``STATUS=P`` answers that status to a share P of the requests; ``delay=P`` holds a share P of
the requests for ``delay_seconds`` before they are handled (they may still fail or succeed). The
status shares must add up to at most 1. Every request consumes the same two draws from one seeded
generator, so the same seed and the same order of requests give the same faults.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass

DELAY_KEY = "delay"
_ENTRY = re.compile(r"\s*(\d{3}|delay)\s*=\s*([0-9]*\.?[0-9]+)\s*")


@dataclass(frozen=True)
class Fault:
    status: int | None  # the status to answer instead of handling the request, or None
    delay: float  # seconds to wait first (0.0: none)


NO_FAULT = Fault(status=None, delay=0.0)


@dataclass(frozen=True)
class FaultPlan:
    statuses: tuple[tuple[int, float], ...] = ()  # (status, share of requests), in the order given
    delay_share: float = 0.0
    delay_seconds: float = 1.0
    seed: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.statuses) or self.delay_share > 0.0

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        allowed_statuses: Collection[int],
        seed: int | None = None,
        delay_seconds: float = 1.0,
    ) -> FaultPlan:
        """``"429=0.05,500=0.02,delay=0.2"`` -> a plan; ``""`` or ``"off"`` -> no faults."""
        if text.strip().lower() in {"", "off", "none"}:
            return cls(seed=seed, delay_seconds=delay_seconds)
        statuses: dict[int, float] = {}
        delay_share = 0.0
        for entry in text.split(","):
            match = _ENTRY.fullmatch(entry)
            if not match:
                raise ValueError(f"a fault looks like STATUS=SHARE or delay=SHARE, got {entry.strip()!r}")
            key, share = match.group(1), float(match.group(2))
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"the share of {key} must be between 0 and 1, got {share}")
            if key == DELAY_KEY:
                delay_share = share
                continue
            status = int(key)
            if status not in allowed_statuses:
                allowed = ", ".join(str(code) for code in sorted(allowed_statuses))
                raise ValueError(f"{status} is not a status these operations document ({allowed})")
            statuses[status] = share
        if sum(statuses.values()) > 1.0:
            raise ValueError("the status shares add up to more than 1")
        if delay_seconds < 0:
            raise ValueError(f"the delay must not be negative, got {delay_seconds}")
        return cls(tuple(statuses.items()), delay_share, delay_seconds, seed)


class FaultInjector:
    """Draws one fault decision per request from the plan's seeded generator."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)  # noqa: S311 - reproducible test faults, not security

    def draw(self) -> Fault:
        if not self.plan.active:
            return NO_FAULT
        pick, stall = self._random.random(), self._random.random()
        delay = self.plan.delay_seconds if stall < self.plan.delay_share else 0.0
        threshold = 0.0
        for status, share in self.plan.statuses:
            threshold += share
            if pick < threshold:
                return Fault(status, delay)
        return Fault(None, delay) if delay else NO_FAULT
