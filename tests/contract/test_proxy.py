"""The validating proxy: it changes no byte of what passes, reports nothing for a conforming pair, each
break of a server that does not conform, and stops on SIGINT with its reports written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware

from mews_loyalty import ConnectorClient, MewsError, ReverseClient
from mews_loyalty._asgi import LISTENING_PREFIX, serve_in_thread
from mews_loyalty._spec.catalog import ApiName
from mews_loyalty.contract._exchange.api_client import RESPONSE_CHECKS
from mews_loyalty.contract._exchange.masking import Secret, Secrets
from mews_loyalty.contract._proxy.forward import ForwardingProxy, end_to_end
from mews_loyalty.contract._proxy.judge import Judge
from mews_loyalty.contract._report.results import Results
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from mews_loyalty.mock.reverse import create_app as create_reverse_app
from tests.contract._mutants import connector_mutants, reverse_mutants
from tests.contract._proxy import MutatingProxy, Mutation
from tests.contract.conftest import REVERSE_TOKENS

ENTERPRISE = "0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11"
# Breaks one exchange shows: what the proxy must report (the others need a scenario of several).
ONE_EXCHANGE = {
    "connector": (
        "drop_required_field",
        "enum_casing",
        "wrong_content_type",
        "drop_request_id",
        "ok_for_invalid_input",
    ),
    "reverse": ("status_casing", "problem_as_plain_json"),
}
JUDGED = {*RESPONSE_CHECKS, "request_id_header", "negative_data_rejection", "request_conformance"}
SECRETS = {
    "connector": Secrets(
        [Secret(DEMO_CLIENT_TOKEN, "MEWS_CLIENT_TOKEN"), Secret(DEMO_ACCESS_TOKEN, "MEWS_ACCESS_TOKEN")]
    ),
    "reverse": Secrets([Secret(REVERSE_TOKENS[0], "MEWS_REVERSE_TOKEN")]),
}


@dataclass
class Wire:
    """What one side of the proxy put on or took off the wire, exchange by exchange."""

    requests: list[tuple[str, bytes, list[tuple[bytes, bytes]], bytes]] = field(default_factory=list)
    answers: list[tuple[int, list[tuple[bytes, bytes]], bytes]] = field(default_factory=list)


class RecordingUpstream:
    """An ASGI app recording every request it receives and every answer it sends (as sent: gzip)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.wire = Wire()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
        self.wire.requests.append((scope["method"], target, list(scope["headers"]), body))
        answer: list[Any] = [0, [], b""]

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer[0], answer[1] = message["status"], list(message.get("headers", []))
            else:
                answer[2] += message.get("body", b"")
                if not message.get("more_body", False):
                    self.wire.answers.append((answer[0], answer[1], answer[2]))
            await send(message)

        await self.app(scope, replay, record)


class RecordingTransport(httpx.HTTPTransport):
    """The client's side: each request as sent and each answer's raw bytes as received."""

    def __init__(self) -> None:
        super().__init__()
        self.wire = Wire()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        self.wire.requests.append((request.method, request.url.raw_path, list(request.headers.raw), content))
        response = super().handle_request(request)
        raw = b"".join(response.stream)
        response.close()
        self.wire.answers.append((response.status_code, list(response.headers.raw), raw))
        return httpx.Response(
            response.status_code, headers=response.headers.raw, stream=httpx.ByteStream(raw)
        )


def _lower(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in end_to_end(headers)]


@contextmanager
def proxied(api: ApiName, upstream: str) -> Iterator[tuple[str, Results]]:
    """The proxy in front of ``upstream``; its results are complete once the block has ended."""
    results = Results(api, upstream)
    judge = Judge(api, upstream, SECRETS[api], results)
    with serve_in_thread(ForwardingProxy(upstream, judge.judge), server_headers=False) as url:
        yield url, results


def _connector_mock() -> Any:
    return create_app(ConnectorMockConfig(rate_limit=None, seed_data=True))


