"""``certification.html``: the page a provider brings to Mews' joint review; ``certification.json`` beside it.

One self-contained printable page (no scripts, no outside resources), from the top: the verdict, the
summary mapped to Mews' self-test list (each flow passed, failed or not run, with the reason), the test
members the run enrolled (for the provider to remove: the API cannot delete one), what is left for the
joint review, latency per operation (p50, p95, max against ``--latency-budget``), and then the evidence:
per flow what it expected and every exchange, masked. Print styles keep a flow's evidence together and
start the evidence on a new page. Every text passes through ``text.printable``, the run's ``mask`` and
``html.escape``; the JSON carries the same facts for machines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mews_loyalty._version import __version__, spec_versions
from mews_loyalty.contract._certify.flows import FAILED, NOT_RUN, PASSED, SELF_TEST, Evidence, FlowRecord
from mews_loyalty.contract._certify.outcome import DOCUMENT, PAGE, Certification
from mews_loyalty.contract._exchange.masking import Secrets
from mews_loyalty.contract._report import traffic
from mews_loyalty.contract._report.html import escaped, listed_section

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 .3rem; }
.verdict { padding: 1rem 1.25rem; border-radius: 8px; color: #fff; margin-bottom: 1rem; }
.verdict.passed { background: #1f7a3d; } .verdict.failed { background: #b3261e; } .verdict.halt { background: #8a5a00; }
.verdict p { margin: .2rem 0; opacity: .95; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; vertical-align: top; }
th { border-bottom: 2px solid #d5d9e0; font-weight: 600; } td { border-bottom: 1px solid #eceef2; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.state { display: inline-block; padding: 0 .45rem; border-radius: 4px; font-weight: 600; white-space: nowrap; }
.state.passed { background: #e3f3e8; color: #1f7a3d; } .state.failed { background: #fbe7e5; color: #b3261e; }
.state.not-run { background: #eef0f3; color: #4a5263; }
code, pre { font: 12px/1.4 ui-monospace, monospace; background: #f4f5f7; border-radius: 3px; }
pre { padding: .4rem .6rem; margin: .2rem 0 .5rem; white-space: pre-wrap; word-break: break-all; }
#summary td:nth-child(1) { width: 8rem; } #summary td:nth-child(2) { width: 15rem; } #summary td:nth-child(3) { width: 5rem; }
.flow { border-top: 1px solid #d5d9e0; margin-top: 1.2rem; }
.judgements { list-style: none; padding-left: 0; } .judgements li { margin: .15rem 0; }
.got { color: #b3261e; } .ok { color: #1f7a3d; font-weight: 600; } .ko { color: #b3261e; font-weight: 600; } .note { color: #5b6475; }
.exchange { margin: .6rem 0 .9rem; } .exchange .line { font-weight: 600; }
.muted { color: #5b6475; } ul { padding-left: 1.2rem; } .over { color: #b3261e; font-weight: 600; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { margin: 0; max-width: none; font-size: 10pt; }
  .verdict, .state { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  #evidence { break-before: page; }
  .flow > h3, .exchange, tr { break-inside: avoid; }
  pre { font-size: 8pt; max-height: none; }
  a { color: inherit; text-decoration: none; }
}
"""
SUMMARY_CHARACTERS = 240
STATE_CLASS = {PASSED: "passed", FAILED: "failed", NOT_RUN: "not-run"}
MARKS: dict[bool | None, str] = {
    True: '<span class="ok">&#10003;</span>',
    False: '<span class="ko">&#10007;</span>',
    None: '<span class="note">&#8226;</span>',  # a note: nothing judged
}


_e = escaped  # short, for this page's many f-strings


def _short(text: str) -> str:
    """A reason as the summary shows it: its start (the evidence below has all of it)."""
    return text if len(text) <= SUMMARY_CHARACTERS else text[:SUMMARY_CHARACTERS] + "..."


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (sorted or not): a value that was measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(records: Iterable[FlowRecord]) -> dict[str, dict[str, float]]:
    """Per operation, in the order first sent: calls, p50, p95 and max seconds of the answered exchanges."""
    seen: dict[str, list[float]] = {}
    for record in records:
        for exchange in record.exchanges:
            if exchange.seconds is not None:
                seen.setdefault(exchange.operation, []).append(exchange.seconds)
    return {
        operation: {
            "calls": len(values),
            "p50": percentile(values, 0.5),
            "p95": percentile(values, 0.95),
            "max": max(values),
        }
        for operation, values in seen.items()
    }


