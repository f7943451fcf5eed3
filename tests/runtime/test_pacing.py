"""Client-side pacing: a bulk export runs at Mews' 200 requests / 30 s cap without drawing a single 429."""

from __future__ import annotations

import pytest

from mews_loyalty import RateLimitError
from mews_loyalty._transport.pacing import WINDOW_SAFETY_MARGIN
from mews_loyalty._transport.window import SlidingWindow

from .fakes import FakeConnector, seeded

LIMIT, SECONDS = 200, 30.0
# The client's window is a little longer than the server's (latency must not push a request into the
# server's previous window), so each wait for a free slot lasts this long.
PACED_WINDOW = SECONDS * (1 + WINDOW_SAFETY_MARGIN)


def rate_limited_server(fake_time, items: int) -> FakeConnector:
    """A server enforcing the documented limit on the same (fake) clock as the client."""
    return FakeConnector(items=seeded(items), window=SlidingWindow(LIMIT, SECONDS), time=fake_time)


def request_times(server: FakeConnector, fake_time, log: list[float]):
    handle = server.handle

    def timed(request):
        log.append(fake_time.now)
        return handle(request)

    server.handle = timed  # type: ignore[method-assign]


def busiest_window(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + SECONDS) for start in times)


def test_a_bulk_export_runs_at_the_cap_and_never_draws_a_429(make_client, fake_time):
    # 451 page requests need three windows; pacing must fill each to exactly 200 and wait out the rest.
    server = rate_limited_server(fake_time, 450)
    times: list[float] = []
    request_times(server, fake_time, times)
    items = list(make_client(server, rate_limit=(LIMIT, SECONDS)).loyalty_memberships.iter_all(page_size=1))
    assert len(items) == 450
    assert server.rejected == 0
    assert len(times) == 451
    assert busiest_window(times) == LIMIT
    assert fake_time.now - times[0] == pytest.approx(2 * PACED_WINDOW)  # two waits for a free slot, no more
    assert times[:LIMIT] == [times[0]] * LIMIT  # the first 200 go at once: pacing only waits when it must


def test_without_pacing_the_same_export_runs_into_the_limit(make_client, fake_time):
    # The control case: proves the server above really limits, so the zero-429 result means something.
    server = rate_limited_server(fake_time, 450)
    with pytest.raises(RateLimitError):
        list(make_client(server, rate_limit=None).loyalty_memberships.iter_all(page_size=1))
    assert server.rejected > 0


def test_clients_with_the_same_access_token_share_one_window(make_client, fake_time):
    # Two exports in one process with one token must stay under the limit together.
    server = rate_limited_server(fake_time, 150)
    first = make_client(server, rate_limit=(LIMIT, SECONDS)).loyalty_memberships
    second = make_client(server, rate_limit=(LIMIT, SECONDS)).loyalty_memberships
    assert len(list(first.iter_all(page_size=1))) == 150
    assert len(list(second.iter_all(page_size=1))) == 150
    assert server.rejected == 0
    # 302 requests in all: the second client waited out one window.
    assert sum(fake_time.sleeps) == pytest.approx(PACED_WINDOW)


def test_clients_with_different_access_tokens_do_not_wait_for_each_other(make_client, fake_time, tokens):
    # The limit is per token; sharing a window across tokens would halve a multi-property export's speed.
    server = FakeConnector(items=seeded(150))
    first = make_client(server, rate_limit=(LIMIT, SECONDS)).loyalty_memberships
    second = make_client(server, rate_limit=(LIMIT, SECONDS), access_token=tokens.access_token + "-OTHER")
    list(first.iter_all(page_size=1))
    list(second.loyalty_memberships.iter_all(page_size=1))
    assert len(server.requests) == 302
    assert fake_time.sleeps == []
