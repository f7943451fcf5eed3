"""``mews-loyalty certify reverse``: rehearse Mews' certification of a loyalty provider.

    mews-loyalty certify reverse --base-url URL --token T [--token T2] [--report-dir DIR] \
        [--enterprise-id UUID] [--customer-id UUID] [--timeout S] [--latency-budget S] [--debug]

It writes by design: one fresh test customer per run (``mews-loyalty-test+<run id>@example.invalid``),
enrolled, linked to the customer and unlinked again. The API cannot delete a member, so the page and
the summary list the member for the provider to remove. Tokens may come from MEWS_REVERSE_TOKENS
(comma separated) instead of the command line.

Exit status: 0 every flow that could run passed, 1 a flow failed (or the run left a link behind), 2 it
could not run (the provider cannot be reached or refuses the first token: one line, the page written),
a usage error, a --report-dir refused (nothing written) or a fault of the rehearsal itself; 130, 143
or 129 when SIGINT, SIGTERM or SIGHUP interrupted it (the link undone within 5 s, the page written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mews_loyalty.contract._certify.outcome import DEFAULT_REPORT_DIR, PAGE, Certification, exit_status
from mews_loyalty.contract._certify.rehearsal import CertifyOptions, rehearse
from mews_loyalty.contract._run.options import DEFAULT_LATENCY_BUDGET
from mews_loyalty.contract.cli import (
    USAGE,
    base_url_argument,
    reverse_tokens,
    run_ending,
    seconds_argument,
    uuid_argument,
)

PROG = "mews-loyalty certify reverse"
EXIT_STATUS = (
    "exit status: 0 every flow that could run passed, 1 a flow failed, 2 COULD NOT RUN (provider "
    "unreachable or first token refused; page written), a usage error, a --report-dir refused (nothing "
    "written) or a fault of the rehearsal; 130, 143, 129 INTERRUPTED by SIGINT, SIGTERM, SIGHUP"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Rehearse Mews' certification of a loyalty provider: walk Mews' self-test flows in "
        "the order its workflows run them and write one printable page to bring to the joint review. "
        "It writes by design: it enrols a fresh test customer (mews-loyalty-test+<run id>@example.invalid), "
        "links and unlinks it; the API cannot delete a member, so the page lists it for you to remove.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--base-url", required=True, type=base_url_argument, help="the provider to rehearse")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="bearer token; give the second of a rotation too, or token rotation is not run "
        "(or MEWS_REVERSE_TOKENS, comma separated)",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"where {PAGE} goes (default {DEFAULT_REPORT_DIR}); it must be new, empty or hold only an "
        "earlier run's reports (which are replaced): a folder holding anything else is refused, nothing written",
    )
    parser.add_argument("--enterprise-id", type=uuid_argument, default=None, help="mewsEnterpriseId to send")
    parser.add_argument(
        "--customer-id",
        type=uuid_argument,
        default=None,
        help="mewsCustomerId the test membership is linked to and unlinked from (default: one made up per run)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_argument,
        default=30.0,
        help="deadline in seconds of each whole exchange (default 30)",
    )
    parser.add_argument(
        "--latency-budget",
        type=seconds_argument,
        default=DEFAULT_LATENCY_BUDGET,
        metavar="SECONDS",
        help=f"latency the page flags per operation at p95 (default {DEFAULT_LATENCY_BUDGET:g}: a search runs "
        "while a receptionist waits; Mews does not publish its timeout)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback when the rehearsal itself fails"
    )
    return parser


def reverse_main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        tokens = reverse_tokens(parser, args.token)
    except SystemExit as exit_:
        return USAGE if exit_.code else 0
    options = CertifyOptions(
        base_url=args.base_url,
        tokens=tokens,
        report_dir=args.report_dir,
        enterprise_id=args.enterprise_id,
        customer_id=args.customer_id,
        timeout=args.timeout,
        latency_budget=args.latency_budget,
    )
    return run_ending(PROG, lambda: rehearse(options), lambda ended: _status(ended, args.debug), args.debug)


def _status(certification: Certification, debug: bool) -> int:
    """The rehearsal's exit status; with ``debug``, the tracebacks of the rehearsal's own faults."""
    if debug:
        for trace in [*certification.traces, *(r.trace for r in certification.records if r.trace)]:
            print(trace, file=sys.stderr)
    return exit_status(certification)


def main(argv: list[str] | None = None) -> int:
    """``python -m mews_loyalty.contract._certify.command reverse ...``"""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "reverse":
        print(f"usage: {PROG} --base-url URL --token T [options]", file=sys.stderr)
        return USAGE
    return reverse_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
