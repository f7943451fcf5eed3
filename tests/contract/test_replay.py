"""Findings reproduced byte for byte: curl lines that send what was sent, the run's whole traffic in
its HAR, and ``mews-loyalty contract replay`` judging a finding's request again."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from schemathesis.engine import events

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._cli import main as mews_loyalty_main
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty.contract._exchange.masking import Secret, Secrets
from mews_loyalty.contract._fuzz.events import Collector
from mews_loyalty.contract._report.causes import cause_id, deviation_kind
from mews_loyalty.contract._report.findings import FINDINGS, write_findings
from mews_loyalty.contract._report.folder import claim
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.summary import failures_text, summary
from mews_loyalty.contract._report.traffic import OWN_EXCHANGES
from mews_loyalty.contract._run.replay import COULD_NOT, GONE, THERE, replay
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._mutants import connector_mutants
from tests.contract._proxy import Answer, Flow, MutatingProxy, Mutation
from tests.contract.conftest import run_connector

TOKEN = Secret("replay-suite-access-token-0123456789", "MEWS_ACCESS_TOKEN")
TIMEOUT = 0.5  # replay's deadline: what the hanging server makes it wait, not a timing assertion


@dataclass
class Recorder:
    """A 127.0.0.1 server that keeps what it receives; while ``hangs``, a NUL body gets no answer."""

    hangs: bool = True
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        while self.hangs and body == b"\x00" and not self.released.is_set():
            await asyncio.sleep(0.02)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    app = Recorder()
    with serve_in_thread(app) as url:
        try:
            yield app, url
        finally:
            app.released.set()


def _read_operation() -> Operation:
    return next(op for op in catalog("connector").operations if op.effect == "read")


def _hang_finding(results: Results, base_url: str, body: bytes) -> None:
    """What schemathesis reports for a request that got no answer: a ``NonFatalError`` whose error
    carries the request (its code sample would write a NUL as ``$'\\x00'``, which bash sends empty)."""
    operation = _read_operation()
    label = f"{operation.method} {operation.path}"
    prepared = requests.Request(
        operation.method,
        base_url + operation.path,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN.reveal()}"},
    ).prepare()
    error = requests.exceptions.ReadTimeout("read timed out", request=prepared)
    event = events.NonFatalError(
        error=error, phase=None, label=label, related_to_operation=True, code_sample="curl -d $'\\x00'"
    )
    collector = Collector(results, Secrets([TOKEN]), "connector", {label: operation.operation_id})
    collector.handle(event)


def _report(tmp_path: Path, base_url: str, body: bytes) -> tuple[Results, Path]:
    results = Results("connector", base_url)
    _hang_finding(results, base_url, body)
    folder = claim(tmp_path / "reports", "connector")
    write_findings(results, folder)
    return results, folder


@pytest.mark.parametrize("body", [b"\x00", b"\xff\xfe{\x00\x1b[2J}"], ids=["nul", "not-utf8"])
def test_a_curl_line_sends_the_exact_body_and_token(
    recorder: tuple[Recorder, str], tmp_path: Path, body: bytes
) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("needs curl and bash on the PATH to run a curl line")
    app, url = recorder
    app.hangs = False
    results, folder = _report(tmp_path, url, body)
    (failure,) = results.failures
    assert "--data-binary @bodies/" in failure.curl
    assert TOKEN.reveal() not in failure.curl
    assert TOKEN.reveal().encode() not in b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    hint = summary(results, [], folder)
    assert "export MEWS_ACCESS_TOKEN=..." in hint
    assert "export MEWS_ACCESS_TOKEN=..." in failures_text(results)
    environment = {**os.environ, "MEWS_ACCESS_TOKEN": TOKEN.reveal()}
    done = subprocess.run(
        ["bash", "-c", failure.curl],
        cwd=folder,
        env=environment,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    headers, received = app.received[-1]
    assert received == body
    assert headers["authorization"] == f"Bearer {TOKEN.reveal()}"


def test_replay_reproduces_a_hang_on_a_nul_body_and_sees_it_fixed(
    recorder: tuple[Recorder, str], tmp_path: Path
) -> None:
    app, url = recorder
    results, folder = _report(tmp_path, url, b"\x00")
    (failure,) = results.failures
    identity = failure.cause
    record = json.loads((folder / FINDINGS / f"{identity}.json").read_text())
    assert record["check"] == failure.check
    assert TOKEN.reveal() not in json.dumps(record)
    environ = {"MEWS_ACCESS_TOKEN": TOKEN.reveal()}
    still = replay(tmp_path / "reports", identity, timeout=TIMEOUT, environ=environ)
    assert still.status == THERE, still.line
    assert app.received[-1][0]["authorization"] == f"Bearer {TOKEN.reveal()}"
    assert app.received[-1][1] == b"\x00"
    app.hangs = False
    gone = replay(tmp_path / "reports", identity, timeout=TIMEOUT, environ=environ)
    assert gone.status == GONE, gone.line


def test_replay_could_not_run_without_the_token_or_the_finding(
    recorder: tuple[Recorder, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = recorder
    results, _ = _report(tmp_path, url, b"\x00")
    (failure,) = results.failures
    identity = failure.cause
    missing = replay(tmp_path / "reports", identity, timeout=TIMEOUT, environ={})
    assert missing.status == COULD_NOT
    assert "export MEWS_ACCESS_TOKEN=..." in missing.line
    assert replay(tmp_path / "reports", "0000dead", environ={}).status == COULD_NOT
    assert replay(tmp_path / "elsewhere", identity, environ={}).status == COULD_NOT
    # the dispatcher's entry: the report folder as the run was given it
    assert mews_loyalty_main(["contract", "replay", str(tmp_path / "reports"), "0000dead"]) == COULD_NOT
    assert "no finding 0000dead" in capsys.readouterr().err


def test_finding_ids_leave_the_data_out() -> None:
    one = "'abc' is not of type 'integer' at /Items/3/Amount (status 503 after 12.5 s)"
    two = "'zz' is not of type 'string' at /Items/17/Amount (status 502 after 3 s)"
    assert deviation_kind(one) == deviation_kind(two)
    assert cause_id("c", deviation_kind(one)) == cause_id("c", deviation_kind(two))
    assert cause_id("c", deviation_kind(one)) != cause_id("other", deviation_kind(one))


def test_the_har_holds_every_request_of_a_read_only_run(connector_mock: str, tmp_path: Path) -> None:
    results = run_connector(connector_mock, tmp_path, allow_writes=False, max_examples=2)
    har = json.loads((tmp_path / "connector" / "requests.har").read_text())
    entries = har["log"]["entries"]
    assert len(entries) == results.requests > 0
    fuzzed = sum(
        len(json.loads(path.read_text())["log"]["entries"])
        for path in (tmp_path / "connector" / "schemathesis").rglob("requests.har")
    )
    assert 0 < fuzzed < len(entries), "the suite's own scenario requests are there beside schemathesis'"
    assert not (tmp_path / "connector" / OWN_EXCHANGES).exists()
    texts = json.dumps(har)
    assert "$MEWS_ACCESS_TOKEN" in texts
    assert "$MEWS_CLIENT_TOKEN" in texts
    assert DEMO_ACCESS_TOKEN not in texts
    assert DEMO_CLIENT_TOKEN not in texts


def test_replay_of_a_real_runs_finding_follows_the_server(
    connector_mock: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A run against a server whose answers lack Request-Id finds it; replaying one of its findings
    # (the command QA types, tokens exported) says it is still there, then gone once the server is fixed.
    broken = {"on": True}

    def no_request_id(flow: Flow, operation: Operation | None, answer: Answer) -> Answer:
        if broken["on"]:
            answer.drop_header("Request-Id")
        return answer

    mutation = Mutation("no_request_id", "connector", frozenset(), on_response=no_request_id)
    with serve_in_thread(MutatingProxy(connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, allow_writes=False, max_examples=1)
        assert "request_id_header" in results.failing_checks()
        records = [json.loads(p.read_text()) for p in (tmp_path / "connector" / FINDINGS).glob("*.json")]
        found = next(r for r in records if r["check"] == "request_id_header")
        monkeypatch.setenv("MEWS_CLIENT_TOKEN", DEMO_CLIENT_TOKEN)
        monkeypatch.setenv("MEWS_ACCESS_TOKEN", DEMO_ACCESS_TOKEN)
        command = ["contract", "replay", str(tmp_path), found["id"], "--timeout", "10"]
        assert mews_loyalty_main(command) == THERE
        assert "STILL THERE: [request_id_header]" in capsys.readouterr().out
        broken["on"] = False
        assert mews_loyalty_main(command) == GONE
        assert "GONE: [request_id_header]" in capsys.readouterr().out


def test_replay_of_a_scenario_cause_runs_its_scenario_again(
    connector_mock: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server that ignores the paging cursor breaks the pagination scenario (several requests, no one
    # exchange to send again): replay runs that check again on its operation, with fresh data, and
    # finds the same cause while the server is broken, none once it is fixed.
    mutant = next(m for m in connector_mutants() if m.name == "ignore_cursor")
    broken = {"on": True}

    def ignore_cursor_while_broken(flow: Flow, operation: Operation | None) -> Flow | Answer:
        return mutant.on_request(flow, operation) if broken["on"] and mutant.on_request else flow

    mutation = Mutation("ignore_cursor", "connector", frozenset(), on_request=ignore_cursor_while_broken)
    with serve_in_thread(MutatingProxy(connector_mock, mutation)) as url:
        results = run_connector(url, tmp_path, allow_writes=False, phases=())
        failure = next(f for f in results.failures if f.check == "pagination")
        assert (tmp_path / "connector" / FINDINGS / f"{failure.cause}.json").is_file()
        assert replay(tmp_path, failure.cause, environ={}).status == COULD_NOT  # no tokens exported
        monkeypatch.setenv("MEWS_CLIENT_TOKEN", DEMO_CLIENT_TOKEN)
        monkeypatch.setenv("MEWS_ACCESS_TOKEN", DEMO_ACCESS_TOKEN)
        still = replay(tmp_path, failure.cause, timeout=10)
        assert still.status == THERE, still.line
        assert (
            f"STILL THERE: [pagination] {failure.operation} ({failure.cause}), its check run again"
            in still.line
        )
        broken["on"] = False
        gone = replay(tmp_path, failure.cause, timeout=10)
        assert gone.status == GONE, gone.line
