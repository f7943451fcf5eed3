"""Requests per second and p50/p99 latency for a 100-item getAll page: our mock (stateful, validating)
beside Prism's mock serving the same spec. Load comes from wrk, on loopback, bounded in time.

What the server limits cost (docs/servers.md): the same mock also runs on the unguarded httptools
protocol (the servers before the limits) and on uvicorn's h11 protocol (which caps the request head
itself), each its own process; the three are loaded in turns, so a neighbour's burst falls on all,
and each row is its best turn."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench._measure import Section
from mews_loyalty._asgi import LISTENING_PREFIX, STARTUP_SECONDS, _first_line, serve_in_process
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests._prism import PrismUnavailable, serve_prism

PATH = "/api/connector/v1/loyaltyMemberships/getAll"
SPEC = Path(__file__).resolve().parent.parent / "specs" / "connector" / "openapi.yaml"
SECONDS, CONNECTIONS, THREADS = 10, 16, 1
TURN_SECONDS, TURNS = 5, 3  # the before/after rows: wrk on each server in turn, best turn kept
MOCK = ["mock", "connector", "--rate-limit", "off", "--seed-data", "--seed-memberships", "1000"]
LABEL = "mews-loyalty mock (stateful, validating)"
VARIANTS = {  # the shipped server is LABEL; these serve the same mock on another protocol
    "httptools": "the same mock, unguarded httptools (before the limits)",
    "h11": "the same mock, uvicorn h11 (caps the head only)",
}
BODY = {
    "ClientToken": DEMO_CLIENT_TOKEN,
    "AccessToken": DEMO_ACCESS_TOKEN,
    "Client": "bench 1.0",
    "Limitation": {"Count": 100},
}


def _wrk(url: str, seconds: int = SECONDS) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [[{json.dumps(BODY)}]]\n"
        )
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            url + PATH,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 3,
    ).stdout
    Path(script.name).unlink()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error answers under load:\n{out}")

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": millis("50%"), "p99": millis("99%")}


@contextlib.contextmanager
def _variant(protocol: str) -> Iterator[str]:
    """The mock served with ``protocol`` by ``bench._server_variant``, in its own process; its URL."""
    argv = [
        sys.executable,
        "-m",
        "bench._server_variant",
        protocol,
        *MOCK,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = _first_line(proc.stdout, STARTUP_SECONDS) or ""
        if not line.startswith(LISTENING_PREFIX):
            raise RuntimeError(f"the {protocol} mock did not start (first line: {line!r})")
        yield line.removeprefix(LISTENING_PREFIX).strip()
    finally:
        proc.terminate()
        proc.wait(STARTUP_SECONDS)


def _in_turns(urls: dict[str, str]) -> dict[str, dict[str, float]]:
    """wrk on each server in turn, ``TURNS`` times; each server's best turn (by requests per second)."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(TURNS):
        for label, url in urls.items():
            figures = _wrk(url, TURN_SECONDS)
            if label not in best or figures["rps"] > best[label]["rps"]:
                best[label] = figures
    return best


def run() -> Section:
    section = Section(
        "mock server: 100-item getAll page", "Prism mock (same spec)", "req/s", higher_is_better=True
    )
    if shutil.which("wrk") is None:
        section.notes.append("skipped: wrk is not installed (apt-get install wrk)")
        return section
    with contextlib.ExitStack() as servers:
        urls = {LABEL: servers.enter_context(serve_in_process(MOCK))}
        urls.update({label: servers.enter_context(_variant(name)) for name, label in VARIANTS.items()})
        figures = _in_turns(urls)
    for label, ours in figures.items():
        section.rows[label] = ours["rps"]
        section.notes.append(f"{label}: p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms")
    shipped, before = figures[LABEL]["rps"], figures[VARIANTS["httptools"]]["rps"]
    section.notes.append(
        f"the server limits cost {100 * (1 - shipped / before):.1f}% of the unguarded throughput"
    )
    try:
        with serve_prism(SPEC) as url:
            prism = _wrk(url)
    except PrismUnavailable as error:
        section.notes.append(f"Prism skipped: {error}")
        section.baseline = LABEL
        return section
    section.rows["Prism mock (same spec)"] = prism["rps"]
    section.notes.append(f"Prism: p50 {prism['p50']:.2f} ms, p99 {prism['p99']:.2f} ms")
    section.notes.append(
        f"wrk -t{THREADS} -c{CONNECTIONS} on loopback, one server process each: ours {TURNS} turns of "
        f"{TURN_SECONDS} s each (best kept), Prism {SECONDS} s"
    )
    return section
