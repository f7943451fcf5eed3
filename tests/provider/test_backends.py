"""Backends: sync or async, what they may return, raise, or take too long for."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading

import pytest

from mews_loyalty.provider import (
    BusinessRuleViolation,
    LinkMembershipResponse,
    Membership,
    RequestTimedOut,
    create_provider_app,
    current_deadline,
)
from tests.provider._support import (
    AUTH,
    LINK,
    LIST,
    NEXT_TOKEN,
    TOKEN,
    MembershipsOnly,
    assert_conforms,
    field_errors,
    link_body,
    list_body,
)

pytestmark = pytest.mark.anyio

KNOWN = {"A": {"providerMembershipId": "A", "membershipNumber": "100", "status": "enrolled", "points": 7}}


class SyncBackend(MembershipsOnly):
    def __init__(self) -> None:
        self.threads: list[int] = []

    def list_memberships(self, request):
        self.threads.append(threading.get_ident())
        return [KNOWN[i.root] for i in request.provider_membership_ids if i.root in KNOWN]

    def link_membership(self, request):
        self.threads.append(threading.get_ident())
        if request.provider_membership_id == "blocked":
            raise BusinessRuleViolation(
                "Blocked.", errors=[{"type": _NOT_ALLOWED, "pointer": "#/providerMembershipId"}]
            )
        return request.provider_membership_id in KNOWN


class AsyncBackend(SyncBackend):
    async def list_memberships(self, request):
        await asyncio.sleep(0)
        return SyncBackend.list_memberships(self, request)

    async def link_membership(self, request):
        await asyncio.sleep(0)
        return SyncBackend.link_membership(self, request)


_NOT_ALLOWED = "https://purl.mews.com/problem/core/field-not-allowed-value"


async def exchange(kit_client, backend, **options):
    async with kit_client(backend, **options) as client:
        listed = await client.post(LIST, json=list_body("A", "B"), headers=AUTH)
        linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
        unknown = await client.put(LINK, json=link_body("B"), headers=AUTH)
        blocked = await client.put(LINK, json=link_body("blocked"), headers=AUTH)
    return [(r.status_code, assert_conforms(r)) for r in (listed, linked, unknown, blocked)]


@pytest.mark.parametrize("backend_class", [SyncBackend, AsyncBackend])
async def test_sync_and_async_backends_behave_the_same(kit_client, backend_class):
    # Providers pick def or async def by taste; the wire behaviour must not change.
    (listed, linked, unknown, blocked) = await exchange(kit_client, backend_class())
    assert listed == (
        200,
        {
            "data": [
                {"providerMembershipId": "A", "membershipNumber": "100", "points": 7, "status": "enrolled"},
                {"providerMembershipId": "B", "membershipNumber": "B", "status": "notFound"},
            ]
        },
    )
    assert linked == (200, {"success": True})
    assert unknown == (200, {"success": False})
    assert blocked[0] == 422
    assert blocked[1]["detail"] == "Blocked."
    assert field_errors(blocked[1]) == {("#/providerMembershipId", "field-not-allowed-value")}


async def test_sync_methods_run_off_the_event_loop(kit_client):
    # A blocking database call in a def method must not stall every other request.
    backend = SyncBackend()
    await exchange(kit_client, backend)
    assert backend.threads
    assert threading.get_ident() not in backend.threads


async def test_a_sync_method_may_hand_back_an_awaitable(kit_client):
    # e.g. a method assigned from functools.partial of a coroutine function: the kit awaits it.
    backend = AsyncBackend()
    backend.link_membership = functools.partial(AsyncBackend.link_membership, backend)
    (_, linked, _, _) = await exchange(kit_client, backend)
    assert linked == (200, {"success": True})


class LinkReturning(MembershipsOnly):
    def __init__(self, value):
        self.value = value

    def list_memberships(self, request):
        return []

    def link_membership(self, request):
        return self.value


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        (None, {"success": True}),
        (True, {"success": True}),
        (False, {"success": False}),
        (LinkMembershipResponse.model_validate({"success": False}), {"success": False}),
        ({"success": True}, {"success": True}),
    ],
)
async def test_link_results_map_to_the_success_flag(kit_client, value, answer):
    # Returning nothing means done; a bool or the generated response say it explicitly.
    async with kit_client(LinkReturning(value)) as client:
        response = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert (response.status_code, assert_conforms(response)) == (200, answer)


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {"success": "maybe"},
        {"succes": True},
        ["x"],
        3.5,
        Membership.model_validate(
            {"providerMembershipId": "A", "membershipNumber": "1", "status": "enrolled"}
        ),
    ],
)
async def test_link_results_that_cannot_conform_are_a_500(kit_client, value):
    # The kit never sends a 200 the spec does not describe.
    async with kit_client(LinkReturning(value)) as client:
        response = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert (response.status_code, assert_conforms(response)["status"]) == (500, 500)


class Crashing(MembershipsOnly):
    def list_memberships(self, request):
        raise RuntimeError(f"db password=hunter2 at {request.mews_enterprise_id}")

    async def link_membership(self, request):
        raise KeyError("internal detail")


async def test_a_crash_is_a_500_problem_that_leaks_nothing(kit_client, caplog):
    # The exception may hold secrets or internals: the client gets a generic problem with an
    # instance id; the log gets the traceback under that id, and never a token.
    with caplog.at_level(logging.ERROR, "mews_loyalty.provider"):
        async with kit_client(Crashing()) as client:
            listed = await client.post(LIST, json=list_body("A"), headers=AUTH)
            linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    for response in (listed, linked):
        problem = assert_conforms(response)
        assert response.status_code == 500
        assert problem["type"] == "https://purl.mews.com/problem/core/internal-server-error"
        assert "hunter2" not in response.text
        assert "internal detail" not in response.text
        assert "Traceback" not in response.text
        assert problem["instance"] in caplog.text
    assert "hunter2" in caplog.text  # the operator can still see what happened
    assert TOKEN not in caplog.text
    assert NEXT_TOKEN not in caplog.text


class Waiting(MembershipsOnly):
    """Waits for a release that never comes within the kit's timeout (the sync method observes it)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.async_released = asyncio.Event()

    def list_memberships(self, request):
        self.released.wait(current_deadline().remaining())
        current_deadline().check()
        return []

    async def link_membership(self, request):
        await self.async_released.wait()
        return True


