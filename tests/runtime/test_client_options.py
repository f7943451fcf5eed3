"""The four clients hand their sending keywords on positionally as one ``ClientOptions``: held equal here."""

from __future__ import annotations

import inspect
from dataclasses import fields

import httpx
import pytest

from mews_loyalty import AsyncConnectorClient, AsyncReverseClient, ConnectorClient, ReverseClient
from mews_loyalty._errors import MewsApiError
from mews_loyalty._transport.sender import ClientOptions

CLIENTS = [ConnectorClient, AsyncConnectorClient, ReverseClient, AsyncReverseClient]


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_each_signature_ends_with_the_options_fields_in_their_order(client: type) -> None:
    # A field moved, renamed or added on one side only would pass one keyword's value as another's.
    names = [field.name for field in fields(ClientOptions)]
    parameters = list(inspect.signature(client).parameters.values())
    tail = parameters[-len(names) :]
    assert [parameter.name for parameter in tail] == names
    assert all(parameter.kind is inspect.Parameter.KEYWORD_ONLY for parameter in parameters)


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
        provider.list_memberships("3fa85f64-5717-4562-b3fc-2c963f66afa6", ["M-1"])
    assert raised.value.status == 503
    assert len(seen) == 3  # the list is idempotent: the first attempt and max_retries=2 more
    assert len(waits) == 2
