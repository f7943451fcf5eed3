"""Bearer authentication of every operation, against the reference provider as a real server."""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty.mock.reverse import create_app
from mews_loyalty.provider import create_provider_app
from mews_loyalty.provider._auth import BearerTokens
from tests.provider._support import (
    LINK,
    LIST,
    NEXT_TOKEN,
    TOKEN,
    MembershipsOnly,
    assert_conforms,
    link_body,
    list_body,
)

OPERATIONS = [("POST", LIST, list_body("M-1001")), ("PUT", LINK, link_body("M-1002"))]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(f"Basic {TOKEN}", id="other-scheme"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param(f"Bearer {TOKEN} extra", id="two-tokens"),
        pytest.param(f"{TOKEN}", id="no-scheme"),
        pytest.param("Bearer wrong-token", id="wrong"),
        pytest.param(f"Bearer {TOKEN}x", id="token-with-suffix"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="token-prefix"),
    ],
)
def test_requests_without_an_accepted_token_get_a_401_problem(reference, method, path, body, authorization):
    # Mews' data must stay behind the token: anything but an accepted token is a 401, with a problem
    # body the spec documents and a challenge, never the data, and never an echo of what was sent.
    headers = {} if authorization is None else {"Authorization": authorization}
    response = reference.request(method, path, json=body, headers=headers)
    problem = assert_conforms(response)
    assert response.status_code == 401
    assert problem["type"] == "https://purl.mews.com/problem/core/unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text
    assert "data" not in problem


@pytest.mark.parametrize("token", [TOKEN, NEXT_TOKEN])
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_each_token_of_a_rotation_is_accepted(reference, token, method, path, body):
    # During a rotation the provider accepts the old and the new token at once (spec, bearerAuth).
    response = reference.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert_conforms(response)
    assert response.status_code == 200


def test_the_bearer_scheme_name_is_case_insensitive(reference):
    # RFC 9110 auth schemes are case-insensitive; Mews' HTTP stack may send "bearer".
    response = reference.post(LIST, json=list_body("M-1001"), headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_an_invalid_body_without_a_token_is_a_401_not_a_400(reference):
    # Unauthenticated callers learn nothing about validation: authentication comes first.
    response = reference.post(LIST, content=b"{not json")
    assert assert_conforms(response)["status"] == 401


def test_a_dropped_token_is_no_longer_accepted():
    # Finishing a rotation means restarting with the new token only; the old one must then fail.
    from mews_loyalty._asgi import serve_in_thread

    with serve_in_thread(create_app([NEXT_TOKEN])) as base_url:
        old = httpx.post(
            f"{base_url}{LIST}", json=list_body("x"), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        new = httpx.post(
            f"{base_url}{LIST}", json=list_body("x"), headers={"Authorization": f"Bearer {NEXT_TOKEN}"}
        )
    assert (old.status_code, new.status_code) == (401, 200)


@pytest.mark.parametrize(
    "tokens",
    [pytest.param([], id="none"), pytest.param([""], id="empty"), pytest.param(["has space"], id="space")],
)
def test_unusable_token_configurations_are_refused_without_echoing_them(tokens):
    # A provider misconfigured with no usable token must fail at start-up, not accept everyone; the
    # message must not print the (possibly real) secret.
    with pytest.raises(ValueError, match="token") as raised:
        BearerTokens(tokens)
    assert all(token not in str(raised.value) for token in tokens if token)


def test_tokens_never_appear_in_reprs():
    # Apps and token sets end up in logs and tracebacks; the secrets must not.
    tokens = BearerTokens([TOKEN, NEXT_TOKEN])
    app = create_provider_app(_NoopBackend(), [TOKEN, NEXT_TOKEN])
    for text in (repr(tokens), str(tokens), repr(app), repr(vars(app))):
        assert TOKEN not in text
        assert NEXT_TOKEN not in text
    assert len(tokens) == 2


class _NoopBackend(MembershipsOnly):
    def list_memberships(self, request):
        return []

    def link_membership(self, request):
        return True
