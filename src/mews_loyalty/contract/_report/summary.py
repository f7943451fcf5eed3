"""What a run leaves behind: the one-screen summary, JUnit XML, the failures with curl lines, JSON.

<report-dir>/<api>/report.html      the whole run on one page, linking schemathesis' HTML reports
<report-dir>/<api>/summary.txt      the summary printed at the end (plus the full matrix)
<report-dir>/<api>/junit.xml        one test case per check and operation
<report-dir>/<api>/failures.txt     every failure with a curl line (tokens as $VARIABLES)
<report-dir>/<api>/results.json     the same data for tools
<report-dir>/<api>/schemathesis/    schemathesis' own reports: JUnit, HTML, HAR (VCR, NDJSON with --recordings)

Every text a server sent is made printable (``text.printable``) in each of them and on the terminal.
The folder is the run's own (``folder``): the writers here create their files in a folder it claimed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from mews_loyalty.contract._report.causes import Cause, causes, operations_text
from mews_loyalty.contract._report.findings import curl_hint
from mews_loyalty.contract._report.html import html_report
from mews_loyalty.contract._report.junit import junit_xml
from mews_loyalty.contract._report.results import ENROLLED_TITLE, OUR_CHECKS, Results
from mews_loyalty.contract._report.text import printable

SCENARIO_CHECKS = frozenset(OUR_CHECKS) - {
    "ignored_body_auth",
    "request_id_header",
    "answers",
    "response_size_limit",
    "response_deadline",
}
MAX_CAUSES_ON_SCREEN = 12
KINDS = ("schemathesis", "ours", "scenario")
PHASE_ORDER = ("examples", "coverage", "fuzzing", "stateful")  # schemathesis' phases, as they run


def _kind(check: str) -> str:
    if check in SCENARIO_CHECKS:
        return "scenario"
    if check in OUR_CHECKS:
        return "ours"
    return "schemathesis"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _phases(results: Results) -> list[str]:
    """The phases that sent schemathesis cases, in the order they run."""
    return sorted(results.cases_by_phase, key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else 9, p))


def _operations_table(results: Results) -> list[str]:
    """One line per operation: its checks' verdicts and the schemathesis cases it got per phase."""
    phases = _phases(results)
    lines = [f"cases per operation below: {'/'.join(phases)}"] if phases else []
    lines.append("")
    lines.append(f"{'operation':<34}{'checks':>7}{'passed':>9}{'failed':>8}{'cases':>16}  failing checks")
    for operation in results.operations():
        tallies = [(c, t) for (c, op), t in results.tallies.items() if op == operation]
        failing = sorted(c for c, t in tallies if t.failed)
        cases = results.cases_by_operation.get(operation, {})
        lines.append(
            f"{_shorten(operation, 33):<34}{len(tallies):>7}{sum(t.passed for _, t in tallies):>9}"
            f"{sum(t.failed for _, t in tallies):>8}{'/'.join(str(cases.get(p, 0)) for p in phases):>16}"
            f"  {_shorten(', '.join(failing), 40)}"
        )
    return lines


def summary(results: Results, header: Iterable[str], report_dir: Path | None) -> str:
    """The one screen printed at the end (and the top of summary.txt); server text made printable."""
    lines = [
        *header,
        *_traffic(results),
        *_causes(results),
        "",
        *_operations_table(results),
        "",
        *_checks(results),
        *_remarks(results),
        "",
        *_problems(results),
    ]
    if report_dir is not None:
        lines.append(
            f"reports: {report_dir}/ (report.html, summary.txt, junit.xml, failures.txt, results.json, "
            "schemathesis/)"
        )
    lines.append(result_line(results))
    return printable("\n".join(lines))


def result_line(results: Results) -> str:
    return f"RESULT: {results.api} at {results.base_url} {results.verdict}"


def _traffic(results: Results) -> list[str]:
    seconds = max(results.seconds, 1e-6)
    lines = [
        f"{seconds:.1f} s, {results.requests} requests ({results.requests / seconds:.0f}/s), "
        f"{results.schemathesis_cases} schemathesis cases ({results.schemathesis_cases / seconds:.0f}/s)"
    ]
    if results.cases_by_phase:
        lines.append(
            "schemathesis cases by phase: " + ", ".join(f"{k} {v}" for k, v in results.cases_by_phase.items())
        )
    return lines


