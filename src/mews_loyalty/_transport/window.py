"""A sliding-window request counter, shared by the SDK's pacing and the mock's rate limit.

window = SlidingWindow(limit=200, seconds=30.0)   # Mews: 200 requests per AccessToken per 30 s
window.delay(now)      # 0.0 if a request may go now, else seconds until a slot frees
window.record(now)     # count a request made at `now`
window.try_acquire(now)  # record and return 0.0, or return the delay without recording
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    limit: int
    seconds: float
    _stamps: deque[float] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError(
                f"a rate limit needs limit >= 1 and seconds > 0, got {self.limit}/{self.seconds}"
            )

    def _expire(self, now: float) -> None:
        horizon = now - self.seconds
        while self._stamps and self._stamps[0] <= horizon:
            self._stamps.popleft()

    def delay(self, now: float) -> float:
        self._expire(now)
        if len(self._stamps) < self.limit:
            return 0.0
        return self._stamps[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._stamps.append(now)

    def try_acquire(self, now: float) -> float:
        wait = self.delay(now)
        if wait == 0.0:
            self.record(now)
        return wait


def parse_rate(text: str) -> tuple[int, float] | None:
    """``"200/30"`` -> ``(200, 30.0)``; ``"off"`` -> ``None``."""
    if text.strip().lower() in {"off", "none", "0"}:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"rate limit must look like 200/30 (requests/seconds) or 'off', got {text!r}")
    return int(match.group(1)), float(match.group(2))
