"""Latency the validating proxy adds: p50 of one 100-item getAll page sent straight to the Connector mock,
and the same request through ``mews-loyalty proxy connector`` in front of it, on loopback, one request
at a time (each server its own process; the proxy judges every exchange after forwarding it)."""

from __future__ import annotations

import statistics
import tempfile
import time

import httpx

from bench._measure import Section
from bench.mock_server import BODY, PATH
from mews_loyalty._asgi import serve_in_process
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

REQUESTS, WARM_UP = 400, 40


def _p50(url: str) -> float:
    """Milliseconds: the median of ``REQUESTS`` sequential exchanges on one kept-alive connection."""
    times = []
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for index in range(WARM_UP + REQUESTS):
            started = time.perf_counter()
            client.post(PATH, json=BODY).raise_for_status()
            if index >= WARM_UP:
                times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run() -> Section:
    section = Section("proxy: added latency per exchange", "direct to the mock", "ms")
    mock = ["mock", "connector", "--rate-limit", "off", "--seed-data", "--seed-memberships", "1000"]
    tokens = {"MEWS_CLIENT_TOKEN": DEMO_CLIENT_TOKEN, "MEWS_ACCESS_TOKEN": DEMO_ACCESS_TOKEN}
    with serve_in_process(mock) as upstream, tempfile.TemporaryDirectory() as reports:
        proxy = ["proxy", "connector", "--upstream", upstream, "--report-dir", reports, "--quiet"]
        with serve_in_process(proxy, env=tokens) as url:
            direct, proxied = _p50(upstream), _p50(url)
    section.rows["direct to the mock"] = direct
    section.rows["through mews-loyalty proxy connector"] = proxied
    section.notes.append(
        f"p50 added per exchange: {proxied - direct:.2f} ms ({REQUESTS} sequential requests each, loopback)"
    )
    return section
