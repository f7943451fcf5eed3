"""Bounded exchanges (``mews_loyalty._transport.bounded``): what a hostile server can no longer do.

Decoding is tested on bytes; the exchanges against real hostile servers on 127.0.0.1
(``tests._hostile``), as behaviour: which typed error ends them, never how long they took.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator

import httpx
import pytest

from mews_loyalty._transport import bounded
from tests._hostile import hostile_server
from tests.runtime.fakes import FakeTime

CAP = 1 << 20


def too_large() -> bounded.AnswerTooLarge:
    return bounded.AnswerTooLarge("too large", CAP)


def decode(encoding: str, raw: bytes, pieces: int = 7) -> bytes:
    decoder = bounded.Decoder(encoding, CAP, too_large)
    step = max(1, len(raw) // pieces)
    out = [decoder.feed(raw[i : i + step]) for i in range(0, len(raw), step)]
    return b"".join([*out, decoder.flush()])


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("", lambda data: data),
        ("identity", lambda data: data),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as servers often send
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("GZIP , deflate", lambda data: zlib.compress(gzip.compress(data))),
    ],
)
def test_every_encoding_decodes_to_the_body_sent(encoding, encode):
    body = b'{"LoyaltyMemberships": []}' * 1000
    assert decode(encoding, encode(body)) == body


def test_a_body_of_exactly_the_cap_is_kept():
    assert len(decode("gzip", gzip.compress(bytes(CAP)))) == CAP


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        pytest.param("", bytes(CAP + 1), id="plain"),
        pytest.param("gzip", gzip.compress(bytes(64 * CAP)), id="gzip-bomb"),
        pytest.param("gzip, gzip", gzip.compress(gzip.compress(bytes(256 * CAP))), id="stacked-bomb"),
    ],
)
def test_a_body_over_the_cap_is_refused_before_it_is_inflated(encoding, raw):
    decoder = bounded.Decoder(encoding, CAP, too_large)
    with pytest.raises(bounded.AnswerTooLarge):
        decoder.feed(raw)
    assert decoder.size <= CAP + 1  # never inflated past the cap: one byte over is how it knows


def test_a_body_not_in_its_encoding_is_undecodable():
    with pytest.raises(bounded.UndecodableAnswer):
        decode("gzip", b"this is not gzip at all")


def test_the_deadline_counts_from_its_start_whatever_happens_meanwhile():
    clock = FakeTime()
    deadline = bounded.Deadline(2.0, clock.clock)
    assert deadline.limit(10.0) == 2.0
    clock.sleep(1.5)
    assert deadline.limit(10.0) == pytest.approx(0.5)
    assert deadline.limit(0.1) == pytest.approx(0.1)
    clock.sleep(0.5)
    with pytest.raises(bounded.DeadlinePassed, match="within 2 s"):
        deadline.limit(None)


def test_bounds_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        bounded.Bounds(max_bytes=0)
    with pytest.raises(ValueError, match="positive"):
        bounded.Bounds(deadline=0)


EXPECTED = {
    "endless": bounded.AnswerTooLarge,
    "bomb": bounded.AnswerTooLarge,
    "drip": bounded.DeadlinePassed,
    "silent": bounded.DeadlinePassed,
}
BOUNDS = bounded.Bounds(max_bytes=4 * CAP, deadline=1.0)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
@pytest.mark.parametrize("transport", ["bounded", "httpx"])
def test_a_hostile_server_ends_the_exchange_with_its_typed_error(behaviour, transport):
    # Any httpx.Client is bounded by send(); a BoundedTransport holds the deadline exactly.
    with (
        hostile_server(behaviour) as server,
        httpx.Client(transport=bounded.BoundedTransport() if transport == "bounded" else None) as client,
    ):
        for _ in range(2):  # the second on a connection the first left behind, if any
            request = client.build_request("POST", server.url + "/api", content=b"{}")
            with pytest.raises(EXPECTED[behaviour]):
                bounded.send(client, request, BOUNDS)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_a_hostile_server_ends_the_async_exchange_with_its_typed_error(behaviour):
    async def exchange() -> None:
        async with httpx.AsyncClient() as client:
            request = client.build_request("POST", server.url + "/api", content=b"{}")
            await bounded.asend(client, request, BOUNDS)

    with hostile_server(behaviour) as server, pytest.raises(EXPECTED[behaviour]):
        asyncio.run(exchange())


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "read-in-process"])
def test_an_answer_within_bounds_arrives_decoded(streamed):
    body = b'{"Cursor": null}'

    def answer(request: httpx.Request) -> httpx.Response:
        content = gzip.compress(body)
        if streamed:  # a stream httpx has not read yet, as from a socket
            return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=_Unread(content))
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=content)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        response = bounded.send(client, client.build_request("POST", "http://mews.test/"), BOUNDS)
    assert response.content == body
    assert response.json() == {"Cursor": None}


def test_an_answer_read_in_process_is_held_to_the_cap_too():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bytes(BOUNDS.max_bytes + 1))

    with httpx.Client(transport=httpx.MockTransport(answer)) as client, pytest.raises(bounded.AnswerTooLarge):
        bounded.send(client, client.build_request("POST", "http://mews.test/"), BOUNDS)


class _Unread(httpx.SyncByteStream):
    def __init__(self, content: bytes) -> None:
        self._content = content

    def __iter__(self) -> Iterator[bytes]:
        yield self._content[:5]
        yield self._content[5:]


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "read-in-process"])
def test_a_bounded_answer_tells_how_long_it_took(streamed):
    # Readers of a response (schemathesis' checks among them) ask for its elapsed time.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Unread(b"{}")) if streamed else httpx.Response(200, content=b"{}")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        response = bounded.send(client, client.build_request("POST", "http://mews.test/"), BOUNDS)
    assert response.elapsed.total_seconds() >= 0
