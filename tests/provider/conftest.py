from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.mock.reverse import create_app
from mews_loyalty.provider import create_provider_app
from tests.provider._support import NEXT_TOKEN, TOKEN


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def kit_client() -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with kit_client(backend) as client``: the kit around ``backend``, in process over ASGI."""

    @asynccontextmanager
    async def open_client(backend: Any, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_provider_app(backend, [TOKEN, NEXT_TOKEN], **options)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://provider.test") as client:
            yield client

    return open_client


@pytest.fixture
def reference_url() -> Iterator[str]:
    """A fresh seeded reference provider, a real server on loopback."""
    with serve_in_thread(create_app([TOKEN, NEXT_TOKEN], seed_data=True)) as base_url:
        yield base_url


@pytest.fixture
def reference(reference_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reference_url) as client:
        yield client
