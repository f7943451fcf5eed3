"""Client-side pacing: stay under the server's per-token rate limit instead of drawing 429s.

Mews allows 200 requests per AccessToken in any sliding 30 s window. Every client in the process that
uses the same token (and the same limit) shares one window, so two exports with one token together
still run at the cap and never over it. Processes (and machines) share a window only through a store
they all see: ``SharedRateLimit`` keeps the window in a pyrate-limiter bucket (SQLite, Redis, ...).

    pacer = shared_pacer("token", (200, 30.0), clock=time.time)                # this process
    pacer = shared_pacer("token", SharedRateLimit.sqlite(path), clock=time.time)  # all processes on path
    while (wait := pacer.reserve()) > 0:
        sleep(wait)          # or await, in async code
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from mews_loyalty._window import SlidingWindow

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket, Rate

RateLimit = tuple[int, float]  # (requests, seconds)
DEFAULT_RATE_LIMIT: RateLimit = (200, 30.0)
# The server counts a request when it arrives, a little after we count it; a window this much longer
# than the server's keeps latency jitter from landing a request in the server's previous window.
WINDOW_SAFETY_MARGIN = 0.02


class RateWindow(Protocol):
    """What a pacer needs of a window: take a slot at ``now`` (0.0) or say how long to wait."""

    limit: int
    seconds: float

    def try_acquire(self, now: float) -> float: ...


@dataclass
class _SharedWindow:
    window: RateWindow
    lock: threading.Lock = field(default_factory=threading.Lock)


# (bucket name, the window's rate) -> a pyrate-limiter bucket; the name is a table or key, never a token.
BucketFactory = Callable[[str, "list[Rate]"], "AbstractBucket"]


class SharedRateLimit:
    """A rate limit whose window lives outside the process, so every process using it paces together.

        limit = SharedRateLimit.sqlite("/var/tmp/mews-pacing.sqlite")   # processes on one machine
        limit = SharedRateLimit(200, 30.0, lambda name, rates: RedisBucket.init(rates, redis, name))
        ConnectorClient(..., rate_limit=limit)                           # machines sharing that Redis

    The window is pyrate-limiter's sliding-window log in the bucket the factory makes, one bucket per
    access token (named by a digest of it). Stamps come from the client's clock (wall time by default),
    so the processes sharing a bucket need clocks that agree; through Redis, keep the machines on NTP.
    """

    def __init__(self, requests: int, seconds: float, bucket_factory: BucketFactory) -> None:
        SlidingWindow(requests, seconds)  # the same checks on the numbers as an in-process window
        self.requests = requests
        self.seconds = seconds
        self._bucket_factory = bucket_factory
        self._windows: dict[str, _SharedWindow] = {}
        self._lock = threading.Lock()

    @classmethod
    def sqlite(
        cls, path: str | os.PathLike[str], requests: int = 200, seconds: float = 30.0
    ) -> SharedRateLimit:
        """A window in the SQLite file at ``path``, guarded by a file lock beside it (``path.lock``)."""
        from pyrate_limiter import SQLiteBucket

        def bucket(name: str, rates: list[Rate]) -> AbstractBucket:
            return SQLiteBucket.init_from_file(rates, table=name, db_path=os.fspath(path), use_file_lock=True)

        return cls(requests, seconds, bucket)

    def __repr__(self) -> str:
        return f"SharedRateLimit({self.requests} requests / {self.seconds:g} s)"

    def _shared_window(self, digest: str) -> _SharedWindow:
        with self._lock:
            shared = self._windows.get(digest)
            if shared is None:
                window = _BucketWindow(
                    f"mews_pacing_{digest[:32]}",
                    self.requests,
                    self.seconds * (1 + WINDOW_SAFETY_MARGIN),
                    self._bucket_factory,
                )
                shared = self._windows[digest] = _SharedWindow(window)
            return shared


class _BucketWindow:
    """``SlidingWindow``'s ``try_acquire`` over a pyrate-limiter bucket that other processes also use."""

    def __init__(self, name: str, limit: int, seconds: float, bucket_factory: BucketFactory) -> None:
        from pyrate_limiter import Rate

        self.limit = limit
        self.seconds = seconds
        self._name = name
        self._bucket = bucket_factory(name, [Rate(limit, max(1, round(seconds * 1000)))])

    def try_acquire(self, now: float) -> float:
        from pyrate_limiter import RateItem

        stamp = int(now * 1000)
        item = RateItem(self._name, stamp)
        _synchronous(self._bucket.leak(stamp))  # drop stamps older than the window, so the log stays short
        if _synchronous(self._bucket.put(item)):
            return 0.0
        wait_ms = _synchronous(self._bucket.waiting(item))
        return max(wait_ms, 1) / 1000  # at least a millisecond: a zero would read as "slot taken"


T = TypeVar("T")


def _synchronous(value: T | Awaitable[T]) -> T:
    if isinstance(value, Awaitable):
        raise TypeError("SharedRateLimit needs a synchronous bucket (an async one returned an awaitable)")
    return value


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


def shared_pacer(key: str, rate_limit: RateLimit | SharedRateLimit, *, clock: Callable[[], float]) -> Pacer:
    """The pacer for everything sent with ``key`` (an access token) under ``rate_limit``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    if isinstance(rate_limit, SharedRateLimit):
        return Pacer(rate_limit._shared_window(digest), clock)
    limit, seconds = rate_limit
    with _windows_lock:
        shared = _windows.get((digest, limit, seconds))
        if shared is None:
            window = SlidingWindow(limit, seconds * (1 + WINDOW_SAFETY_MARGIN))
            shared = _windows[(digest, limit, seconds)] = _SharedWindow(window)
    return Pacer(shared, clock)
