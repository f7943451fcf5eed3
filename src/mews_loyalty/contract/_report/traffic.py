"""The run's traffic as one HAR file: schemathesis' requests and the suite's own, masked.

    <report-dir>/<api>/requests.har        every request of the run (HAR 1.2), tokens as $NAME

Schemathesis writes its own HAR per pass (``schemathesis/requests.har``, ``schemathesis/stateful/
requests.har``); the suite's scenario requests go through ``ApiClient``, which appends each one, masked,
as a HAR entry line to ``OWN_EXCHANGES`` while the run goes on (an interrupted run keeps what it sent).
``merge`` writes ``requests.har`` from all of them at the end of the run, in the order sent, and
removes the lines file. A request that got no answer has the HAR status 0.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mews_loyalty.contract._exchange.masking import Secrets, SentRequest, printable_body

OWN_EXCHANGES = "suite-requests.jsonl"
HAR = "requests.har"
CREATOR = {"name": "mews-loyalty contract", "version": "1"}


def _content(body: bytes, media: str) -> dict[str, Any]:
    if printable_body(body):
        return {"mimeType": media, "text": body.decode("utf-8")}
    return {"mimeType": media, "text": base64.b64encode(body).decode(), "encoding": "base64"}


def _headers(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def entry(
    sent: SentRequest,
    answer: tuple[int, Mapping[str, str], bytes] | None,
    started: datetime,
    seconds: float,
    secrets: Secrets,
) -> dict[str, Any]:
    """One HAR entry: ``sent`` (masked already) and ``answer`` (status, headers, body; None when
    none came), masked."""
    media = next((v for k, v in sent.headers if k.lower() == "content-type"), "")
    request = {
        "method": sent.method,
        "url": sent.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(sent.headers),
        "queryString": [],
        "postData": _content(sent.body, media),
        "headersSize": -1,
        "bodySize": len(sent.body),
    }
    status, headers, body = answer or (0, {}, b"")
    masked = secrets.mask_bytes(body)
    response = {
        "status": status,
        "statusText": "" if answer else "no answer",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers((k, secrets.mask(v)) for k, v in headers.items()),
        "content": {"size": len(masked), **_content(masked, headers.get("content-type", ""))},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": len(masked),
    }
    milliseconds = round(seconds * 1000, 3)
    return {
        "startedDateTime": started.astimezone(UTC).isoformat(),
        "time": milliseconds,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0},
    }


def append(path: Path, har_entry: dict[str, Any]) -> None:
    """Add one entry to the lines file at ``path`` (one JSON object a line)."""
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(har_entry) + "\n")


def _schemathesis_entries(directory: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    recordings = directory / "schemathesis"
    for path in sorted(recordings.rglob(HAR)) if recordings.is_dir() else []:
        try:
            found += json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a recording cut short (the run interrupted): what it holds cannot be read
    return found


def _own_entries(directory: Path) -> list[dict[str, Any]]:
    path = directory / OWN_EXCHANGES
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # the last line of a run stopped while writing it
    return entries


def _when(har_entry: dict[str, Any]) -> float:
    """When an entry's request started (schemathesis writes local times without an offset)."""
    try:
        return datetime.fromisoformat(str(har_entry.get("startedDateTime", ""))).timestamp()
    except ValueError:
        return 0.0


def merge(directory: Path) -> int:
    """Write ``directory/requests.har`` with every request of the run; returns how many it holds."""
    entries = _schemathesis_entries(directory) + _own_entries(directory)
    entries.sort(key=_when)
    log = {"log": {"version": "1.2", "creator": CREATOR, "entries": entries}}
    (directory / HAR).write_text(json.dumps(log, indent=1), encoding="utf-8")
    own = directory / OWN_EXCHANGES
    if own.is_file() and not own.is_symlink():
        os.unlink(own)
    return len(entries)


__all__ = ["HAR", "OWN_EXCHANGES", "append", "entry", "merge"]
