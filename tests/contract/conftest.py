"""Servers for the contract suite's own tests: the real mocks, started as child processes."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_process, serve_in_thread
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run import verification as _run
from mews_loyalty.contract._run.options import DEFAULT_MAX_ENROLMENTS
from mews_loyalty.contract._run.verification import (
    ConnectorOptions,
    ReverseOptions,
    verify_connector,
    verify_reverse,
)
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from tests.runtime.fakes import FakeTime

SEED = 20251122
REVERSE_TOKENS = ["contract-suite-token-one-0123456789", "contract-suite-token-two-9876543210"]
SEED_MEMBERSHIP_IDS = ["M-1002", "M-1001", "M-1004", "M-1005"]
# Mews' own limit: the rate-limited mock runs on the run's virtual clock (``virtual_time``), so the
# probe's burst lands inside one window however slow the machine, and waiting 30 s costs nothing.
SCALED_RATE = (200, 30.0)
# The --latency-budget of runs that do not test latency: a loaded CI machine is no slow provider, and
# a warning would qualify the verdict those tests read.
UNHURRIED = 60.0


@pytest.fixture(scope="session")
def connector_mock() -> Iterator[str]:
    with serve_in_process(["mock", "connector", "--seed-data", "--rate-limit", "off"]) as url:
        yield url


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """The run's clock, shared with the mock: it moves only when the run waits (pacing, a probe's
    Retry-After), so a request arrives at the instant it left and the mock counts exactly what the
    run sent, whatever the machine's speed."""
    time = FakeTime(start=1000.0)
    monkeypatch.setattr(
        _run, "Throttle", lambda rate, **_: Throttle(rate, clock=time.clock, sleep=time.sleep)
    )
    return time


@pytest.fixture
def limited_connector_mock(virtual_time: FakeTime) -> Iterator[str]:
    """The Connector mock enforcing ``SCALED_RATE`` on the runs' virtual clock, served on loopback."""
    app = create_app(ConnectorMockConfig(rate_limit=SCALED_RATE, seed_data=True, clock=virtual_time.clock))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="session")
def reverse_mock() -> Iterator[str]:
    environment = {"MEWS_PROVIDER_TOKENS": ",".join(REVERSE_TOKENS)}
    with serve_in_process(["mock", "reverse", "--seed-data"], env=environment) as url:
        yield url


def run_connector(
    base_url: str,
    report_dir: Path,
    *,
    phases: tuple[str, ...] = ("fuzzing",),
    max_examples: int = 4,
    rate: tuple[int, float] | None = None,
    probe: bool = False,
    allow_writes: bool = True,
    max_writes: int | None = None,
    timeout: float = 30.0,
) -> Results:
    options = ConnectorOptions(
        base_url=base_url,
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        allow_writes=allow_writes,
        max_writes=max_writes,
        timeout=timeout,
        max_examples=max_examples,
        report_dir=report_dir,
        seed=SEED,
        phases=phases,
        rate_limit=rate,
        probe_rate_limit=probe,
    )
    return verify_connector(options, out=io.StringIO())


def run_reverse(
    base_url: str,
    report_dir: Path,
    *,
    phases: tuple[str, ...] = ("fuzzing",),
    max_examples: int = 4,
    allow_writes: bool = True,
    timeout: float = 30.0,
    membership_ids: Sequence[str] = tuple(SEED_MEMBERSHIP_IDS),
    max_writes: int | None = DEFAULT_MAX_ENROLMENTS,
    latency_budget: float = UNHURRIED,
) -> Results:
    options = ReverseOptions(
        base_url=base_url,
        tokens=REVERSE_TOKENS,
        membership_ids=membership_ids,
        allow_writes=allow_writes,
        max_writes=max_writes,
        latency_budget=latency_budget,
        timeout=timeout,
        max_examples=max_examples,
        report_dir=report_dir,
        seed=SEED,
        phases=phases,
    )
    return verify_reverse(options, out=io.StringIO())
