"""``report.html``: the whole run on one self-contained page (no scripts, no outside resources).

    page = html_report(results, header, timings=[("scenarios", 4.2, 310)], links={"fuzzing": "schemathesis/html/index.html"})

From the top: the verdict and the target, what the run was asked to do (the summary's header), the
timings, what kept the run from its job, what was not cleaned up, every finding (check, operation,
message, masked curl line), what was not run and why, every check with its counts (per operation
when opened), notes, and links to schemathesis' own reports beside it. Every text passes through
``html.escape``; tokens are already masked in what ``Results`` holds, and the report folder is
scrubbed again after writing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from mews_loyalty.contract._report.results import OUR_CHECKS, Failure, Results

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.verdict { padding: 1rem 1.25rem; border-radius: 8px; color: #fff; margin-bottom: 1rem; }
.verdict.pass { background: #1f7a3d; } .verdict.fail { background: #b3261e; }
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


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _kind(check: str) -> str:
    return "ours" if check in OUR_CHECKS else "schemathesis"


def html_report(
    results: Results,
    header: Sequence[str],
    *,
    timings: Iterable[tuple[str, float, int]] = (),
    links: Mapping[str, str] | None = None,
) -> str:
    verdict = "CONFORMS" if results.conforms else "DOES NOT CONFORM"
    title = f"{results.api} at {results.base_url}: {verdict}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f'<div class="verdict {"pass" if results.conforms else "fail"}" id="verdict">',
        f"<h1>{_e(verdict)}</h1>",
        f"<p>{_e(results.api)} API at <strong>{_e(results.base_url)}</strong></p>",
        f"<p>{len(results.failures)} distinct findings in {len(results.failing_checks())} checks, "
        f"{len(results.errors)} run error{'' if len(results.errors) == 1 else 's'}, "
        f"{len(results.leftovers)} records left behind</p>",
        "</div>",
        '<section id="run"><h2>The run</h2><ul>',
        *(f"<li>{_e(line)}</li>" for line in header),
        f"<li>{results.seconds:.1f} s, {results.requests} requests, "
        f"{results.schemathesis_cases} schemathesis cases</li>",
    ]
    if results.cases_by_phase:
        phases = ", ".join(f"{k} {v}" for k, v in results.cases_by_phase.items())
        parts.append(f"<li>schemathesis cases by phase: {_e(phases)}</li>")
    parts.append("</ul>")
    timings = list(timings)
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
    if results.errors or results.leftovers:
        parts.append('<section id="errors"><h2>What kept the run from its job</h2>')
        parts += [f'<div class="finding error">{_e(error)}</div>' for error in results.errors]
        parts += [
            f'<div class="finding error">NOT CLEANED UP: {_e(item)}</div>' for item in results.leftovers
        ]
        parts.append("</section>")
    parts.append(f'<section id="findings"><h2>Findings ({len(results.failures)})</h2>')
    if not results.failures:
        parts.append('<p class="muted">None: every check passed.</p>')
    by_check: dict[str, list[Failure]] = {}
    for failure in results.failures:
        by_check.setdefault(failure.check, []).append(failure)
    if by_check:
        parts.append('<p class="muted">By check: ')
        parts.append(
            ", ".join(
                f'<a href="#findings-{_e(c)}">{_e(c)}</a> {len(f)}' for c, f in sorted(by_check.items())
            )
        )
        parts.append("</p>")
    for check, found in sorted(by_check.items()):
        parts.append(f'<h3 id="findings-{_e(check)}">{_e(check)} ({len(found)})</h3>')
        for failure in found:
            parts += [
                '<div class="finding">',
                f'<div class="where">[{_e(failure.check)}] {_e(failure.operation)}</div>',
                f'<div class="message">{_e(failure.message)}</div>',
                f"<code>{_e(failure.curl)}</code>" if failure.curl else "",
                "</div>",
            ]
    parts.append("</section>")
    if results.not_run:
        parts.append('<section id="not-run"><h2>Not run</h2><ul>')
        parts += [f"<li><strong>{_e(n.check)}</strong>: {_e(n.reason)}</li>" for n in results.not_run]
        parts.append("</ul></section>")
    parts += [
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
    if results.notes:
        parts.append('<section id="notes"><h2>Notes</h2><ul>')
        parts += [f"<li>{_e(note)}</li>" for note in results.notes]
        parts.append("</ul></section>")
    if links:
        parts.append('<section id="links"><h2>Schemathesis\' own reports</h2><ul>')
        parts += [f'<li><a href="{_e(href)}">{_e(name)}</a></li>' for name, href in links.items()]
        parts.append("</ul></section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"


__all__ = ["html_report"]