async def test_a_backend_slower_than_the_timeout_gets_a_408_problem(kit_client):
    # Mews documents 408 for "could not answer in time"; a provider should say so before Mews gives up.
    backend = Waiting()
    try:
        async with kit_client(backend, timeout=0.05) as client:
            listed = await client.post(LIST, json=list_body("A"), headers=AUTH)
            linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    finally:
        backend.released.set()
    for response in (listed, linked):
        problem = assert_conforms(response)
        assert response.status_code == 408
        assert problem["type"] == "https://purl.mews.com/problem/core/request-timeout"


class SlowLinker(MembershipsOnly):
    """Links through an upstream slower than the kit's timeout, observing the deadline or not."""

    def __init__(self, observes_deadline: bool) -> None:
        self.observes_deadline = observes_deadline
        self.upstream_answered = threading.Event()  # never set: the upstream is slow
        self.linked: list[str] = []
        self.running = 0

    def list_memberships(self, request):
        return []

    def link_membership(self, request):
        self.running += 1
        try:
            if self.observes_deadline:
                self.upstream_answered.wait(current_deadline().remaining())  # its own I/O timeout
                current_deadline().check()  # nothing committed yet: RequestTimedOut, a true 408
            else:
                self.upstream_answered.wait(0.3)
            self.linked.append(request.provider_membership_id)
            return True
        finally:
            self.running -= 1


@pytest.mark.timeout(10)
async def test_a_sync_backend_still_running_at_the_timeout_is_not_answered_408(kit_client, caplog):
    # A 408 tells Mews nothing happened; answering it while the thread goes on to commit the link
    # would leave Mews and the provider disagreeing, and every hang would leak a thread.
    backend = SlowLinker(observes_deadline=False)
    with caplog.at_level(logging.WARNING, "mews_loyalty.provider"):
        async with kit_client(backend, timeout=0.05) as client:
            linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert backend.running == 0  # answered only once the call had ended
    assert backend.linked == ["A"]
    assert (linked.status_code, assert_conforms(linked)) == (200, {"success": True})
    assert "after the 0.05 s timeout" in caplog.text