def left_for_review(certification: Certification) -> list[str]:
    """What the rehearsal cannot settle: for the provider to do, or to agree with Mews."""
    items = []
    if certification.enrolled:
        items.append("Remove the test members listed above: the API cannot delete a member.")
    if certification.could_not_run is not None or certification.interrupted is not None:
        items.append(
            "Run the rehearsal again until it ends by itself: bring Mews a page where every flow that can run ran."
        )
    else:
        items += [
            f"{record.flow.title}: not run, {record.not_run}"
            for record in certification.records
            if record.state == NOT_RUN and record.not_run
        ]
    items.append(_latency_advice(certification))
    if certification.base_url.startswith("http://"):
        items.append(
            "This run used plain HTTP; Mews calls providers over HTTPS: rehearse against the HTTPS URL."
        )
    items += [
        "Give Mews your base URL and the bearer token it should send (getting started, step 2).",
        "Mews tests every key flow in its demo environment with you, from Mews Operations.",
    ]
    return items


def _latency_advice(certification: Certification) -> str:
    budget = certification.latency_budget
    slow = [op for op, row in latencies(certification.records).items() if row["p95"] > budget]
    if slow:
        return (
            f"Latency: {', '.join(slow)} answered above the {budget:g} s budget at p95; "
            "Mews does not publish its timeout: agree on it."
        )
    return "Mews does not publish the timeout of its calls: confirm the latency below is acceptable."


def write_page(certification: Certification, secrets: Secrets, folder: Path) -> None:
    """Write ``certification.html`` and ``certification.json`` into ``folder``, masked."""
    (folder / PAGE).write_text(secrets.mask(html_page(certification)), encoding="utf-8")
    document = json.dumps(json_document(certification), indent=2, ensure_ascii=False)
    (folder / DOCUMENT).write_text(secrets.mask(document) + "\n", encoding="utf-8")


def html_page(certification: Certification) -> str:
    parts = [
        *_banner(certification),
        *_summary(certification),
        *listed_section("enrolled", "Test members to remove", [_e(i) for i in _enrolled(certification)]),
        *listed_section(
            "review", "Left for the joint review", [_e(item) for item in left_for_review(certification)]
        ),
        *_latency(certification),
        *_run(certification),
        *_evidence(certification),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _tone(verdict: str) -> str:
    return {"PASSED": "passed", "FAILED": "failed"}.get(verdict, "halt")


def _banner(certification: Certification) -> list[str]:
    counts = {
        state: sum(r.state == state for r in certification.records) for state in (PASSED, FAILED, NOT_RUN)
    }
    title = f"Certification rehearsal: {certification.verdict}"
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f'<div class="verdict {_tone(certification.verdict)}" id="verdict">',
        f"<h1>{_e(title)}</h1>",
        f"<p>Mews Loyalty Partner API provider at <strong>{_e(certification.base_url)}</strong></p>",
        f"<p>{counts[PASSED]} flows passed, {counts[FAILED]} failed, {counts[NOT_RUN]} not run; "
        f"{certification.started:%Y-%m-%d %H:%M} UTC, run {_e(certification.run_id)}</p>",
        "</div>",
        *(f'<p class="ko">{_e(text)}</p>' for text in _endings(certification)),
    ]


def _endings(certification: Certification) -> list[str]:
    items = [f"COULD NOT RUN: {certification.could_not_run}"] if certification.could_not_run else []
    if certification.interrupted:
        items.append(f"INTERRUPTED by {certification.interrupted}: the flows not reached are not run")
    items += [
        f"The rehearsal itself failed (a bug, not the provider's): {f}" for f in certification.all_faults
    ]
    items += [f"Left behind: {item}" for item in certification.leftovers]
    return items


def _summary(certification: Certification) -> list[str]:
    rows = []
    for record in certification.records:
        state = record.state
        rows.append(
            f'<tr><td>{_e(record.flow.mews)}</td><td><a href="#{_e(record.flow.key)}">{_e(record.flow.title)}</a></td>'
            f'<td><span class="state {STATE_CLASS[state]}">{_e(state)}</span></td><td>{_e(_short(record.reason))}</td></tr>'
        )
    return [
        '<section id="summary"><h2>Summary: Mews\' self-test list</h2>',
        f'<p class="muted">Mews asks a provider to self-test {_e(", ".join(SELF_TEST))} before the joint '
        "review (getting started); token rotation comes from its authentication guide. The flows run in "
        "the order Mews' workflows run them.</p>",
        "<table><tr><th>Mews' list</th><th>flow</th><th>result</th><th>why (first failure or reason)</th></tr>",
        *rows,
        "</table></section>",
    ]


def _enrolled(certification: Certification) -> list[str]:
    return [
        f"membership {membership_id}: customer {certification.email}, enterprise {certification.enterprise_id}"
        for membership_id in certification.enrolled
    ]


def _latency(certification: Certification) -> list[str]:
    table = latencies(certification.records)
    if not table:
        return []
    budget = certification.latency_budget

    def cell(seconds: float) -> str:
        return f'<td class="n{" over" if seconds > budget else ""}">{_ms(seconds)}</td>'

    rows = [
        f'<tr><td>{_e(op)}</td><td class="n">{row["calls"]:.0f}</td>{cell(row["p50"])}{cell(row["p95"])}{cell(row["max"])}</tr>'
        for op, row in table.items()
    ]
    return [
        '<section id="latency"><h2>Latency per operation</h2>',
        f'<p class="muted">Each whole exchange as the rehearsal timed it; budget {budget:g} s '
        "(--latency-budget: a search runs while a receptionist waits; Mews does not publish its timeout).</p>",
        '<table><tr><th>operation</th><th class="n">calls</th><th class="n">p50</th><th class="n">p95</th>'
        '<th class="n">max</th></tr>',
        *rows,
        "</table></section>",
    ]