def _sdk_traffic(url: str, transport: httpx.BaseTransport | None = None) -> None:
    with ConnectorClient(
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        client="proxy-test",
        base_url=url,
        rate_limit=None,
        max_retries=0,
        transport=transport,
    ) as mews:
        memberships = list(mews.loyalty_memberships.iter_all(activity_states=["Active"]))
        programs = list(mews.loyalty_programs.iter_all())
        assert memberships
        assert programs
        list(mews.loyalty_tiers.iter_all(loyalty_program_ids=[programs[0].id]))


def test_between_the_sdk_and_the_mock_nothing_is_reported_and_no_byte_changes() -> None:
    upstream = RecordingUpstream(GZipMiddleware(_connector_mock(), minimum_size=10))
    client = RecordingTransport()
    with (
        serve_in_thread(upstream, server_headers=False) as upstream_url,
        proxied("connector", upstream_url) as (url, results),
    ):
        _sdk_traffic(url, client)
    assert results.failures == []
    assert results.faults == []
    assert results.conforms
    assert results.requests == len(client.wire.requests) >= 3
    assert results.checks()
    assert all(tally.failed == 0 for tally in results.tallies.values())
    for sent, received in zip(client.wire.requests, upstream.wire.requests, strict=True):
        assert (sent[0], sent[1], sent[3]) == (received[0], received[1], received[3])
        assert [h for h in _lower(sent[2])] == [h for h in _lower(received[2])]
    assert any((b"content-encoding", b"gzip") in _lower(a[1]) for a in upstream.wire.answers)
    for answered, got in zip(upstream.wire.answers, client.wire.answers, strict=True):
        assert (answered[0], answered[2]) == (got[0], got[2])  # the gzip bytes, as the upstream sent them
        assert _lower(answered[1]) == _lower(got[1])


def _mutants(api: ApiName) -> list[Mutation]:
    every = connector_mutants() if api == "connector" else reverse_mutants(REVERSE_TOKENS)
    return [mutant for mutant in every if mutant.name in ONE_EXCHANGE[api]]


def _connector_breakable_traffic(url: str) -> None:
    with suppress(MewsError):  # the SDK refuses what a broken server answers; the proxy reports it
        _sdk_traffic(url)
    httpx.post(
        url + "/api/connector/v1/loyaltyTiers/getAll",
        json={"ClientToken": DEMO_CLIENT_TOKEN, "AccessToken": DEMO_ACCESS_TOKEN, "Client": "proxy-test"},
    )  # no LoyaltyProgramIds: a request the spec refuses


def _reverse_breakable_traffic(url: str) -> None:
    with ReverseClient(base_url=url, token=REVERSE_TOKENS[0], max_retries=0) as provider, suppress(MewsError):
        provider.list_memberships(["M-1001", "no-such-membership"], enterprise_id=ENTERPRISE)
    httpx.post(
        url + "/memberships/list",
        json={"mewsEnterpriseId": "not a uuid"},
        headers={"Authorization": f"Bearer {REVERSE_TOKENS[0]}"},
    )


@pytest.mark.parametrize(
    "mutant", [*_mutants("connector"), *_mutants("reverse")], ids=lambda mutant: f"{mutant.api}-{mutant.name}"
)
def test_each_break_of_a_mutant_is_reported(mutant: Mutation) -> None:
    app = (
        _connector_mock() if mutant.api == "connector" else create_reverse_app(REVERSE_TOKENS, seed_data=True)
    )
    traffic = _connector_breakable_traffic if mutant.api == "connector" else _reverse_breakable_traffic
    with (
        serve_in_thread(app) as server_url,
        serve_in_thread(MutatingProxy(server_url, mutant)) as broken_url,
        proxied(mutant.api, broken_url) as (url, results),
    ):
        traffic(url)
    assert results.faults == []
    judged = mutant.expected & JUDGED  # the rest needs a scenario of several exchanges
    assert judged
    assert judged <= set(results.failing_checks()), results.failures
    assert not results.conforms