def _checks(results: Results) -> list[str]:
    """Every check with its counts, in two columns: schemathesis' first, then ours, then scenarios."""
    cells = []
    for check in sorted(results.checks(), key=lambda c: (KINDS.index(_kind(c)), c)):
        rows = list(results.by_check(check))
        passed, failed = sum(t.passed for _, t in rows), sum(t.failed for _, t in rows)
        cells.append(f"{'FAIL' if failed else 'ok':<5}{check:<29}{len(rows):>4}{passed:>8}{failed:>7}")
    title = f"{'':<5}{'check':<29}{'ops':>4}{'passed':>8}{'failed':>7}"
    lines = [f"{title}   {title}"]
    half = (len(cells) + 1) // 2
    right_column = cells[half:] + [""] * (2 * half - len(cells))
    for left, right in zip(cells[:half], right_column, strict=True):
        lines.append(f"{left}   {right}".rstrip())
    lines.append(
        "(schemathesis' built-in checks first, then ours: ignored_body_auth, request_id_header, then scenarios)"
    )
    return lines


def _remarks(results: Results) -> list[str]:
    """What did not run and why, the notes, and the write ledger's counts."""
    lines = [f"not run: {n.check}: {n.reason}" for n in results.not_run]
    lines += [f"note: {_shorten(note, 160)}" for note in results.notes]
    if results.enrolled:
        lines.append(f"{ENROLLED_TITLE}: {', '.join(results.enrolled)}")
    if results.writes is not None:
        writes = results.writes
        budget = "unlimited" if writes.budget is None else f"at most {writes.budget}"
        gone = (
            f"; {writes.gone} not found at clean-up though the run did not delete them" if writes.gone else ""
        )
        lines.append(
            f"writes: created {writes.created}, deleted {writes.deleted}, left {writes.left} ({budget}){gone}"
        )
    return lines


def _problems(results: Results) -> list[str]:
    """How the run ended when it did not end by itself, and what kept it from its job."""
    lines = []
    if results.could_not_run is not None:
        lines.append(f"COULD NOT RUN: {results.could_not_run}")
    if results.interrupted is not None:
        lines.append(
            f"INTERRUPTED by {results.interrupted}: what ran before it is reported; what did not is listed "
            "as not run"
        )
    if results.stopped is not None:
        lines.append(
            f"STOPPED at its failure limit ({results.stop_after} failing, pytest -x): {results.stopped}; "
            "what ran before is reported, what did not is listed as not run"
        )
    for fault in results.faults:
        lines.append(
            f"SUITE FAULT (a bug in the contract suite, not in the server): {fault.where}: {_shorten(fault.error, 240)}"
        )
    for error in results.errors:
        lines.append(f"ERROR (the run could not finish its job): {_shorten(error, 300)}")
    for leftover in results.leftovers[:10]:
        lines.append(f"NOT CLEANED UP: {leftover}")
    if len(results.leftovers) > 10:
        lines.append(f"NOT CLEANED UP: ... and {len(results.leftovers) - 10} more (see failures.txt)")
    return lines


def _causes(results: Results) -> list[str]:
    """The causes, errors first, then the most cases: the findings' root causes, each once."""
    found = causes(results)
    if not found:
        return []
    errors = sum(cause.severity == "error" for cause in found)
    lines = [
        "",
        f"{len(found)} causes ({errors} errors, {len(found) - errors} warnings) of {len(results.failures)} "
        f"distinct failures in {len(results.failing_checks())} checks:",
    ]
    lines += [f"  {hint}" for hint in [curl_hint(results)] if hint]
    for cause in found[:MAX_CAUSES_ON_SCREEN]:
        lines += _cause_lines(cause, 220)
    if len(found) > MAX_CAUSES_ON_SCREEN:
        lines.append(f"  ... {len(found) - MAX_CAUSES_ON_SCREEN} more causes (summary.txt, report.html)")
    return lines


