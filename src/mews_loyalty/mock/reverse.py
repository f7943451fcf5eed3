"""The reference loyalty provider: the provider kit around an in-memory backend.

    mews-loyalty mock reverse --token T [--token T2] [--port 8081] [--seed-data] [--delete-on-unlink]

Tokens may also come from ``MEWS_PROVIDER_TOKENS`` (comma separated), which keeps them out of the
process list. ``--seed-data`` loads ``SEED_MEMBERSHIPS`` (one membership in each state) and
``SEED_LINKS``; without it the provider knows nothing and every id is ``notFound``. Seeded members
are demo data every enterprise sees; a customer enrolled for one enterprise exists for it alone.

Members (``POST /members/search``, ``POST /members``):

- enrolling creates an ``enrolled`` membership (a fresh provider id and a 12-digit number) for the
  customer, kept per Mews enterprise; enrolling the same customer again answers the same member
  (Mews' rule). The same customer: the same email (case-insensitive), or, without one, the same
  first name, last name, birthday and phone number (so every schema-valid customer is enrolled;
  one with none of these is one anonymous customer per enterprise);
- a search returns every member matched by at least one complete combination of the filter (email;
  membership number; provider membership id; first and last name; last name, city and country),
  strings compared case-insensitively, members matched by more combinations first. Properties of no
  complete combination (say a phone number) do not narrow the search: Mews sends all it knows;
- enrolled members are listed by ``/memberships/list`` and linkable like seeded ones.

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
import itertools
import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from starlette.applications import Starlette

from mews_loyalty._asgi import add_repeated_argument, add_server_arguments, serve_command
from mews_loyalty._spec.catalog import catalog
from mews_loyalty._wire.combinations import required_combinations
from mews_loyalty.provider import (
    DEFAULT_PORT,
    BusinessRuleViolation,
    EnrollMemberRequest,
    LinkMembershipRequest,
    ListMembershipsRequest,
    Member,
    MemberAddress,
    Membership,
    MembershipStatus,
    SearchMembersRequest,
    create_provider_app,
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
# Who the seeded memberships belong to (wire names), found by search in every enterprise.
SEED_CUSTOMERS: dict[str, dict[str, Any]] = {
    "M-1001": {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john.doe@example.com",
        "birthday": "1985-07-20",
        "phoneNumber": "+9876543210",
        "address": {
            "line1": "456 Oak Avenue",
            "city": "Example City",
            "postalCode": "54321",
            "countryCode": "US",
        },
    },
    "M-1002": {"firstName": "Jana", "lastName": "Nováková", "email": "jana.novakova@example.com"},
    "M-1003": {"firstName": "Hans", "lastName": "Müller", "address": {"city": "Berlin", "countryCode": "DE"}},
    "M-1004": {"firstName": "Ana", "lastName": "Silva", "email": "ana.silva@example.com"},
    "M-1005": {
        "firstName": "John",
        "lastName": "Doe",
        "address": {"city": "Springfield", "countryCode": "US"},
    },
    "M-1006": {"lastName": "Declined"},
}
# (enterprise, membership id) -> customer
SEED_LINKS: dict[tuple[UUID, str], UUID] = {(SEED_ENTERPRISE_ID, "M-1001"): SEED_CUSTOMER_ID}


# Read from the spec: the kit has already refused a filter that completes none of them.
_FILTER_COMBINATIONS = (
    required_combinations(catalog("reverse").document, catalog("reverse").schema("memberFilter")) or ()
)
# memberFilter property -> where a member keeps it (wire names)
_MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "providerMembershipId": ("membership", "providerMembershipId"),
    "membershipNumber": ("membership", "membershipNumber"),
    "email": ("email",),
    "firstName": ("firstName",),
    "lastName": ("lastName",),
    "phoneNumber": ("phoneNumber",),
    "city": ("address", "city"),
    "postalCode": ("address", "postalCode"),
    "countryCode": ("address", "countryCode"),
}


_MEMBER_PROPERTIES = frozenset(info.alias or name for name, info in Member.model_fields.items())
_ADDRESS_PROPERTIES = frozenset(info.alias or name for name, info in MemberAddress.model_fields.items())


def _folded(value: Any) -> str | None:
    return " ".join(value.split()).casefold() if isinstance(value, str) and value.strip() else None


def _member_value(member: Mapping[str, Any], name: str) -> str | None:
    value: Any = member
    for step in _MEMBER_FIELDS.get(name, (name,)):
        value = value.get(step) if isinstance(value, Mapping) else None
    return _folded(value)


def _wire(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)  # type: ignore[no-any-return]


class InMemoryProvider:
    """A provider backend in memory. Async methods: they run on the event loop, one at a time."""

    def __init__(
        self,
        memberships: Iterable[Membership] = (),
        links: dict[tuple[UUID, str], UUID] | None = None,
        *,
        customers: Mapping[str, Mapping[str, Any]] | None = None,
        delete_on_unlink: bool = False,
    ) -> None:
        self.memberships = {m.provider_membership_id: m for m in memberships}  # seen by every enterprise
        self.customers = {key: dict(value) for key, value in (customers or {}).items()}
        self.links = dict(links or {})
        self.delete_on_unlink = delete_on_unlink
        self.enrolled: dict[UUID, dict[str, Membership]] = {}  # enterprise -> membership id -> membership
        self.enrolled_customers: dict[UUID, dict[str, dict[str, Any]]] = {}  # ... -> customer (wire)
        self.enrolments: dict[tuple[UUID, tuple[str | None, ...]], str] = {}  # (enterprise, who) -> id
        self._numbers = itertools.count(900000000001)

    @classmethod
    def seeded(cls, *, delete_on_unlink: bool = False) -> InMemoryProvider:
        return cls(SEED_MEMBERSHIPS, SEED_LINKS, customers=SEED_CUSTOMERS, delete_on_unlink=delete_on_unlink)

    def _visible(self, enterprise: UUID) -> dict[str, Membership]:
        return {**self.memberships, **self.enrolled.get(enterprise, {})}

    def _members(self, enterprise: UUID) -> Iterable[dict[str, Any]]:
        for key, membership in self._visible(enterprise).items():
            customer = self.enrolled_customers.get(enterprise, {}).get(key, self.customers.get(key, {}))
            yield {**customer, "membership": _wire(membership)}

    async def search_members(self, request: SearchMembersRequest) -> list[dict[str, Any]]:
        criteria = {name: _folded(value) for name, value in _wire(request.member_filter).items()}
        complete = [c for c in _FILTER_COMBINATIONS if all(criteria.get(name) for name in c)]
        scored = []
        for member in self._members(request.mews_enterprise_id):
            score = sum(all(_member_value(member, n) == criteria[n] for n in combo) for combo in complete)
            if score:
                scored.append((score, member))
        scored.sort(key=lambda pair: -pair[0])  # stable: equals keep the order they were created in
        return [member for _, member in scored]

    async def enroll_member(self, request: EnrollMemberRequest) -> dict[str, Any]:
        enterprise = request.mews_enterprise_id
        customer = _wire(request.customer)
        known = {name: customer[name] for name in _MEMBER_PROPERTIES if name in customer}
        if isinstance(known.get("address"), Mapping):
            known["address"] = {k: v for k, v in known["address"].items() if k in _ADDRESS_PROPERTIES}
        known.pop("membership", None)
        email = _folded(customer.get("email"))
        others = tuple(
            _folded(customer.get(name)) for name in ("firstName", "lastName", "birthday", "phoneNumber")
        )
        who: tuple[str | None, ...] = (email,) if email else (None, *others)
        existing = self.enrolments.get((enterprise, who))
        if existing is None or existing not in self.enrolled.get(enterprise, {}):
            membership_id = str(uuid.uuid4())
            self.enrolled.setdefault(enterprise, {})[membership_id] = Membership.model_validate(
                {
                    "providerMembershipId": membership_id,
                    "membershipNumber": str(next(self._numbers)),
                    "status": "enrolled",
                    "tier": "Member",
                    "points": 0,
                }
            )
            self.enrolled_customers.setdefault(enterprise, {})[membership_id] = known
            self.enrolments[(enterprise, who)] = existing = membership_id
        membership = self.enrolled[enterprise][existing]
        return {**self.enrolled_customers[enterprise][existing], "membership": _wire(membership)}

    async def list_memberships(self, request: ListMembershipsRequest) -> list[Membership]:
        visible = self._visible(request.mews_enterprise_id)
        requested = dict.fromkeys(membership_id.root for membership_id in request.provider_membership_ids)
        return [visible[key] for key in requested if key in visible]

    async def link_membership(self, request: LinkMembershipRequest) -> bool:
        key = (request.mews_enterprise_id, request.provider_membership_id)
        linked_to = self.links.get(key)
        if not request.is_linked:
            if linked_to == request.mews_customer_id:
                del self.links[key]
                self._forget_if_unlinked(request.mews_enterprise_id, request.provider_membership_id)
            return True
        membership = self._visible(request.mews_enterprise_id).get(request.provider_membership_id)
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

    def _forget_if_unlinked(self, enterprise: UUID, membership_id: str) -> None:
        if self.delete_on_unlink and not any(linked_id == membership_id for _, linked_id in self.links):
            self.memberships.pop(membership_id, None)
            self.customers.pop(membership_id, None)
            if self.enrolled.get(enterprise, {}).pop(membership_id, None) is not None:
                self.enrolled_customers[enterprise].pop(membership_id, None)


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
    add_server_arguments(parser, default_port=DEFAULT_PORT)
    add_repeated_argument(
        parser,
        "--token",
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
    return serve_command(app, args.host, args.port)


main = reverse_main
