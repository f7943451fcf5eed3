"""Each finding with one request behind it, recorded so that it can be sent again byte for byte.

    <report-dir>/<api>/findings/<id>.json   check, operation, reason, what the check expects, the request
    <report-dir>/<api>/bodies/<hash>.bin    each request body (what ``--data-binary @bodies/...`` sends)

The id is the finding's cause id (``_report.causes.cause_id``: the check and the kind of deviation, no
data), the one ``results.json`` lists under ``causes`` and ``mews-loyalty contract replay <report-dir>
<id>`` takes; a cause's first finding with a request is the one recorded. The request is the one the curl line repeats
(``masking.CurlLine``), masked: tokens are ``$NAME`` placeholders, which replay fills from the
environment and never from the report. A scenario's finding is recorded with the request its curl
line repeats, for its id and operation: replay runs its check again rather than send it. Findings with
no request behind them (an outage) have no record: replay says to run the suite again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mews_loyalty.contract._exchange.masking import CurlLine, SentRequest, export_hint
from mews_loyalty.contract._report.results import OUR_CHECKS, Failure, Results

FINDINGS = "findings"
RECORD_VERSION = 1


def record(failure: Failure, sent: SentRequest, base_url: str) -> dict[str, Any]:
    """What replay needs of one finding: its id, the check and its expectation, the request (and the
    run's base URL, which replay may swap for another)."""
    return {
        "version": RECORD_VERSION,
        "base_url": base_url,
        "id": failure.cause,
        "check": failure.check,
        "operation": failure.operation,
        "reason": failure.message,
        "kind": failure.kind,
        "expectation": OUR_CHECKS.get(failure.check, f"schemathesis' {failure.check}"),
        "request": {
            "method": sent.method,
            "url": sent.url,
            "headers": [list(pair) for pair in sent.headers],
            "body": sent.body_path,
        },
        "curl": str(failure.curl),
    }


def replayable(results: Results) -> Iterable[tuple[Failure, SentRequest]]:
    """The kept findings that carry the one request they are about."""
    for failure in results.failures:
        if isinstance(failure.curl, CurlLine) and failure.curl.request is not None:
            yield failure, failure.curl.request


def write_findings(results: Results, directory: Path) -> list[str]:
    """Write each replayable finding's record and body into ``directory``; returns their ids."""
    ids: list[str] = []
    for failure, sent in replayable(results):
        entry = record(failure, sent, results.base_url)
        if entry["id"] in ids:
            continue  # one cause, one record: its first finding with a request represents it
        ids.append(entry["id"])
        body = directory / sent.body_path
        body.parent.mkdir(parents=True, exist_ok=True)
        body.write_bytes(sent.body)
        folder = directory / FINDINGS
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{entry['id']}.json").write_text(json.dumps(entry, indent=1), encoding="utf-8")
    return ids


def curl_hint(results: Results) -> str:
    """The line reports show above their curl lines: where to run them and what to export."""
    lines = [str(failure.curl) for failure in results.failures if failure.curl]
    if not lines:
        return ""
    hint = export_hint(lines)
    where = "run curl lines from this report folder (bodies/ holds the bodies they send from a file)"
    return f"{where}; {hint}" if hint else where


__all__ = ["FINDINGS", "curl_hint", "record", "replayable", "write_findings"]
