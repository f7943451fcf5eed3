"""Requests per second and p50/p99 latency for a 100-item getAll page: our mock (stateful, validating)
beside Prism's mock serving the same spec. Load comes from wrk, on loopback, bounded in time.

What the server limits cost (docs/servers.md): the same mock also runs on the unguarded httptools
protocol (the servers before the limits) and on uvicorn's h11 protocol (which caps the request head
itself), each its own process; the three are loaded in turns, so a neighbour's burst falls on all,
and each row is its best turn. Requests per second swing by a fifth between turns on a shared
machine, so the notes also give the server's own CPU time per request (from /proc, Linux only),
which a neighbour's load hardly moves: the cost of the limits is read there."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._measure import Section
from mews_loyalty._asgi import ServerChild, serve_child
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests._prism import PrismUnavailable, serve_prism

PATH = "/api/connector/v1/loyaltyMemberships/getAll"
SPEC = Path(__file__).resolve().parent.parent / "specs" / "connector" / "openapi.yaml"
SECONDS, CONNECTIONS, THREADS = 10, 16, 1
TURN_SECONDS, TURNS = 5, 3  # the before/after rows: wrk on each server in turn, best turn kept
MOCK = ["mock", "connector", "--rate-limit", "off", "--seed-data", "--seed-memberships", "1000"]
LABEL = "mews-loyalty mock (stateful, validating)"
BEFORE = "the same mock, unguarded httptools (before the limits)"
VARIANTS = {  # bench._server_variant's protocol -> row; "guarded" is the mock as shipped
    "guarded": LABEL,
    "httptools": BEFORE,
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
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": millis("50%"), "p99": millis("99%"), "requests": requests}


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time a process has used (None where /proc is not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _variant(protocol: str) -> contextlib.AbstractContextManager[ServerChild]:
    """The mock served with ``protocol`` by ``bench._server_variant``, in its own process."""
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
    return serve_child(argv, name=f"the {protocol} mock")


def _in_turns(servers: dict[str, ServerChild]) -> dict[str, dict[str, float]]:
    """wrk on each server in turn, ``TURNS`` times: each server's best turn (by requests per second),
    and its lowest server CPU time per request (``cpu_us``, absent without /proc)."""
    best: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    for _ in range(TURNS):
        for label, server in servers.items():
            before = _cpu_seconds(server.pid)
            figures = _wrk(server.url, TURN_SECONDS)
            after = _cpu_seconds(server.pid)
            if before is not None and after is not None:
                used = (after - before) / figures["requests"] * 1e6
                cpu[label] = min(cpu.get(label, used), used)
            if label not in best or figures["rps"] > best[label]["rps"]:
                best[label] = figures
    for label, used in cpu.items():
        best[label]["cpu_us"] = used
    return best


def _cost_of_the_limits(figures: dict[str, dict[str, float]]) -> str:
    shipped, before = figures[LABEL], figures[BEFORE]
    text = f"requests/s {100 * (shipped['rps'] / before['rps'] - 1):+.1f}% against the unguarded mock"
    if "cpu_us" in shipped and "cpu_us" in before:
        change = 100 * (shipped["cpu_us"] / before["cpu_us"] - 1)
        text += f"; server CPU per request {change:+.1f}%"
    return f"the server limits: {text}"


def run() -> Section:
    section = Section(
        "mock server: 100-item getAll page", "Prism mock (same spec)", "req/s", higher_is_better=True
    )
    if shutil.which("wrk") is None:
        section.notes.append("skipped: wrk is not installed (apt-get install wrk)")
        return section
    with contextlib.ExitStack() as servers:
        figures = _in_turns(
            {label: servers.enter_context(_variant(protocol)) for protocol, label in VARIANTS.items()}
        )
    for label, ours in figures.items():
        section.rows[label] = ours["rps"]
        cpu = f", server CPU {ours['cpu_us']:.0f} us/request" if "cpu_us" in ours else ""
        section.notes.append(f"{label}: p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms{cpu}")
    section.notes.append(_cost_of_the_limits(figures))
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
