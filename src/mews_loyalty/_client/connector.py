"""The Connector API clients: credentials once, one accessor per resource of the catalog.

    with ConnectorClient(client_token=..., access_token=..., client="MyApp 1.0") as mews:
        for membership in mews.loyalty_memberships.iter_all(activity_states=["Active"]):
            ...

Arguments left out are read from ``MEWS_CLIENT_TOKEN``, ``MEWS_ACCESS_TOKEN``, ``MEWS_CLIENT`` and
``MEWS_BASE_URL``; the environment defaults to demo, so production is always a deliberate choice.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal

import httpx

from mews_loyalty._client.base import AsyncClientBase, BlockingClientBase, ClientBase
from mews_loyalty._generated.connector.resources import (
    ASYNC_RESOURCE_CLASSES,
    RESOURCE_CLASSES,
    AsyncConnectorResources,
    ConnectorResources,
)
from mews_loyalty._spec.catalog import catalog
from mews_loyalty._transport.pacing import MEWS_RATE_LIMIT, RateLimit, SharedRateLimit
from mews_loyalty._transport.redaction import Redactor, Secret
from mews_loyalty._transport.retry import DEFAULT_MAX_RETRIES
from mews_loyalty._transport.sender import (
    DEFAULT_TIMEOUT_SECONDS,
    AsyncSleep,
    ClientOptions,
    Clock,
    HttpT,
    Sleep,
    SleepT,
    TransportT,
    user_agent,
)
from mews_loyalty._version import __version__

Environment = Literal["demo", "production"]
ENVIRONMENTS: dict[str, str] = {
    "demo": "https://api.mews-demo.com",
    "production": "https://api.mews.com",
}
DEFAULT_ENVIRONMENT: Environment = "demo"
ENV_CLIENT_TOKEN = "MEWS_CLIENT_TOKEN"  # noqa: S105 - the variable's name, not a token
ENV_ACCESS_TOKEN = "MEWS_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a token
ENV_CLIENT = "MEWS_CLIENT"
ENV_BASE_URL = "MEWS_BASE_URL"


@dataclass(frozen=True)
class ConnectorSettings:
    """Where and as whom to call the Connector API; the tokens stay wrapped in ``Secret``."""

    base_url: str
    client_token: Secret
    access_token: Secret
    client: str
    language_code: str | None = None
    culture_code: str | None = None

    @classmethod
    def resolve(
        cls,
        *,
        client_token: str | None,
        access_token: str | None,
        client: str | None,
        environment: Environment | None,
        base_url: str | None,
        language_code: str | None,
        culture_code: str | None,
        environ: Mapping[str, str],
    ) -> ConnectorSettings:
        if environment is not None and base_url is not None:
            raise ValueError("pass either environment= or base_url=, not both")
        if environment is not None and environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
        if (language_code is None) != (culture_code is None):
            raise ValueError("language_code and culture_code go together: pass both or neither")
        if environment is not None:
            url = ENVIRONMENTS[environment]
        else:
            url = base_url or environ.get(ENV_BASE_URL) or ENVIRONMENTS[DEFAULT_ENVIRONMENT]
        return cls(
            base_url=url.rstrip("/"),
            client_token=Secret(_required(client_token, "client_token", ENV_CLIENT_TOKEN, environ)),
            access_token=Secret(_required(access_token, "access_token", ENV_ACCESS_TOKEN, environ)),
            client=client or environ.get(ENV_CLIENT) or f"mews-loyalty {__version__}",
            language_code=language_code,
            culture_code=culture_code,
        )

    def envelope(self) -> dict[str, Any]:
        """The properties every Connector request body starts with."""
        body: dict[str, Any] = {
            "ClientToken": self.client_token.reveal(),
            "AccessToken": self.access_token.reveal(),
            "Client": self.client,
        }
        if self.language_code is not None and self.culture_code is not None:
            body["LanguageCode"] = self.language_code
            body["CultureCode"] = self.culture_code
        return body


def _required(value: str | None, name: str, variable: str, environ: Mapping[str, str]) -> str:
    found = value or environ.get(variable)
    if not found:
        raise ValueError(f"{name} is required: pass {name}= or set {variable}")
    return found


class ConnectorClientBase(ClientBase, Generic[TransportT, HttpT, SleepT]):
    """The Connector API client, written once: blocking or async by the twin base it is mixed with."""

    def __init__(
        self,
        *,
        client_token: str | None = None,
        access_token: str | None = None,
        client: str | None = None,
        environment: Environment | None = None,
        base_url: str | None = None,
        language_code: str | None = None,
        culture_code: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limit: RateLimit | SharedRateLimit | None = MEWS_RATE_LIMIT,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS,
        transport: TransportT | None = None,
        http_client: HttpT | None = None,
        sleep: SleepT | None = None,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = ConnectorSettings.resolve(
            client_token=client_token,
            access_token=access_token,
            client=client,
            environment=environment,
            base_url=base_url,
            language_code=language_code,
            culture_code=culture_code,
            environ=os.environ,
        )
        options = ClientOptions(
            max_retries=max_retries,
            rate_limit=rate_limit,
            timeout=timeout,
            transport=transport,
            http_client=http_client,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )
        self._redactor = Redactor((self._settings.client_token, self._settings.access_token))
        self._start(
            options,
            options.send_settings(self._settings.access_token.reveal(), self._redactor),
            http_args=self._http_args,
            envelope=self._settings.envelope,
            redactor=self._redactor,
            resources=catalog("connector").resources(),
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, client={self._settings.client!r})"

    def _http_args(self, transport: Any, timeout: float | httpx.Timeout) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": timeout,
            "transport": transport,
            "headers": {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": user_agent(),
            },
        }


class ConnectorClient(
    BlockingClientBase,
    ConnectorClientBase[httpx.BaseTransport, httpx.Client, Sleep],
    ConnectorResources,
):
    """Blocking Connector API client; one attribute per resource (``loyalty_memberships``, ...).

    ``max_retries`` bounds retries of one request; ``rate_limit=(requests, seconds)`` paces requests under
    the access token's limit (shared by every client with that token in the process; a ``SharedRateLimit``
    shares it with other processes too), ``None`` turns pacing off. ``http_client`` takes a configured
    ``httpx.Client`` (proxies, certificates, event hooks; its own timeout applies), which the SDK uses but
    never closes. ``transport``, ``sleep`` (default ``time.sleep``), ``clock`` and ``rng`` exist for tests
    and special setups.
    """

    _typed_resources = RESOURCE_CLASSES


class AsyncConnectorClient(
    AsyncClientBase,
    ConnectorClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient, AsyncSleep],
    AsyncConnectorResources,
):
    """The async twin of ``ConnectorClient``: ``async with``, ``await`` calls, ``async for`` over ``iter_all``.

    Its ``http_client`` is an ``httpx.AsyncClient``, its ``transport`` an async one, ``sleep`` a coroutine
    function (default ``asyncio.sleep``).
    """

    _typed_resources = ASYNC_RESOURCE_CLASSES
