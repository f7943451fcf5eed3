"""Staying under the server's rate limit, for every request of a run (fuzzing and scenarios alike).

One ``Throttle`` per run, shared by all threads. The window is the SDK's (``mews_loyalty._transport.pacing``: the
same sliding window, safety margin and lock as ``ConnectorClient``'s pacing, a window of the run's own);
what is the suite's is what it does about a 429: ``acquire()`` before each request waits until the
window has room and until any ``Retry-After`` the server sent has passed; ``observe()`` after each
response notes a 429. Without ``Retry-After`` a 429 starts an exponential back-off (1 s, 2 s, 4 s ...
at most 60 s), as Mews asks of clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN, private_pacer
from mews_loyalty._transport.retry import retry_after_seconds

MAX_WAIT_SECONDS = 60.0
# How the run's header describes the pacing.
PACING_NOTE = f"paced in a window {WINDOW_SAFETY_MARGIN:.0%} longer"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value in RFC 9110's forms (whole seconds or an HTTP-date);
    None if unusable. The SDK's parser, strict: the suite judges what a server must send."""
    return retry_after_seconds(value, time.time() if now is None else now, strict=True)


class Throttle:
    """The run's gate before every request: the SDK's window, plus waiting out what a 429 asks."""

    def __init__(
        self,
        rate: tuple[int, float] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate  # the server's limit, as given
        self._slots = private_pacer(rate, clock=clock) if rate else None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._blocked_until = 0.0
        self._backoff = 0
        self.waited = 0.0  # seconds spent waiting, for the summary
        self.rate_limited = 0  # 429 responses seen
        # What the run waits on now, for the progress line (run's clock): the end of the wait for the
        # window or a Retry-After, and when the request last let through went out (None: answered).
        self.waiting_until: float | None = None
        self.sent_at: float | None = None

    def now(self) -> float:
        """The run's clock (monotonic seconds; injected in tests, with the server's, to take speed out)."""
        return self._clock()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` on the run's clock (a probe waiting out a Retry-After)."""
        self._sleep(seconds)

    @property
    def paced(self) -> tuple[int, float] | None:
        """The window actually kept, (requests, seconds): the server's, with the SDK's safety margin."""
        return (self._slots.limit, self._slots.seconds) if self._slots else None

    def acquire(self) -> None:
        while True:
            with self._lock:
                wait = self._blocked_until - self._clock()
                if wait <= 0:
                    wait = self._slots.reserve() if self._slots else 0.0
                    if wait <= 0:
                        self.waiting_until, self.sent_at = None, self._clock()
                        return
                wait = min(wait, MAX_WAIT_SECONDS)
                self.waited += wait
                self.waiting_until = self._clock() + wait
            self._sleep(wait)

    def record(self) -> None:
        """Count a request sent without waiting (the deliberate burst that provokes a 429)."""
        if self._slots:
            self._slots.record()

    def blocked_for(self) -> float:
        """Seconds still to wait out a 429's ``Retry-After`` before anything is sent (0: none)."""
        return max(0.0, self._blocked_until - self._clock())

    def settled(self) -> None:
        """The request let through last is over without an answer to ``observe`` (it got none)."""
        self.sent_at = None

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Note a response; returns the wait a 429 imposes (None for any other status)."""
        self.sent_at = None
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
