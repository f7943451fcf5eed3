"""Every failure becomes a typed error carrying what support needs (status, message, Request-Id)."""

from __future__ import annotations

import inspect

import httpx
import pytest

import mews_loyalty
from mews_loyalty import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    MewsApiError,
    MewsConnectionError,
    MewsError,
    ProblemDetailError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ServerError,
    UnexpectedResponseError,
    _errors,
)

from .fakes import FakeConnector, add_item, error_body

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, ForbiddenError),
    (408, RequestTimeoutError),
    (429, RateLimitError),
    (500, ServerError),
    (503, ServerError),
]


def add_one(make_client, server: FakeConnector, **options):
    return make_client(server, max_retries=0, **options).loyalty_memberships.add(
        [add_item("loyalty_memberships", 0)]
    )


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES, ids=[str(s) for s, _ in STATUS_CLASSES])
def test_each_status_raises_its_class_with_the_server_fields(make_client, status, cls):
    # Callers branch on the class (re-authenticate, show the message, back off); the fields go to support.
    server = FakeConnector()
    body = {"Message": "Something specific.", "RequestId": "body-id", "Details": {"Trace": ["a", "b"]}}
    server.script(
        "loyaltyMemberships_add", httpx.Response(status, json=body, headers={"Request-Id": "header-id"})
    )
    with pytest.raises(cls) as caught:
        add_one(make_client, server)
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, MewsApiError)
    assert (error.status, error.message, error.request_id) == (status, "Something specific.", "body-id")
    assert error.details == {"Trace": ["a", "b"]}
    assert error.operation_id == "loyaltyMemberships_add"
    assert str(error).startswith(f"loyaltyMemberships_add: HTTP {status}")
    assert "Something specific. (Request-Id body-id)" in str(error)


def test_request_id_falls_back_to_the_header(make_client):
    # Some error bodies (proxies, older endpoints) carry no RequestId; the header always does.
    server = FakeConnector()
    server.script(
        "loyaltyMemberships_add",
        httpx.Response(401, json={"Message": "Invalid token."}, headers={"Request-Id": "hdr-7"}),
    )
    with pytest.raises(AuthenticationError) as caught:
        add_one(make_client, server)
    assert caught.value.request_id == "hdr-7"


def test_rate_limit_error_carries_retry_after(make_client):
    # When retries run out, the caller schedules the next run from retry_after.
    server = FakeConnector()
    server.script(
        "loyaltyMemberships_add",
        httpx.Response(429, json=error_body("Slow down."), headers={"Retry-After": "17"}),
    )
    with pytest.raises(RateLimitError) as caught:
        add_one(make_client, server)
    assert caught.value.retry_after == 17.0


def test_a_non_json_error_body_still_maps_by_status(make_client):
    # A load balancer's HTML 502 must still read as a server error, not crash the JSON decoder.
    server = FakeConnector()
    html = httpx.Response(
        502, text="<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"}
    )
    server.script("loyaltyMemberships_add", html)
    with pytest.raises(ServerError) as caught:
        add_one(make_client, server)
    assert caught.value.status == 502
    assert "not JSON (text/html)" in caught.value.message
    assert "Bad gateway" in caught.value.message


def test_an_undocumented_status_is_an_unexpected_response(make_client):
    # A 404 usually means a wrong base URL; it must not masquerade as a business error.
    server = FakeConnector()
    server.script("loyaltyMemberships_add", httpx.Response(404, json={"Message": "No route."}))
    with pytest.raises(UnexpectedResponseError) as caught:
        add_one(make_client, server)
    assert caught.value.status == 404
    assert "not documented" in caught.value.message


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (httpx.Response(200, text="OK"), "expected a JSON object"),
        (httpx.Response(200, json={"Memberships": []}), "no 'LoyaltyMemberships' list"),
        (
            httpx.Response(200, json={"LoyaltyMemberships": [{"Id": "x"}]}),
            "does not match LoyaltyMembershipResult",
        ),
    ],
    ids=["not-json", "wrong-shape", "item-missing-fields"],
)
def test_a_200_body_that_is_not_the_documented_json_is_an_unexpected_response(make_client, response, text):
    # Decoding garbage into half-filled models would corrupt whatever the caller does next.
    server = FakeConnector()
    server.script("loyaltyMemberships_add", response)
    with pytest.raises(UnexpectedResponseError, match=text) as caught:
        add_one(make_client, server)
    assert caught.value.status == 200


def test_a_delete_answered_with_a_non_json_200_is_not_taken_for_success(make_client):
    # A captive portal or proxy answering 200 with HTML has deleted nothing; reporting success would lie.
    server = FakeConnector()
    server.script("loyaltyMemberships_delete", httpx.Response(200, text="<html>Sign in</html>"))
    with pytest.raises(UnexpectedResponseError, match="expected a JSON object"):
        make_client(server).loyalty_memberships.delete(["a3b1c0de-0000-4000-8000-00000000000a"])


@pytest.mark.parametrize(
    ("failure", "reached"),
    [(httpx.ConnectError("refused"), False), (httpx.ReadTimeout("slow"), True)],
    ids=["connect", "read-timeout"],
)
def test_transport_failures_raise_connection_errors_saying_whether_the_server_may_have_acted(
    make_client, failure, reached
):
    # After a read timeout the write may have happened; the caller must check before adding again.
    server = FakeConnector()
    server.script("loyaltyMemberships_add", failure)
    with pytest.raises(MewsConnectionError) as caught:
        add_one(make_client, server)
    assert caught.value.may_have_reached_server is reached
    assert type(failure).__name__ in str(caught.value)


def test_the_hierarchy_is_drawn_in_the_module_docstring():
    # The drawing is the documentation of the hierarchy; a class missing from it is undocumented.
    drawing = _errors.__doc__ or ""
    for name, value in vars(mews_loyalty).items():
        if inspect.isclass(value) and issubclass(value, Exception):
            assert name in drawing, name


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        *[(cls, MewsApiError) for _, cls in STATUS_CLASSES],
        (UnexpectedResponseError, MewsApiError),
        (ProblemDetailError, MewsApiError),
        (MewsApiError, MewsError),
        (MewsConnectionError, MewsError),
        (RequestValidationError, ValueError),
        (RequestValidationError, MewsError),
        (mews_loyalty.ApiTimeoutError, MewsConnectionError),
        (mews_loyalty.ResponseTooLargeError, MewsError),
        (mews_loyalty.ClientClosedError, MewsError),
        (mews_loyalty.ConfigurationError, MewsError),
        (mews_loyalty.ConfigurationError, ValueError),
        (mews_loyalty.ConfigurationError, TypeError),
        (mews_loyalty.CallArgumentError, TypeError),
        (mews_loyalty.CallArgumentError, MewsError),
    ],
)
def test_the_hierarchy_matches_the_drawing(cls, base):
    # `except MewsApiError` / `except MewsError` / `except ValueError` must catch what the drawing promises.
    assert issubclass(cls, base)
    assert not issubclass(mews_loyalty.ApiTimeoutError, RequestTimeoutError), "not the server's 408"
