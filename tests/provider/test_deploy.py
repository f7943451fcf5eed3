"""The kit safe to deploy: commit points, absent fields, rotating tokens, the health route, a prefix, logs."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from mews_loyalty.provider import (
    Deadline,
    EnrollMemberRequest,
    Member,
    RequestTimedOut,
    create_provider_app,
    current_deadline,
    fingerprint,
)
from mews_loyalty.provider._logs import LOGGER_NAME, FallbackHandler, make_visible
from tests.provider._support import (
    AUTH,
    CORE,
    ENTERPRISE,
    LIST,
    NEXT_TOKEN,
    TOKEN,
    MembershipsOnly,
    assert_conforms,
    field_errors,
    list_body,
)

pytestmark = pytest.mark.anyio

ENROL = "/members"
SEARCH = "/members/search"
KNOWN = {"providerMembershipId": "A", "membershipNumber": "100", "status": "enrolled"}


def enrolment(**customer: Any) -> dict[str, Any]:
    return {
        "mewsEnterpriseId": ENTERPRISE,
        "customer": {"firstName": "Ada", "lastName": "Lovelace", **customer},
    }


def member_of(request: EnrollMemberRequest, membership_id: str = "M-1") -> Member:
    customer = request.customer
    return Member.model_validate(
        {
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "membership": {
                "providerMembershipId": membership_id,
                "membershipNumber": "1",
                "status": "enrolled",
            },
        }
    )


class Complete(MembershipsOnly):
    """Every operation: finds nobody, enrols, knows membership A, links."""

    def enroll_member(self, request: EnrollMemberRequest) -> Member:
        return member_of(request)

    def list_memberships(self, request: Any) -> list[dict[str, Any]]:
        return [KNOWN]

    def link_membership(self, request: Any) -> bool:
        return True


# --- commit point of async backends -------------------------------------------------------------


class Enroller(Complete):
    """Stores the enrolment, then awaits past the kit's timeout (a notification, a second write)."""

    def __init__(self, *, marks: bool) -> None:
        self.marks = marks
        self.stored: list[str] = []
        self.cancelled = False

    async def enroll_member(self, request: EnrollMemberRequest) -> Member:
        if self.marks:
            current_deadline().commit_point()  # no await before it: reached long before the deadline
        self.stored.append(request.customer.last_name)
        try:
            while not current_deadline().expired:
                await anyio.sleep(0.01)
            await anyio.sleep(0.05)  # past the deadline: cancelled here unless the commit was marked
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        return member_of(request)


