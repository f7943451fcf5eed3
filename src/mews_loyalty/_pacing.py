"""Client-side pacing: stay under the server's per-token rate limit instead of drawing 429s.

Mews allows 200 requests per AccessToken in any sliding 30 s window. Every client in the process that
uses the same token (and the same limit) shares one window, so two exports with one token together
still run at the cap and never over it.

    pacer = shared_pacer("token", (200, 30.0), clock=time.time)
    while (wait := pacer.reserve()) > 0:
        sleep(wait)          # or await, in async code
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mews_loyalty._window import SlidingWindow

RateLimit = tuple[int, float]  # (requests, seconds)
DEFAULT_RATE_LIMIT: RateLimit = (200, 30.0)
# The server counts a request when it arrives, a little after we count it; a window this much longer
# than the server's keeps latency jitter from landing a request in the server's previous window.
WINDOW_SAFETY_MARGIN = 0.02


@dataclass
class _SharedWindow:
    window: SlidingWindow
    lock: threading.Lock = field(default_factory=threading.Lock)


# Keyed by a digest of the token, so the registry holds no credential.
_windows: dict[tuple[str, int, float], _SharedWindow] = {}
_windows_lock = threading.Lock()


class Pacer:
    """Hands out request slots from a sliding window, thread-safely."""

    def __init__(self, shared: _SharedWindow, clock: Callable[[], float]) -> None:
        self._shared = shared
        self._clock = clock

    def __repr__(self) -> str:
        window = self._shared.window
        return f"Pacer({window.limit} requests / {window.seconds:g} s)"

    def reserve(self) -> float:
        """Take a slot and return 0.0, or return how many seconds to wait before asking again."""
        with self._shared.lock:
            return self._shared.window.try_acquire(self._clock())


def shared_pacer(key: str, rate_limit: RateLimit, *, clock: Callable[[], float]) -> Pacer:
    """The pacer for everything sent with ``key`` (an access token) under ``rate_limit``."""
    limit, seconds = rate_limit
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    with _windows_lock:
        shared = _windows.get((digest, limit, seconds))
        if shared is None:
            window = SlidingWindow(limit, seconds * (1 + WINDOW_SAFETY_MARGIN))
            shared = _windows[(digest, limit, seconds)] = _SharedWindow(window)
    return Pacer(shared, clock)
