"""Pacing shared across processes: several workers on one access token stay under its limit together.

The in-process window (``test_pacing.py``) cannot see another process's requests; ``SharedRateLimit``
keeps the window in a pyrate-limiter bucket every process opens, in a SQLite file (one machine) or a
Redis server (many machines). Two ``SharedRateLimit`` objects on one store stand for two processes
exactly (nothing is shared between them but the store), driven by the fake clock; every such test runs
on both stores, Redis being a real ``redis-server`` this module starts on 127.0.0.1 (the tests on it
skip, saying why, where the binary cannot be had). One test runs two real processes against the
Connector mock as a real server, all three on one virtual clock, so no outcome depends on how fast this
machine is; one runs three processes over Redis in real time, as workers in production would.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mews_loyalty import RateLimitError, SharedRateLimit
from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN, paced_seconds, private_pacer, shared_pacer
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from tests._prism import _free_port

from .fakes import FakeConnector, seeded
from .test_pacing import LIMIT, PACED_WINDOW, SECONDS, busiest_window, rate_limited_server, request_times

pytest.importorskip("pyrate_limiter", reason="SharedRateLimit needs the shared-pacing extra")

REDIS_START_SECONDS = 10.0


@dataclass(frozen=True)
class RedisServer:
    """A ``redis-server`` on 127.0.0.1 that keeps everything in memory (no RDB, no AOF)."""

    port: int

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian's package redis-server; .ci/run installs it)")
    pytest.importorskip("redis", reason="SharedRateLimit.redis needs the shared-pacing extra")
    server, directory = RedisServer(_free_port()), tmp_path_factory.mktemp("redis")
    argv = [binary, "--bind", "127.0.0.1", "--port", str(server.port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(directory), "--logfile", str(directory / "redis.log"), "--loglevel", "warning"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_redis(server, process, directory / "redis.log")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=REDIS_START_SECONDS)


def _wait_for_redis(server: RedisServer, process: subprocess.Popen[bytes], log: Path) -> None:
    import redis

    deadline = time.monotonic() + REDIS_START_SECONDS
    while True:
        if process.poll() is not None:
            said = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"redis-server exited ({process.returncode}): {said}")
        try:
            server.client().ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer on port {server.port} in {REDIS_START_SECONDS:g} s")
            time.sleep(0.05)


@dataclass(frozen=True)
class Store:
    """Where shared windows live. ``limit`` is what one more process would build on it; ``separate``
    builds a limit on a store of its own; ``contents`` is everything the store holds, as bytes;
    ``spec`` names the store for a worker process (see ``WORKER``)."""

    spec: str
    limit: Callable[[int, float], SharedRateLimit]
    separate: Callable[[int, float], SharedRateLimit]
    contents: Callable[[], bytes]


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        path = tmp_path / "pacing.sqlite"

        def files() -> bytes:  # the database and its write-ahead log, which may hold the newest pages
            return b"".join(file.read_bytes() for file in sorted(tmp_path.glob("pacing.sqlite*")))

        return Store(
            f"sqlite:{path}",
            lambda requests, seconds: SharedRateLimit.sqlite(path, requests, seconds),
            lambda requests, seconds: SharedRateLimit.sqlite(tmp_path / "other.sqlite", requests, seconds),
            files,
        )
    server: RedisServer = request.getfixturevalue("redis_server")
    main, other = server.client(db=0), server.client(db=1)  # one server, two databases: two stores
    main.flushall()  # the server lives for the module; each test starts from an empty one

    def contents() -> bytes:
        keys = main.keys()
        return b" ".join(keys + [member for key in keys for member in main.zrange(key, 0, -1)])

    return Store(
        f"redis:redis://127.0.0.1:{server.port}/0",
        lambda requests, seconds: SharedRateLimit.redis(main, requests, seconds),
        lambda requests, seconds: SharedRateLimit.redis(other, requests, seconds),
        contents,
    )


def test_two_limits_on_one_store_pace_as_one_window(make_client, fake_time, store):
    # Each worker process builds its own SharedRateLimit; only the store joins them. 300 requests in all
    # must take one wait for a free slot, exactly as one client would, and never draw a 429.
    server = rate_limited_server(fake_time, 150)
    times: list[float] = []
    request_times(server, fake_time, times)
    first = make_client(server, rate_limit=store.limit(LIMIT, SECONDS))
    second = make_client(server, rate_limit=store.limit(LIMIT, SECONDS))
    assert len(list(first.loyalty_memberships.iter_all(page_size=1))) == 150
    assert len(list(second.loyalty_memberships.iter_all(page_size=1))) == 150
    assert server.rejected == 0
    assert busiest_window(times) == LIMIT
    assert sum(fake_time.sleeps) == pytest.approx(PACED_WINDOW, abs=0.002)  # stamps are milliseconds


def test_separate_stores_do_not_share_a_window(make_client, fake_time, store):
    # The control case: without a common store the two limits know nothing of each other.
    server = rate_limited_server(fake_time, 150)
    first = make_client(server, rate_limit=store.limit(LIMIT, SECONDS))
    second = make_client(server, rate_limit=store.separate(LIMIT, SECONDS))
    list(first.loyalty_memberships.iter_all(page_size=1))
    with pytest.raises(RateLimitError):
        list(second.loyalty_memberships.iter_all(page_size=1))
    assert server.rejected > 0


def test_a_shared_limit_is_per_access_token(make_client, fake_time, tokens, store):
    # One store may serve many properties: each token gets its own window in it (a table or key named
    # by a digest, so the store holds no credential). The server here counts nothing: only waits would
    # show.
    server = FakeConnector(items=seeded(150))
    first = make_client(server, rate_limit=store.limit(LIMIT, SECONDS))
    other = make_client(
        server, rate_limit=store.limit(LIMIT, SECONDS), access_token=tokens.access_token + "-B"
    )
    list(first.loyalty_memberships.iter_all(page_size=1))
    list(other.loyalty_memberships.iter_all(page_size=1))
    assert fake_time.sleeps == []
    assert b"mews_pacing_" in store.contents()
    assert tokens.access_token.encode() not in store.contents()


def test_any_synchronous_pyrate_bucket_serves(make_client, fake_time):
    # The factory is the plug (Redis, Postgres, ...): here pyrate-limiter's in-memory bucket.
    from pyrate_limiter import InMemoryBucket

    made: list[str] = []

    def bucket(name, rates):
        made.append(name)
        return InMemoryBucket(rates)

    server = rate_limited_server(fake_time, 250)
    client = make_client(server, rate_limit=SharedRateLimit(LIMIT, SECONDS, bucket))
    assert len(list(client.loyalty_memberships.iter_all(page_size=1))) == 250
    assert server.rejected == 0
    assert len(made) == 1
    assert made[0].startswith("mews_pacing_")
    assert repr(SharedRateLimit(1, 1.0, bucket)) == "SharedRateLimit(1 requests / 1 s)"


def test_a_stamp_older_than_one_already_stored_still_sees_it(store):
    # Each process stamps its request before its round trip to the store, so racing processes reach
    # it in any order (and machines' clocks differ a little): the one whose stamp is a millisecond
    # older, arriving second, must still find the last slot taken.
    first = shared_pacer("token", store.limit(1, 10.0), clock=lambda: 100.002)
    second = shared_pacer("token", store.limit(1, 10.0), clock=lambda: 100.001)
    assert first.reserve() == 0.0
    assert second.reserve() == pytest.approx(paced_seconds(10.0), abs=0.003)


def test_a_changed_redis_script_is_refused_rather_than_trusted(monkeypatch):
    # SharedRateLimit.redis edits one call in pyrate-limiter's script; if a release rewrites that
    # script, the edit would silently not apply and the race it closes would be back.
    from pyrate_limiter.buckets.redis_bucket import LuaScript

    monkeypatch.setattr(LuaScript, "PUT_ITEM", "return {-1, -1}")
    with pytest.raises(RuntimeError, match="script changed"):
        SharedRateLimit.redis(object())  # type: ignore[arg-type]


def test_an_async_bucket_is_refused_when_the_window_is_made(redis_server):
    # The pacer asks for a slot from sync and async clients alike, without awaiting: an async store
    # (a factory returning a coroutine, or redis.asyncio's client) is refused at once, by name.
    import redis.asyncio

    async def bucket(name, rates):
        raise AssertionError("never awaited")

    for limit in (
        SharedRateLimit(1, 1.0, bucket),
        SharedRateLimit.redis(redis.asyncio.Redis(port=redis_server.port)),
    ):
        with pytest.raises(TypeError, match="synchronous bucket"):
            shared_pacer("token", limit, clock=lambda: 0.0)


def test_nonsense_numbers_are_refused_at_once(tmp_path):
    with pytest.raises(ValueError, match="limit >= 1"):
        SharedRateLimit.sqlite(tmp_path / "x.sqlite", 0, 30.0)


WORKER = textwrap.dedent(
    """
    import json, sys
    from mews_loyalty import ConnectorClient, RateLimitError, SharedRateLimit

    base_url, store, requests, limit, seconds, client_token, access_token, timing = sys.argv[1:9]
    now = 0.0  # the conductor's virtual time ("virtual" timing): it moves only while this worker sleeps

    def clock():
        return now

    def sleep(seconds):
        global now
        print(f"sleep {now + seconds!r}", flush=True)
        now = float(sys.stdin.readline().split()[1])  # "wake <now>"

    kind, _, where = store.partition(":")  # "sqlite:<path>", "redis:<url>", or "-": a window of its own
    if kind == "sqlite":
        rate = SharedRateLimit.sqlite(where, int(limit), float(seconds))
    elif kind == "redis":
        import redis
        rate = SharedRateLimit.redis(redis.Redis.from_url(where), int(limit), float(seconds))
    else:
        rate = (int(limit), float(seconds))
    client = ConnectorClient(
        client_token=client_token, access_token=access_token, client="pacing-test 1.0", base_url=base_url,
        rate_limit=rate, max_retries=0, **({"clock": clock, "sleep": sleep} if timing == "virtual" else {}),
    )
    client.loyalty_programs  # the resource is built before the start
    print("ready", flush=True)
    now = float(sys.stdin.readline().split()[1])  # every worker begins together: "wake <now>"
    limited = 0
    for _ in range(int(requests)):
        try:
            client.loyalty_programs.get_all(page_size=1)
        except RateLimitError:
            limited += 1
    print("done " + json.dumps({"limited": limited}), flush=True)
    """
)


class VirtualTime:
    """One clock for the mock and for worker processes, moved only when every worker sleeps.

    While any worker runs, time stands still, so a request arrives at the moment it left: what the
    mock counts is exactly what the pacing allowed, however slowly this machine runs the workers.
    When all are asleep (or done), time jumps to the earliest wake-up and those workers run again.
    """

    def __init__(self, start: float) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def conduct(self, workers: list[subprocess.Popen[str]]) -> list[str]:
        events: queue.Queue[tuple[int, str]] = queue.Queue()

        def read(index: int, worker: subprocess.Popen[str]) -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                events.put((index, line.strip()))
            events.put((index, "exit"))

        for index, worker in enumerate(workers):
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"  # every interpreter has its client
            threading.Thread(target=read, args=(index, worker), daemon=True).start()
        running, asleep, results = set(range(len(workers))), dict[int, float](), dict[int, str]()
        self._wake(workers, running)
        while running or asleep:
            while running:
                index, line = events.get(timeout=60)
                running.discard(index)
                if line.startswith("sleep "):
                    asleep[index] = float(line.split()[1])
                elif line.startswith("done "):
                    results[index] = line.removeprefix("done ")
                else:
                    pytest.fail(f"worker {index} said {line!r}")
            if asleep:
                self.now = max(self.now, min(asleep.values()))
                running = {index for index, until in asleep.items() if until <= self.now}
                asleep = {index: until for index, until in asleep.items() if index not in running}
                self._wake(workers, running)
        return [results[index] for index in range(len(workers))]

    def _wake(self, workers: list[subprocess.Popen[str]], indices: set[int]) -> None:
        for index in indices:
            stdin = workers[index].stdin
            assert stdin is not None
            stdin.write(f"wake {self.now!r}\n")
            stdin.flush()


def start_workers(
    count: int, base_url: str, store: str, timing: str, *, requests: int, limit: int, seconds: float
) -> list[subprocess.Popen[str]]:
    """``count`` processes running ``WORKER``: each says "ready" once its client is built, then waits
    for "wake <now>" to start sending, and ends saying "done" and how many requests drew a 429."""
    argv = [sys.executable, "-c", WORKER, base_url, store, str(requests), str(limit), str(seconds)]
    argv += [DEMO_CLIENT_TOKEN, DEMO_ACCESS_TOKEN, timing]
    return [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)
    ]


def run_two_workers(
    base_url: str, store: str, virtual: VirtualTime, *, requests: int, limit: int, seconds: float
) -> list[int]:
    workers = start_workers(2, base_url, store, "virtual", requests=requests, limit=limit, seconds=seconds)
    try:
        outputs = virtual.conduct(workers)
    finally:
        for worker in workers:
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait(timeout=60)
    assert [worker.returncode for worker in workers] == [0, 0]
    return [json.loads(output)["limited"] for output in outputs]


@pytest.mark.timeout(120)
def test_two_processes_on_one_token_stay_under_the_servers_limit(store: Store):
    # The README's promise for several workers: the mock (5 requests per 1 s) answers 429 to anything
    # over its limit. Each worker alone would stay under it; together, only a shared window does. The
    # mock and both processes read one virtual clock (see VirtualTime), so the outcome is exact.
    virtual = VirtualTime(1000.0)
    app = create_app(ConnectorMockConfig(rate_limit=(5, 1.0), seed_data=True, clock=virtual.monotonic))
    with serve_in_thread(app) as base_url:
        shared = run_two_workers(base_url, store.spec, virtual, requests=6, limit=5, seconds=1.0)
        after_shared = virtual.now
        virtual.now += 10.0  # the server's window empties between the two runs
        alone = run_two_workers(base_url, "-", virtual, requests=6, limit=5, seconds=1.0)
    assert shared == [0, 0]
    # 12 requests at 5 per window: the burst, then two more windows' waits (the shared window's stamps
    # are milliseconds, so each wait may run a millisecond over).
    assert after_shared - 1000.0 == pytest.approx(2 * paced_seconds(1.0), abs=0.005)
    # Control: per-process windows let both bursts of 5 through together; the mock refuses the 5 over.
    assert sum(alone) == 5


def test_the_safety_margin_applies_to_shared_windows_too(make_client, fake_time, store):
    # The shared window is as much longer than the server's as the in-process one.
    limit = store.limit(1, 10.0)
    server = rate_limited_server(fake_time, 1)
    client = make_client(server, rate_limit=limit)
    client.loyalty_memberships.get_all(page_size=1)
    client.loyalty_memberships.get_all(page_size=1)
    assert fake_time.sleeps == [pytest.approx(10.0 * (1 + WINDOW_SAFETY_MARGIN), abs=0.002)]


@pytest.mark.parametrize("window", ["process", "shared"])
def test_a_request_sent_without_a_slot_still_counts(window, store):
    # The contract suite's rate-limit probe bursts without waiting; whatever is paced after the burst
    # must wait as if the burst had been paced, in a window of its own or a shared one alike.
    now = [100.0]
    if window == "process":
        pacer = private_pacer((2, 10.0), clock=lambda: now[0])
    else:
        pacer = shared_pacer("token", store.limit(2, 10.0), clock=lambda: now[0])
    pacer.record()
    pacer.record()
    assert pacer.reserve() == pytest.approx(paced_seconds(10.0), abs=0.002)
    now[0] += paced_seconds(10.0) + 0.002  # stamps are milliseconds; the bucket counts its edge in
    assert pacer.reserve() == 0.0
    assert (pacer.limit, pacer.seconds) == (2, paced_seconds(10.0))


# The mock's window: short, so it passes twice in seconds, and long enough that its 2 % margin (0.2 s)
# absorbs a loaded machine's delays between a worker's stamp and its request's arrival.
REAL_LIMIT, REAL_SECONDS = 50, 10.0
WORKERS, REQUESTS_EACH = 3, 50  # 150 requests: the first window's burst, then two windows' waits


class Arrivals:
    """The mock's rate-limit clock, noting when each request reached the limit (once per request)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def clock(self) -> float:
        now = time.monotonic()
        self.times.append(now)
        return now


