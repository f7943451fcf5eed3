"""A small, realistic, deterministic data set for the Connector mock (``--seed-data``).

    seed(store, chain_id=DEMO_CHAIN_ID, anchor=now)                 # 2 programs, 5 tiers, 300 memberships
    seed(store, chain_id=DEMO_CHAIN_ID, anchor=now, memberships=100_000)   # for load tests

One chain with the two programs and the tiers Mews' examples show (same ids, names and codes), so
the documented requests find what they name, and a few hundred memberships spread over the six
months before ``anchor``: mostly enrolled, some pending, new, canceled or declined, a few deleted,
created by staff, by integrations or imported (no profile). The same arguments give the same data.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mews_loyalty._spec.catalog import catalog, resolve
from mews_loyalty.mock.connector.operations import micros
from mews_loyalty.mock.connector.store import ConnectorStore, Table

DEFAULT_SEED = 20251104
_MEMBERSHIP = resolve(catalog("connector").document, {"$ref": "#/components/schemas/LoyaltyMembership"})
REQUIRED = tuple(_MEMBERSHIP["required"])  # what a minimal membership holds
NULLABLE = frozenset(  # of those, the ones a minimal membership leaves null (the profiles)
    name for name in REQUIRED if {"type": "null"} in _MEMBERSHIP["properties"][name].get("anyOf", ())
)

# The records Mews' documentation examples name.
PLATINUM_CLUB_ID = "f701dafb-5765-4cf4-b1dd-1f602a740ae5"
GOLD_EXCLUSIVE_CLUB_ID = "da34b396-41f7-47f6-8847-aecf00a3f19e"
PLATINUM_TIER_ID = "69eedfd2-6f25-42fc-b3c8-39df70f85e37"
SILVER_TIER_ID = "3cad97ef-5257-4ced-8599-8e6bbd33331f"
DOCUMENTED_MEMBERSHIP_ID = "905a4489-0960-4ac9-96ec-793f47365c92"
SECOND_DOCUMENTED_MEMBERSHIP_ID = "ac48674e-58a2-43d6-a02b-9ead0b213b17"

PROGRAMS = (
    {
        "Id": PLATINUM_CLUB_ID,
        "Name": "Platinum Club",
        "Code": "PC01",
        "Type": "Hotel",
        "Subscription": "Free",
    },
    {
        "Id": GOLD_EXCLUSIVE_CLUB_ID,
        "Name": "Gold Exclusive Club",
        "Code": "GEC07",
        "Type": "ExternalPartner",
        "Subscription": "Paid",
    },
)
# (program, tier id, name, code, ordering, points needed); tiers without a fixed id get a seeded one.
TIERS: tuple[tuple[str, str | None, str, str, int, int], ...] = (
    (PLATINUM_CLUB_ID, PLATINUM_TIER_ID, "Platinum", "P1", 1, 50_000),
    (PLATINUM_CLUB_ID, SILVER_TIER_ID, "Silver", "S1", 2, 10_000),
    (PLATINUM_CLUB_ID, None, "Bronze", "B1", 3, 0),
    (GOLD_EXCLUSIVE_CLUB_ID, None, "Gold Elite", "GE1", 1, 25_000),
    (GOLD_EXCLUSIVE_CLUB_ID, None, "Gold", "G1", 2, 0),
)
STATES: tuple[tuple[str, int], ...] = (
    ("Enrolled", 70),
    ("Pending", 10),
    ("New", 8),
    ("Canceled", 8),
    ("Declined", 4),
)
STATE_NAMES = [state for state, _ in STATES]
STATE_WEIGHTS = [weight for _, weight in STATES]
DELETED_SHARE = 0.04
PERIOD = timedelta(days=180)
DOCUMENTED_MEMBERSHIPS: tuple[dict[str, Any], ...] = (
    {
        "Id": DOCUMENTED_MEMBERSHIP_ID,
        "AccountId": "fadd5bb6-b428-45d5-94f8-fd0d89fece6d",
        "LoyaltyProgramId": PLATINUM_CLUB_ID,
        "State": "New",
        "IsPrimary": True,
        "ProviderMembershipId": "PRV-MBR-9842XKLT",
        "Code": "MBR-2025-AX49ZT73",
        "MembershipNumber": "MBR-2025-AX49ZT73",
        "Points": 22,
        "ExpirationDate": "2029-11-04T13:00:00Z",
        "Url": "https://rewards.example.com/member/PRV-MBR-9842XKLT",
        "LoyaltyTierId": PLATINUM_TIER_ID,
        "CreatorProfile": None,
        "UpdaterProfile": None,
    },
    {
        "Id": SECOND_DOCUMENTED_MEMBERSHIP_ID,
        "AccountId": "bccdafd1-3e44-439d-861f-341526b597a9",
        "LoyaltyProgramId": PLATINUM_CLUB_ID,
        "State": "Enrolled",
        "IsPrimary": True,
        "ProviderMembershipId": "PRV-MBR-3JQ7NW2C",
        "Code": "MBR-2025-QD83LM20",
        "MembershipNumber": "MBR-2025-QD83LM20",
        "Points": 12_040,
        "ExpirationDate": "2028-06-30T00:00:00Z",
        "Url": "https://rewards.example.com/member/PRV-MBR-3JQ7NW2C",
        "LoyaltyTierId": SILVER_TIER_ID,
        "CreatorProfile": None,
        "UpdaterProfile": None,
    },
)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _code(rng: random.Random, length: int = 8) -> str:
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=length))


def seed(
    store: ConnectorStore,
    *,
    chain_id: str,
    anchor: datetime,
    memberships: int = 300,
    seed_value: int = DEFAULT_SEED,
    minimal: bool = False,
) -> None:
    """Fill empty tables with the data set; ``anchor`` is "now" for the creation times. ``minimal``
    memberships (all but the documented ones) carry only the properties the spec requires, with no
    creator or updater: the smallest records a server may send, for benchmarks."""
    rng = random.Random(seed_value)  # noqa: S311 - sample data, not security
    start = anchor - PERIOD
    programs, tiers, members = store["loyalty_programs"], store["loyalty_tiers"], store["loyalty_memberships"]
    if len(programs) or len(tiers) or len(members):
        raise ValueError("seed data goes into an empty store")
    _seed_programs(programs, chain_id, start)
    ladders = _seed_tiers(tiers, rng, chain_id, start)
    for documented in DOCUMENTED_MEMBERSHIPS:
        members.insert({**documented, "ChainId": chain_id}, chain_id=chain_id, created_us=micros(start))
    # The rest spread evenly over the period, oldest first; each one's draws, then whether it is deleted.
    made = _Memberships.drawn(rng, chain_id=chain_id, anchor=anchor, ladders=ladders)
    step = PERIOD / max(memberships, 1)
    for index in range(max(memberships - len(DOCUMENTED_MEMBERSHIPS), 0)):
        created = start + step * (index + 1)
        values, updated = made.membership(created)
        if minimal:
            values = {name: None if name in NULLABLE else values[name] for name in REQUIRED}
        members.insert(
            values,
            chain_id=chain_id,
            created_us=micros(created),
            updated_us=micros(updated),
            deleted=rng.random() < DELETED_SHARE,
        )


def _seed_programs(programs: Table, chain_id: str, start: datetime) -> None:
    """The documented programs, created some weeks before the memberships."""
    for offset, program in enumerate(PROGRAMS):
        programs.insert(
            {**program, "ChainId": chain_id},
            chain_id=chain_id,
            created_us=micros(start - timedelta(days=20 - offset)),
        )


def _seed_tiers(
    tiers: Table, rng: random.Random, chain_id: str, start: datetime
) -> dict[str, list[tuple[str, int]]]:
    """The documented tiers; returns each program's ladder: (tier id, points needed), highest first."""
    ladders: dict[str, list[tuple[str, int]]] = {}
    for offset, (program_id, tier_id, name, code, ordering, needed) in enumerate(TIERS):
        tier_id = tier_id or _uuid(rng)
        values = {
            "Id": tier_id,
            "LoyaltyProgramId": program_id,
            "Name": name,
            "Code": code,
            "Ordering": ordering,
        }
        tiers.insert(values, chain_id=chain_id, created_us=micros(start - timedelta(days=10 - offset)))
        ladders.setdefault(program_id, []).append((tier_id, needed))
    return ladders


