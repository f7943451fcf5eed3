"""Clients for a loyalty provider's Reverse API: what Mews calls, for QA harnesses and provider tests.

    with ReverseClient(base_url="https://provider.example/mews", token="...") as provider:
        memberships = provider.list_memberships(["M-1", "M-2"], enterprise_id=enterprise_id)  # 100 ids a request
        provider.link(enterprise_id, "M-1", customer_id)
        found = provider.members.search_members(mews_enterprise_id=enterprise_id,
                                                 member_filter={"email": "john.doe@example.com"})
        member = provider.members.enroll_member(mews_enterprise_id=enterprise_id,
                                                customer={"firstName": "John", "lastName": "Doe"})

Every operation of the spec is also reachable generically, one attribute per tag (``members``,
``memberships``), each operation under its snake_case operationId with the request's properties as
snake_case keywords; requests are validated before sending (a filter that completes no search
combination raises ``RequestValidationError``). Errors arrive as RFC 9457 problem details and are raised
as ``ProblemDetailError`` that is also the status class (``RateLimitError`` for a 429, ...).
``base_url`` and ``token`` left out are read from ``MEWS_REVERSE_BASE_URL`` and ``MEWS_REVERSE_TOKEN``
(arguments beat variables, as for the Connector client). The retry policy is the Connector one: the list and the search are reads and
the link is an idempotent PUT, so they are retried safely; an enrolment is retried only when the
provider provably did not act.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any, Generic
from uuid import UUID

import httpx

from mews_loyalty._client.base import AsyncClientBase, BlockingClientBase, ClientBase, required_text
from mews_loyalty._errors import PROBLEM_CONTENT_TYPE
from mews_loyalty._generated.reverse.client.models import LinkMembershipResponse, Membership
from mews_loyalty._generated.reverse.resources import (
    ASYNC_RESOURCE_CLASSES,
    RESOURCE_CLASSES,
    AsyncReverseResources,
    ReverseResources,
)
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty._transport.pacing import RateLimit, SharedRateLimit
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
    Timeout,
    TransportT,
    user_agent,
)
from mews_loyalty._wire.decode import ResultList

ENV_REVERSE_BASE_URL = "MEWS_REVERSE_BASE_URL"
ENV_REVERSE_TOKEN = "MEWS_REVERSE_TOKEN"  # noqa: S105 - the variable's name, not a token


def _no_envelope() -> Mapping[str, Any]:
    return {}  # the Reverse API authenticates with a header, not in the body


class ReverseClientBase(ClientBase, Generic[TransportT, HttpT, SleepT]):
    """The Reverse API client, written once: blocking or async by the twin base it is mixed with."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        accept_language: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limit: RateLimit | SharedRateLimit | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: TransportT | None = None,
        http_client: HttpT | None = None,
        sleep: SleepT | None = None,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        # The provider's Reverse API root, and the bearer token it issued.
        self._base_url = required_text(base_url, "base_url", ENV_REVERSE_BASE_URL, os.environ).rstrip("/")
        self._token = Secret(required_text(token, "token", ENV_REVERSE_TOKEN, os.environ))
        self._accept_language = accept_language
        self._redactor = Redactor((self._token,))
        operations = catalog("reverse")
        self._list_op: Operation = operations.single("read", batched=True)
        self._link_op: Operation = operations.single("link")
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
        self._start(
            options,
            options.send_settings(self._token.reveal(), self._redactor, secret_headers=self._authorization),
            http_args=self._http_args,
            envelope=_no_envelope,
            redactor=self._redactor,
            resources=operations.resources(),
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def _authorization(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    def _http_args(self, transport: Any, timeout: float | httpx.Timeout) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            "Accept": f"application/json, {PROBLEM_CONTENT_TYPE}",
            "User-Agent": user_agent(),
        }
        if self._accept_language:
            headers["Accept-Language"] = self._accept_language
        return {"base_url": self._base_url, "timeout": timeout, "transport": transport, "headers": headers}

    @staticmethod
    def _link_params(
        enterprise_id: UUID | str,
        provider_membership_id: str,
        customer_id: UUID | str,
        provider_enterprise_id: str | None,
        is_linked: bool,
    ) -> dict[str, Any]:
        return {
            "mews_enterprise_id": enterprise_id,
            "provider_membership_id": provider_membership_id,
            "mews_customer_id": customer_id,
            "provider_enterprise_id": provider_enterprise_id,
            "is_linked": is_linked,
        }

    @staticmethod
    def _list_params(enterprise_id: UUID | str, provider_enterprise_id: str | None) -> dict[str, Any]:
        return {"mews_enterprise_id": enterprise_id, "provider_enterprise_id": provider_enterprise_id}


class ReverseClient(
    BlockingClientBase,
    ReverseClientBase[httpx.BaseTransport, httpx.Client, Sleep],
    ReverseResources,
):
    """Blocking client of one provider's Reverse API (bearer token, problem+json errors).

    ``list_memberships``/``link``/``unlink`` are shortcuts; every operation of the spec is also a typed
    method of its resource (``provider.memberships.update_membership_link(...)``). The sending keywords
    are the ``ConnectorClient``'s, without pacing by default (``rate_limit=None``).
    """

    _typed_resources = RESOURCE_CLASSES

    def list_memberships(
        self,
        ids: Iterable[str],
        *,
        enterprise_id: UUID | str,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> ResultList[Membership]:
        """The provider's current details of these memberships, asking at most 100 ids per request.

        The arguments come in the order of ``memberships.list_memberships(ids, mews_enterprise_id=...)``.
        """
        params = self._list_params(enterprise_id, provider_enterprise_id)
        params.update(timeout=timeout, max_retries=max_retries)
        result: ResultList[Membership] = self._runner.batch(self._list_op, ids, **params)
        return result

    def link(
        self,
        enterprise_id: UUID | str,
        provider_membership_id: str,
        customer_id: UUID | str,
        *,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> LinkMembershipResponse:
        """Link a Mews customer to a membership (``isLinked: true``)."""
        params = self._link_params(
            enterprise_id, provider_membership_id, customer_id, provider_enterprise_id, True
        )
        params.update(timeout=timeout, max_retries=max_retries)
        result: LinkMembershipResponse = self._runner.call(self._link_op, **params)
        return result

    def unlink(
        self,
        enterprise_id: UUID | str,
        provider_membership_id: str,
        customer_id: UUID | str,
        *,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> LinkMembershipResponse:
        """Remove the link between a Mews customer and a membership (``isLinked: false``)."""
        params = self._link_params(
            enterprise_id, provider_membership_id, customer_id, provider_enterprise_id, False
        )
        params.update(timeout=timeout, max_retries=max_retries)
        result: LinkMembershipResponse = self._runner.call(self._link_op, **params)
        return result


class AsyncReverseClient(
    AsyncClientBase,
    ReverseClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient, AsyncSleep],
    AsyncReverseResources,
):
    """The async twin of ``ReverseClient``."""

    _typed_resources = ASYNC_RESOURCE_CLASSES

    async def list_memberships(
        self,
        ids: Iterable[str],
        *,
        enterprise_id: UUID | str,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> ResultList[Membership]:
        """The provider's current details of these memberships, asking at most 100 ids per request.

        The arguments come in the order of ``memberships.list_memberships(ids, mews_enterprise_id=...)``.
        """
        params = self._list_params(enterprise_id, provider_enterprise_id)
        params.update(timeout=timeout, max_retries=max_retries)
        result: ResultList[Membership] = await self._runner.batch(self._list_op, ids, **params)
        return result

    async def link(
        self,
        enterprise_id: UUID | str,
        provider_membership_id: str,
        customer_id: UUID | str,
        *,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> LinkMembershipResponse:
        """Link a Mews customer to a membership (``isLinked: true``)."""
        params = self._link_params(
            enterprise_id, provider_membership_id, customer_id, provider_enterprise_id, True
        )
        params.update(timeout=timeout, max_retries=max_retries)
        result: LinkMembershipResponse = await self._runner.call(self._link_op, **params)
        return result

    async def unlink(
        self,
        enterprise_id: UUID | str,
        provider_membership_id: str,
        customer_id: UUID | str,
        *,
        provider_enterprise_id: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> LinkMembershipResponse:
        """Remove the link between a Mews customer and a membership (``isLinked: false``)."""
        params = self._link_params(
            enterprise_id, provider_membership_id, customer_id, provider_enterprise_id, False
        )
        params.update(timeout=timeout, max_retries=max_retries)
        result: LinkMembershipResponse = await self._runner.call(self._link_op, **params)
        return result
