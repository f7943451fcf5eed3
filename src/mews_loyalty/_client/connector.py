"""The Connector API clients: credentials once, one accessor per resource of the catalog.

    with ConnectorClient(client_token=..., access_token=..., client="MyApp 1.0") as mews:
        for membership in mews.loyalty_memberships.iter_all(activity_states=["Active"]):
            ...

Where it sends, one precedence (the first found wins):

1. an argument: ``base_url=`` or ``environment=`` (not both);
2. an environment variable: ``MEWS_BASE_URL``, else ``MEWS_ENVIRONMENT`` (``demo`` or ``production``);
3. ``demo``, so production is always a deliberate choice.

Explicit arguments beat environment variables, as in openai's client; so a script that passes
neither is pointed at a local mock by ``MEWS_BASE_URL`` alone. The tokens and the client name follow
the same rule: ``client_token=``/``MEWS_CLIENT_TOKEN``, ``access_token=``/``MEWS_ACCESS_TOKEN``,
``client=``/``MEWS_CLIENT`` (left out, a warning says so once, and Mews sees ``mews-loyalty <version>``).
"""

from __future__ import annotations

import os
import random
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal

import httpx

from mews_loyalty._client.base import AsyncClientBase, BlockingClientBase, ClientBase, required_text
from mews_loyalty._errors import ConfigurationError
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
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRY_WAIT_SECONDS,
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
ENV_ENVIRONMENT = "MEWS_ENVIRONMENT"
_warned_about_client = False


def _warn_once_without_client() -> None:
    """Warn, once per process, that the app did not say who it is (Mews sees it in every request)."""
    global _warned_about_client
    if not _warned_about_client:
        _warned_about_client = True
        warnings.warn(
            f"no client= given and {ENV_CLIENT} is not set: Mews will see this app as "
            f"'mews-loyalty {__version__}'; pass client='YourApp 1.0' (your integration's name and version)",
            UserWarning,
            stacklevel=4,
        )


def resolve_base_url(environment: str | None, base_url: str | None, environ: Mapping[str, str]) -> str:
    """Where the client sends: arguments, then environment variables, then demo (the module's rule)."""
    if environment is not None and base_url is not None:
        raise ConfigurationError("pass either environment= or base_url=, not both")
    if base_url is not None:
        return base_url
    if environment is None:
        if environ.get(ENV_BASE_URL):
            return environ[ENV_BASE_URL]
        environment = environ.get(ENV_ENVIRONMENT) or DEFAULT_ENVIRONMENT
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"environment must be one of {', '.join(ENVIRONMENTS)} (environment= or {ENV_ENVIRONMENT}), "
            f"got {environment!r}"
        )
    return ENVIRONMENTS[environment]


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
        if (language_code is None) != (culture_code is None):
            raise ConfigurationError("language_code and culture_code go together: pass both or neither")
        url = resolve_base_url(environment, base_url, environ)
        named = required_text(client, "client", ENV_CLIENT, environ, optional=True)
        if not named:
            _warn_once_without_client()
        return cls(
            base_url=url.rstrip("/"),
            client_token=Secret(required_text(client_token, "client_token", ENV_CLIENT_TOKEN, environ)),
            access_token=Secret(required_text(access_token, "access_token", ENV_ACCESS_TOKEN, environ)),
            client=named or f"mews-loyalty {__version__}",
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
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
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
    shares it with other processes too), ``None`` turns pacing off. ``timeout`` is a deadline in seconds
    on each whole attempt (connect, send and every read of the answer), ``max_retry_wait`` caps the
    seconds one call (one page of an ``iter_all``) sleeps before retries, pacing not counted, and
    ``max_response_bytes`` caps each answer once decompressed. ``http_client`` takes a configured
    ``httpx.Client`` (proxies, certificates, event hooks), which the SDK uses but never closes; ``timeout``
    applies to it too (each wait is cut to the attempt's time left, so an attempt ends within about
    twice ``timeout``; exactly on an async client). ``transport``, ``sleep`` (default ``time.sleep``), ``clock`` and ``rng`` exist for tests
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
