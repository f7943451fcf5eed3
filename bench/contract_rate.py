"""Contract-suite cases per second against the embedded mocks, beside bare sequential requests to the
same Connector mock (the floor: what one client does with no generation, checking or reporting)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._measure import Section
from mews_loyalty._asgi import serve_in_process
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

FLOOR_REQUESTS = 500
BODY = {
    "ClientToken": DEMO_CLIENT_TOKEN,
    "AccessToken": DEMO_ACCESS_TOKEN,
    "Client": "bench",
    "Limitation": {"Count": 10},
}


def _floor() -> float:
    with (
        serve_in_process(["mock", "connector", "--rate-limit", "off", "--seed-data"]) as url,
        httpx.Client() as http,
    ):
        started = time.perf_counter()
        for _ in range(FLOOR_REQUESTS):
            http.post(f"{url}/api/connector/v1/loyaltyMemberships/getAll", json=BODY).raise_for_status()
        return FLOOR_REQUESTS / (time.perf_counter() - started)


def run() -> Section:
    section = Section(
        "contract suite against the embedded mocks",
        "bare sequential requests (floor)",
        "per s",
        higher_is_better=True,
    )
    section.rows["bare sequential requests (floor)"] = _floor()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        # The embedded run writes its reports under ./reports/contract of its working directory.
        subprocess.run(
            [sys.executable, "-m", "mews_loyalty.contract"], cwd=tmp, check=True, capture_output=True
        )
        wall = time.perf_counter() - started
        for api in ("connector", "reverse"):
            results = json.loads((Path(tmp) / "reports" / "contract" / api / "results.json").read_text())
            section.rows[f"{api}: schemathesis cases"] = results["schemathesis_cases"] / results["seconds"]
            section.notes.append(
                f"{api}: {results['schemathesis_cases']} cases, {results['requests']} requests "
                f"in {results['seconds']:.1f} s"
            )
    section.notes.append(f"whole `python -m mews_loyalty.contract` run: {wall:.1f} s")
    return section
