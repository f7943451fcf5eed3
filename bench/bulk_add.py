"""Add 5 000 memberships to the mock on loopback in the spec's batches: raw httpx posting the same
batches and ``json.loads``-ing each answer (the floor), and the SDK's ``loyalty_memberships.add``, which
also validates every item before the first batch and decodes the added memberships. Server time is
the same in both; each walk adds new memberships (numbered on), so no run repeats another's rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from itertools import count

import httpx

from bench._measure import Section, best_times_interleaved, cpu_note
from mews_loyalty import ConnectorClient
from mews_loyalty._asgi import serve_in_process
from mews_loyalty._generated.connector.resources import LoyaltyMembershipAddParametersDict
from mews_loyalty._spec.catalog import catalog
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from mews_loyalty.mock.connector.seed import PLATINUM_CLUB_ID

MEMBERSHIPS = 5000
ADD = catalog("connector").resources()["loyalty_memberships"]["add"]
CREDENTIALS = {"ClientToken": DEMO_CLIENT_TOKEN, "AccessToken": DEMO_ACCESS_TOKEN, "Client": "bench 1.0"}
_numbers = count()


def memberships() -> list[LoyaltyMembershipAddParametersDict]:
    """The next MEMBERSHIPS wire-format memberships, numbered on from the previous walk's."""
    numbers = [next(_numbers) for _ in range(MEMBERSHIPS)]
    return [
        {
            "AccountId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"accounts/{n}")),
            "LoyaltyProgramId": PLATINUM_CLUB_ID,
            "IsPrimary": False,
            "MembershipNumber": f"B-{n:07d}",
        }
        for n in numbers
    ]


def _batches(
    items: list[LoyaltyMembershipAddParametersDict],
) -> Iterator[list[LoyaltyMembershipAddParametersDict]]:
    size = ADD.batch_limit or len(items)
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def raw_loop(base_url: str, items: list[LoyaltyMembershipAddParametersDict]) -> int:
    added = 0
    with httpx.Client(base_url=base_url) as http:
        for batch in _batches(items):
            answer = json.loads(
                http.post(ADD.path, json={**CREDENTIALS, str(ADD.batch_field): batch}).content
            )
            added += len(answer["LoyaltyMemberships"])
    return added


def sdk_loop(base_url: str, items: list[LoyaltyMembershipAddParametersDict]) -> int:
    with ConnectorClient(
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        client="bench 1.0",
        base_url=base_url,
        rate_limit=None,
    ) as mews:
        return len(mews.loyalty_memberships.add(items))


LOOPS = {"raw httpx + json.loads (floor)": raw_loop, "SDK add": sdk_loop}


def run() -> Section:
    # The mock runs in its own process, as in bench/paging.py; the items are made outside the timing.
    server = ["mock", "connector", "--rate-limit", "off", "--seed-data"]
    section = Section(
        f"bulk add {MEMBERSHIPS} memberships (loopback mock)", "raw httpx + json.loads (floor)", "s"
    )
    with serve_in_process(server) as base_url:
        counts = {label: loop(base_url, memberships()) for label, loop in LOOPS.items()}
        if set(counts.values()) != {MEMBERSHIPS}:
            raise RuntimeError(f"the loops disagree on what they added: {counts}")
        # Best of more calls than paging: against the same mock, 24 raw walks in a row took 246-544 ms
        # (its own pauses land on either loop).
        rounds = 11
        # made before any clock starts: one list for each call (warm-up, then two a round: see settle)
        prepared = [memberships() for _ in range(len(LOOPS) * (2 * rounds + 1))]
        walks = {label: lambda loop=loop: loop(base_url, prepared.pop()) for label, loop in LOOPS.items()}
        cpu: dict[str, float] = {}
        section.rows.update(best_times_interleaved(walks, rounds=rounds, cpu=cpu, settle=True))
        section.notes.append(cpu_note(cpu, section.baseline))
    section.notes.append(f"batches of {ADD.batch_limit} ({ADD.batch_field})")
    return section
