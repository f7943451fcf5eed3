"""Client-side pacing: stay under the server's per-token rate limit instead of drawing 429s.

Mews allows 200 requests per AccessToken in any sliding 30 s window. Every client in the process that
uses the same token (and the same limit) shares one window, so two exports with one token together
still run at the cap and never over it. Processes (and machines) share a window only through a store
they all see: ``SharedRateLimit`` keeps the window in a pyrate-limiter bucket (SQLite, Redis, ...).

    pacer = shared_pacer("token", MEWS_RATE_LIMIT, clock=time.time)             # this process
    pacer = shared_pacer("token", SharedRateLimit.sqlite(path), clock=time.time)  # all processes on path
    pacer = shared_pacer("token", SharedRateLimit.redis(redis), clock=time.time)  # all machines on redis
    pacer = private_pacer(MEWS_RATE_LIMIT, clock=time.monotonic)    # a window of its own (contract suite)
    while (wait := pacer.reserve()) > 0:
        sleep(wait)          # or await, in async code
    pacer.record()           # count a request sent without a slot (a deliberate burst)

The safety margin is in time, not in requests: the window is ``WINDOW_SAFETY_MARGIN`` longer than the
server's and holds the server's full count.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from mews_loyalty._transport.window import SlidingWindow

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket, Rate
    from redis import Redis

RateLimit = tuple[int, float]  # (requests, seconds)
# Mews' documented limit: 200 requests per AccessToken in a sliding window of 30 seconds. The Connector
# client paces under it by default, the Connector mock enforces it, the contract suite paces under it.
MEWS_RATE_LIMIT: RateLimit = (200, 30.0)
# The server counts a request when it arrives, a little after we count it. What can go wrong is time:
# a request that arrives later than its successors' requests left by more than the server's window
# allows. A window this much longer than the server's (0.6 s of Mews' 30 s) absorbs exactly that much
# latency jitter, whatever the traffic's shape, for 2 % of the throughput. A margin in requests (pacing
# at 90 % of the limit) costs 10 % and absorbs none when a window's requests go out in one burst.
WINDOW_SAFETY_MARGIN = 0.02


def paced_seconds(seconds: float) -> float:
    """The length of the window a pacer keeps for a server window of ``seconds``."""
    return seconds * (1 + WINDOW_SAFETY_MARGIN)


class RateWindow(Protocol):
    """What a pacer needs of a window: take a slot at ``now`` (0.0) or say how long to wait, and count
    a request that went out without a slot."""

    limit: int
    seconds: float

    def try_acquire(self, now: float) -> float: ...

    def record(self, now: float) -> None: ...


@dataclass
class _SharedWindow:
    window: RateWindow
    lock: threading.Lock = field(default_factory=threading.Lock)


# (bucket name, the window's rate) -> a pyrate-limiter bucket; the name is a table or key, never a token.
BucketFactory = Callable[[str, "list[Rate]"], "AbstractBucket"]
# The count in pyrate-limiter's RedisBucket script, and the one SharedRateLimit.redis loads instead.
_REDIS_COUNT_TO_NOW = "redis.call('ZCOUNT', bucket, window_start, now)"
_REDIS_COUNT_ALL_LATER = "redis.call('ZCOUNT', bucket, window_start, '+inf')"


class SharedRateLimit:
    """A rate limit whose window lives outside the process, so every process using it paces together.

        limit = SharedRateLimit.sqlite("/var/tmp/mews-pacing.sqlite")   # processes on one machine
        limit = SharedRateLimit.redis(redis.Redis(host="pacing.internal"))  # machines sharing a Redis
        limit = SharedRateLimit(200, 30.0, lambda name, rates: PostgresBucket(pool, name, rates))  # or any
        ConnectorClient(..., rate_limit=limit)

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

    @classmethod
    def redis(cls, client: Redis, requests: int = 200, seconds: float = 30.0) -> SharedRateLimit:
        """A window in the Redis server that ``client`` (a synchronous ``redis.Redis``) reaches: every
        process on every machine using that server paces together. The window is a sorted set under
        the key ``mews_pacing_<digest>``; Redis needs no persistence for it (a restart empties it).

        The bucket is pyrate-limiter's ``RedisBucket`` with one change to its script: a window counts
        every stamp from its start on, not only those up to the new request's own. A stamp is taken
        before the round trip to Redis, so processes racing for the last slot reach Redis in any order;
        counting only older stamps, the one with the older stamp would miss the other's and both would
        get the slot (four workers on one token let 52 requests into a window of 50). It also keeps a
        machine whose clock runs behind from overlooking the requests of one whose clock runs ahead.
        """
        from pyrate_limiter import RedisBucket
        from pyrate_limiter.buckets.redis_bucket import LuaScript

        script = LuaScript.PUT_ITEM.replace(_REDIS_COUNT_TO_NOW, _REDIS_COUNT_ALL_LATER)
        if script == LuaScript.PUT_ITEM:
            raise RuntimeError(
                "pyrate-limiter's RedisBucket script changed: SharedRateLimit.redis needs review"
            )

        def bucket(name: str, rates: list[Rate]) -> AbstractBucket:
            return RedisBucket(rates, client, name, _synchronous(client.script_load(script)))

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
                    paced_seconds(self.seconds),
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
        self._bucket = _synchronous(bucket_factory(name, [Rate(limit, max(1, round(seconds * 1000)))]))

    def try_acquire(self, now: float) -> float:
        from pyrate_limiter import RateItem

        stamp = int(now * 1000)
        item = RateItem(self._name, stamp)
        _synchronous(self._bucket.leak(stamp))  # drop stamps older than the window, so the log stays short
        if _synchronous(self._bucket.put(item)):
            return 0.0
        wait_ms = _synchronous(self._bucket.waiting(item))
        return max(wait_ms, 1) / 1000  # at least a millisecond: a zero would read as "slot taken"

    def record(self, now: float) -> None:
        from pyrate_limiter import RateItem

        # pyrate-limiter refuses an item a full bucket has no room for, so a request sent past a full
        # window goes uncounted here (the server counts it); the bucket, full, still holds every
        # process back until its oldest stamp leaves.
        _synchronous(self._bucket.put(RateItem(self._name, int(now * 1000))))


