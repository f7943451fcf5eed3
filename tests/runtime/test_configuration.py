"""Client construction: credentials once (arguments or environment), the right server, the envelope on every body."""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty import ConnectorClient
from mews_loyalty._client.connector import ENVIRONMENTS
from mews_loyalty._spec.catalog import catalog

from .fakes import PROGRAM_ID, FakeConnector, add_item


def test_environment_urls_match_the_spec_servers():
    # The spec is the source of truth for the hosts; a drift here would send demo traffic elsewhere.
    servers = [server["url"] for server in catalog("connector").document["servers"]]
    assert [ENVIRONMENTS["demo"], ENVIRONMENTS["production"]] == servers


@pytest.mark.parametrize(
    ("options", "url"),
    [
        ({}, "https://api.mews-demo.com"),
        ({"environment": "demo"}, "https://api.mews-demo.com"),
        ({"environment": "production"}, "https://api.mews.com"),
        ({"base_url": "http://localhost:8080/"}, "http://localhost:8080"),
    ],
    ids=["default-is-demo", "demo", "production", "base-url"],
)
def test_the_server_is_chosen_by_environment_or_base_url(tokens, options, url):
    # Production only when asked for: a default of production would let a test run touch real data.
    with ConnectorClient(
        client_token=tokens.client_token, access_token=tokens.access_token, **options
    ) as client:
        assert client.base_url == url


def test_arguments_left_out_come_from_the_environment(monkeypatch, tokens):
    # Twelve-factor deployments configure by environment; the code then needs no secrets at all.
    monkeypatch.setenv("MEWS_CLIENT_TOKEN", tokens.client_token)
    monkeypatch.setenv("MEWS_ACCESS_TOKEN", tokens.access_token)
    monkeypatch.setenv("MEWS_CLIENT", "FromEnv 2.0")
    monkeypatch.setenv("MEWS_BASE_URL", "http://mock.local:9000")
    server = FakeConnector()
    with ConnectorClient(transport=server.transport) as client:
        assert client.base_url == "http://mock.local:9000"
        client.loyalty_programs.get_all()
    body = server.sent()[0]
    assert (body["ClientToken"], body["AccessToken"], body["Client"]) == (
        tokens.client_token,
        tokens.access_token,
        "FromEnv 2.0",
    )


def test_explicit_arguments_win_over_the_environment(monkeypatch, tokens):
    # A script that names its target must not be redirected by a stray variable.
    monkeypatch.setenv("MEWS_BASE_URL", "http://elsewhere")
    monkeypatch.setenv("MEWS_ACCESS_TOKEN", "ENV-TOKEN")
    with ConnectorClient(
        client_token="c", access_token=tokens.access_token, environment="production"
    ) as client:
        assert client.base_url == "https://api.mews.com"
        assert client._settings.access_token.reveal() == tokens.access_token


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"access_token": "a"}, "client_token is required: pass client_token= or set MEWS_CLIENT_TOKEN"),
        ({"client_token": "c"}, "access_token is required: pass access_token= or set MEWS_ACCESS_TOKEN"),
        ({"client_token": "c", "access_token": "a", "environment": "staging"}, "environment must be one of"),
        (
            {"client_token": "c", "access_token": "a", "environment": "demo", "base_url": "http://x"},
            "not both",
        ),
        ({"client_token": "c", "access_token": "a", "language_code": "en-US"}, "go together"),
    ],
    ids=["no-client-token", "no-access-token", "unknown-environment", "both-targets", "language-alone"],
)
def test_incomplete_or_contradictory_settings_fail_at_construction(options, message):
    # Failing on the first request (or worse, silently) hides configuration bugs until production.
    with pytest.raises(ValueError, match=message):
        ConnectorClient(**options)


def test_every_operation_body_carries_the_envelope(make_client, tokens):
    # Credentials once: whichever operation runs, the body must carry the tokens, client and locale.
    server = FakeConnector()
    client = make_client(server, language_code="de-DE", culture_code="de-DE")
    client.loyalty_memberships.get_all()
    client.loyalty_memberships.add([add_item("loyalty_memberships", 0)])
    client.loyalty_programs.update([{"LoyaltyProgramId": PROGRAM_ID, "Name": {"Value": "Club"}}])
    client.loyalty_tiers.delete([PROGRAM_ID])
    client.loyalty_tiers.get_all(loyalty_program_ids=[PROGRAM_ID])
    assert len(server.requests) == 5
    for body in server.sent():
        assert body["ClientToken"] == tokens.client_token
        assert body["AccessToken"] == tokens.access_token
        assert body["Client"] == "Runtime tests 1.0"
        assert (body["LanguageCode"], body["CultureCode"]) == ("de-DE", "de-DE")


def test_requests_are_json_posts_to_the_catalog_paths(make_client):
    # The wire contract: POST, JSON content type, and the path the spec names for the operation.
    server = FakeConnector()
    make_client(server).loyalty_programs.get_all()
    captured = server.requests[0]
    assert captured.operation.path == "/api/connector/v1/loyaltyPrograms/getAll"
    assert captured.headers["Content-Type"] == "application/json"
    assert captured.headers["User-Agent"].startswith("mews-loyalty-python/")


def test_the_context_manager_closes_the_connection_pool(tokens):
    # Leaked pools exhaust sockets in long-running workers.
    with ConnectorClient(
        client_token="c",
        access_token=tokens.access_token,
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    ) as client:
        http = client._sender._http
        assert not http.is_closed
    assert http.is_closed
