"""The async clients and the Reverse client are typed the same way as the blocking Connector client."""

from collections.abc import AsyncIterator
from typing import assert_type
from uuid import UUID

import httpx

from mews_loyalty import (
    AsyncConnectorClient,
    AsyncPage,
    AsyncReverseClient,
    ConnectorClient,
    ResultList,
    ReverseClient,
)
from mews_loyalty.connector import AsyncLoyaltyMembershipsResource, LoyaltyMembership, LoyaltyProgram
from mews_loyalty.reverse import (
    AsyncMembershipsResource,
    LinkMembershipResponse,
    Membership,
    MembershipsResource,
)

ENTERPRISE = UUID(int=1)


async def positive_async(mews: AsyncConnectorClient, provider: AsyncReverseClient) -> None:
    assert_type(mews.loyalty_memberships, AsyncLoyaltyMembershipsResource)
    assert_type(await mews.loyalty_memberships.get_all(), AsyncPage[LoyaltyMembership])
    every = mews.loyalty_memberships.iter_all(activity_states=["Active"])
    assert_type(every, AsyncIterator[LoyaltyMembership])
    async for membership in every:
        assert_type(membership, LoyaltyMembership)
    assert_type(await mews.loyalty_programs.update([]), ResultList[LoyaltyProgram])
    assert_type(await mews.loyalty_programs.delete([ENTERPRISE]), None)
    assert_type(provider.memberships, AsyncMembershipsResource)
    assert_type(
        await provider.memberships.list_memberships(["M-1"], mews_enterprise_id=ENTERPRISE),
        ResultList[Membership],
    )


def positive_reverse(provider: ReverseClient) -> None:
    assert_type(provider.memberships, MembershipsResource)
    found = provider.memberships.list_memberships(["M-1", "M-2"], mews_enterprise_id=ENTERPRISE)
    assert_type(found, ResultList[Membership])
    assert_type(found[0].provider_membership_id, str)
    linked = provider.memberships.update_membership_link(
        mews_enterprise_id=ENTERPRISE,
        provider_membership_id="M-1",
        mews_customer_id=ENTERPRISE,
        is_linked=True,
    )
    assert_type(linked, LinkMembershipResponse)
    assert_type(provider.list_memberships(["M-1"], enterprise_id=ENTERPRISE), ResultList[Membership])


def bring_your_own_httpx_client(proxied: httpx.Client, proxied_async: httpx.AsyncClient) -> None:
    assert_type(ConnectorClient(http_client=proxied), ConnectorClient)
    assert_type(AsyncConnectorClient(http_client=proxied_async), AsyncConnectorClient)
    ConnectorClient(http_client=proxied_async)  # type: ignore[arg-type]
    ReverseClient(base_url="https://p.example", token="t", http_client=proxied_async)  # type: ignore[arg-type]


async def negative(mews: AsyncConnectorClient, provider: ReverseClient) -> None:
    for _ in mews.loyalty_memberships.iter_all():  # type: ignore[attr-defined]
        pass
    page = mews.loyalty_memberships.get_all()
    _ = page.items  # type: ignore[attr-defined]
    provider.memberships.list_memberships(["M-1"])  # type: ignore[call-arg]
    provider.memberships.update_membership_link(  # type: ignore[call-arg]
        mews_enterprise_id=ENTERPRISE, provider_membership_id="M-1", mews_customer_id=ENTERPRISE
    )
    provider.memberships.list_memberships([1], mews_enterprise_id=ENTERPRISE)  # type: ignore[list-item]
