"""Requests per second and p50/p99 latency for a 100-item getAll page: our mock (stateful, validating)
beside Prism's mock serving the same spec. Load comes from wrk, on loopback, bounded in time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench._measure import Section
from mews_loyalty._asgi import serve_in_process
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests._prism import PrismUnavailable, serve_prism

PATH = "/api/connector/v1/loyaltyMemberships/getAll"
SPEC = Path(__file__).resolve().parent.parent / "specs" / "connector" / "openapi.yaml"
SECONDS, CONNECTIONS, THREADS = 10, 16, 1
BODY = {
    "ClientToken": DEMO_CLIENT_TOKEN,
    "AccessToken": DEMO_ACCESS_TOKEN,
    "Client": "bench 1.0",
    "Limitation": {"Count": 100},
}


def _wrk(url: str) -> dict[str, float]:
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
            f"-d{SECONDS}s",
            "--latency",
            "-s",
            script.name,
            url + PATH,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=SECONDS * 3,
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


def run() -> Section:
    section = Section(
        "mock server: 100-item getAll page", "Prism mock (same spec)", "req/s", higher_is_better=True
    )
    if shutil.which("wrk") is None:
        section.notes.append("skipped: wrk is not installed (apt-get install wrk)")
        return section
    args = ["mock", "connector", "--rate-limit", "off", "--seed-data", "--seed-memberships", "1000"]
    with serve_in_process(args) as url:
        ours = _wrk(url)
    label = "mews-loyalty mock (stateful, validating)"
    section.rows[label] = ours["rps"]
    section.notes.append(f"{label}: p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms")
    try:
        with serve_prism(SPEC) as url:
            prism = _wrk(url)
    except PrismUnavailable as error:
        section.notes.append(f"Prism skipped: {error}")
        section.baseline = label
        return section
    section.rows["Prism mock (same spec)"] = prism["rps"]
    section.notes.append(f"Prism: p50 {prism['p50']:.2f} ms, p99 {prism['p99']:.2f} ms")
    section.notes.append(f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s on loopback, one server process each")
    return section
