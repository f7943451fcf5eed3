"""``mews-loyalty contract replay <report-dir> <finding-id>``: send a finding's request again and judge it.

    mews-loyalty contract replay reports/contract f-3c9a1e07b2 [--timeout 30] [--base-url URL] [--allow-writes]

The run keeps, for each finding with one request behind it, the request as sent (masked) and the check
that failed (``_report.findings``: ``<report-dir>/<api>/findings/<id>.json`` and its body file). Replay
reads that record from a folder a run wrote (``_report.folder``'s rule: the API's folder carries the
run's marker; no link is followed), fills each token placeholder from the environment (never from the
report: ``export MEWS_ACCESS_TOKEN=...``), sends the exact method, URL, headers and body bytes again
within ``--timeout`` (the run's per-exchange deadline, ``_transport.bounded``), and judges the answer
with the same check:

    answers, response_deadline, response_size_limit   whether a whole answer came within the bounds
    the response checks and request_id_header           the run's own validation of the answer

A cause judged within a run, not on one exchange (a scenario check's: paging, update values, soft
delete...; or one of schemathesis' checks on generated cases) is reproduced by running its check
again, alone on its operation (the run's ``Selection``), with fresh data, against the recorded (or
given) server with the API's tokens from the environment: the deviation is still there when the same
cause (its id: the check and the kind of deviation, the scenario step included) comes back. The
re-run is read-only unless ``--allow-writes``, as the run was; a check that needs writes then does
not run, and replay says so (exit 2). Its reports go to a temporary folder and are not kept.

Exit status: 1 the deviation is still there, 0 it is gone, 2 replay could not run (no such finding, a
token variable not set, a write without ``--allow-writes``, no answer to judge, or a re-run that could
not run its check).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx

from mews_loyalty._spec.catalog import ApiName, Operation, catalog
from mews_loyalty._transport import bounded
from mews_loyalty.contract._exchange.api_client import (
    BOUND_CHECKS,
    NOT_JSON,
    RESPONSE_CHECKS,
    ApiClient,
    Exchange,
    server_json,
)
from mews_loyalty.contract._exchange.masking import Secret, Secrets, token_variables
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report.causes import cause_id
from mews_loyalty.contract._report.findings import FINDINGS
from mews_loyalty.contract._report.folder import APIS, MARKER
from mews_loyalty.contract._report.results import Results, Selection
from mews_loyalty.contract._run.options import ConnectorOptions, ReverseOptions
from mews_loyalty.contract._run.stages import spec_schema
from mews_loyalty.contract._run.verification import (
    CONNECTOR_TOKEN_VARIABLES,
    reverse_token_variable,
    verify_connector,
    verify_reverse,
)

GONE, THERE, COULD_NOT = 0, 1, 2
NO_ANSWER_CHECKS = frozenset({"answers", *BOUND_CHECKS.values()})
ANSWER_CHECKS = frozenset({*RESPONSE_CHECKS, "request_id_header"})
_ID = re.compile(r"[A-Za-z0-9-]{1,40}")


class CannotReplay(Exception):
    """Replay cannot send or judge the request: exit 2, with this one line."""


@dataclass(frozen=True)
class Finding:
    """One finding's record, read back from the report folder."""

    api: ApiName
    data: dict[str, Any]
    body: bytes

    @property
    def check(self) -> str:
        return str(self.data["check"])

    @property
    def operation(self) -> Operation:
        found = catalog(self.api).by_id.get(str(self.data["operation"]))
        if found is None:
            raise CannotReplay(f"the finding names no operation of the {self.api} spec")
        return found


def _real_file(path: Path) -> bytes:
    """The bytes of ``path``, refusing a link anywhere under the report folder's API folder."""
    if path.is_symlink() or not path.is_file():
        raise CannotReplay(f"{path} is missing or not a regular file")
    return path.read_bytes()


