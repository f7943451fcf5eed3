"""Fixtures for the SDK runtime tests: canary tokens, a fake clock, and client factories over fake servers.

Scenario tests ask for ``make_client`` / ``make_async_client`` with a fake server; pointing the same
scenarios at a live mock later means swapping the transport for a base URL in these factories.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mews_loyalty import AsyncConnectorClient, AsyncReverseClient, ConnectorClient, ReverseClient

from .fakes import FakeConnector, FakeProvider, FakeTime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_mews_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own MEWS_* variables must not leak into tests that rely on defaults.
    names = ("MEWS_CLIENT_TOKEN", "MEWS_ACCESS_TOKEN", "MEWS_CLIENT", "MEWS_BASE_URL", "MEWS_ENVIRONMENT")
    for name in (*names, "MEWS_REVERSE_BASE_URL", "MEWS_REVERSE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


class FixedJitter(random.Random):
    """A Random whose random() is constant, so backoff waits are exact."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@dataclass(frozen=True)
class Tokens:
    client_token: str
    access_token: str
    provider_token: str

    @property
    def all(self) -> tuple[str, str, str]:
        return self.client_token, self.access_token, self.provider_token


@pytest.fixture
def tokens() -> Tokens:
    # Unique per test: recognisable canaries for the redaction checks, and a pacing window of its own.
    run = uuid.uuid4().hex.upper()
    return Tokens(f"CLIENTCANARY{run}", f"ACCESSCANARY{run}", f"PROVIDERCANARY{run}")


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(tokens: Tokens, fake_time: FakeTime) -> Iterator[Callable[..., ConnectorClient]]:
    created: list[ConnectorClient] = []

    def make(server: FakeConnector, **overrides: Any) -> ConnectorClient:
        options: dict[str, Any] = {
            "client_token": tokens.client_token,
            "access_token": tokens.access_token,
            "client": "Runtime tests 1.0",
            "transport": server.transport,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": FixedJitter(0.5),
        }
        options.update(overrides)
        client = ConnectorClient(**options)
        created.append(client)
        return client

    yield make
    for client in created:
        client.close()


@pytest.fixture
async def make_async_client(
    tokens: Tokens, fake_time: FakeTime
) -> AsyncIterator[Callable[..., AsyncConnectorClient]]:
    created: list[AsyncConnectorClient] = []

    def make(server: FakeConnector, **overrides: Any) -> AsyncConnectorClient:
        options: dict[str, Any] = {
            "client_token": tokens.client_token,
            "access_token": tokens.access_token,
            "client": "Runtime tests 1.0",
            "transport": server.transport,
            "sleep": fake_time.async_sleep,
            "clock": fake_time.clock,
            "rng": FixedJitter(0.5),
        }
        options.update(overrides)
        client = AsyncConnectorClient(**options)
        created.append(client)
        return client

    yield make
    for client in created:
        await client.aclose()


@pytest.fixture
def provider(tokens: Tokens) -> FakeProvider:
    return FakeProvider(token=tokens.provider_token)


@pytest.fixture
def make_reverse_client(tokens: Tokens, fake_time: FakeTime) -> Iterator[Callable[..., ReverseClient]]:
    created: list[ReverseClient] = []

    def make(server: FakeProvider, **overrides: Any) -> ReverseClient:
        options: dict[str, Any] = {
            "base_url": "https://provider.example/provider",
            "token": tokens.provider_token,
            "transport": server.transport,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": FixedJitter(0.5),
        }
        options.update(overrides)
        client = ReverseClient(**options)
        created.append(client)
        return client

    yield make
    for client in created:
        client.close()


@pytest.fixture
async def make_async_reverse_client(
    tokens: Tokens, fake_time: FakeTime
) -> AsyncIterator[Callable[..., AsyncReverseClient]]:
    created: list[AsyncReverseClient] = []

    def make(server: FakeProvider, **overrides: Any) -> AsyncReverseClient:
        options: dict[str, Any] = {
            "base_url": "https://provider.example/provider",
            "token": tokens.provider_token,
            "transport": server.transport,
            "sleep": fake_time.async_sleep,
            "clock": fake_time.clock,
            "rng": FixedJitter(0.5),
        }
        options.update(overrides)
        client = AsyncReverseClient(**options)
        created.append(client)
        return client

    yield make
    for client in created:
        await client.aclose()


def new_id() -> str:
    return str(uuid.uuid4())
