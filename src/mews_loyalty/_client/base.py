"""What every client shares: its sender and runner, closing them, and ``with`` / ``async with``.

An API's client is written once, as a base generic over what tells the twins apart (the transport,
the httpx client and the sleep they take); ``BlockingClientBase`` or ``AsyncClientBase`` then opens
the matching sender and runner and gives the client ``close()``/``with`` or ``aclose()``/``async with``:

    class ConnectorClient(BlockingClientBase, ConnectorClientBase[httpx.BaseTransport, httpx.Client, Sleep])
    class AsyncConnectorClient(AsyncClientBase, ConnectorClientBase[httpx.AsyncBaseTransport, ...])

So the constructor's signature, the settings, the headers and the resource accessors are written once
per API, and type checkers still see each twin's own types.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from mews_loyalty._client.resource import (
    AsyncOperationRunner,
    Envelope,
    OperationRunner,
    ResourceAccessors,
    resource_accessors,
)
from mews_loyalty._errors import ConfigurationError
from mews_loyalty._spec.catalog import Operation
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._transport.sender import (
    AsyncSender,
    AsyncSleep,
    CallOptions,
    ClientOptions,
    HttpArgs,
    Sender,
    SendSettings,
    Sleep,
    Timeout,
    asyncio_sleep,
    open_http,
)


def required_text(
    value: object, name: str, variable: str, environ: Mapping[str, str], *, optional: bool = False
) -> str:
    """An argument that is text, else its environment variable; a sentence saying what to pass otherwise.

    ``""`` when neither is set and ``optional``. A value of another type (a token read as a number,
    ``None`` from a missing config key) is refused here, not deep inside httpx.
    """
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(
            f"{name} must be a str, got {type(value).__name__}; pass the text itself (for example "
            f"{name}=str(...)) or set {variable}"
        )
    found = value or environ.get(variable, "")
    if not found and not optional:
        raise ConfigurationError(f"{name} is required: pass {name}= or set {variable}")
    return found


# The generated typed resource classes of an API, by resource name (``RESOURCE_CLASSES`` of each twin).
TypedResources = Mapping[str, Callable[[Any], Any]]


class ClientBase(ResourceAccessors):
    """What an API's client base relies on, whichever twin it becomes."""

    _sender: Sender | AsyncSender
    _runner: OperationRunner | AsyncOperationRunner
    _wiring: tuple[Envelope, Redactor, Mapping[str, Mapping[str, Operation]]]
    _typed_resources: ClassVar[TypedResources]  # each client class names its generated accessors

    def _open(
        self, options: ClientOptions[Any, Any, Any], settings: SendSettings, http_args: HttpArgs
    ) -> None:
        """Open the sender (``self._sender``) the twin's way."""
        raise NotImplementedError

    def _start(
        self,
        options: ClientOptions[Any, Any, Any],
        settings: SendSettings,
        *,
        http_args: HttpArgs,
        envelope: Envelope,
        redactor: Redactor,
        resources: Mapping[str, Mapping[str, Operation]],
    ) -> None:
        """Open the sender, the runner over it and one accessor per resource of the catalog."""
        self._open(options, settings, http_args)
        self._wiring = (envelope, redactor, resources)
        self._runner = self._new_runner(envelope, redactor)
        self._install_resources(resource_accessors(resources, self._runner, self._typed_resources))

    def with_options(self, *, timeout: Timeout | None = None, max_retries: int | None = None) -> Self:
        """A copy of this client whose calls default to ``timeout`` and ``max_retries`` (those not
        given keep this client's), as ``client.with_options(timeout=5).loyalty_programs.get_all()``.

        The copy shares this client's connection pool and rate-limit window, so copies cost nothing
        and never pace past the server's limit together. Closing the copy closes nothing: close
        the original (``with`` on it) when done with both.
        """
        envelope, redactor, resources = self._wiring
        twin = copy.copy(self)
        twin._sender = self._sender.configured(CallOptions(timeout=timeout, max_retries=max_retries))
        twin._runner = twin._new_runner(envelope, redactor)
        twin._install_resources(resource_accessors(resources, twin._runner, self._typed_resources))
        return twin

    def _new_runner(self, envelope: Envelope, redactor: Redactor) -> OperationRunner | AsyncOperationRunner:
        raise NotImplementedError


class BlockingClientBase(ClientBase):
    """A blocking client: a ``Sender`` over an httpx.Client, ``close()`` and ``with``."""

    _sender: Sender
    _runner: OperationRunner

    def _open(
        self,
        options: ClientOptions[httpx.BaseTransport, httpx.Client, Sleep],
        settings: SendSettings,
        http_args: HttpArgs,
    ) -> None:
        http, borrowed = open_http(httpx.Client, options, http_args)
        self._sender = Sender(http, settings, sleep=options.sleep or time.sleep, borrowed=borrowed)

    def _new_runner(self, envelope: Envelope, redactor: Redactor) -> OperationRunner:
        return OperationRunner(self._sender, envelope, redactor)

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncClientBase(ClientBase):
    """An async client: an ``AsyncSender`` over an httpx.AsyncClient, ``aclose()`` and ``async with``."""

    _sender: AsyncSender
    _runner: AsyncOperationRunner

    def _open(
        self,
        options: ClientOptions[httpx.AsyncBaseTransport, httpx.AsyncClient, AsyncSleep],
        settings: SendSettings,
        http_args: HttpArgs,
    ) -> None:
        http, borrowed = open_http(httpx.AsyncClient, options, http_args)
        self._sender = AsyncSender(http, settings, sleep=options.sleep or asyncio_sleep, borrowed=borrowed)

    def _new_runner(self, envelope: Envelope, redactor: Redactor) -> AsyncOperationRunner:
        return AsyncOperationRunner(self._sender, envelope, redactor)

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def close(self) -> None:
        """The same as ``aclose()`` (awaited, as openai's async client has it)."""
        await self._sender.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