@dataclass(frozen=True)
class _Memberships:
    """Makes the generated memberships; every value is drawn from ``rng`` in a fixed order, so the same
    seed gives the same data."""

    rng: random.Random
    chain_id: str
    anchor: datetime
    ladders: Mapping[str, list[tuple[str, int]]]  # program -> (tier id, points needed), highest first
    # Profiles are shared objects: a hundred thousand copies of the same few would cost ~80 MB.
    staff: list[dict[str, Any]]
    integration: dict[str, Any]

    @classmethod
    def drawn(
        cls,
        rng: random.Random,
        *,
        chain_id: str,
        anchor: datetime,
        ladders: Mapping[str, list[tuple[str, int]]],
    ) -> _Memberships:
        staff = [
            {"Discriminator": "Enterprise", "EnterpriseProfile": {"ProfileId": _uuid(rng)}} for _ in range(6)
        ]
        integration = {"Discriminator": "Integration", "EnterpriseProfile": None}
        return cls(rng, chain_id, anchor, ladders, staff, integration)

    def membership(self, created: datetime) -> tuple[dict[str, Any], datetime]:
        """A membership created at ``created``, and when it was last changed."""
        rng = self.rng
        program_id = PLATINUM_CLUB_ID if rng.random() < 0.7 else GOLD_EXCLUSIVE_CLUB_ID
        points = int(rng.paretovariate(1.2) * 2_000) - 2_000
        tier_id = next(tier for tier, needed in self.ladders[program_id] if points >= needed)
        provider_id = f"PRV-MBR-{_code(rng)}"
        number = f"MBR-{created.year}-{_code(rng)}"
        creator, updater, changed = self._profiles()
        expires = (self.anchor + timedelta(days=rng.randint(180, 1095))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        values = {
            "Id": _uuid(rng),
            "ChainId": self.chain_id,
            "AccountId": _uuid(rng),
            "LoyaltyProgramId": program_id,
            "State": rng.choices(STATE_NAMES, STATE_WEIGHTS)[0],
            "IsPrimary": rng.random() < 0.9,
            "ProviderMembershipId": provider_id,
            "Code": number,
            "MembershipNumber": number,
            "Points": points,
            "ExpirationDate": expires.isoformat().replace("+00:00", "Z") if rng.random() < 0.9 else None,
            "Url": f"https://rewards.example.com/member/{provider_id}",
            "LoyaltyTierId": tier_id,
            "CreatorProfile": creator,
            "UpdaterProfile": updater,
        }
        updated = created + (self.anchor - created) * rng.random() if changed else created
        return values, updated

    def _profiles(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
        """Who created the membership (staff, an integration, or nobody: imported), who last changed
        it, and whether anyone did."""
        rng = self.rng
        creator = rng.choice([None, None, self.integration, self.integration, *[rng.choice(self.staff)] * 3])
        changed = rng.random() < 0.3
        updater = rng.choice(self.staff) if changed else creator
        return creator, updater, changed
