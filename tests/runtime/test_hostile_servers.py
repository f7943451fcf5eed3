"""Whatever a server sends, an SDK call ends with a typed ``MewsError``: never a hang, never a MemoryError.

The servers (``tests._hostile``, real sockets on 127.0.0.1) answer every request the same hostile way.
Where memory is the point the call runs in a subprocess under an address-space limit of 1 GiB, so a
client that buffered an endless answer or inflated a gzip bomb would die of it instead of passing;
pytest-timeout bounds a hang. Times and peak memory are measured in ``nox -s bench`` (``bench/hostile.py``).
"""

from __future__ import annotations

import resource
import subprocess
import sys

import httpx
import pytest

from mews_loyalty import (
    ApiTimeoutError,
    AsyncConnectorClient,
    ClientClosedError,
    ConnectorClient,
    MewsConnectionError,
    RateLimitError,
    ReverseClient,
)
from mews_loyalty._transport.bounded import BoundedTransport
from tests._hostile import hostile_server

MEMORY_LIMIT = 1 << 30
TOKENS = {"client_token": "C" * 40, "access_token": "A" * 40, "client": "hostile-test 1.0"}
# One call of the client kind named in argv[2] against argv[1]; prints the class of what it raised.
CALL = """
import asyncio, sys
import mews_loyalty as m
url, kind = sys.argv[1], sys.argv[2]
options = dict(client_token="C" * 40, access_token="A" * 40, client="t", base_url=url, timeout=2.0,
               max_retries=0, rate_limit=None)
async def call_async():
    async with m.AsyncConnectorClient(**options) as client:
        await client.loyalty_programs.get_all()
try:
    if kind == "async":
        asyncio.run(call_async())
    else:
        with m.ConnectorClient(**options) as client:
            client.loyalty_programs.get_all()
except m.MewsError as error:
    print(type(error).__name__)
"""


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def call_in_subprocess(url: str, kind: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", CALL, url, kind]
    return subprocess.run(argv, capture_output=True, text=True, preexec_fn=_limited, check=False, timeout=60)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(
    ("behaviour", "raised"),
    [
        ("endless", "ResponseTooLargeError"),
        ("bomb", "ResponseTooLargeError"),
        ("drip", "ApiTimeoutError"),
        ("deep", "UnexpectedResponseError"),  # json.loads gave up in a bare RecursionError
        ("deep_error", "BadRequestError"),
    ],
)
def test_a_hostile_answer_is_a_typed_error_within_bounded_memory(behaviour: str, raised: str, kind: str):
    # A 2 MB gzip bomb (2 GiB inflated) and an endless stream are cut at the size cap; one byte a
    # second never trips a per-read timeout, so only the deadline on the whole attempt ends it.
    with hostile_server(behaviour) as server:
        done = call_in_subprocess(server.url, kind)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == raised


@pytest.mark.timeout(30)
def test_a_retry_after_past_the_retry_wait_cap_raises_at_once_with_its_wait():
    # `Retry-After: 119` for ever would hold the call for ten minutes; past max_retry_wait (60 s by
    # default) the rate-limit error comes back at once, retry_after set, to schedule around.
    slept: list[float] = []
    with hostile_server("throttle") as server:
        client = ConnectorClient(**TOKENS, base_url=server.url, rate_limit=None, sleep=slept.append)
        with client, pytest.raises(RateLimitError) as caught:
            client.loyalty_programs.get_all()
    assert caught.value.retry_after == 119
    assert server.requests == 1
    assert slept == []


@pytest.mark.timeout(30)
def test_retry_waits_stop_at_the_cap_of_the_call():
    # Each wait is allowed (119 s), but the call may sleep at most max_retry_wait in all.
    slept: list[float] = []
    with hostile_server("throttle") as server:
        client = ConnectorClient(
            **TOKENS, base_url=server.url, rate_limit=None, sleep=slept.append, max_retry_wait=250
        )
        with client, pytest.raises(RateLimitError):
            client.loyalty_programs.get_all()
    assert slept == [119, 119]
    assert server.requests == 3


@pytest.mark.timeout(30)
@pytest.mark.parametrize("behaviour", ["drip", "silent"])
def test_timeout_is_honoured_on_the_callers_http_client(behaviour: str):
    # The caller's httpx.Client has no timeout of its own; the SDK's timeout= still bounds each attempt.
    with hostile_server(behaviour) as server, httpx.Client(timeout=None) as http:
        client = ConnectorClient(
            **TOKENS, base_url=server.url, rate_limit=None, max_retries=0, timeout=1.0, http_client=http
        )
        with pytest.raises(ApiTimeoutError) as caught:
            client.loyalty_programs.get_all()
    assert isinstance(caught.value, MewsConnectionError)
    assert caught.value.may_have_reached_server


@pytest.mark.timeout(30)
@pytest.mark.anyio
async def test_the_async_client_holds_the_deadline_on_a_silent_server():
    with hostile_server("silent") as server:
        async with AsyncConnectorClient(
            **TOKENS, base_url=server.url, rate_limit=None, max_retries=0, timeout=1.0
        ) as client:
            with pytest.raises(ApiTimeoutError):
                await client.loyalty_programs.get_all()


def test_a_refused_connection_is_a_connection_error_not_a_timeout():
    with hostile_server("silent") as server:
        url = server.url
    client = ConnectorClient(**TOKENS, base_url=url, rate_limit=None, max_retries=0)
    with pytest.raises(MewsConnectionError) as caught:
        client.loyalty_programs.get_all()
    assert not isinstance(caught.value, ApiTimeoutError)
    assert not caught.value.may_have_reached_server


def test_a_closed_client_says_so():
    connector = ConnectorClient(**TOKENS, base_url="http://127.0.0.1:9")
    reverse = ReverseClient(base_url="http://127.0.0.1:9", token="T" * 40)
    connector.close()
    reverse.close()
    with pytest.raises(ClientClosedError, match="create a new client"):
        connector.loyalty_programs.get_all()
    with pytest.raises(ClientClosedError, match="create a new client"):
        reverse.list_memberships(["M-1"], enterprise_id="3fa85f64-5717-4562-b3fc-2c963f66afa6")


def test_a_proxy_named_by_the_environment_is_kept(monkeypatch):
    # A custom transport would make httpx drop HTTPS_PROXY; the SDK leaves httpx its own then.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    with ConnectorClient(**TOKENS) as client:
        mounts = client._sender._http._mounts
    assert any(isinstance(transport, httpx.HTTPTransport) for transport in mounts.values())
    monkeypatch.delenv("HTTPS_PROXY")
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ConnectorClient(**TOKENS) as client:
        assert isinstance(client._sender._http._transport, BoundedTransport)
