"""The retry policy: reads recover from transient trouble, writes are never repeated once the server saw them."""

from __future__ import annotations

import copy
import importlib
import logging
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from types import SimpleNamespace

import httpx
import pytest

from mews_loyalty import MewsConnectionError, RateLimitError, RequestTimeoutError, ServerError
from mews_loyalty._spec.catalog import build_catalog, catalog, load_document
from mews_loyalty._transport.retry import (
    BACKOFF_CAP_SECONDS,
    LONGEST_RETRY_AFTER_SECONDS,
    backoff_seconds,
    retry_after_seconds,
    should_retry,
)

from .fakes import START, FakeConnector, add_item, error_body, seeded, stored_item

GET_ALL = "loyaltyMemberships_getAll"
ADD = "loyaltyMemberships_add"


def failure(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=error_body(f"failure {status}"), headers=headers)


# --- the policy itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (format_datetime(datetime.fromtimestamp(START + 42, UTC), usegmt=True), 42.0),
        (format_datetime(datetime.fromtimestamp(START - 60, UTC), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
    ids=["seconds", "decimal", "zero", "http-date", "date-in-the-past", "garbage", "empty", "absent"],
)
def test_retry_after_reads_seconds_and_http_dates(value, expected):
    # RFC 9110 allows both forms; a date must become a wait relative to now, never a negative one.
    assert retry_after_seconds(value, START) == expected


def test_backoff_doubles_with_jitter_and_stops_at_the_cap():
    # Equal jitter: never less than half the step (no hammering), never more than the step or the cap.
    assert [backoff_seconds(n, 0.0) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]
    assert [backoff_seconds(n, 0.999999) for n in range(4)] == pytest.approx([0.5, 1.0, 2.0, 4.0], rel=1e-5)
    assert backoff_seconds(30, 0.999999) == pytest.approx(BACKOFF_CAP_SECONDS, rel=1e-5)


@pytest.mark.parametrize(
    ("status", "error", "idempotent", "expected"),
    [
        (429, None, False, True),
        (429, None, True, True),
        (None, httpx.ConnectError("refused"), False, True),
        (None, httpx.ConnectTimeout("no answer to SYN"), False, True),
        (None, httpx.PoolTimeout("pool"), False, True),
        (500, None, False, False),
        (408, None, False, False),
        (None, httpx.ReadTimeout("slow"), False, False),
        (None, httpx.WriteError("broken pipe"), False, False),
        (None, httpx.RemoteProtocolError("disconnected"), False, False),
        (500, None, True, True),
        (503, None, True, True),
        (408, None, True, True),
        (None, httpx.ReadTimeout("slow"), True, True),
        (400, None, True, False),
        (401, None, True, False),
        (403, None, True, False),
        (None, httpx.UnsupportedProtocol("ftp://"), True, False),
    ],
)
def test_should_retry_only_when_useful_and_safe(status, error, idempotent, expected):
    # The table is the policy: any change to it must be deliberate.
    assert should_retry(status=status, error=error, idempotent=idempotent) is expected


# --- the policy at work ----------------------------------------------------------------------------


def test_a_write_is_retried_after_429_waiting_retry_after_seconds(make_client, fake_time):
    # A 429 means the server did nothing; waiting exactly as asked is both polite and fastest.
    server = FakeConnector()
    server.script(ADD, failure(429, **{"Retry-After": "7"}))
    created = make_client(server).loyalty_memberships.add([add_item("loyalty_memberships", 0)])
    assert len(created) == 1
    assert len(server.requests) == 2
    assert fake_time.sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured(make_client, fake_time):
    # Some gateways send a date instead of seconds.
    server = FakeConnector(items=seeded(1))
    when = format_datetime(datetime.fromtimestamp(START + 12, UTC), usegmt=True)
    server.script(GET_ALL, failure(429, **{"Retry-After": when}))
    assert len(list(make_client(server).loyalty_memberships.iter_all())) == 1
    assert fake_time.sleeps == [12.0]


def test_a_503_with_retry_after_on_a_read_waits_as_asked(make_client, fake_time):
    # Maintenance windows answer 503 with Retry-After; backing off blindly would retry too early.
    server = FakeConnector(items=seeded(1))
    server.script(GET_ALL, failure(503, **{"Retry-After": "20"}))
    assert len(make_client(server).loyalty_memberships.get_all()) == 1
    assert fake_time.sleeps == [20.0]


def test_a_429_without_retry_after_backs_off(make_client, fake_time):
    # Without a hint, exponential backoff with jitter (0.5 here) decides the waits.
    server = FakeConnector()
    server.script(ADD, failure(429), failure(429))
    make_client(server).loyalty_memberships.add([add_item("loyalty_memberships", 0)])
    assert fake_time.sleeps == [backoff_seconds(0, 0.5), backoff_seconds(1, 0.5)]


def test_reads_recover_from_5xx_408_and_transport_errors(make_client, fake_time):
    # A long export must survive a blip; reading again changes nothing on the server.
    server = FakeConnector(items=seeded(3))
    server.script(GET_ALL, failure(500), failure(408), httpx.ReadTimeout("slow"), failure(503))
    assert len(list(make_client(server).loyalty_memberships.iter_all())) == 3
    assert len(server.requests) == 5
    assert fake_time.sleeps == [backoff_seconds(n, 0.5) for n in range(4)]


@pytest.mark.parametrize(
    ("reply", "raised"),
    [
        (failure(500), ServerError),
        (failure(503), ServerError),
        (failure(408), RequestTimeoutError),
        (httpx.ReadTimeout("response lost"), MewsConnectionError),
        (httpx.WriteError("connection reset mid-body"), MewsConnectionError),
        (httpx.RemoteProtocolError("server disconnected"), MewsConnectionError),
    ],
    ids=["500", "503", "408", "read-timeout", "write-error", "disconnected"],
)
@pytest.mark.parametrize("action", ["add", "update", "delete"])
def test_a_write_that_may_have_reached_the_server_is_never_retried(
    make_client, fake_time, reply, raised, action
):
    # The server may have created the membership before failing; a retry could create it twice.
    operation_id = f"loyaltyMemberships_{action}"
    payload = {
        "add": [add_item("loyalty_memberships", 0)],
        "update": [{"LoyaltyMembershipId": "a3b1c0de-0000-4000-8000-00000000000a", "Points": {"Value": 1}}],
        "delete": ["a3b1c0de-0000-4000-8000-00000000000a"],
    }[action]
    server = FakeConnector()
    server.script(operation_id, reply, failure(200))
    with pytest.raises(raised):
        getattr(make_client(server).loyalty_memberships, action)(payload)
    assert len(server.requests) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("refusal", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")])
def test_a_write_is_retried_when_no_connection_was_ever_made(make_client, refusal):
    # Connection refused means no byte was sent: retrying cannot duplicate anything.
    server = FakeConnector()
    server.script(ADD, refusal)
    created = make_client(server).loyalty_memberships.add([add_item("loyalty_memberships", 0)])
    assert len(created) == 1
    assert len(server.requests) == 2


def test_max_retries_bounds_the_attempts(make_client, fake_time):
    # A server that stays down must surface as an error after max_retries + 1 attempts, not hang.
    server = FakeConnector()
    server.script(GET_ALL, *[failure(500) for _ in range(10)])
    with pytest.raises(ServerError):
        make_client(server, max_retries=2).loyalty_memberships.get_all()
    assert len(server.requests) == 3
    assert len(fake_time.sleeps) == 2


def test_max_retries_zero_disables_retries(make_client, fake_time):
    # Callers with their own retry layer need the SDK to step aside.
    server = FakeConnector()
    server.script(GET_ALL, failure(429, **{"Retry-After": "1"}))
    with pytest.raises(RateLimitError):
        make_client(server, max_retries=0).loyalty_memberships.get_all()
    assert len(server.requests) == 1
    assert fake_time.sleeps == []


def test_a_retry_after_longer_than_the_ceiling_is_returned_to_the_caller(make_client, fake_time):
    # Sleeping an hour inside a library call looks like a hang; hand the wait to the caller instead.
    server = FakeConnector()
    asked = LONGEST_RETRY_AFTER_SECONDS + 1
    server.script(GET_ALL, failure(429, **{"Retry-After": str(int(asked))}))
    with pytest.raises(RateLimitError) as caught:
        make_client(server).loyalty_memberships.get_all()
    assert caught.value.retry_after == int(asked)
    assert fake_time.sleeps == []


def test_retries_are_logged_with_operation_status_and_wait(make_client, caplog):
    # Operators need to see a slow run is retrying, not stuck.
    server = FakeConnector()
    server.script(GET_ALL, failure(503))
    with caplog.at_level(logging.INFO, logger="mews_loyalty"):
        make_client(server).loyalty_memberships.get_all()
    assert "loyaltyMemberships_getAll: HTTP 503; retrying in 0.38 s (retry 1 of 5)" in caplog.messages


def test_max_retries_must_not_be_negative(make_client):
    # A negative budget is a configuration bug; it must not silently mean "no retries".
    with pytest.raises(ValueError, match="max_retries"):
        make_client(FakeConnector(), max_retries=-1)


# --- retry safety is read from the spec, never from a name -----------------------------------------

CLIENT_API = "mews_loyalty._generated.connector.client.api.loyalty_memberships"


@pytest.mark.parametrize(("marked", "attempts"), [(False, 1), (True, 2)], ids=["unmarked", "x-idempotent"])
def test_a_new_operation_named_like_a_read_is_retried_only_when_the_spec_marks_it(
    make_client, fake_time, monkeypatch, marked, attempts
):
    # A future "getOrCreate" sounds like a read but may create a record: after a 500 the server may
    # have acted, so only the spec's `x-idempotent: true` may allow a second try.
    document = copy.deepcopy(dict(load_document("connector")))
    raw = copy.deepcopy(document["paths"]["/api/connector/v1/loyaltyMemberships/add"]["post"])
    raw["operationId"] = "loyaltyMemberships_getOrCreate"
    if marked:
        raw["x-idempotent"] = True
    document["paths"]["/api/connector/v1/loyaltyMemberships/getOrCreate"] = {"post": raw}
    # Regeneration would write this module; the generated add function (posting to .../add) stands in.
    stand_in = importlib.import_module(f"{CLIENT_API}.loyalty_memberships_add")
    monkeypatch.setitem(sys.modules, f"{CLIENT_API}.loyalty_memberships_get_or_create", stand_in)
    edited = build_catalog("connector", document)
    assert edited.by_id["loyaltyMemberships_getOrCreate"].idempotent is marked
    monkeypatch.setattr("mews_loyalty._client.connector.catalog", lambda api: edited)
    paths: list[str] = []

    def fails_once(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if len(paths) == 1:
            return failure(500)
        return httpx.Response(200, json={"LoyaltyMemberships": [stored_item("loyalty_memberships", 0)]})

    resource = make_client(SimpleNamespace(transport=httpx.MockTransport(fails_once))).loyalty_memberships
    if marked:
        assert len(resource.get_or_create([add_item("loyalty_memberships", 0)])) == 1
    else:
        with pytest.raises(ServerError):
            resource.get_or_create([add_item("loyalty_memberships", 0)])
    assert paths == ["/api/connector/v1/loyaltyMemberships/getOrCreate"] * attempts


def test_the_shipped_specs_mark_exactly_the_reads_and_the_link_put_idempotent():
    # Which operations may be repeated is a reviewed fact of the specs; a change to it must be deliberate.
    marked = {
        op.operation_id for api in ("connector", "reverse") for op in catalog(api).operations if op.idempotent
    }
    assert marked == {
        "loyaltyMemberships_getAll",
        "loyaltyPrograms_getAll",
        "loyaltyTiers_getAll",
        "listMemberships",
        "searchMembers",
        "updateMembershipLink",
    }
