"""One certification rehearsal: the folder claimed, the provider reached, the flows walked, the page written.

    certification = rehearse(CertifyOptions(base_url=..., tokens=[...], report_dir=Path("reports/certification")))
    exit_status(certification)     # outcome: 0 passed, 1 a flow failed, 2 could not run, 128 + a signal

The endings are the contract suite's (``contract._run.signals``, ``_report.folder``): a report folder
holding what the suite did not write is refused before anything is sent (``ReportFolderRefused``);
a provider that cannot be reached, or refuses the first token, ends the run as COULD NOT RUN (exit 2,
the page written); under ``signals.handled()`` a first SIGINT, SIGTERM or SIGHUP lets the exchange
under way finish, unlinks what the run left linked within ``signals.CLEANUP_BOUND`` seconds, writes the
page and exits 128 + the signal; a bug of the rehearsal is a fault (exit 2, the page says where).

The run writes by design and says so on ``notice`` before its first request: it enrols one fresh test
customer, links it to ``customer_id`` and unlinks it. Everything written is masked with the run's
tokens and scrubbed again from the files afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mews_loyalty.contract._certify.flows import FLOWS, FlowRecord, Walk
from mews_loyalty.contract._certify.outcome import DEFAULT_REPORT_DIR, PAGE, Certification
from mews_loyalty.contract._certify.page import write_page
from mews_loyalty.contract._exchange.masking import Secrets
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report import traffic
from mews_loyalty.contract._report.folder import claim_own, written
from mews_loyalty.contract._report.results import Results, ScenarioError
from mews_loyalty.contract._report.text import printable
from mews_loyalty.contract._run import signals
from mews_loyalty.contract._run.options import DEFAULT_LATENCY_BUDGET, UsageError, default_enterprise_id
from mews_loyalty.contract._run.stages import RunClient, spec_schema, unreachable
from mews_loyalty.contract._run.verification import reverse_secrets
from mews_loyalty.contract._scenarios.reverse_members import test_customer


@dataclass
class CertifyOptions:
    base_url: str
    tokens: Sequence[str]
    report_dir: Path = DEFAULT_REPORT_DIR
    enterprise_id: str | None = None  # default: the contract suite's (``default_enterprise_id``)
    customer_id: str | None = None  # the Mews customer the membership is linked to; default: one per run
    timeout: float = 30.0
    latency_budget: float = DEFAULT_LATENCY_BUDGET


def rehearse(
    options: CertifyOptions, out: TextIO | None = None, notice: TextIO | None = None
) -> Certification:
    """Walk the flows against ``options.base_url``, write the page and its JSON, print the summary.

    Raises ``UsageError`` or ``ReportFolderRefused`` when the run cannot start as asked (nothing sent,
    nothing written); every other ending is in the result, with the page written.
    """
    if not options.tokens:
        raise UsageError("give at least one --token")
    secrets = reverse_secrets(options.tokens)
    folder = claim_own(options.report_dir)
    run_id = uuid.uuid4().hex[:12]
    certification = Certification(
        base_url=options.base_url,
        run_id=run_id,
        enterprise_id=options.enterprise_id or default_enterprise_id(),
        customer_id=options.customer_id or str(uuid.uuid4()),
        email=test_customer(run_id)["email"],
        tokens=len(options.tokens),
        timeout=options.timeout,
        latency_budget=options.latency_budget,
        folder=folder,
    )
    print(
        f"mews-loyalty certify reverse: this rehearsal writes: it enrols a test customer "
        f"({certification.email}) at {options.base_url}, links it to customer {certification.customer_id} "
        "and unlinks it; the API cannot delete a member, so the page lists it for you to remove",
        file=notice or sys.stderr,
        flush=True,
    )
    clock = time.monotonic()
    _walk(options, secrets, certification, folder)
    certification.seconds = time.monotonic() - clock
    with signals.shielded():
        traffic.merge(folder)
        write_page(certification, secrets, folder)
        leaked = secrets.scrub_files(written(folder))
        if leaked:  # the masking missed something: the files are fixed now, and the run says so
            certification.faults.append(f"tokens had to be scrubbed from {len(leaked)} files: {leaked[:3]}")
            write_page(certification, secrets, folder)
        _print_summary(certification, secrets, out or sys.stdout)
    return certification


def _walk(options: CertifyOptions, secrets: Secrets, certification: Certification, folder: Path) -> None:
    """Preflight, then every flow in order; the link undone whatever happened (bounded once interrupted)."""
    client = RunClient(
        base_url=options.base_url,
        schema=spec_schema("reverse", options.base_url),
        secrets=secrets,
        pacer=Throttle(None, sleep=signals.pause),
        results=Results("reverse", options.base_url),
        bearer=options.tokens[0],
        timeout=options.timeout,
        recording=folder / traffic.OWN_EXCHANGES,
    )
    walk: Walk | None = None
    with client:
        try:
            walk = Walk(
                client,
                list(options.tokens),
                certification.enterprise_id,
                certification.customer_id,
                certification.run_id,
            )
            certification.could_not_run = _preflight(walk)
            if certification.could_not_run is None:
                for flow in FLOWS:
                    walk.run(flow)
        except KeyboardInterrupt as error:
            signum = error.signum if isinstance(error, signals.Interrupted) else signal.SIGINT
            certification.interrupted = signals.signal_name(signum)
        except Exception as error:
            certification.faults.append(f"{type(error).__name__}: {error}")
            certification.traces.append("".join(traceback.format_exception(error)))
        finally:
            if walk is not None:
                certification.records = walk.records
                _restore(walk, certification)
                certification.enrolled = list(walk.enrolled)
    _not_reached(certification)


def _preflight(walk: Walk) -> str | None:
    """Why the rehearsal cannot start: the provider cannot be reached, or it refuses the first token."""
    try:
        exchange = walk.client.send(walk.memberships.list_op, walk.list_body(walk.memberships.unknown_ids(1)))
    except ScenarioError as error:
        return unreachable(walk.client.base_url, error)
    if exchange.status == 401:
        return "the provider refused the first --token (401)"
    return None


def _restore(walk: Walk, certification: Certification) -> None:
    """Unlink what the run may have left linked (its Unlink flow failed, or never came)."""
    if walk.linked is None:
        return
    membership_id = walk.linked
    with (
        contextlib.suppress(ScenarioError, signals.CleanupCut),
        signals.cleaning(certification.interrupted is not None),
    ):
        walk.unlink_request(membership_id)
    if walk.linked is not None:
        certification.leftovers.append(
            f"membership {membership_id} may still be linked to customer {certification.customer_id}"
        )


def _not_reached(certification: Certification) -> None:
    """The flows the run did not reach, as not run, with why."""
    if certification.could_not_run is not None:
        why = "the rehearsal could not run (why is above)"
    elif certification.interrupted is not None:
        why = f"the run was interrupted ({certification.interrupted}) before it"
    else:
        why = "the rehearsal stopped before it (see its faults)"
    for flow in FLOWS[len(certification.records) :]:
        certification.records.append(FlowRecord(flow, not_run=why))


def _print_summary(certification: Certification, secrets: Secrets, out: TextIO) -> None:
    if certification.could_not_run is not None:  # one line, as the suite's runs say it
        lines = [
            f"mews-loyalty certify reverse: COULD NOT RUN: {certification.could_not_run} "
            f"(page: {certification.folder / PAGE})"
        ]
    else:
        lines = _summary_lines(certification)
    with contextlib.suppress(OSError):  # a terminal closed by SIGHUP: the page is written
        print(printable(secrets.mask("\n".join(lines))), file=out, flush=True)


def _summary_lines(certification: Certification) -> list[str]:
    lines = [f"mews-loyalty certify reverse: {certification.verdict} ({certification.base_url})"]
    lines += [f"  {record.state:<8} {record.flow.title}" for record in certification.records]
    lines += [f"  fault: {fault}" for fault in certification.all_faults]
    lines += [f"  left behind: {item}" for item in certification.leftovers]
    if certification.enrolled:
        lines.append(
            f"  enrolled (the API cannot delete a member: remove it): {', '.join(certification.enrolled)} "
            f"({certification.email}, enterprise {certification.enterprise_id})"
        )
    lines.append(f"  page: {certification.folder / PAGE}")
    return lines


__all__ = ["CertifyOptions", "rehearse"]
