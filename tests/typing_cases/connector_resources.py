"""The Connector client's typed surface: accessors, parameters and results of every operation."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import assert_type
from uuid import UUID

import mews_loyalty._generated.connector.models
from mews_loyalty import ConnectorClient, Page, ResultList
from mews_loyalty._generated.connector.client.models import (
    ActivityState,
    LoyaltyMembership,
    LoyaltyMembershipAddParameters,
    LoyaltyMembershipState,
    LoyaltyProgram,
    LoyaltyTier,
)
from mews_loyalty._generated.connector.resources import (
    LoyaltyMembershipsResource,
    LoyaltyProgramsResource,
    LoyaltyTiersResource,
)

ACCOUNT = UUID(int=1)
PROGRAM = UUID(int=2)
START = datetime(2025, 1, 1, tzinfo=UTC)


def positive(mews: ConnectorClient) -> None:
    assert_type(mews.loyalty_memberships, LoyaltyMembershipsResource)
    assert_type(mews.loyalty_programs, LoyaltyProgramsResource)
    assert_type(mews.loyalty_tiers, LoyaltyTiersResource)

    page = mews.loyalty_memberships.get_all(account_ids=[ACCOUNT, "3fa85f64-5717-4562-b3fc-2c963f66afa6"])
    assert_type(page, Page[LoyaltyMembership])
    assert_type(page.items, list[LoyaltyMembership])
    assert_type(page.next_cursor, UUID | None)
    assert_type(
        mews.loyalty_memberships.get_all(page_size=10, cursor=page.next_cursor), Page[LoyaltyMembership]
    )
    every = mews.loyalty_memberships.iter_all(
        activity_states=[ActivityState.ACTIVE, "Deleted"],
        created_utc=(START, datetime(2025, 3, 1, tzinfo=UTC)),
        updated_utc={"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": START},
        membership_states=["Enrolled"],
    )
    assert_type(every, Iterator[LoyaltyMembership])
    for membership in every:
        assert_type(membership.id, UUID)
        assert_type(membership.is_primary, bool)
        # Forward-compatible reads: a value Mews adds later arrives as its string.
        assert_type(membership.state, LoyaltyMembershipState | str)
        if isinstance(membership.state, LoyaltyMembershipState):
            assert_type(membership.state.value, str)

    added = mews.loyalty_memberships.add(
        [
            {"AccountId": ACCOUNT, "LoyaltyProgramId": PROGRAM, "IsPrimary": True, "State": "New"},
            LoyaltyMembershipAddParameters(account_id=ACCOUNT, loyalty_program_id=PROGRAM, is_primary=False),
        ],
        chain_id=None,
    )
    assert_type(added, ResultList[LoyaltyMembership])
    assert_type(
        mews.loyalty_memberships.update([{"LoyaltyMembershipId": ACCOUNT, "State": {"Value": "Canceled"}}]),
        ResultList[LoyaltyMembership],
    )
    assert_type(mews.loyalty_memberships.delete([ACCOUNT, "3fa85f64-5717-4562-b3fc-2c963f66afa6"]), None)

    assert_type(mews.loyalty_programs.get_all(), Page[LoyaltyProgram])
    assert_type(
        mews.loyalty_programs.add(
            [{"Name": "Gold club", "Code": "GOLD", "Type": "Hotel", "Subscription": "Free"}]
        ),
        ResultList[LoyaltyProgram],
    )
    assert_type(mews.loyalty_tiers.iter_all(loyalty_program_ids=[PROGRAM]), Iterator[LoyaltyTier])
    assert_type(
        mews.loyalty_tiers.update([{"LoyaltyTierId": PROGRAM, "Ordering": {"Value": 2}}]),
        ResultList[LoyaltyTier],
    )


def pydantic_items(
    mews: ConnectorClient, tier: mews_loyalty._generated.connector.models.LoyaltyTierAddParameters
) -> None:
    # The pydantic models are accepted as items too, as the runtime sends them.
    assert_type(mews.loyalty_tiers.add([tier]), ResultList[LoyaltyTier])


def negative(mews: ConnectorClient, membership: LoyaltyMembership) -> None:
    mews.loyalty_memberships.iter_all(acount_ids=[ACCOUNT])  # type: ignore[arg-type]
    mews.loyalty_memberships.iter_all(account_ids=[42])  # type: ignore[list-item]
    mews.loyalty_memberships.iter_all(activity_states=["Archived"])  # type: ignore[list-item]
    mews.loyalty_memberships.iter_all(account_ids=ACCOUNT)  # type: ignore[arg-type]
    mews.loyalty_memberships.get_all(page_size="100")  # type: ignore[arg-type]
    mews.loyalty_memberships.get_all([ACCOUNT])  # type: ignore[call-arg]
    mews.loyalty_memberships.get_everything()  # type: ignore[attr-defined]
    mews.loyalty_membership.get_all()  # type: ignore[attr-defined]
    _ = membership.nickname  # type: ignore[attr-defined]
    _ = membership.state.value  # type: ignore[attr-defined]
    mews.loyalty_tiers.get_all()  # type: ignore[call-arg]
    mews.loyalty_memberships.add([{"AccountId": ACCOUNT, "LoyaltyProgramId": PROGRAM}])  # type: ignore[list-item]
    mews.loyalty_memberships.add([{"AcountId": ACCOUNT, "LoyaltyProgramId": PROGRAM, "IsPrimary": True}])  # type: ignore[list-item]
    mews.loyalty_memberships.add([{"AccountId": ACCOUNT, "LoyaltyProgramId": PROGRAM, "IsPrimary": "yes"}])  # type: ignore[list-item]
    mews.loyalty_memberships.delete([42])  # type: ignore[list-item]
    mews.loyalty_memberships.iter_all(page_size=10, cursor=None)  # type: ignore[arg-type]
    count: int = mews.loyalty_memberships.add([])  # type: ignore[assignment]
    print(count)