@pytest.mark.timeout(120)
def test_workers_sharing_a_redis_run_at_the_cap_in_real_time(redis_server: RedisServer):
    # Production's shape: three processes, each its own client on one token, over one Redis, against
    # the mock as a real server with its rate limit (50 per 10 s), all in real time. Together they
    # send three windows' worth. The mock refuses anything over its limit (zero 429s: no window of
    # its ever held more than the cap); its busiest window holds exactly the cap (pacing fills it);
    # and any 50 consecutive requests span, on average, little more than the paced window: the rate
    # achieved is at least 95 % of the cap (the pacing's margin costs 2 %; this machine's delays, the
    # rest).
    redis_server.client().flushall()
    arrivals = Arrivals()
    app = create_app(
        ConnectorMockConfig(rate_limit=(REAL_LIMIT, REAL_SECONDS), seed_data=True, clock=arrivals.clock)
    )
    store = f"redis:redis://127.0.0.1:{redis_server.port}/0"
    with serve_in_thread(app) as base_url:
        workers = start_workers(
            WORKERS, base_url, store, "real", requests=REQUESTS_EACH, limit=REAL_LIMIT, seconds=REAL_SECONDS
        )
        try:
            for worker in workers:
                assert worker.stdout is not None
                assert worker.stdout.readline().strip() == "ready"
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write("wake 0\n")
                worker.stdin.flush()
            outputs = [worker.communicate(timeout=60)[0] for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0] * WORKERS
    assert [json.loads(output.removeprefix("done "))["limited"] for output in outputs] == [0] * WORKERS
    times = sorted(arrivals.times)
    assert len(times) == WORKERS * REQUESTS_EACH
    assert max(sum(1 for t in times if start <= t < start + REAL_SECONDS) for start in times) == REAL_LIMIT
    spans = [later - earlier for earlier, later in zip(times, times[REAL_LIMIT:], strict=False)]
    achieved = REAL_LIMIT / (sum(spans) / len(spans))
    assert achieved >= 0.95 * REAL_LIMIT / REAL_SECONDS, f"{achieved:.2f} requests/s"
