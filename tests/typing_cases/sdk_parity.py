"""Every feature integrators of Stainless-built SDKs reach for, used as a user script would, with no
casts: per-call ``timeout=``/``max_retries=``, ``with_options()``, ``with_raw_response``, request ids,
page navigation, resuming a failed export, and optional fields that read as ``X | None``.

Checked by mypy --strict (``nox -s typecheck``) and by pyright against the built wheel
(tests/test_release.py); never run.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import assert_type
from uuid import UUID

import httpx

from mews_loyalty import (
    AsyncConnectorClient,
    AsyncPage,
    AsyncReverseClient,
    ConnectorClient,
    ExportResume,
    MewsError,
    Page,
    RawResponse,
    ResultList,
    ReverseClient,
)
from mews_loyalty.connector import LoyaltyMembership, LoyaltyProgram
from mews_loyalty.reverse import LinkMembershipResponse, Membership

ENTERPRISE = UUID(int=1)
YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def blocking(mews: ConnectorClient, provider: ReverseClient) -> None:
    # Per-call options on every typed method.
    page = mews.loyalty_memberships.get_all(page_size=100, timeout=5.0, max_retries=0)
    assert_type(page, Page[LoyaltyMembership])
    added = mews.loyalty_programs.add([], timeout=httpx.Timeout(10.0, connect=2.0))
    assert_type(added, ResultList[LoyaltyProgram])
    assert_type(added.request_ids, list[str | None])
    assert_type(mews.loyalty_programs.delete([ENTERPRISE], max_retries=5), None)

    # A configured copy: the same pool and pacing window.
    patient = mews.with_options(timeout=120.0, max_retries=6)
    assert_type(patient, ConnectorClient)
    assert_type(patient.loyalty_programs.get_all(), Page[LoyaltyProgram])

    # Request ids and page navigation.
    assert_type(page.request_id, str | None)
    assert_type(page.has_next_page(), bool)
    if page.has_next_page():
        assert_type(page.get_next_page(), Page[LoyaltyMembership])
    for each in page.iter_pages():
        assert_type(each, Page[LoyaltyMembership])
        assert_type(each.request_id, str | None)

    # Raw responses of single-request calls.
    raw = mews.loyalty_memberships.with_raw_response.get_all(activity_states=["Active"], timeout=3.0)
    assert_type(raw, RawResponse[Page[LoyaltyMembership]])
    assert_type(raw.status_code, int)
    assert_type(raw.headers, httpx.Headers)
    assert_type(raw.request_id, str | None)
    assert_type(raw.parse(), Page[LoyaltyMembership])
    raw_add = mews.loyalty_programs.with_raw_response.add([])
    assert_type(raw_add.parse(), ResultList[LoyaltyProgram])
    assert_type(mews.loyalty_programs.with_raw_response.delete([ENTERPRISE]).parse(), None)

    # Resuming a failed export where it stopped.
    resume: ExportResume | None = None
    try:
        for membership in mews.loyalty_memberships.iter_all(created_utc=YEAR, max_retries=3):
            assert_type(membership, LoyaltyMembership)
            assert_type(membership.points, int | None)  # absent reads as None, no sentinel
    except MewsError as error:
        resume = error.resume
    if resume is not None:
        assert_type(resume.cursor, UUID | None)
        assert_type(resume.window, int)
        rest = mews.loyalty_memberships.iter_all(created_utc=YEAR, resume_from=resume)
        assert_type(rest, Iterator[LoyaltyMembership])

    # The Reverse client: the same options on its typed methods and shortcuts.
    found = provider.memberships.list_memberships(["M-1"], mews_enterprise_id=ENTERPRISE, timeout=2.0)
    assert_type(found, ResultList[Membership])
    assert_type(found[0].points, int | None)
    assert_type(found[0].tier, str | None)
    shortcut = provider.with_options(max_retries=1).list_memberships(
        ["M-1"], enterprise_id=ENTERPRISE, timeout=1.0
    )
    assert_type(shortcut, ResultList[Membership])
    raw_list = provider.memberships.with_raw_response.list_memberships(["M-1"], mews_enterprise_id=ENTERPRISE)
    assert_type(raw_list, RawResponse[ResultList[Membership]])
    linked = provider.link(ENTERPRISE, "M-1", ENTERPRISE, max_retries=0)
    assert_type(linked, LinkMembershipResponse)


async def awaited(mews: AsyncConnectorClient, provider: AsyncReverseClient) -> None:
    page = await mews.loyalty_memberships.get_all(timeout=5.0, max_retries=1)
    assert_type(page, AsyncPage[LoyaltyMembership])
    assert_type(page.request_id, str | None)
    if page.has_next_page():
        assert_type(await page.get_next_page(), AsyncPage[LoyaltyMembership])
    async for each in page.iter_pages():
        assert_type(each, AsyncPage[LoyaltyMembership])
    copy = mews.with_options(max_retries=0)
    assert_type(copy, AsyncConnectorClient)
    raw = await copy.loyalty_memberships.with_raw_response.get_all()
    assert_type(raw, RawResponse[AsyncPage[LoyaltyMembership]])
    every = mews.loyalty_memberships.iter_all(timeout=30.0)
    assert_type(every, AsyncIterator[LoyaltyMembership])
    try:
        async for membership in every:
            assert_type(membership.expiration_date, datetime | None)
    except MewsError as error:
        if error.resume is not None:
            again = mews.loyalty_memberships.iter_all(timeout=30.0, resume_from=error.resume)
            assert_type(again, AsyncIterator[LoyaltyMembership])
    written = await mews.loyalty_programs.update([], max_retries=2)
    assert_type(written.request_ids, list[str | None])
    found = await provider.list_memberships(["M-1"], enterprise_id=ENTERPRISE, timeout=1.0)
    assert_type(found, ResultList[Membership])


def refused(mews: ConnectorClient) -> None:
    # Mistakes a type checker catches: a wrong-typed option, and a raw response of a many-request call.
    mews.loyalty_memberships.get_all(timeout="5")  # type: ignore[arg-type]
    mews.loyalty_memberships.iter_all(resume_from="cursor")  # type: ignore[arg-type]
    mews.loyalty_memberships.with_raw_response.iter_all()  # type: ignore[attr-defined]
