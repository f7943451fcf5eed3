"""``report.html``: the whole run on one self-contained page (no scripts, no outside resources).

    page = html_report(results, header, timings=[("scenarios", 4.2, 310)], links={"fuzzing": "schemathesis/html/index.html"})

From the top: the verdict and the target, what the run was asked to do (the summary's header), the
timings, what kept the run from its job, what was not cleaned up, every finding (check, operation,
message, masked curl line), what was not run and why, every check with its counts (per operation
when opened), notes, and links to schemathesis' own reports beside it. The banner says the verdict as
the result line does (green when it conforms, red when it does not, amber when the run was
interrupted, could not run or the suite failed). Every text passes through ``text.printable`` and
``html.escape``; tokens are already masked in what ``Results`` holds, and the files the run wrote are
scrubbed again after writing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from mews_loyalty.contract._report.causes import ERROR, Cause, causes, operations_text
from mews_loyalty.contract._report.findings import curl_hint
from mews_loyalty.contract._report.results import ENROLLED_TITLE, OUR_CHECKS, Failure, Results
from mews_loyalty.contract._report.text import printable

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.verdict { padding: 1rem 1.25rem; border-radius: 8px; color: #fff; margin-bottom: 1rem; }
.verdict.pass { background: #1f7a3d; } .verdict.fail { background: #b3261e; } .verdict.halt { background: #8a5a00; }
.verdict p { margin: .2rem 0; opacity: .95; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; vertical-align: top; }
th { border-bottom: 2px solid #d5d9e0; font-weight: 600; } td { border-bottom: 1px solid #eceef2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } tr.failed td:first-child { color: #b3261e; font-weight: 600; }
code { font: 12px/1.4 ui-monospace, monospace; background: #f4f5f7; padding: .1rem .25rem; border-radius: 3px;
       white-space: pre-wrap; word-break: break-all; }
.finding { border-left: 4px solid #b3261e; padding: .4rem .8rem; margin: .6rem 0; background: #fdf6f5; }
.finding .where { font-weight: 600; } .finding .message { margin: .2rem 0; }
.error { border-left-color: #7a1fa2; background: #f8f3fb; }
.muted { color: #5b6475; } ul { padding-left: 1.2rem; } #timings { width: auto; min-width: 24rem; }
th.n { text-align: right; }
"""


def escaped(text: object) -> str:
    """``text`` for a page: control characters made visible, then HTML-escaped."""
    return html.escape(printable(str(text)), quote=True)


_e = escaped  # short, for this page's many f-strings


def _kind(check: str) -> str:
    return "ours" if check in OUR_CHECKS else "schemathesis"


def html_report(
    results: Results,
    header: Sequence[str],
    *,
    timings: Iterable[tuple[str, float, int]] = (),
    links: Mapping[str, str] | None = None,
) -> str:
    parts = [
        *_banner(results),
        *_run(results, header, list(timings)),
        *_errors(results),
        *_findings(results),
        *_not_run(results),
        *_checks(results),
        *listed_section("enrolled", ENROLLED_TITLE, [_e(member) for member in results.enrolled]),
        *listed_section("notes", "Notes", [_e(note) for note in results.notes]),
        *listed_section(
            "links",
            "Schemathesis' own reports",
            [f'<a href="{_e(href)}">{_e(name)}</a>' for name, href in (links or {}).items()],
        ),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _banner(results: Results) -> list[str]:
    """The page's head and the verdict, as the run's result line says it."""
    title = f"{results.api} at {results.base_url}: {results.verdict}"
    tone = "pass" if results.conforms else "fail" if results.verdict == "DOES NOT CONFORM" else "halt"
    errors = len(results.errors)
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f'<div class="verdict {tone}" id="verdict">',
        f"<h1>{_e(results.verdict)}</h1>",
        f"<p>{_e(results.api)} API at <strong>{_e(results.base_url)}</strong></p>",
        f"<p>{_causes_line(results)}, {len(results.failures)} distinct findings in {len(results.failing_checks())} checks, "
        f"{errors} run error{'' if errors == 1 else 's'}, {len(results.leftovers)} records left behind</p>",
        "</div>",
    ]


def _causes_line(results: Results) -> str:
    found = causes(results)
    errors = sum(cause.severity == ERROR for cause in found)
    return f"{len(found)} causes ({errors} errors, {len(found) - errors} warnings)"


def _run(results: Results, header: Sequence[str], timings: list[tuple[str, float, int]]) -> list[str]:
    """What the run was asked to do, what it sent, and its stages' timings."""
    parts = [
        '<section id="run"><h2>The run</h2><ul>',
        *(f"<li>{_e(line)}</li>" for line in header),
        f"<li>{results.seconds:.1f} s, {results.requests} requests, "
        f"{results.schemathesis_cases} schemathesis cases</li>",
    ]
    if results.cases_by_phase:
        phases = ", ".join(f"{k} {v}" for k, v in results.cases_by_phase.items())
        parts.append(f"<li>schemathesis cases by phase: {_e(phases)}</li>")
    parts.append("</ul>")
    if timings:
        parts += [
            '<table id="timings"><tr><th>stage</th><th class="n">seconds</th><th class="n">requests</th></tr>',
            *(
                f'<tr><td>{_e(name)}</td><td class="n">{seconds:.1f}</td><td class="n">{requests}</td></tr>'
                for name, seconds, requests in timings
            ),
            "</table>",
        ]
    parts.append("</section>")
    return parts


