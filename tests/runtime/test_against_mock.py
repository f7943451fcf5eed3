"""The SDK's scenarios against the stateful Connector mock as a real HTTP server on 127.0.0.1.

The other runtime tests talk to ``httpx.MockTransport`` fakes that answer what each test expects; here
the answers come from the mock's own paging, validation, business rules, rate limit and faults, over
a socket, for the blocking and the async client alike (``kind``). Rate limits run on one FakeTime
shared by the SDK and the mock, so every 429 and every wait is exact and costs no wall time; one
test also sleeps for real, to show the SDK's waits are real waits.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from mews_loyalty import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    RequestValidationError,
    ServerError,
)
from mews_loyalty._generated.connector.client import models
from mews_loyalty._spec.catalog import catalog
from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN
from mews_loyalty._transport.retry import DEFAULT_MAX_RETRIES
from mews_loyalty.mock.connector import fault_statuses
from mews_loyalty.mock.connector.faults import FaultInjector, FaultPlan

from .mock_server import KINDS, MockServers, fill, membership, program

OPERATIONS = catalog("connector").resources()
RESOURCES = sorted(OPERATIONS)
MEMBERSHIPS_GET_ALL = OPERATIONS["loyalty_memberships"]["get_all"].operation_id
MEMBERSHIPS_ADD = OPERATIONS["loyalty_memberships"]["add"].operation_id
MEMBERSHIPS_UPDATE = OPERATIONS["loyalty_memberships"]["update"].operation_id
PROGRAMS_DELETE = OPERATIONS["loyalty_programs"]["delete"].operation_id


@pytest.fixture
def mocks(fake_time):
    with MockServers(fake_time) as servers:
        yield servers


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


# --- pagination -------------------------------------------------------------------------------------


def test_2500_added_memberships_come_back_once_each_newest_first(mocks, kind):
    # The everyday bulk load and export: three add batches in, three pages out, and not one membership
    # lost, repeated or out of order at the 1000-item seams of either direction.
    server = mocks.start()
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    added = client.loyalty_memberships.add([membership(club.id, n) for n in range(2500)])
    assert [len(seen.body["LoyaltyMemberships"]) for seen in server.log.of(MEMBERSHIPS_ADD)] == [
        1000,
        1000,
        500,
    ]
    assert [item.membership_number for item in added] == [f"M-{n:05d}" for n in range(2500)]

    exported = [item.id for item in client.loyalty_memberships.iter_all()]
    assert len(set(exported)) == 2500
    assert exported == [item.id for item in reversed(added)]
    pages = server.log.of(MEMBERSHIPS_GET_ALL)
    assert [seen.status for seen in pages] == [200, 200, 200]
    assert [seen.body["Limitation"] for seen in pages] == [
        {"Count": 1000},
        {"Count": 1000, "Cursor": str(exported[999])},
        {"Count": 1000, "Cursor": str(exported[1999])},
    ]


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_empty_store_costs_one_request(mocks, kind, resource):
    # Nothing to export must end on the real server's empty page (Cursor null), not loop or fail.
    server = mocks.start()
    filters = {"loyalty_program_ids": [uuid.uuid4()]} if resource == "loyalty_tiers" else {}
    assert list(getattr(server.client(kind), resource).iter_all(**filters)) == []
    assert server.log.statuses(OPERATIONS[resource]["get_all"].operation_id) == [200]


def test_an_exact_multiple_of_the_page_size_ends_at_the_empty_page(mocks, kind):
    # A full last page looks like "more to come": the SDK must ask once more, get the server's empty
    # page, and stop there without repeating or dropping anything.
    server = mocks.start()
    _, ids = fill(server, 2000)
    server.log.clear()
    exported = [item.id for item in server.client(kind).loyalty_memberships.iter_all(page_size=1000)]
    assert exported == ids[::-1]
    assert [seen.body["Limitation"] for seen in server.log.of(MEMBERSHIPS_GET_ALL)] == [
        {"Count": 1000},
        {"Count": 1000, "Cursor": str(ids[1000])},
        {"Count": 1000, "Cursor": str(ids[0])},
    ]


def test_get_all_hands_back_one_page_with_the_oldest_id_as_cursor(mocks, kind):
    # Callers paging by hand rely on the cursor being the page's oldest id and on a short page being
    # the last one; iter_all must stop at that short page without a further request.
    server = mocks.start()
    _, ids = fill(server, 7)
    server.log.clear()
    memberships = server.client(kind).loyalty_memberships

    first = memberships.get_all(page_size=3)
    assert [item.id for item in first] == [ids[6], ids[5], ids[4]]
    assert first.cursor == ids[4]
    assert first.next_cursor == ids[4]
    second = memberships.get_all(page_size=3, cursor=first.next_cursor)
    assert [item.id for item in second] == [ids[3], ids[2], ids[1]]
    third = memberships.get_all(page_size=3, cursor=second.next_cursor)
    assert [item.id for item in third] == [ids[0]]
    assert third.cursor == ids[0]
    assert third.is_last
    assert third.next_cursor is None

    server.log.clear()
    assert [item.id for item in memberships.iter_all(page_size=3)] == ids[::-1]
    assert len(server.log.of(MEMBERSHIPS_GET_ALL)) == 3


# --- batching ---------------------------------------------------------------------------------------

SPLITS = [(0, []), (1, [1]), (1000, [1000]), (1001, [1000, 1])]


@pytest.mark.parametrize(("count", "batches"), SPLITS, ids=[str(count) for count, _ in SPLITS])
def test_add_sends_batches_of_at_most_1000_and_returns_every_result(mocks, kind, count, batches):
    # The server refuses more than 1000 items per call; the caller's list must arrive whole, in order,
    # in as few requests as the limit allows (none for an empty list).
    server = mocks.start()
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    added = client.loyalty_memberships.add([membership(club.id, n) for n in range(count)])
    sent = server.log.of(MEMBERSHIPS_ADD)
    assert [len(seen.body["LoyaltyMemberships"]) for seen in sent] == batches
    assert [seen.status for seen in sent] == [200] * len(batches)
    assert [item.membership_number for item in added] == [f"M-{n:05d}" for n in range(count)]
    assert len(server.store["loyalty_memberships"]) == count


def test_a_refused_second_batch_keeps_what_the_first_stored(mocks, kind):
    # Only the server knows a program id is wrong. When it refuses the second batch the first is
    # already stored, and the error must say how far the call got so the caller can resume.
    server = mocks.start()
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    unknown = uuid.uuid4()
    items = [membership(club.id, n) for n in range(1000)] + [membership(unknown, 1000)]
    with pytest.raises(BadRequestError) as caught:
        client.loyalty_memberships.add(items)
    assert server.log.statuses(MEMBERSHIPS_ADD) == [200, 400]
    assert caught.value.completed_batches == 1
    assert [item.membership_number for item in caught.value.completed_results] == [
        f"M-{n:05d}" for n in range(1000)
    ]
    assert str(unknown) in caught.value.message
    # The server names the item within its request ([0]); the error names it in the caller's list.
    assert "LoyaltyMemberships[1000]" in caught.value.message
    assert "LoyaltyMemberships[0]" not in caught.value.message
    assert "LoyaltyMemberships[0:1000] were written" in str(caught.value)
    assert caught.value.first_failed_item == 1000
    assert len(server.store["loyalty_memberships"]) == 1000


# --- programs, tiers and memberships together -------------------------------------------------------


def test_programs_tiers_and_memberships_reference_update_and_guard_each_other(mocks, kind):
    # The three resources are linked on the server (tiers live in a program, memberships point at
    # both); typed models must round-trip through every write, and a program in use must not go away.
    server = mocks.start()
    client = server.client(kind)
    [club] = client.loyalty_programs.add(
        [
            models.LoyaltyProgramAddParameters(
                name="Platinum Club",
                code="PC01",
                type_=models.LoyaltyProgramType.HOTEL,
                subscription=models.LoyaltyProgramSubscription.FREE,
            )
        ]
    )
    silver, gold = client.loyalty_tiers.add(
        [
            models.LoyaltyTierAddParameters(loyalty_program_id=club.id, name="Silver", code="S1", ordering=2),
            models.LoyaltyTierAddParameters(loyalty_program_id=club.id, name="Gold", code="G1", ordering=1),
        ]
    )
    assert (silver.loyalty_program_id, gold.loyalty_program_id) == (club.id, club.id)
    members = client.loyalty_memberships.add(
        [membership(club.id, n, LoyaltyTierId=silver.id) for n in range(2)]
    )
    assert [item.loyalty_tier_id for item in members] == [silver.id, silver.id]

    [renamed] = client.loyalty_programs.update(
        [
            models.LoyaltyProgramUpdateParameters(
                loyalty_program_id=club.id, name=models.LoyaltyProgramNameUpdateValue("Platinum Club+")
            )
        ]
    )
    assert (renamed.name, renamed.code) == ("Platinum Club+", "PC01")
    [reordered] = client.loyalty_tiers.update(
        [models.LoyaltyTierUpdateParameters(loyalty_tier_id=silver.id, ordering=models.Int32UpdateValue(3))]
    )
    assert (reordered.ordering, reordered.name) == (3, "Silver")
    [promoted] = client.loyalty_memberships.update(
        [
            models.LoyaltyMembershipUpdateParameters(
                loyalty_membership_id=members[0].id, loyalty_tier_id=models.GuidNullableUpdateValue(gold.id)
            )
        ]
    )
    assert promoted.loyalty_tier_id == gold.id

    assert [item.name for item in client.loyalty_programs.iter_all()] == ["Platinum Club+"]
    tiers = client.loyalty_tiers.iter_all(loyalty_program_ids=[club.id])
    assert {tier.code: tier.ordering for tier in tiers} == {"S1": 3, "G1": 1}
    listed = client.loyalty_memberships.iter_all(loyalty_program_ids=[club.id])
    assert {item.id: item.loyalty_tier_id for item in listed} == {
        members[0].id: gold.id,
        members[1].id: silver.id,
    }

    with pytest.raises(ForbiddenError) as caught:
        client.loyalty_programs.delete([club.id])
    [refused] = server.log.of(PROGRAMS_DELETE)  # a refused write is not retried
    assert refused.status == 403
    assert caught.value.message == (
        f"The loyalty program {club.id} still has 2 active loyalty memberships; delete them first."
    )
    assert caught.value.request_id is not None
    assert caught.value.request_id == refused.request_id
    assert [item.id for item in client.loyalty_programs.iter_all()] == [club.id]

    client.loyalty_memberships.delete([item.id for item in members])
    client.loyalty_programs.delete([club.id])
    assert list(client.loyalty_programs.iter_all()) == []


def test_update_values_keep_set_and_clear_a_nullable_field(mocks, kind):
    # Update wrappers are three-valued: a field left out keeps its value, {"Value": x} sets it and
    # {"Value": null} clears it. Mixing up "left out" and "null" would silently wipe data.
    server = mocks.start()
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    [member] = client.loyalty_memberships.add([membership(club.id, 1, Points=10)])
    assert member.points == 10

    def update(**changes):
        [result] = client.loyalty_memberships.update(
            [models.LoyaltyMembershipUpdateParameters(loyalty_membership_id=member.id, **changes)]
        )
        return result, server.log.of(MEMBERSHIPS_UPDATE)[-1].body["LoyaltyMembershipUpdates"]

    pending = models.LoyaltyMembershipStateUpdateValue(models.LoyaltyMembershipState.PENDING)
    kept, sent = update(state=pending)
    assert sent == [{"LoyaltyMembershipId": str(member.id), "State": {"Value": "Pending"}}]
    assert (kept.points, kept.state) == (10, models.LoyaltyMembershipState.PENDING)

    changed, sent = update(points=models.Int32NullableUpdateValue(42))
    assert sent == [{"LoyaltyMembershipId": str(member.id), "Points": {"Value": 42}}]
    assert changed.points == 42

    cleared, sent = update(points=models.Int32NullableUpdateValue(None))
    assert sent == [{"LoyaltyMembershipId": str(member.id), "Points": {"Value": None}}]
    assert cleared.points is None

    [stored] = client.loyalty_memberships.get_all(loyalty_membership_ids=[member.id])
    assert stored.points is None
    assert stored.state == models.LoyaltyMembershipState.PENDING
    assert stored.membership_number == "M-00001"


# --- soft delete ------------------------------------------------------------------------------------


def test_deleted_memberships_leave_the_default_listing_but_stay_listable(mocks, kind):
    # Mews deletes softly: an export of active memberships must drop them, an audit must still find
    # them under ActivityStates ["Deleted"], and a retried delete must not fail.
    server = mocks.start()
    _, ids = fill(server, 5)
    memberships = server.client(kind).loyalty_memberships
    memberships.delete([ids[1], str(ids[3])])
    assert [item.id for item in memberships.iter_all()] == [ids[4], ids[2], ids[0]]
    assert [item.id for item in memberships.iter_all(activity_states=["Deleted"])] == [ids[3], ids[1]]
    assert [item.id for item in memberships.iter_all(activity_states=["Active", "Deleted"])] == ids[::-1]
    memberships.delete([ids[1]])
    assert [item.id for item in memberships.iter_all(activity_states=["Deleted"])] == [ids[3], ids[1]]


# --- validation before sending ----------------------------------------------------------------------


def test_an_interval_over_three_months_is_refused_for_one_page_before_anything_is_sent(mocks, kind):
    # The server would refuse it too, but only after a round trip that counts against the rate limit;
    # and at the edge (31 January to 30 April is exactly three months) SDK and server must agree.
    server = mocks.start()
    memberships = server.client(kind).loyalty_memberships
    start, edge = datetime(2025, 1, 31, tzinfo=UTC), datetime(2025, 4, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="longer than 3 months"):
        memberships.get_all(created_utc=(start, edge + timedelta(microseconds=1)))
    with pytest.raises(RequestValidationError, match="UpdatedUtc"):
        memberships.get_all(updated_utc={"StartUtc": start, "EndUtc": start + timedelta(days=120)})
    assert server.log.of() == []

    assert list(memberships.iter_all(created_utc=(start, edge))) == []
    assert server.log.statuses(MEMBERSHIPS_GET_ALL) == [200]


def test_a_year_by_created_utc_walks_windows_and_returns_each_membership_once(mocks, kind, fake_time):
    # Exporting a year used to mean splitting it by hand; the mock enforces the 3-month limit itself, so
    # a window one microsecond too long would come back as a 400 here.
    server = mocks.start(now=lambda: datetime.fromtimestamp(fake_time.now, UTC))  # stamps on the fake clock
    client = server.client(kind)
    [club] = client.loyalty_programs.add([program()])
    start = datetime.fromtimestamp(fake_time.now, UTC)
    created = []  # (id, when the mock created it)
    for month in range(15):  # three memberships every 28 days, spread over more than a year
        added = client.loyalty_memberships.add([membership(club.id, month * 10 + n) for n in range(3)])
        created += [(item.id, datetime.fromtimestamp(fake_time.now, UTC)) for item in added]
        fake_time.now += 28 * 86400
    end = start + timedelta(days=366)
    inside = [identifier for identifier, moment in created if start <= moment < end]
    assert 0 < len(inside) < len(created)  # the interval leaves some out, so its end is exercised
    server.log.clear()

    walked = [item.id for item in client.loyalty_memberships.iter_all(created_utc=(start, end), page_size=5)]
    assert sorted(walked) == sorted(inside)
    assert len(walked) == len(set(walked))
    windows = [seen.body["CreatedUtc"] for seen in server.log.of(MEMBERSHIPS_GET_ALL)]
    assert all(seen.status == 200 for seen in server.log.of(MEMBERSHIPS_GET_ALL))
    distinct = list(dict.fromkeys((w["StartUtc"], w["EndUtc"]) for w in windows))
    assert len(distinct) == 5  # 12 months and a day: four 3-month windows and the rest
    assert datetime.fromisoformat(distinct[0][0]) == start
    assert datetime.fromisoformat(distinct[-1][1]) == end
    assert all(left[1] == right[0] for left, right in pairwise(distinct))


ACCOUNT = uuid.UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6")


@pytest.mark.parametrize(
    "spelled",
    ["{3FA85F64-5717-4562-B3FC-2C963F66AFA6}", "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6", ACCOUNT.hex],
    ids=["braced", "urn", "32-hex"],
)
def test_an_id_spelled_another_common_way_is_sent_in_canonical_form(mocks, kind, spelled):
    # Pasted from a database tool or a log, these used to pass the SDK's check and come back 400.
    server = mocks.start()
    assert server.client(kind).loyalty_memberships.get_all(account_ids=[spelled]).items == []
    (seen,) = server.log.of(MEMBERSHIPS_GET_ALL)
    assert (seen.status, seen.body["AccountIds"]) == (200, [str(ACCOUNT)])


def test_a_date_time_without_seconds_is_refused_before_anything_is_sent(mocks, kind):
    # RFC 3339 requires the seconds; the mock (like Mews) answers 400, so the SDK says so first.
    server = mocks.start()
    interval = {"StartUtc": "2025-01-01T00:00Z", "EndUtc": "2025-01-02T00:00:00Z"}
    with pytest.raises(
        RequestValidationError, match=r"CreatedUtc\.StartUtc: Input should be a valid date-time"
    ):
        server.client(kind).loyalty_memberships.get_all(created_utc=interval)
    assert server.log.of() == []


# --- typed errors from the server -------------------------------------------------------------------

WRONG_TOKENS = [
    ("client_token", "The ClientToken is not valid."),
    ("access_token", "The AccessToken is not valid or has expired."),
]


@pytest.mark.parametrize(("wrong", "message"), WRONG_TOKENS, ids=[name for name, _ in WRONG_TOKENS])
def test_wrong_tokens_raise_authentication_error_with_the_servers_request_id(mocks, kind, wrong, message):
    # Support asks for the Request-Id of a failed call; it must be the one the server sent, and a
    # 401 must not be retried (the same tokens fail the same way).
    server = mocks.start()
    client = server.client(kind, **{wrong: "WRONGTOKEN0123456789"})
    with pytest.raises(AuthenticationError) as caught:
        client.loyalty_programs.get_all()
    [seen] = server.log.of()
    assert seen.status == caught.value.status == 401
    assert caught.value.request_id is not None
    assert caught.value.request_id == seen.request_id
    assert caught.value.message == message
    assert "WRONGTOKEN0123456789" not in str(caught.value)


def test_an_unknown_program_id_raises_bad_request_error_with_the_servers_message(mocks, kind):
    # The spec documents 400 for ids that do not exist (specs/README.md); callers catch
    # BadRequestError and show its message, so it must be the server's, and the write must have
    # been sent exactly once.
    server = mocks.start()
    client = server.client(kind)
    unknown = uuid.uuid4()
    with pytest.raises(BadRequestError) as caught:
        client.loyalty_programs.update([{"LoyaltyProgramId": str(unknown), "Name": {"Value": "Renamed"}}])
    assert caught.value.message == (
        f"Invalid LoyaltyProgramUpdates[0].LoyaltyProgramId: there is no active loyalty program {unknown}."
    )
    with pytest.raises(BadRequestError, match=str(unknown)):
        client.loyalty_memberships.add([membership(unknown, 1)])
    assert [seen.status for seen in server.log.of()] == [400, 400]
    assert len(server.store["loyalty_memberships"]) == 0


# --- rate limit -------------------------------------------------------------------------------------

LIMIT = (5, 1.0)  # requests per seconds, on the mock and in the SDK's pacing alike


def test_pacing_at_the_servers_limit_draws_no_429(mocks, kind):
    # A paced export must never be turned away: every 429 wastes a request and a wait. 98 memberships
    # in pages of 5 are 20 requests, four windows' worth at 5 per second.
    loader = mocks.start(rate_limit=None)
    _, ids = fill(loader, 98)
    server = mocks.start(store=loader.store, rate_limit=LIMIT)
    client = server.client(kind, rate_limit=LIMIT)
    assert [item.id for item in client.loyalty_memberships.iter_all(page_size=5)] == ids[::-1]
    assert server.log.statuses(MEMBERSHIPS_GET_ALL) == [200] * 20
    # One wait for a free slot after each 5 requests, as long as the SDK's (slightly longer) window.
    assert mocks.time.sleeps == [pytest.approx(LIMIT[1] * (1 + WINDOW_SAFETY_MARGIN))] * 3


def test_without_pacing_429s_are_retried_as_retry_after_says(mocks, kind):
    # Unpaced, the same export runs into the limit after every 5 requests; the SDK must wait exactly
    # what Retry-After asks (not its own backoff), repeat the refused page, and finish the export.
    loader = mocks.start(rate_limit=None)
    _, ids = fill(loader, 98)
    server = mocks.start(store=loader.store, rate_limit=LIMIT)
    client = server.client(kind, rate_limit=None)
    assert [item.id for item in client.loyalty_memberships.iter_all(page_size=5)] == ids[::-1]
    seen = server.log.of(MEMBERSHIPS_GET_ALL)
    assert [request.status for request in seen] == ([200] * 5 + [429]) * 3 + [200] * 5
    assert [request.retry_after for request in seen if request.status == 429] == ["1", "1", "1"]
    assert mocks.time.sleeps == [1.0, 1.0, 1.0]
    for refused, retry in pairwise(seen):
        if refused.status == 429:
            assert retry.body == refused.body


def test_retry_after_is_really_waited_on_the_wall_clock(mocks):
    # The fake-clock tests prove the arithmetic; this one proves the SDK really sleeps what the mock
    # asks for. The mock counts on the injected clock, which only the SDK's waits move, so the burst
    # that provokes the 429 lands inside one window however slow the machine. Costs about one second.
    loader = mocks.start(rate_limit=None)
    _, ids = fill(loader, 8)
    server = mocks.start(store=loader.store, rate_limit=(3, 1.0))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)
        mocks.time.sleep(seconds)

    client = server.client("sync", rate_limit=None, sleep=sleep)
    started = time.monotonic()
    assert [item.id for item in client.loyalty_memberships.iter_all(page_size=2)] == ids[::-1]
    elapsed = time.monotonic() - started
    seen = server.log.of(MEMBERSHIPS_GET_ALL)
    assert [request.status for request in seen] == [200, 200, 200, 429, 200, 200]  # 4 full pages, 1 empty
    assert waits == [float(request.retry_after) for request in seen if request.status == 429] == [1.0]
    assert elapsed >= sum(waits)


# --- injected faults --------------------------------------------------------------------------------

FAULTS = "500=0.3"
FAULT_EXPORT_ITEMS, FAULT_PAGE_SIZE = 1000, 100
FAULT_EXPORT_REQUESTS = FAULT_EXPORT_ITEMS // FAULT_PAGE_SIZE + 1  # full pages, then the empty one


def fault_plan(seed: int) -> FaultPlan:
    return FaultPlan.parse(FAULTS, allowed_statuses=fault_statuses(), seed=seed)


def faulty_export(seed: int) -> tuple[list[int], int | None] | None:
    """The statuses an export draws from the seeded faults, and the status of the draw after it.

    None when some page would fail more often in a row than the SDK retries.
    """
    faults = FaultInjector(fault_plan(seed))
    statuses: list[int] = []
    failures_in_a_row = 0
    while statuses.count(200) < FAULT_EXPORT_REQUESTS:
        status = faults.draw().status or 200
        statuses.append(status)
        failures_in_a_row = failures_in_a_row + 1 if status != 200 else 0
        if failures_in_a_row > DEFAULT_MAX_RETRIES:
            return None
    return statuses, faults.draw().status


def fault_seed() -> int:
    """The first seed whose export draws several 500s and whose next request, the write, draws one."""
    for seed in range(1000):
        drawn = faulty_export(seed)
        if drawn is not None and drawn[0].count(500) >= 2 and drawn[1] == 500:
            return seed
    raise LookupError("no seed fits the fault scenario")


def test_reads_are_retried_through_500s_but_a_write_that_draws_one_is_not(mocks, kind):
    # A 500 on a read is harmless to repeat; on a write the server may have acted, so a retry could
    # add a membership twice. Both rules, against the same server and the same seeded faults.
    loader = mocks.start()
    program_id, ids = fill(loader, FAULT_EXPORT_ITEMS)
    seed = fault_seed()
    drawn = faulty_export(seed)
    assert drawn is not None
    expected, _ = drawn
    server = mocks.start(store=loader.store, faults=fault_plan(seed))
    client = server.client(kind)

    exported = [item.id for item in client.loyalty_memberships.iter_all(page_size=FAULT_PAGE_SIZE)]
    assert exported == ids[::-1]
    pages = server.log.of(MEMBERSHIPS_GET_ALL)
    assert [seen.status for seen in pages] == expected
    for failed, retry in pairwise(pages):
        if failed.status == 500:
            assert retry.body == failed.body  # the same page asked again, not skipped
    assert len(mocks.time.sleeps) == expected.count(500)

    with pytest.raises(ServerError) as caught:
        client.loyalty_memberships.add([membership(program_id, FAULT_EXPORT_ITEMS)])
    [write] = server.log.of(MEMBERSHIPS_ADD)
    assert write.status == 500
    assert caught.value.request_id == write.request_id
    assert len(mocks.time.sleeps) == expected.count(500)  # no wait either: nothing was retried
    assert len(server.store["loyalty_memberships"]) == FAULT_EXPORT_ITEMS