def load(report_dir: Path, finding_id: str) -> Finding:
    """The finding ``finding_id`` of the run that wrote ``report_dir`` (its ``--report-dir``)."""
    if not _ID.fullmatch(finding_id):
        raise CannotReplay(f"not a finding id: {finding_id!r}")
    for api in APIS:
        folder = report_dir / api
        if folder.is_symlink() or not (folder / MARKER).is_file() or (folder / MARKER).is_symlink():
            continue  # not a folder a run wrote (the report-folder rule): never read
        path = folder / FINDINGS / f"{finding_id}.json"
        if (folder / FINDINGS).is_symlink() or not path.exists():
            continue
        try:
            data = json.loads(_real_file(path))
            body_name = Path(str(data["request"]["body"]))
        except (ValueError, KeyError, TypeError) as error:
            raise CannotReplay(f"{path} is not a finding record: {error}") from None
        if body_name.is_absolute() or ".." in body_name.parts:
            raise CannotReplay(f"{path} names a body outside its report folder")
        return Finding(cast(ApiName, api), data, _real_file(folder / body_name))
    raise CannotReplay(
        f"no finding {finding_id} in {report_dir} (a finding with no request behind it, an outage's, "
        "is reproduced by running the suite again)"
    )


def _tokens(curl: str, environ: Mapping[str, str]) -> Secrets:
    """The tokens the finding's curl line expands, from the environment; one missing: exit 2."""
    names = token_variables([curl])
    return Secrets(
        Secret(token, name) for name, token in zip(names, _environment(names, environ), strict=True)
    )


def _fill(text: str, secrets: Secrets) -> str:
    for secret in secrets:
        text = text.replace(secret.placeholder, secret.reveal())
    return text


def _url(finding: Finding, base_url: str | None) -> str:
    url = str(finding.data["request"]["url"])
    recorded = str(finding.data.get("base_url", ""))
    if base_url and recorded and url.startswith(recorded):
        return base_url.rstrip("/") + url[len(recorded) :]
    return url


def request_of(
    finding: Finding, environ: Mapping[str, str], base_url: str | None
) -> tuple[httpx.Request, Secrets]:
    """The recorded request with its tokens filled in: the same method, URL, headers and body bytes."""
    recorded = finding.data["request"]
    headers = [(str(name), str(value)) for name, value in recorded["headers"]]
    url = _url(finding, base_url)
    # The curl line expands each token the request carried (a body sent from a file carries them as
    # the same placeholders).
    secrets = _tokens(str(finding.data.get("curl", "")), environ)
    body = finding.body
    for secret in secrets:
        body = body.replace(secret.placeholder.encode(), secret.reveal().encode())
    sent = [
        (name, _fill(value, secrets))
        for name, value in headers
        if name.lower() not in {"content-length", "host"}
    ]
    request = httpx.Request(str(recorded["method"]), _fill(url, secrets), headers=sent, content=body)
    return request, secrets


def judge(
    finding: Finding,
    response: httpx.Response | None,
    error: Exception | None,
    secrets: Secrets,
    timeout: float,
) -> bool:
    """Whether the deviation is still there: the same check, on the new answer (or its absence)."""
    check = finding.check
    if check in NO_ANSWER_CHECKS:
        if check == "answers":
            return error is not None and not isinstance(error, bounded.AnswerTooLarge)
        kinds = [kind for kind, name in BOUND_CHECKS.items() if name == check]
        return any(isinstance(error, kind) for kind in kinds)
    if response is None:
        raise CannotReplay(
            f"no answer to judge {check} on: {type(error).__name__}: {secrets.mask(str(error))}"
        )
    return _judged_by_the_run(finding, response, secrets, timeout)


def _judged_by_the_run(finding: Finding, response: httpx.Response, secrets: Secrets, timeout: float) -> bool:
    """The run's own validation of one answer (``ApiClient.validate``), read for the one check."""
    operation = finding.operation
    base_url = str(response.request.url).removesuffix(operation.path)
    results = Results(finding.api, base_url)
    client = ApiClient(
        base_url=base_url,
        schema=spec_schema(finding.api, base_url),
        secrets=secrets,
        pacer=Throttle(None),
        results=results,
        check_request_id=finding.api == "connector",
        timeout=timeout,
    )
    with client:
        body = server_json(finding.body)
        client.validate(Exchange(operation, finding.body if body is NOT_JSON else body, response, ""))
    tally = results.tallies.get((finding.check, operation.operation_id))
    return tally is not None and tally.failed > 0


@dataclass(frozen=True)
class Outcome:
    """What replay found: its exit status and the line it prints."""

    status: int
    line: str


