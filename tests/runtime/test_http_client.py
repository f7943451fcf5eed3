"""http_client= takes the caller's configured httpx client: proxies, certificates, event hooks.

Corporate networks need a proxy or a private CA, and observability wants event hooks; the SDK must use
that client as configured, still send to its own base URL with its own headers and tokens, and leave
closing the client to its owner, who may share it.
"""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty import AsyncConnectorClient, ConnectorClient, ReverseClient

from .fakes import FakeConnector, FakeProvider, seeded


def test_a_configured_client_is_used_as_is_and_left_open(tokens):
    server = FakeConnector(items=seeded(3))
    seen: list[httpx.Request] = []
    http = httpx.Client(
        transport=httpx.MockTransport(server.handle),
        headers={"X-Corporate-Proxy": "yes"},
        event_hooks={"request": [seen.append]},
    )
    with ConnectorClient(
        client_token=tokens.client_token,
        access_token=tokens.access_token,
        base_url="https://api.mews-demo.com",
        http_client=http,
        rate_limit=None,
    ) as mews:
        assert len(list(mews.loyalty_memberships.iter_all())) == 3
    assert [str(request.url) for request in seen] == [
        "https://api.mews-demo.com/api/connector/v1/loyaltyMemberships/getAll"
    ]
    assert seen[0].headers["X-Corporate-Proxy"] == "yes"
    assert seen[0].headers["Content-Type"] == "application/json"
    assert seen[0].headers["User-Agent"].startswith("mews-loyalty-python/")
    assert server.sent()[0]["AccessToken"] == tokens.access_token
    assert not http.is_closed  # its owner closes it
    http.close()


@pytest.mark.anyio
async def test_the_async_client_takes_an_async_httpx_client(tokens):
    server = FakeConnector(items=seeded(2))
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
    async with AsyncConnectorClient(
        client_token=tokens.client_token, access_token=tokens.access_token, http_client=http, rate_limit=None
    ) as mews:
        assert len((await mews.loyalty_memberships.get_all()).items) == 2
    assert not http.is_closed
    await http.aclose()


def test_the_reverse_client_sends_its_bearer_token_through_it(tokens):
    provider = FakeProvider(token=tokens.provider_token)
    with httpx.Client(transport=httpx.MockTransport(provider.handle)) as http:
        client = ReverseClient(
            base_url="https://provider.example/provider", token=tokens.provider_token, http_client=http
        )
        found = client.list_memberships(["M-1"], enterprise_id="0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11")
        client.close()
        assert [m.provider_membership_id for m in found] == ["M-1"]
        assert provider.requests[0].headers["Authorization"] == f"Bearer {tokens.provider_token}"
        assert not http.is_closed


def test_a_wrong_or_conflicting_client_is_refused_clearly(tokens):
    credentials = {"client_token": tokens.client_token, "access_token": tokens.access_token}
    with pytest.raises(ValueError, match="either http_client= or transport="):
        ConnectorClient(
            **credentials,
            http_client=httpx.Client(),
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )
    with pytest.raises(TypeError, match=r"httpx\.Client, got AsyncClient"):
        ConnectorClient(**credentials, http_client=httpx.AsyncClient())