def test_the_identity_mutant_is_not_reported_but_invalid_requests_are() -> None:
    with (
        serve_in_thread(_connector_mock()) as upstream_url,
        proxied("connector", upstream_url) as (url, results),
    ):
        _connector_breakable_traffic(url)
        httpx.post(url + "/api/connector/v1/nothing/here", json={})
    assert set(results.failing_checks()) == {"request_conformance"}
    messages = [f.message for f in results.failures]
    assert any("LoyaltyProgramIds" in message for message in messages)
    assert any("no operation of the connector spec" in message for message in messages)
    assert all(
        DEMO_ACCESS_TOKEN not in f.curl and DEMO_ACCESS_TOKEN not in f.message for f in results.failures
    )


def test_an_upstream_that_cannot_be_reached_is_a_502_and_a_finding() -> None:
    with serve_in_thread(_connector_mock()) as gone:
        pass  # its port is free again: nothing listens there
    with proxied("connector", gone) as (url, results):
        answer = httpx.post(url + "/api/connector/v1/loyaltyPrograms/getAll", json={})
    assert answer.status_code == 502
    assert "answers" in results.failing_checks()


def _start(api: str, upstream: str, report_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "MEWS_CLIENT_TOKEN": DEMO_CLIENT_TOKEN, "MEWS_ACCESS_TOKEN": DEMO_ACCESS_TOKEN}
    argv = [sys.executable, "-m", "mews_loyalty._cli", "proxy", api, "--upstream", upstream]
    argv += ["--port", "0", "--report-dir", str(report_dir), "--quiet"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(LISTENING_PREFIX), line
    return proc, line.removeprefix(LISTENING_PREFIX).strip()


@pytest.mark.parametrize(("stop", "broken", "status"), [(signal.SIGINT, False, 0), (signal.SIGTERM, True, 1)])
def test_a_stop_signal_writes_the_reports_and_exits_by_the_findings(
    tmp_path: Path, stop: signal.Signals, broken: bool, status: int
) -> None:
    with serve_in_thread(_connector_mock()) as upstream_url:
        proc, url = _start("connector", upstream_url, tmp_path)
        try:
            _sdk_traffic(url)
            if broken:
                _connector_breakable_traffic(url)
        finally:
            proc.send_signal(stop)
            out, _ = proc.communicate(timeout=60)
    assert proc.returncode == status, out
    report = json.loads((tmp_path / "connector" / "results.json").read_text())
    assert report["conforms"] is not broken
    assert report["requests"] >= 3
    assert f"stopped by {stop.name}" in " ".join(report["notes"])
    for name in ("report.html", "summary.txt", "junit.xml", "failures.txt"):
        text = (tmp_path / "connector" / name).read_text()
        assert DEMO_ACCESS_TOKEN not in text
    assert ("DOES NOT CONFORM" in out) is broken


def test_a_request_nested_too_deep_is_judged_as_the_servers_answer_it() -> None:
    # The validators recurse; a body a thousand deep used to break them. The servers refuse it (400),
    # and the judge, with the servers' own validators, refuses it for the same reason.
    tokens = f'"ClientToken": "{DEMO_CLIENT_TOKEN}", "AccessToken": "{DEMO_ACCESS_TOKEN}", "Client": "x"'
    deep = f'{{{tokens}, "X": {"[" * 1000}{"]" * 1000}}}'.encode()
    with (
        serve_in_thread(_connector_mock()) as upstream_url,
        proxied("connector", upstream_url) as (url, results),
    ):
        answer = httpx.post(
            url + "/api/connector/v1/loyaltyPrograms/getAll",
            content=deep,
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 400
    assert results.faults == []
    assert [f.message for f in results.failures if f.check == "request_conformance"] == [
        "the mock would answer 400: The request body nests arrays and objects deeper than 64 levels."
    ]


def test_a_bearer_token_the_proxy_was_not_given_stays_out_of_its_findings() -> None:
    unknown = "a-token-nobody-gave-the-proxy-0123456789"
    with (
        serve_in_thread(create_reverse_app(REVERSE_TOKENS, seed_data=True)) as upstream_url,
        proxied("reverse", upstream_url) as (url, results),
    ):
        httpx.post(url + "/memberships/list", json={}, headers={"Authorization": f"Bearer {unknown}"})
    assert results.failures
    assert all(unknown not in failure.curl + failure.message for failure in results.failures)
