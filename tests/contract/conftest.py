"""Servers for the contract suite's own tests: the real mocks, started as child processes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from mews_loyalty.contract._results import Results
from mews_loyalty.contract._run import ConnectorOptions, ReverseOptions, verify_connector, verify_reverse
from mews_loyalty.mock._server import serve_in_process
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

SEED = 20251122
REVERSE_TOKENS = ["contract-suite-token-one-0123456789", "contract-suite-token-two-9876543210"]
SEED_MEMBERSHIP_IDS = ["M-1002", "M-1001", "M-1004", "M-1005"]
# A scaled rate limit: fast enough for the scenarios, small enough to provoke a 429. The probe's
# burst (205 requests through a proxy) must land inside one window of the mock's real clock; at 2 s
# it did not on a loaded 2-core machine. 6 s leaves ~29 ms a request. (An injected clock would end
# this dependence on speed, but the probe reads time.monotonic and sleeps itself: a seam for
# contract_tests to add.)
SCALED_RATE = (200, 6.0)


@pytest.fixture(scope="session")
def connector_mock() -> Iterator[str]:
    with serve_in_process(["mock", "connector", "--seed-data", "--rate-limit", "off"]) as url:
        yield url


@pytest.fixture(scope="session")
def limited_connector_mock() -> Iterator[str]:
    limit, seconds = SCALED_RATE
    with serve_in_process(
        ["mock", "connector", "--seed-data", "--rate-limit", f"{limit}/{seconds:g}"]
    ) as url:
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
) -> Results:
    options = ReverseOptions(
        base_url=base_url,
        tokens=REVERSE_TOKENS,
        membership_ids=SEED_MEMBERSHIP_IDS,
        allow_writes=allow_writes,
        timeout=timeout,
        max_examples=max_examples,
        report_dir=report_dir,
        seed=SEED,
        phases=phases,
    )
    return verify_reverse(options, out=io.StringIO())
