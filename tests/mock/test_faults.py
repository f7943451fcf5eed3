"""Seeded fault injection: configured shares of requests fail or stall, the same way every run."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import httpx
import pytest

from mews_loyalty.mock.connector import ConnectorMockConfig, config_from_args, create_app, fault_statuses
from mews_loyalty.mock.connector.faults import Fault, FaultInjector, FaultPlan
from tests.mock.conftest import CONNECTOR, DEMO_TOKENS, assert_conforms

SPEC = "429=0.05,500=0.02,408=0.01,delay=0.2"
DRAWS = 20_000


def plan(text: str = SPEC, seed: int | None = 7) -> FaultPlan:
    return FaultPlan.parse(text, allowed_statuses=fault_statuses(), seed=seed, delay_seconds=0.5)


def test_the_documented_example_parses():
    # The option as the README writes it.
    parsed = plan()
    assert parsed.statuses == ((429, 0.05), (500, 0.02), (408, 0.01))
    assert (parsed.delay_share, parsed.delay_seconds, parsed.seed) == (0.2, 0.5, 7)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("418=0.1", "not a status these operations document"),
        ("200=0.1", "not a status these operations document"),
        ("500=1.5", "between 0 and 1"),
        ("500=0.6,429=0.6", "more than 1"),
        ("500", "STATUS=SHARE"),
        ("slow=0.1", "STATUS=SHARE"),
    ],
)
def test_a_bad_fault_spec_is_refused_with_the_reason(text: str, problem: str):
    # A typo must fail at start-up, not silently inject nothing (or an undocumented status).
    with pytest.raises(ValueError, match=problem):
        plan(text)


def test_faults_appear_at_the_configured_rates():
    # Resilience tests rely on the shares: each observed count must sit within four standard
    # deviations of its expectation (fixed seed, so the outcome never changes between runs).
    injector = FaultInjector(plan())
    faults = [injector.draw() for _ in range(DRAWS)]
    statuses = Counter(fault.status for fault in faults)
    delays = sum(1 for fault in faults if fault.delay)
    for status, share in ((429, 0.05), (500, 0.02), (408, 0.01)):
        assert abs(statuses[status] - DRAWS * share) < 4 * math.sqrt(DRAWS * share * (1 - share))
    assert abs(delays - DRAWS * 0.2) < 4 * math.sqrt(DRAWS * 0.2 * 0.8)
    assert set(statuses) == {None, 429, 500, 408}
    assert {fault.delay for fault in faults} == {0.0, 0.5}


def test_the_same_seed_gives_the_same_faults_and_another_seed_others():
    # Reproducible: a failing resilience run can be replayed exactly with --fault-seed.
    one, two, other = FaultInjector(plan()), FaultInjector(plan()), FaultInjector(plan(seed=8))
    sequence = [one.draw() for _ in range(500)]
    assert sequence == [two.draw() for _ in range(500)]
    assert sequence != [other.draw() for _ in range(500)]


def test_no_faults_by_default():
    # Without --faults the mock never misbehaves on purpose.
    config, _, _ = config_from_args([])
    assert not config.faults.active
    assert FaultInjector(config.faults).draw() == Fault(None, 0.0)


def test_injected_faults_answer_conforming_bodies_in_the_drawn_order():
    # Every operation answers an injected fault with its documented status and error body (429
    # with Retry-After), and the answers follow the seeded draws one to one; delays wait through
    # the injected sleep, so no test waits for real.
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    fault_plan = FaultPlan.parse(
        "429=0.2,500=0.2,408=0.2,delay=0.3", allowed_statuses=fault_statuses(), seed=11
    )
    app = create_app(ConnectorMockConfig(rate_limit=None, faults=fault_plan, sleep=sleep))
    expected = FaultInjector(fault_plan)
    op = CONNECTOR.by_id["loyaltyPrograms_getAll"]

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return [
                await client.post(op.path, json={**DEMO_TOKENS, "Limitation": {"Count": 1}})
                for _ in range(300)
            ]

    responses = asyncio.run(run())
    draws = [expected.draw() for _ in responses]
    assert [response.status_code for response in responses] == [draw.status or 200 for draw in draws]
    assert waited == [draw.delay for draw in draws if draw.delay]
    for response in responses:
        assert_conforms(op, response)
        if response.status_code != 200:
            assert response.json()["Details"] == {"InjectedFault": True}


def test_the_command_line_builds_the_plan():
    # --faults, --fault-seed and --fault-delay reach the plan unchanged.
    config, _, _ = config_from_args(["--faults", SPEC, "--fault-seed", "7", "--fault-delay", "0.5"])
    assert config.faults == plan()
