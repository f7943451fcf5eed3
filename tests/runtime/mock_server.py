"""The Connector mock as a real server for the runtime scenarios: the SDK over a socket, not a fake.

    with MockServers(fake_time) as mocks:
        server = mocks.start(rate_limit=(5, 1.0))        # uvicorn on 127.0.0.1, tokens of its own
        client = server.client("async")                  # either client, driven from blocking code
        server.log.statuses("loyaltyMemberships_getAll") # what reached the server and how it answered

Every server gets fresh tokens (so the SDK's process-wide pacing windows and the mock's rate-limit
windows never carry over between tests) and, unless a test says otherwise, the test's ``FakeTime``
as its rate-limit clock, shared with the SDK's clock and sleep: waits cost no wall time and every
rate-limit outcome is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from mews_loyalty import AsyncConnectorClient, ConnectorClient
from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import catalog
from mews_loyalty.mock.connector import DEMO_CHAIN_ID, Access, ConnectorMockConfig, create_app
from mews_loyalty.mock.connector.store import ConnectorStore

from .fakes import FakeTime

Kind = Literal["sync", "async"]
KINDS: tuple[Kind, ...] = ("sync", "async")
T = TypeVar("T")
Message = dict[str, Any]


@dataclass(frozen=True)
class Seen:
    """One request the server answered: its operation and body, the status and headers of the answer."""

    operation_id: str
    body: dict[str, Any] | None
    status: int
    request_id: str | None
    retry_after: str | None


class RequestLog:
    """ASGI middleware that records every request, before its answer leaves the server.

    Recording at ``http.response.start`` (not after the app returns) means a test that has its response
    always finds the request in the log. The body is read up front and replayed, so requests the mock
    fails before reading them (injected faults) are recorded with their body too.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._operations = {op.path: op.operation_id for op in catalog("connector").operations}

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        async def note(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {name.decode().lower(): value.decode() for name, value in message["headers"]}
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                seen = Seen(
                    self._operations.get(scope["path"], scope["path"]),
                    body,
                    message["status"],
                    headers.get("request-id"),
                    headers.get("retry-after"),
                )
                with self._lock:
                    self.seen.append(seen)
            await send(message)

        await self.app(scope, replay, note)

    def of(self, operation_id: str | None = None) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if operation_id in (None, seen.operation_id)]

    def statuses(self, operation_id: str | None = None) -> list[int]:
        return [seen.status for seen in self.of(operation_id)]

    def clear(self) -> None:
        with self._lock:
            self.seen.clear()


async def _collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


class _BlockingResource:
    """One resource of an AsyncConnectorClient, each call awaited on the client's own event loop."""

    def __init__(self, runner: asyncio.Runner, resource: Any) -> None:
        self._runner = runner
        self._resource = resource

    def get_all(self, **kwargs: Any) -> Any:
        return self._runner.run(self._resource.get_all(**kwargs))

    def iter_all(self, **kwargs: Any) -> Iterator[Any]:
        pages = self._resource.iter_all(**kwargs)  # arguments are checked here, as in the async API
        return iter(self._runner.run(_collect(pages)))

    def add(self, items: Any, **params: Any) -> list[Any]:
        return self._runner.run(self._resource.add(items, **params))

    def update(self, items: Any, **params: Any) -> list[Any]:
        return self._runner.run(self._resource.update(items, **params))

    def delete(self, ids: Any, **params: Any) -> None:
        self._runner.run(self._resource.delete(ids, **params))


class BlockingAsyncClient:
    """An AsyncConnectorClient driven from blocking test code, so one scenario checks both clients.

    The client's own code runs unchanged (AsyncSender, async paging, async pacing); only the awaiting
    happens here, on one event loop kept for the client's lifetime.
    """

    def __init__(self, client: AsyncConnectorClient) -> None:
        self._client = client
        self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> _BlockingResource:
        return _BlockingResource(self._runner, getattr(self._client, name))

    def close(self) -> None:
        try:
            self._runner.run(self._client.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class MockServer:
    """One running Connector mock, the tokens it accepts, and what it has seen."""

    base_url: str
    log: RequestLog
    store: ConnectorStore
    client_token: str
    access_token: str
    time: FakeTime
    _clients: contextlib.ExitStack

    def client(self, kind: Kind = "sync", **overrides: Any) -> Any:
        """A ConnectorClient, or an AsyncConnectorClient behind ``BlockingAsyncClient``; closed at the end."""
        options: dict[str, Any] = {
            "client_token": self.client_token,
            "access_token": self.access_token,
            "client": "Runtime tests against the mock 1.0",
            "base_url": self.base_url,
            "clock": self.time.clock,
            "sleep": self.time.sleep if kind == "sync" else self.time.async_sleep,
        }
        options.update(overrides)
        if kind == "sync":
            return self._clients.enter_context(ConnectorClient(**options))
        return self._clients.enter_context(BlockingAsyncClient(AsyncConnectorClient(**options)))


class MockServers:
    """Starts mock servers for one test and stops them (and their clients) afterwards."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self._stack = contextlib.ExitStack()

    def start(self, *, store: ConnectorStore | None = None, **config: Any) -> MockServer:
        """A server over ``store`` (a new empty one by default); ``config`` goes to ConnectorMockConfig."""
        run = uuid.uuid4().hex.upper()
        client_token, access_token = f"MOCKCLIENT{run}", f"MOCKACCESS{run}"
        settings: dict[str, Any] = {
            "client_tokens": frozenset({client_token}),
            "access_tokens": {access_token: Access((DEMO_CHAIN_ID,))},
            "clock": self.time.clock,
        }
        settings.update(config)
        app = create_app(ConnectorMockConfig(**settings), store=store)
        log = RequestLog(app)
        base_url = self._stack.enter_context(serve_in_thread(log))
        clients = self._stack.enter_context(contextlib.ExitStack())  # closed before the server stops
        return MockServer(base_url, log, app.state.store, client_token, access_token, self.time, clients)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stack.close()


def program(code: str = "PC01", name: str = "Platinum Club") -> dict[str, Any]:
    return {"Name": name, "Code": code, "Type": "Hotel", "Subscription": "Free"}


def membership(program_id: Any, number: int, **fields: Any) -> dict[str, Any]:
    """A wire-format membership to add; the number makes it recognisable (``M-00042``)."""
    return {
        "AccountId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"accounts/{number}")),
        "LoyaltyProgramId": str(program_id),
        "IsPrimary": False,
        "MembershipNumber": f"M-{number:05d}",
        **{name: str(value) if isinstance(value, uuid.UUID) else value for name, value in fields.items()},
    }


def fill(server: MockServer, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Add a program and ``count`` memberships in it through the SDK; (program id, ids oldest first)."""
    client = server.client("sync", rate_limit=None)
    [created] = client.loyalty_programs.add([program()])
    added = client.loyalty_memberships.add([membership(created.id, n) for n in range(count)])
    return created.id, [item.id for item in added]