T = TypeVar("T")


def _synchronous(value: T | Awaitable[T]) -> T:
    if isinstance(value, Awaitable):
        if isinstance(value, Coroutine):
            value.close()  # never awaited, and so never warned about
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
        return f"Pacer({self.limit} requests / {self.seconds:g} s)"

    @property
    def limit(self) -> int:
        """Requests per window, as paced (the server's limit)."""
        return self._shared.window.limit

    @property
    def seconds(self) -> float:
        """The window as paced: the server's, lengthened by ``WINDOW_SAFETY_MARGIN``."""
        return self._shared.window.seconds

    def reserve(self) -> float:
        """Take a slot and return 0.0, or return how many seconds to wait before asking again."""
        with self._shared.lock:
            return self._shared.window.try_acquire(self._clock())

    def record(self) -> None:
        """Count a request sent without a slot (a burst that provokes a 429 on purpose)."""
        with self._shared.lock:
            self._shared.window.record(self._clock())


def shared_pacer(key: str, rate_limit: RateLimit | SharedRateLimit, *, clock: Callable[[], float]) -> Pacer:
    """The pacer for everything sent with ``key`` (an access token) under ``rate_limit``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    if isinstance(rate_limit, SharedRateLimit):
        return Pacer(rate_limit._shared_window(digest), clock)
    limit, seconds = rate_limit
    with _windows_lock:
        shared = _windows.get((digest, limit, seconds))
        if shared is None:
            shared = _windows[(digest, limit, seconds)] = _SharedWindow(_paced_window(rate_limit))
    return Pacer(shared, clock)


def private_pacer(rate_limit: RateLimit, *, clock: Callable[[], float]) -> Pacer:
    """A pacer whose window nothing else shares: for a caller that is the only one sending, like one
    contract-suite run, whose count must not mix with another run's in the same process."""
    return Pacer(_SharedWindow(_paced_window(rate_limit)), clock)


def _paced_window(rate_limit: RateLimit) -> SlidingWindow:
    limit, seconds = rate_limit
    return SlidingWindow(limit, paced_seconds(seconds))
