"""Bulk export under a scaled-down rate limit: the mock enforces 20 requests per 3 s and the SDK
paces itself at the same numbers; achieved requests per second as a fraction of the cap, and 429s."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench._measure import Section
from mews_loyalty import ConnectorClient
from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app

LIMIT, WINDOW = 20, 3.0
PAGES = 80  # four windows: long enough that the first burst does not dominate
PAGE = 10


class StatusCounter:
    """ASGI wrapper counting the statuses the server answered."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def run() -> Section:
    config = ConnectorMockConfig(rate_limit=(LIMIT, WINDOW), seed_data=True, seed_memberships=PAGES * PAGE)
    app = StatusCounter(create_app(config))
    section = Section(
        f"bulk export at {LIMIT} requests / {WINDOW:g} s", "cap", "req/s", higher_is_better=True
    )
    section.rows["cap"] = LIMIT / WINDOW
    with serve_in_thread(app) as base_url:
        for label, rate_limit in (("SDK with pacing", (LIMIT, WINDOW)), ("SDK without pacing", None)):
            time.sleep(WINDOW)  # start each run with an empty window
            app.statuses.clear()
            started = time.perf_counter()
            with ConnectorClient(
                client_token=DEMO_CLIENT_TOKEN,
                access_token=DEMO_ACCESS_TOKEN,
                client="bench 1.0",
                base_url=base_url,
                rate_limit=rate_limit,
                max_retries=50,
            ) as mews:
                items = sum(
                    1
                    for _ in mews.loyalty_memberships.iter_all(
                        page_size=PAGE, activity_states=["Active", "Deleted"]
                    )
                )
            elapsed = time.perf_counter() - started
            answered = app.statuses[200]
            section.rows[label] = answered / elapsed
            section.notes.append(
                f"{label}: {items} items in {answered} pages over {elapsed:.1f} s, 429s drawn: {app.statuses[429]}"
            )
    return section