@pytest.mark.timeout(10)
async def test_an_async_enrolment_past_its_commit_mark_is_answered_as_committed(kit_client, caplog):
    backend = Enroller(marks=True)
    async with kit_client(backend, timeout=0.3) as client:
        answer = await client.post(ENROL, json=enrolment(), headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert assert_conforms(answer)["membership"]["providerMembershipId"] == "M-1"
    assert (backend.stored, backend.cancelled) == (["Lovelace"], False)
    assert "answered with its outcome, not 408" in caplog.text


@pytest.mark.timeout(10)
async def test_an_async_enrolment_cancelled_without_a_mark_is_a_408(kit_client):
    # Stored, but the kit cannot know: without the mark a 408 is all it can say (the docs say so).
    backend = Enroller(marks=False)
    async with kit_client(backend, timeout=0.3) as client:
        answer = await client.post(ENROL, json=enrolment(), headers=AUTH)
    assert answer.status_code == 408
    assert assert_conforms(answer)["type"] == CORE + "request-timeout"
    assert backend.cancelled


@pytest.mark.timeout(10)
async def test_a_commit_mark_after_the_deadline_is_a_408_and_nothing_is_stored(kit_client):
    class Late(Enroller):
        async def enroll_member(self, request: EnrollMemberRequest) -> Member:
            while not current_deadline().expired:
                time.sleep(0.01)  # blocking, so no await is cancelled: the mark itself must refuse
            current_deadline().commit_point()
            self.stored.append(request.customer.last_name)
            return member_of(request)

    backend = Late(marks=True)
    async with kit_client(backend, timeout=0.05) as client:
        answer = await client.post(ENROL, json=enrolment(), headers=AUTH)
    assert (answer.status_code, backend.stored) == (408, [])


def test_after_the_commit_mark_check_no_longer_raises():
    with pytest.raises(RequestTimedOut):
        Deadline(at=time.monotonic() - 1).commit_point()
    fresh = Deadline.after(60)
    fresh.commit_point()
    object.__setattr__(fresh, "at", time.monotonic() - 1)
    fresh.check()  # committed: the outcome stands
    assert fresh.committed


# --- absent optional fields ---------------------------------------------------------------------


async def test_an_absent_optional_field_reads_as_none_so_truthiness_works(kit_client):
    seen: dict[str, Any] = {}

    class Reader(Complete):
        def enroll_member(self, request: EnrollMemberRequest) -> Member:
            customer = request.customer
            seen["email"] = customer.email.lower() if customer.email else "no e-mail"
            seen["address"] = customer.address.city if customer.address else "no address"
            seen["enterprise"] = request.provider_enterprise_id
            return member_of(request)

    async with kit_client(Reader()) as client:
        answer = await client.post(ENROL, json=enrolment(), headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert seen == {"email": "no e-mail", "address": "no address", "enterprise": None}
        given = await client.post(ENROL, json=enrolment(email="Ada@Example.com"), headers=AUTH)
    assert given.status_code == 200
    assert seen["email"] == "ada@example.com"


async def test_an_explicit_null_the_spec_forbids_is_still_a_400(kit_client):
    async with kit_client(Enroller(marks=False)) as client:
        answer = await client.post(ENROL, json=enrolment(email=None), headers=AUTH)
        listed = await client.post(LIST, json=list_body("A", providerEnterpriseId=None), headers=AUTH)
    assert answer.status_code == 400
    assert field_errors(assert_conforms(answer)) == {("#/customer/email", "field-invalid-type")}
    assert field_errors(assert_conforms(listed)) == {("#/providerEnterpriseId", "field-invalid-type")}


async def test_a_none_in_a_backend_answer_is_left_out_not_sent_as_null(kit_client):
    class Sparse(Complete):
        def list_memberships(self, request: Any) -> list[dict[str, Any]]:
            return [{**KNOWN, "tier": None, "points": None}]

    async with kit_client(Sparse()) as client:
        answer = await client.post(LIST, json=list_body("A"), headers=AUTH)
    assert assert_conforms(answer)["data"] == [KNOWN]


# --- tokens by callable, fingerprints -----------------------------------------------------------


async def test_tokens_from_a_callable_rotate_without_a_restart_and_are_counted_by_fingerprint(caplog):
    accepted = [TOKEN]
    backend = Complete()
    app = create_provider_app(backend, lambda: list(accepted))
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)

    async def lookup(client: httpx.AsyncClient, token: str) -> int:
        response = await client.post(LIST, json=list_body("A"), headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
        assert [await lookup(client, TOKEN), await lookup(client, NEXT_TOKEN)] == [200, 401]
        accepted.append(NEXT_TOKEN)  # the rotation starts: both accepted, no restart
        assert [await lookup(client, NEXT_TOKEN), await lookup(client, TOKEN)] == [200, 200]
        accepted.remove(TOKEN)  # the old one goes
        assert [await lookup(client, NEXT_TOKEN), await lookup(client, TOKEN)] == [200, 401]
    old, new = fingerprint(TOKEN), fingerprint(NEXT_TOKEN)
    assert app.token_use.counts == {old: 2, new: 2}
    assert old == hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    changes = [record.getMessage() for record in caplog.records if "fingerprint" in record.getMessage()]
    assert changes == [
        f"requests carry the token with fingerprint {old} (before: none)",
        f"requests carry the token with fingerprint {new} (before: {old})",
        f"requests carry the token with fingerprint {old} (before: {new})",
        f"requests carry the token with fingerprint {new} (before: {old})",
    ]
    assert TOKEN not in caplog.text
    assert NEXT_TOKEN not in caplog.text


def test_a_callable_giving_no_usable_token_fails_when_the_app_is_built():
    with pytest.raises(ValueError, match="at least one bearer token"):
        create_provider_app(Complete(), list)
    with pytest.raises(ValueError, match="bearer token #1") as raised:
        create_provider_app(Complete(), lambda: "has spaces")
    assert "has spaces" not in str(raised.value)


# --- health route, mounting under a prefix ------------------------------------------------------


async def test_the_health_route_answers_without_a_token_and_is_configurable():
    default = create_provider_app(Complete(), TOKEN)
    moved = create_provider_app(Complete(), TOKEN, health_path="/ops/alive")
    off = create_provider_app(Complete(), TOKEN, health_path=None)
    statuses = []
    for app, path in [(default, "/healthz"), (moved, "/ops/alive"), (moved, "/healthz"), (off, "/healthz")]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
            response = await client.get(path)
            statuses.append(response.status_code)
    assert statuses == [200, 200, 404, 404]
    with pytest.raises(ValueError, match="operation paths"):
        create_provider_app(Complete(), TOKEN, health_path=LIST)


async def test_the_kit_mounted_under_a_prefix_in_starlette_answers_there():
    # docs/provider.md: the kit inside an existing Starlette/FastAPI app, Mews configured with .../mews.
    backend = Complete()
    site = Starlette(routes=[Mount("/mews", app=create_provider_app(backend, TOKEN))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url="http://site") as client:
        listed = await client.post(f"/mews{LIST}", json=list_body("A", "B"), headers=AUTH)
        health = await client.get("/mews/healthz")
        unprefixed = await client.post(LIST, json=list_body("A"), headers=AUTH)
        unknown = await client.post("/mews/memberships/nope", json={}, headers=AUTH)
    assert listed.status_code == 200
    assert [entry["status"] for entry in listed.json()["data"]] == ["enrolled", "notFound"]
    assert (health.status_code, unprefixed.status_code) == (200, 404)
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/problem+json")


# --- visible errors -----------------------------------------------------------------------------


@contextlib.contextmanager
def unconfigured_logging() -> Iterator[logging.Logger]:
    """Logging as under a plain ``uvicorn module:app``: no root handler, none on the kit's logger.

    In place, inside the test: pytest adds its capturing handler to the root logger for each phase.
    """
    root, kit = logging.getLogger(), logging.getLogger(LOGGER_NAME)
    saved = root.handlers[:], kit.handlers[:], kit.level
    root.handlers.clear()
    kit.handlers.clear()
    kit.setLevel(logging.NOTSET)
    try:
        yield kit
    finally:
        root.handlers[:], kit.handlers[:] = saved[0], saved[1]
        kit.setLevel(saved[2])


def test_the_kit_logs_to_stderr_only_while_logging_is_not_configured(capsys):
    with unconfigured_logging() as kit:
        make_visible()
        make_visible()  # once
        assert [type(handler) for handler in kit.handlers] == [FallbackHandler]
        kit.error("visible by default")
        assert "ERROR mews_loyalty.provider: visible by default" in capsys.readouterr().err
        logging.getLogger().addHandler(logging.NullHandler())  # the application configures logging later
        kit.error("routed by the application")
        assert capsys.readouterr().err == ""


def test_a_configured_root_or_kit_logger_gets_no_handler_from_the_kit():
    with unconfigured_logging() as kit:
        logging.getLogger().addHandler(logging.NullHandler())
        make_visible()
        assert kit.handlers == []
    with unconfigured_logging() as kit:
        own = logging.NullHandler()
        kit.addHandler(own)
        make_visible()
        assert kit.handlers == [own]


async def test_a_withheld_entry_logs_pydantics_reason(capsys):
    class Wrong(Complete):
        def list_memberships(self, request: Any) -> list[dict[str, Any]]:
            return [{**KNOWN, "status": "Enrolled"}]

    with unconfigured_logging():
        app = create_provider_app(Wrong(), TOKEN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
            answer = await client.post(LIST, json=list_body("A"), headers=AUTH)
    assert answer.status_code == 500
    logged = capsys.readouterr().err
    assert "withheld an entry that does not conform" in logged
    assert "Input should be 'pending', 'enrolled'" in logged
