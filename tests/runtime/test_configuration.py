"""Client construction: credentials once (arguments or environment), the right server, the envelope on every body."""

from __future__ import annotations

import warnings

import httpx
import pytest

from mews_loyalty import AsyncConnectorClient, ConfigurationError, ConnectorClient, MewsError, ReverseClient
from mews_loyalty._client import connector as connector_module
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
        ({"client_token": "c", "access_token": 12345}, "access_token must be a str, got int; pass the text"),
    ],
    ids=[
        "no-client-token",
        "no-access-token",
        "unknown-environment",
        "both-targets",
        "language-alone",
        "int-token",
    ],
)
def test_incomplete_or_contradictory_settings_fail_at_construction(options, message):
    # Failing on the first request (or worse, silently) hides configuration bugs until production.
    with pytest.raises(ConfigurationError, match=message) as caught:
        ConnectorClient(**options)
    assert isinstance(caught.value, ValueError | MewsError)


@pytest.mark.parametrize(
    ("variables", "options", "url"),
    [
        ({"MEWS_BASE_URL": "http://127.0.0.1:8080"}, {}, "http://127.0.0.1:8080"),
        ({"MEWS_ENVIRONMENT": "production"}, {}, "https://api.mews.com"),
        ({"MEWS_ENVIRONMENT": "production", "MEWS_BASE_URL": "http://mock"}, {}, "http://mock"),
        ({"MEWS_BASE_URL": "http://mock"}, {"environment": "demo"}, "https://api.mews-demo.com"),
        ({"MEWS_ENVIRONMENT": "production"}, {"base_url": "http://mine"}, "http://mine"),
    ],
    ids=[
        "base-url-variable",
        "environment-variable",
        "base-url-beats-environment",
        "arg-beats-var",
        "url-arg",
    ],
)
def test_one_precedence_arguments_then_variables_then_demo(monkeypatch, variables, options, url):
    # What the module docstring and docs/sdk.md promise: arguments beat variables; MEWS_BASE_URL beats
    # MEWS_ENVIRONMENT; demo last. So a script naming no server is pointed at a mock by variables alone.
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with ConnectorClient(client_token="c", access_token="a", client="t", **options) as client:
        assert client.base_url == url


def test_an_unknown_environment_variable_is_refused(monkeypatch):
    monkeypatch.setenv("MEWS_ENVIRONMENT", "staging")
    with pytest.raises(ConfigurationError, match="MEWS_ENVIRONMENT"):
        ConnectorClient(client_token="c", access_token="a", client="t")


def test_a_client_left_unnamed_is_warned_about_once(monkeypatch):
    # Mews sees the app's name in every request; leaving it out is allowed but never silent.
    monkeypatch.setattr(connector_module, "_warned_about_client", False)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        for _ in range(2):
            ConnectorClient(client_token="c", access_token="a").close()
    assert [str(w.message)[:47] for w in warned] == ["no client= given and MEWS_CLIENT is not set: Me"]
    assert warned[0].filename == __file__, "the warning points at the caller's line"


def test_a_named_client_is_not_warned_about(monkeypatch, recwarn):
    monkeypatch.setattr(connector_module, "_warned_about_client", False)
    ConnectorClient(client_token="c", access_token="a", client="MyApp 1.0").close()
    monkeypatch.setenv("MEWS_CLIENT", "FromEnv 2.0")
    ConnectorClient(client_token="c", access_token="a").close()
    assert not [w for w in recwarn if "client=" in str(w.message)]


def test_the_reverse_client_reads_its_own_variables(monkeypatch):
    monkeypatch.setenv("MEWS_REVERSE_BASE_URL", "http://provider.local/mews/")
    monkeypatch.setenv("MEWS_REVERSE_TOKEN", "from-env")
    with ReverseClient() as provider:
        assert provider.base_url == "http://provider.local/mews"
        assert provider._authorization() == {"Authorization": "Bearer from-env"}
    with ReverseClient(base_url="http://mine", token="mine") as provider:
        assert provider.base_url == "http://mine"
        assert provider._authorization() == {"Authorization": "Bearer mine"}


def test_the_reverse_client_says_which_variable_is_missing():
    with pytest.raises(ConfigurationError, match="pass token= or set MEWS_REVERSE_TOKEN"):
        ReverseClient(base_url="http://mine")


@pytest.mark.anyio
async def test_the_async_client_closes_with_close_as_well():
    client = AsyncConnectorClient(client_token="c", access_token="a", client="t")
    await client.close()
    assert client._sender._http.is_closed


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
