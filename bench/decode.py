"""Decode a 1000-membership getAll page: plain json.loads (the floor) vs the typed model families and
the route the SDK takes for lists of items."""

from __future__ import annotations

import json
import random
import uuid

from bench._measure import Section, best_time
from mews_loyalty._generated.connector.client.models import LoyaltyMembership
from mews_loyalty._generated.connector.client.models import LoyaltyMembershipResult as ClientResult
from mews_loyalty._generated.connector.models import LoyaltyMembershipResult as PydanticResult
from mews_loyalty._wire.fast import item_reader

PAGE_SIZE = 1000


def page_bytes(size: int = PAGE_SIZE, seed: int = 1) -> bytes:
    """A realistic getAll page: every field set, as the mock or Mews would send it."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    items = [
        {
            "Id": uid(),
            "ChainId": uid(),
            "AccountId": uid(),
            "LoyaltyProgramId": uid(),
            "State": rng.choice(["New", "Pending", "Enrolled", "Canceled", "Declined"]),
            "IsPrimary": rng.random() < 0.5,
            "ProviderMembershipId": f"PRV-MBR-{index:06d}",
            "Code": None,
            "MembershipNumber": f"MBR-{index:06d}",
            "Points": rng.randrange(100_000),
            "ExpirationDate": "2029-11-04T13:00:00Z",
            "Url": f"https://rewards.example.com/member/{index}",
            "LoyaltyTierId": uid(),
            "CreatorProfile": {"Discriminator": "Integration", "EnterpriseProfile": None},
            "UpdaterProfile": None,
        }
        for index in range(size)
    ]
    return json.dumps({"LoyaltyMemberships": items, "Cursor": items[-1]["Id"]}).encode()


def run() -> Section:
    raw = page_bytes()
    section = Section("decode a 1000-membership page", baseline="json.loads (floor)", unit="ms")
    section.rows["json.loads (floor)"] = best_time(lambda: json.loads(raw)) * 1e3
    section.rows["generated attrs: from_dict(json.loads)"] = (
        best_time(lambda: ClientResult.from_dict(json.loads(raw))) * 1e3
    )
    section.rows["pydantic: model_validate_json"] = (
        best_time(lambda: PydanticResult.model_validate_json(raw)) * 1e3
    )
    reader = item_reader("connector", LoyaltyMembership, "LoyaltyMemberships")
    if reader is None:
        raise RuntimeError("LoyaltyMembership has no fast route")
    section.rows["SDK fast route: msgspec mirrors -> attrs (_wire/fast.py)"] = (
        best_time(lambda: reader.read(raw)) * 1e3
    )
    return section
