"""Settings of the Connector mock: which tokens it accepts, its limits, faults, data and clocks.

    ConnectorMockConfig()                                   # demo tokens, 200/30 s, no faults, empty
    ConnectorMockConfig(rate_limit=None, seed_data=True)    # no rate limit, the small demo data set
    ConnectorMockConfig(access_tokens={"T": Access(("<chain>", "<chain>"), portfolio=True)})
    ConnectorMockConfig(clock=fake.monotonic, now=fake.utcnow)   # tests inject time

Tokens are kept out of ``repr`` so a config can be logged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mews_loyalty._transport.pacing import MEWS_RATE_LIMIT
from mews_loyalty.mock.connector.faults import FaultPlan

# Mews' public demo credentials (published, not secret): every documented example uses them.
DEMO_CLIENT_TOKEN = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"  # noqa: S105
DEMO_ACCESS_TOKEN = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"  # noqa: S105
# The chain of the demo access token: the chain every documented example names, so the examples'
# responses come back with the ChainId they show.
DEMO_CHAIN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
DEFAULT_SEED_MEMBERSHIPS = 300


@dataclass(frozen=True)
class Access:
    """What one AccessToken reaches: one chain, or several for a portfolio token."""

    chains: tuple[str, ...]
    portfolio: bool = False

    def __post_init__(self) -> None:
        if not self.chains:
            raise ValueError("an access token reaches at least one chain")
        if not self.portfolio and len(self.chains) != 1:
            raise ValueError("only a portfolio access token reaches several chains")
        for chain in self.chains:
            if str(uuid.UUID(chain)) != chain:
                raise ValueError(f"a chain id is a lower-case UUID, got {chain!r}")


def utc_now() -> datetime:
    return datetime.now(UTC)


def random_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ConnectorMockConfig:
    client_tokens: frozenset[str] = field(default=frozenset({DEMO_CLIENT_TOKEN}), repr=False)
    access_tokens: Mapping[str, Access] = field(
        default_factory=lambda: {DEMO_ACCESS_TOKEN: Access((DEMO_CHAIN_ID,))}, repr=False
    )
    rate_limit: tuple[int, float] | None = MEWS_RATE_LIMIT  # None: no limit
    faults: FaultPlan = field(default_factory=FaultPlan)
    seed_data: bool = False
    seed_memberships: int = DEFAULT_SEED_MEMBERSHIPS
    seed_minimal: bool = False  # seeded memberships hold only the properties the spec requires
    clock: Callable[[], float] = time.monotonic  # seconds, for the rate limit
    now: Callable[[], datetime] = utc_now  # when records are created and changed
    new_id: Callable[[], str] = random_id  # identifiers of new records
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # how injected delays wait

    def __post_init__(self) -> None:
        if not self.client_tokens or not all(self.client_tokens):
            raise ValueError("the mock needs at least one non-empty ClientToken")
        if not self.access_tokens or not all(self.access_tokens):
            raise ValueError("the mock needs at least one non-empty AccessToken")