def replay(
    report_dir: Path,
    finding_id: str,
    *,
    timeout: float = 30.0,
    base_url: str | None = None,
    allow_writes: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Send finding ``finding_id``'s request again and judge it with its check."""
    try:
        finding = load(report_dir, finding_id)
        return _replay(finding, timeout, base_url, allow_writes, os.environ if environ is None else environ)
    except CannotReplay as error:
        return Outcome(COULD_NOT, f"could not replay {finding_id}: {error}")


def _replay(
    finding: Finding, timeout: float, base_url: str | None, allow_writes: bool, environ: Mapping[str, str]
) -> Outcome:
    check, operation = finding.check, finding.operation
    if check not in NO_ANSWER_CHECKS | ANSWER_CHECKS:
        return _rerun(finding, timeout, base_url, allow_writes, environ)
    if operation.effect != "read" and not allow_writes:
        raise CannotReplay(f"{operation.operation_id} writes: replay it with --allow-writes, as the run was")
    request, secrets = request_of(finding, environ, base_url)
    response, error = _send(request, timeout)
    there = judge(finding, response, error, secrets, timeout)
    what = f"[{check}] {operation.operation_id} ({finding.data.get('id')})"
    seen = (
        f"{type(error).__name__}"
        if error is not None
        else f"answer {response.status_code if response else '-'}"
    )
    if there:
        return Outcome(THERE, f"STILL THERE: {what}: {seen}")
    return Outcome(GONE, f"GONE: {what}: {seen}")


def _rerun(
    finding: Finding, timeout: float, base_url: str | None, allow_writes: bool, environ: Mapping[str, str]
) -> Outcome:
    """Run the finding's check again, alone on its operation, and look for its cause."""
    options = _rerun_options(finding, timeout, base_url or str(finding.data.get("base_url", "")), environ)
    options.allow_writes = allow_writes
    with tempfile.TemporaryDirectory(prefix="mews-loyalty-replay-") as folder:
        options.report_dir = Path(folder)
        if isinstance(options, ConnectorOptions):
            results = verify_connector(options, io.StringIO())
        else:
            results = verify_reverse(options, io.StringIO())
    what = (
        f"[{finding.check}] {finding.operation.operation_id} ({finding.data.get('id')}), its check run again"
    )
    ended = [
        *([results.could_not_run] if results.could_not_run else []),
        *([f"interrupted by {results.interrupted}"] if results.interrupted else []),
        *(f"a fault of the suite: {fault.error}" for fault in results.faults),
        *results.errors,
    ]
    if ended:
        raise CannotReplay(f"{what} could not finish: {ended[0]}")
    if finding.data.get("id") in {cause_id(check, kind) for check, kind in results.cause_cases}:
        return Outcome(THERE, f"STILL THERE: {what}")
    if not any(check == finding.check for check, _ in results.tallies):
        reasons = sorted({n.reason for n in results.not_run if n.check == finding.check})
        raise CannotReplay(f"{what}: it did not run ({'; '.join(reasons) or 'nothing to check'})")
    return Outcome(GONE, f"GONE: {what}")


def _rerun_options(
    finding: Finding, timeout: float, base_url: str, environ: Mapping[str, str]
) -> ConnectorOptions | ReverseOptions:
    """The re-run's options: the finding's (check, operation) alone, quiet, the API's tokens from the
    environment (all of them: a scenario may send any)."""
    common: dict[str, Any] = {
        "base_url": base_url,
        "timeout": timeout,
        "quiet": True,
        "recordings": (),
        "selection": Selection(frozenset({(finding.check, finding.operation.operation_id)})),
    }
    if finding.api == "connector":
        client, access = _environment(CONNECTOR_TOKEN_VARIABLES, environ)
        return ConnectorOptions(**common, client_token=client, access_token=access)
    names = list(itertools.takewhile(environ.get, map(reverse_token_variable, itertools.count())))
    return ReverseOptions(**common, tokens=_environment(names or [reverse_token_variable(0)], environ))


def _environment(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """The tokens ``names`` from the environment; one missing: exit 2."""
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise CannotReplay(
            f"export {' '.join(f'{name}=...' for name in missing)} (tokens never come from the report)"
        )
    return [environ[name] for name in names]


def _send(request: httpx.Request, timeout: float) -> tuple[httpx.Response | None, Exception | None]:
    bounds = bounded.Bounds(max_bytes=bounded.DEFAULT_MAX_BYTES, deadline=timeout)
    with httpx.Client(transport=bounded.BoundedTransport(), follow_redirects=False) as client:
        try:
            return bounded.send(client, request, bounds), None
        except (httpx.HTTPError, bounded.BoundExceeded, bounded.UndecodableAnswer) as error:
            return None, error


__all__ = ["COULD_NOT", "GONE", "THERE", "CannotReplay", "Outcome", "load", "replay"]
