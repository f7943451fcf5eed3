"""Staying under the server's rate limit, for every request of a run (fuzzing and scenarios alike).

One ``Pacer`` per run, shared by all threads: ``acquire()`` before each request waits until the
sliding window has room (``mews_loyalty._window.SlidingWindow``, the same counter the mock enforces)
and until any ``Retry-After`` the server sent has passed; ``observe()`` after each response notes a
429. Without ``Retry-After`` a 429 starts an exponential back-off (1 s, 2 s, 4 s ... at most 60 s), as
Mews asks of clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from mews_loyalty._retry import retry_after_seconds
from mews_loyalty._window import SlidingWindow

MAX_WAIT_SECONDS = 60.0
# Pace below the limit: the server counts arrivals, the client counts departures.
SAFETY_MARGIN = 0.9


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value in RFC 9110's forms (whole seconds or an HTTP-date);
    None if unusable. The SDK's parser, strict: the suite judges what a server must send."""
    return retry_after_seconds(value, time.time() if now is None else now, strict=True)


def paced_limit(limit: int) -> int:
    return max(1, int(limit * SAFETY_MARGIN))


class Pacer:
    def __init__(
        self,
        rate: tuple[int, float] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._window = SlidingWindow(paced_limit(rate[0]), rate[1]) if rate else None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._blocked_until = 0.0
        self._backoff = 0
        self.waited = 0.0  # seconds spent waiting, for the summary
        self.rate_limited = 0  # 429 responses seen

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._blocked_until - now, self._window.delay(now) if self._window else 0.0)
                if wait <= 0:
                    if self._window:
                        self._window.record(now)
                    return
            wait = min(wait, MAX_WAIT_SECONDS)
            self.waited += wait
            self._sleep(wait)

    def record(self) -> None:
        """Count a request sent without waiting (the deliberate burst that provokes a 429)."""
        with self._lock:
            if self._window:
                self._window.record(self._clock())

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Note a response; returns the wait a 429 imposes (None for any other status)."""
        if status != 429:
            with self._lock:
                self._backoff = 0
            return None
        delay = parse_retry_after(_header(headers, "Retry-After"))
        with self._lock:
            self.rate_limited += 1
            if delay is None:
                delay = float(2**self._backoff)
                self._backoff += 1
            delay = min(delay, MAX_WAIT_SECONDS)
            self._blocked_until = max(self._blocked_until, self._clock() + delay)
        return delay


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value if isinstance(value, str) else str(value[0]) if value else None
    return None