def _errors(results: Results) -> list[str]:
    """What kept the run from its job: how it ended early, its errors, what it left behind."""
    items = [f"COULD NOT RUN: {results.could_not_run}"] if results.could_not_run is not None else []
    if results.interrupted is not None:
        items.append(
            f"INTERRUPTED by {results.interrupted}: what ran before it is below, what did not is under Not run"
        )
    items += [*results.errors, *(f"NOT CLEANED UP: {item}" for item in results.leftovers)]
    if not items:
        return []
    return [
        '<section id="errors"><h2>What kept the run from its job</h2>',
        *(f'<div class="finding error">{_e(item)}</div>' for item in items),
        "</section>",
    ]


def _findings(results: Results) -> list[str]:
    """The causes, errors first then by cases, each with its operations, one representative
    exchange and every finding under it (with its masked curl line)."""
    found = causes(results)
    parts = [
        f'<section id="findings"><h2>Causes ({len(found)}) of the findings ({len(results.failures)})</h2>'
    ]
    if not found:
        parts.append('<p class="muted">None: every check that ran passed.</p>')
    parts += _cause_index(found)
    if found:
        parts.append(f'<p class="muted">{_e(curl_hint(results))}</p>')
    for cause in found:
        accepted = f" accepted by the baseline: {_e(cause.accepted)}" if cause.accepted is not None else ""
        if cause.accepted is None and cause.why_warning:
            accepted = f" ({_e(cause.why_warning)})"
        curl = f"<code>{_e(cause.curl)}</code>" if cause.curl else ""
        parts += [
            f'<div class="finding cause {cause.severity}" id="cause-{cause.id}">',
            f'<div class="where">{cause.severity} {cause.id} [{_e(cause.check)}] {cause.count} cases:'
            f" {_e(operations_text(cause.operations, limit=12))}{accepted}</div>",
            f'<div class="message">{_e(cause.kind)}</div>{curl}',
            f"<details open><summary>{len(cause.findings)} distinct findings</summary>",
            *(_finding(failure) for failure in cause.findings),
            "</details></div>",
        ]
    parts.append("</section>")
    return parts


def _cause_index(found: list[Cause]) -> list[str]:
    """One row per cause, linking to it: the list QA reads in a minute."""
    if not found:
        return []
    return [
        '<table id="causes"><tr><th>severity</th><th>id</th><th>check</th><th class="n">cases</th>'
        "<th>operations</th><th>kind of deviation</th></tr>",
        *(
            f'<tr class="{"failed" if c.severity == ERROR else "ok"}"><td>{c.severity}</td>'
            f'<td><a href="#cause-{c.id}">{c.id}</a></td><td>{_e(c.check)}</td><td class="n">{c.count}</td>'
            f"<td>{_e(operations_text(c.operations, limit=3))}</td><td>{_e(c.kind)}</td></tr>"
            for c in found
        ),
        "</table>",
    ]


def _finding(failure: Failure) -> str:
    curl = f"<code>{_e(failure.curl)}</code>" if failure.curl else ""
    return (
        f'<div class="finding"><div class="where">[{_e(failure.check)}] {_e(failure.operation)}</div>'
        f'<div class="message">{_e(failure.message)}</div>{curl}</div>'
    )


def _not_run(results: Results) -> list[str]:
    items = [f"<strong>{_e(n.check)}</strong>: {_e(n.reason)}" for n in results.not_run]
    return listed_section("not-run", "Not run", items)


def _checks(results: Results) -> list[str]:
    """Every check with its counts, per operation when opened."""
    parts = [
        '<section id="checks"><h2>Checks</h2><table>',
        '<tr><th>check</th><th>kind</th><th>meaning</th><th class="n">operations</th>'
        '<th class="n">passed</th><th class="n">failed</th></tr>',
    ]
    for check in sorted(results.checks(), key=lambda c: (_kind(c), c)):
        rows = list(results.by_check(check))
        passed, failed = sum(t.passed for _, t in rows), sum(t.failed for _, t in rows)
        per_operation = ", ".join(f"{op} {t.passed}/{t.failed}" for op, t in rows)
        parts.append(
            f'<tr class="{"failed" if failed else "ok"}"><td>{_e(check)}</td><td>{_kind(check)}</td>'
            f"<td><details><summary>{_e(OUR_CHECKS.get(check, 'schemathesis built-in'))}</summary>"
            f'<span class="muted">passed/failed by operation: {_e(per_operation)}</span></details></td>'
            f'<td class="n">{len(rows)}</td><td class="n">{passed}</td><td class="n">{failed}</td></tr>'
        )
    parts.append("</table></section>")
    return parts


def listed_section(section: str, title: str, items: list[str]) -> list[str]:
    """A section holding a list of (already escaped) items; nothing when there are none."""
    if not items:
        return []
    return [
        f'<section id="{section}"><h2>{_e(title)}</h2><ul>',
        *(f"<li>{i}</li>" for i in items),
        "</ul></section>",
    ]


__all__ = ["escaped", "html_report", "listed_section"]
