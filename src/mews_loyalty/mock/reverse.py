"""The reference loyalty provider: the provider kit around an in-memory backend.

    mews-loyalty mock reverse --token T [--token T2] [--port 8081] [--seed-data] [--delete-on-unlink]

Tokens may also come from ``MEWS_PROVIDER_TOKENS`` (comma separated), which keeps them out of the
process list. ``--seed-data`` loads ``SEED_MEMBERSHIPS`` (one membership in each state) and
``SEED_LINKS``; without it the provider knows nothing and every id is ``notFound``.

Linking rules (``success`` says whether the membership ends up in the requested state):

- an unknown membership cannot be linked: ``{"success": false}``;
- a canceled or declined membership cannot be linked, nor one linked to another customer of the
  same enterprise: 422 problem (unlink it first);
- links are kept per Mews enterprise: (enterprise, membership) -> customer; linking again to the
  same customer, or unlinking what is not linked, succeeds and changes nothing (PUT is idempotent);
- unlinking keeps the membership by default. The spec lets a provider delete a membership once it
  is unlinked; ``delete_on_unlink=True`` (``--delete-on-unlink``) does so when no enterprise links
  it any more, after which the id is ``notFound``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from uuid import UUID

from starlette.applications import Starlette

from mews_loyalty.provider import (
    DEFAULT_PORT,
    BusinessRuleViolation,
    LinkMembershipRequest,
    ListMembershipsRequest,
    Membership,
    MembershipStatus,
    create_provider_app,
    serve,
)

TOKENS_ENVIRONMENT_VARIABLE = "MEWS_PROVIDER_TOKENS"
UNLINKABLE = frozenset({MembershipStatus.canceled, MembershipStatus.declined, MembershipStatus.not_found})

SEED_ENTERPRISE_ID = UUID("00000000-0000-4000-8000-00000000e001")
SEED_CUSTOMER_ID = UUID("00000000-0000-4000-8000-00000000c001")
# Wire names: the generated models take their aliases at runtime (and mypy only knows the field names).
SEED_MEMBERSHIPS: tuple[Membership, ...] = tuple(
    Membership.model_validate(entry)
    for entry in (
        {
            "providerMembershipId": "M-1001",
            "membershipNumber": "1001-2002-3003",
            "status": "enrolled",
            "tier": "Gold",
            "points": 12500,
            "expiresAt": "2027-12-31T23:59:59Z",
            "deeplinkUrl": "https://loyalty-provider.example.com/members/M-1001",
        },
        {
            "providerMembershipId": "M-1002",
            "membershipNumber": "1002-2002-3003",
            "status": "enrolled",
            "tier": "Silver",
            "points": 830,
        },
        {
            "providerMembershipId": "M-1003",
            "membershipNumber": "1003-2002-3003",
            "status": "enrolled",
            "tier": "Platinum",
            "points": 250000,
            "expiresAt": "2028-06-30T00:00:00+02:00",
        },
        # No number yet (pending, and below declined): the schema requires one, so it echoes the id.
        {"providerMembershipId": "M-1004", "membershipNumber": "M-1004", "status": "pending"},
        {
            "providerMembershipId": "M-1005",
            "membershipNumber": "1005-2002-3003",
            "status": "canceled",
            "tier": "Bronze",
            "points": 0,
            "expiresAt": "2024-01-31T12:00:00-05:00",
        },
        {"providerMembershipId": "M-1006", "membershipNumber": "M-1006", "status": "declined"},
    )
)
# (enterprise, membership id) -> customer
SEED_LINKS: dict[tuple[UUID, str], UUID] = {(SEED_ENTERPRISE_ID, "M-1001"): SEED_CUSTOMER_ID}


class InMemoryProvider:
    """A provider backend in memory. Async methods: they run on the event loop, one at a time."""

    def __init__(
        self,
        memberships: Iterable[Membership] = (),
        links: dict[tuple[UUID, str], UUID] | None = None,
        *,
        delete_on_unlink: bool = False,
    ) -> None:
        self.memberships = {m.provider_membership_id: m for m in memberships}
        self.links = dict(links or {})
        self.delete_on_unlink = delete_on_unlink

    @classmethod
    def seeded(cls, *, delete_on_unlink: bool = False) -> InMemoryProvider:
        return cls(SEED_MEMBERSHIPS, SEED_LINKS, delete_on_unlink=delete_on_unlink)

    async def list_memberships(self, request: ListMembershipsRequest) -> list[Membership]:
        requested = dict.fromkeys(membership_id.root for membership_id in request.provider_membership_ids)
        return [self.memberships[key] for key in requested if key in self.memberships]

    async def link_membership(self, request: LinkMembershipRequest) -> bool:
        key = (request.mews_enterprise_id, request.provider_membership_id)
        linked_to = self.links.get(key)
        if not request.is_linked:
            if linked_to == request.mews_customer_id:
                del self.links[key]
                self._forget_if_unlinked(request.provider_membership_id)
            return True
        membership = self.memberships.get(request.provider_membership_id)
        if membership is None:
            return False
        if membership.status in UNLINKABLE:
            raise BusinessRuleViolation(
                {
                    "en": f"A {membership.status.value} membership cannot be linked.",
                    "cs": "Zrušené nebo zamítnuté členství nelze propojit.",
                    "de": "Eine stornierte oder abgelehnte Mitgliedschaft kann nicht verknüpft werden.",
                },
                errors=[{"type": _NOT_ALLOWED, "pointer": "#/providerMembershipId"}],
            )
        if linked_to is not None and linked_to != request.mews_customer_id:
            raise BusinessRuleViolation(
                {
                    "en": "The membership is linked to another customer of this enterprise; unlink it first.",
                    "cs": "Členství je propojeno s jiným zákazníkem tohoto podniku; nejprve jej odpojte.",
                    "de": "Die Mitgliedschaft ist mit einem anderen Kunden dieses Betriebs verknüpft; "
                    "lösen Sie diese Verknüpfung zuerst.",
                },
                errors=[{"type": _NOT_ALLOWED, "pointer": "#/mewsCustomerId"}],
            )
        self.links[key] = request.mews_customer_id
        return True

    def _forget_if_unlinked(self, membership_id: str) -> None:
        if self.delete_on_unlink and not any(linked_id == membership_id for _, linked_id in self.links):
            self.memberships.pop(membership_id, None)


_NOT_ALLOWED = "https://purl.mews.com/problem/core/field-not-allowed-value"


def create_app(
    tokens: str | Iterable[str], seed_data: bool = False, *, delete_on_unlink: bool = False
) -> Starlette:
    backend = (
        InMemoryProvider.seeded(delete_on_unlink=delete_on_unlink)
        if seed_data
        else InMemoryProvider(delete_on_unlink=delete_on_unlink)
    )
    return create_provider_app(backend, tokens)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mews-loyalty mock reverse",
        description="Serve the reference Reverse API provider (in memory).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (default: 8081)"
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN",
        help=f"an accepted bearer token; repeat to accept several (also: {TOKENS_ENVIRONMENT_VARIABLE}=T1,T2)",
    )
    parser.add_argument("--seed-data", action="store_true", help="start with a handful of memberships")
    parser.add_argument(
        "--delete-on-unlink", action="store_true", help="delete a membership once no enterprise links it"
    )
    return parser


def reverse_main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from_environment = os.environ.get(TOKENS_ENVIRONMENT_VARIABLE, "")
    tokens = [*args.token, *(token.strip() for token in from_environment.split(",") if token.strip())]
    if not tokens:
        parser.error(f"give at least one --token (or set {TOKENS_ENVIRONMENT_VARIABLE})")
    try:
        app = create_app(tokens, args.seed_data, delete_on_unlink=args.delete_on_unlink)
    except ValueError as error:
        parser.error(str(error))
    serve(app, args.host, args.port)
    return 0


main = reverse_main