def _run(certification: Certification) -> list[str]:
    items = [
        f"provider {certification.base_url}; enterprise {certification.enterprise_id}; customer linked "
        f"{certification.customer_id}",
        f"test customer {certification.email}; {certification.tokens} token(s) given (never shown)",
        f"timeout {certification.timeout:g} s per exchange; {certification.seconds:.1f} s in all",
        f"mews-loyalty {__version__}, Reverse API spec {spec_versions()['reverse']}",
        f"files beside this page: {DOCUMENT} (the same facts for machines), {traffic.HAR} (every exchange, masked)",
    ]
    return listed_section("run", "The run", [_e(item) for item in items])


def _evidence(certification: Certification) -> list[str]:
    parts = ['<section id="evidence"><h2>Evidence</h2>']
    for record in certification.records:
        state = record.state
        parts += [
            f'<div class="flow" id="{_e(record.flow.key)}"><h3>{_e(record.flow.title)} '
            f'<span class="state {STATE_CLASS[state]}">{_e(state)}</span></h3>',
            f'<p class="muted">{_e(record.flow.mews)}: {_e(record.flow.workflow)}</p>',
        ]
        if record.not_run is not None and state == NOT_RUN:
            parts.append(f"<p>Not run: {_e(record.not_run)}</p>")
        parts += _judgements(record)
        parts += [_exchange(index, exchange) for index, exchange in enumerate(record.exchanges, start=1)]
        parts.append("</div>")
    parts.append("</section>")
    return parts


def _judgements(record: FlowRecord) -> list[str]:
    if not record.judgements and record.fault is None:
        return []
    items = []
    for judgement in record.judgements:
        mark = MARKS[judgement.ok]
        got = f'<br><span class="got">{_e(judgement.got)}</span>' if judgement.got else ""
        items.append(f"<li>{mark} {_e(judgement.expected)}{got}</li>")
    if record.fault is not None:
        items.append(
            f'<li><span class="ko">&#10007;</span> the rehearsal itself failed here: {_e(record.fault)}</li>'
        )
    return ['<ul class="judgements">', *items, "</ul>"]


def _exchange(index: int, exchange: Evidence) -> str:
    if exchange.status is None:
        head = f"{index}. {exchange.operation}: no answer"
    else:
        head = f"{index}. {exchange.method} {exchange.path} ({exchange.operation}) \u2192 {exchange.status} in {_ms(exchange.seconds)}"
    blocks = [f'<div class="exchange"><div class="line">{_e(head)}</div>']
    if exchange.request:
        blocks.append(f'<div class="muted">request body</div><pre>{_e(exchange.request)}</pre>')
    if exchange.status is not None:
        blocks.append(f'<div class="muted">answer</div><pre>{_e(exchange.answer)}</pre>')
    blocks.append(f'<div class="muted">repeat it</div><pre>{_e(exchange.curl)}</pre></div>')
    return "".join(blocks)


def json_document(certification: Certification) -> dict[str, Any]:
    return {
        "tool": f"mews-loyalty {__version__}",
        "spec": {"reverse": spec_versions()["reverse"]},
        "verdict": certification.verdict,
        "baseUrl": certification.base_url,
        "runId": certification.run_id,
        "started": certification.started.isoformat(),
        "seconds": round(certification.seconds, 3),
        "enterpriseId": certification.enterprise_id,
        "customerId": certification.customer_id,
        "testCustomerEmail": certification.email,
        "tokens": certification.tokens,
        "latencyBudget": certification.latency_budget,
        "couldNotRun": certification.could_not_run,
        "interrupted": certification.interrupted,
        "faults": certification.all_faults,
        "leftovers": certification.leftovers,
        "enrolled": certification.enrolled,
        "flows": [_flow_json(record) for record in certification.records],
        "latency": latencies(certification.records),
        "leftForReview": left_for_review(certification),
    }


def _flow_json(record: FlowRecord) -> dict[str, Any]:
    return {
        "key": record.flow.key,
        "title": record.flow.title,
        "selfTest": record.flow.mews,
        "state": record.state,
        "reason": record.reason,
        "judgements": [{"ok": j.ok, "expected": j.expected, "got": j.got} for j in record.judgements],
        "exchanges": [
            {"operation": x.operation, "status": x.status, "seconds": x.seconds, "curl": x.curl}
            for x in record.exchanges
        ],
    }


__all__ = ["html_page", "json_document", "latencies", "left_for_review", "percentile", "write_page"]