@pytest.mark.timeout(10)
async def test_a_sync_backend_observing_the_deadline_gets_a_true_408(kit_client):
    # The deadline is the sync backend's way to give up in time, before committing anything.
    backend = SlowLinker(observes_deadline=True)
    async with kit_client(backend, timeout=0.05) as client:
        linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert linked.status_code == 408
    assert assert_conforms(linked)["type"] == "https://purl.mews.com/problem/core/request-timeout"
    assert (backend.linked, backend.running) == ([], 0)


@pytest.mark.timeout(10)
async def test_an_async_backend_is_cancelled_at_the_timeout_so_it_never_commits(kit_client):
    class SlowAsyncLinker(SlowLinker):
        cancelled = False

        async def link_membership(self, request):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            self.linked.append(request.provider_membership_id)
            return True

    backend = SlowAsyncLinker(observes_deadline=False)
    async with kit_client(backend, timeout=0.05) as client:
        linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert linked.status_code == 408
    assert backend.cancelled
    assert backend.linked == []


def test_without_a_backend_call_in_progress_nothing_expires():
    assert current_deadline().remaining() is None
    current_deadline().check()


class TimingOut(MembershipsOnly):
    def list_memberships(self, request):
        raise RequestTimedOut("The loyalty core did not answer.")

    async def link_membership(self, request):
        raise TimeoutError


async def test_backend_timeouts_are_408_problems(kit_client):
    # A backend whose own upstream timed out says so with RequestTimedOut (or a plain TimeoutError).
    async with kit_client(TimingOut()) as client:
        listed = await client.post(LIST, json=list_body("A"), headers=AUTH)
        linked = await client.put(LINK, json=link_body("A"), headers=AUTH)
    assert (listed.status_code, linked.status_code) == (408, 408)
    assert assert_conforms(listed)["detail"] == "The loyalty core did not answer."
    assert assert_conforms(linked)["detail"]


async def test_a_business_rule_may_carry_its_own_problem_type_and_title(kit_client):
    # Providers may define their own problem type URIs (customProblemType in the spec).
    class Custom(LinkReturning):
        def link_membership(self, request):
            raise BusinessRuleViolation(
                {"en": "Card expired.", "cs": "Karta vypršela."},
                problem_type="https://provider.example/problems/card-expired",
                title={"en": "Card expired", "cs": "Karta vypršela"},
            )

    async with kit_client(Custom(None)) as client:
        response = await client.put(LINK, json=link_body("A"), headers=AUTH | {"Accept-Language": "cs"})
    problem = assert_conforms(response)
    assert response.status_code == 422
    assert (problem["type"], problem["title"], problem["detail"]) == (
        "https://provider.example/problems/card-expired",
        "Karta vypršela",
        "Karta vypršela.",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"detail": ""}, "non-empty", id="empty-detail"),
        pytest.param({"detail": {}}, "non-empty", id="no-detail-language"),
        pytest.param({"problem_type": "not a uri"}, "absolute URI", id="relative-type"),
        pytest.param({"title": "t" * 256}, "at most 255", id="long-title"),
        pytest.param({"errors": [{"type": _NOT_ALLOWED, "pointer": ""}]}, "pointer", id="empty-pointer"),
    ],
)
def test_a_business_rule_that_could_not_conform_is_refused_where_it_is_raised(arguments, message):
    # Better a clear error in the backend's own traceback than a non-conforming 422 on the wire.
    with pytest.raises(ValueError, match=message):
        BusinessRuleViolation(**arguments)


def test_a_backend_missing_an_operation_method_is_refused_at_start_up():
    # Every operation of the spec needs its method; finding out on Mews' first call is too late.
    class ListOnly:
        def list_memberships(self, request):
            return []

    with pytest.raises(TypeError, match="link_membership"):
        create_provider_app(ListOnly(), [TOKEN])