def _cause_lines(cause: Cause, width: int | None) -> list[str]:
    """A cause: its severity, id, check, cases and operations; its kind; its representative curl."""

    def cut(text: str) -> str:
        return text if width is None else _shorten(text, width)

    why = f" {cut(f'({cause.why_warning})')}" if cause.why_warning else ""
    lines = [
        f"  {cause.severity:<8}{cause.id}  [{cause.check}] {cause.count} cases: "
        f"{cut(operations_text(cause.operations))}{why}",
        f"      {cut(cause.kind)}",
    ]
    if cause.curl:
        lines.append(f"      {cut(cause.curl)}")
    return lines


def matrix(results: Results) -> str:
    """Operations by checks, with passed/failed counts: the full picture for summary.txt."""
    checks = results.checks()
    lines = ["", "operations by checks (passed/failed):"]
    for check in checks:
        cells = [f"{op}={t.passed}/{t.failed}" for op, t in results.by_check(check)]
        lines.append(f"  {check}: {', '.join(cells)}")
    return printable("\n".join(lines))


def failures_text(results: Results) -> str:
    ended = results.interrupted is None and results.could_not_run is None
    if ended and not results.failures and not results.leftovers and not results.errors and not results.faults:
        return "No failures.\n"
    lines = [
        "Every failure under its cause, with a request that reproduces it. Tokens appear as shell variables:",
        curl_hint(results),
        "",
    ]
    for cause in causes(results):
        lines += [*_cause_lines(cause, None), ""]
        for failure in cause.findings:
            lines += [f"    [{failure.check}] {failure.operation}", f"      {failure.message}"]
            if failure.curl:
                lines.append(f"      {failure.curl}")
            lines.append("")
    if results.could_not_run is not None:
        lines.append(f"COULD NOT RUN: {results.could_not_run}")
    if results.interrupted is not None:
        lines.append(f"INTERRUPTED by {results.interrupted}")
    lines += [f"ERROR: {error}" for error in results.errors]
    lines += [f"SUITE FAULT in {fault.where}: {fault.error}" for fault in results.faults]
    lines += [f"NOT CLEANED UP: {leftover}" for leftover in results.leftovers]
    return printable("\n".join(lines)) + "\n"


def results_json(results: Results) -> str:
    data = {
        "api": results.api,
        "base_url": results.base_url,
        "conforms": results.conforms,
        "causes": [cause.as_json() for cause in causes(results)],
        "seconds": round(results.seconds, 3),
        "requests": results.requests,
        "schemathesis_cases": results.schemathesis_cases,
        "cases_by_operation": results.cases_by_operation,
        "checks": {
            check: {op: {"passed": t.passed, "failed": t.failed} for op, t in results.by_check(check)}
            for check in results.checks()
        },
        "failures": [f.__dict__ for f in results.failures],
        "not_run": [n.__dict__ for n in results.not_run],
        "notes": results.notes,
        "errors": results.errors,
        "leftovers": results.leftovers,
        "enrolled_members": results.enrolled,
        "faults": [{"where": f.where, "error": f.error} for f in results.faults],
        "writes": results.writes.__dict__ if results.writes is not None else None,
        "read_only": results.read_only,
        "checks_not_run": results.checks_not_run(),
        "interrupted": results.interrupted,
        "stopped": results.stopped,
        "selected": None if results.selection is None else sorted(map(list, results.selection.pairs)),
        "could_not_run": results.could_not_run,
        "verdict": results.verdict,
    }
    # json escapes control characters already; made printable too, so a tool printing a value is safe.
    return json.dumps(_printable(data), indent=2) + "\n"


def _printable(value: object) -> object:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def write_reports(
    results: Results,
    directory: Path,
    screen: str,
    header: Sequence[str] = (),
    timings: Sequence[tuple[str, float, int]] = (),
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    links = {
        f"{name} phases": f"schemathesis/{where}html/index.html"
        for name, where in (("stateless", ""), ("stateful", "stateful/"))
        if (directory / "schemathesis" / where / "html" / "index.html").is_file()
    }
    page = html_report(results, header, timings=timings, links=links)
    (directory / "report.html").write_text(page, encoding="utf-8")
    (directory / "summary.txt").write_text(screen + "\n" + matrix(results) + "\n", encoding="utf-8")
    (directory / "failures.txt").write_text(failures_text(results), encoding="utf-8")
    (directory / "junit.xml").write_bytes(junit_xml(results))
    (directory / "results.json").write_text(results_json(results), encoding="utf-8")
