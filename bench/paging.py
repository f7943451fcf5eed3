"""Walk 20 000 memberships from the mock on loopback: raw httpx + json.loads (the floor), the bare
generated functions, and the SDK's ``iter_all``. Server time is the same in all three.

The memberships are the mock's demo data (every property set, as a loyalty provider fills them);
``paging_minimal`` walks memberships holding only what the spec requires."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import httpx

from bench._measure import Section, best_times_interleaved, cpu_note
from mews_loyalty import ConnectorClient
from mews_loyalty._asgi import serve_in_process
from mews_loyalty._generated.connector.client import Client
from mews_loyalty._generated.connector.client.api.loyalty_memberships import loyalty_memberships_get_all
from mews_loyalty._generated.connector.client.models import LoyaltyMembershipFilterParameters
from mews_loyalty._generated.connector.resources import ActivityStateLiteral
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

MEMBERSHIPS = 20_000
PAGE = 1000
PATH = "/api/connector/v1/loyaltyMemberships/getAll"
CREDENTIALS = {"ClientToken": DEMO_CLIENT_TOKEN, "AccessToken": DEMO_ACCESS_TOKEN, "Client": "bench 1.0"}
EVERY_STATE: list[ActivityStateLiteral] = [
    "Active",
    "Deleted",
]  # the seed soft-deletes some; walk all of them


def raw_loop(base_url: str) -> int:
    seen, cursor = 0, None
    with httpx.Client(base_url=base_url) as http:
        while True:
            body: dict[str, Any] = {
                **CREDENTIALS,
                "ActivityStates": EVERY_STATE,
                "Limitation": {"Count": PAGE, "Cursor": cursor},
            }
            page = json.loads(http.post(PATH, json=body).content)
            items = page["LoyaltyMemberships"]
            seen += len(items)
            cursor = page["Cursor"]
            if cursor is None or len(items) < PAGE:
                return seen


def generated_loop(base_url: str) -> int:
    seen, cursor = 0, None
    with Client(base_url=base_url) as client:
        while True:
            body = LoyaltyMembershipFilterParameters.from_dict(
                {
                    **CREDENTIALS,
                    "ActivityStates": EVERY_STATE,
                    "Limitation": {"Count": PAGE, "Cursor": cursor},
                }
            )
            page = loyalty_memberships_get_all.sync(client=client, body=body)
            items = page.loyalty_memberships  # type: ignore[union-attr]
            seen += len(items)
            cursor = page.cursor  # type: ignore[union-attr]
            if cursor is None or len(items) < PAGE:
                return seen


def sdk_loop(base_url: str) -> int:
    with ConnectorClient(
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        client="bench 1.0",
        base_url=base_url,
        rate_limit=None,
    ) as mews:
        return sum(1 for _ in mews.loyalty_memberships.iter_all(activity_states=EVERY_STATE))


def section(*, minimal: bool) -> Section:
    # The mock runs in its own process, as it would for a user: its 100k live objects must not make
    # the client's garbage collections slower (in-thread, they did: about 64 ms per full collection).
    server = [
        "mock",
        "connector",
        "--rate-limit",
        "off",
        "--seed-data",
        "--seed-memberships",
        str(MEMBERSHIPS),
        *(["--seed-minimal"] if minimal else []),
    ]
    what = "minimal memberships (required properties only)" if minimal else "memberships"
    section = Section(
        f"page through {MEMBERSHIPS} {what} (loopback mock)", "raw httpx + json.loads (floor)", "s"
    )
    with serve_in_process(server) as base_url:
        counts = {label: loop(base_url) for label, loop in LOOPS.items()}
        if set(counts.values()) != {MEMBERSHIPS}:
            raise RuntimeError(f"the loops disagree on what they walked: {counts}")
        walks = {label: partial(loop, base_url) for label, loop in LOOPS.items()}
        cpu: dict[str, float] = {}
        section.rows.update(best_times_interleaved(walks, cpu=cpu, settle=True))
        section.notes.append(cpu_note(cpu, section.baseline))
    section.notes.append(f"items seen per walk: {counts[next(iter(counts))]}")
    return section


def run() -> Section:
    return section(minimal=False)


LOOPS = {
    "raw httpx + json.loads (floor)": raw_loop,
    "bare generated functions": generated_loop,
    "SDK iter_all": sdk_loop,
}
