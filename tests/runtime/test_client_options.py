"""The clients hand their sending keywords on, by keyword, as one ``ClientOptions``: each lands where its name says."""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty import ReverseClient
from mews_loyalty._errors import MewsApiError


def test_options_reach_the_sender() -> None:
    # Each keyword lands where its name says: the transport is used, the retry budget and the sleep obeyed.
    seen: list[httpx.Request] = []
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "0"})

    with (
        ReverseClient(
            base_url="https://provider.example",
            token="T",
            max_retries=2,
            transport=httpx.MockTransport(answer),
            sleep=waits.append,
        ) as provider,
        pytest.raises(MewsApiError) as raised,
    ):
        provider.list_memberships(["M-1"], enterprise_id="3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert raised.value.status == 503
    assert len(seen) == 3  # the list is idempotent: the first attempt and max_retries=2 more
    assert len(waits) == 2
