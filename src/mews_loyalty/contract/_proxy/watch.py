"""``mews-loyalty proxy connector|reverse``: watch real traffic and report what breaks the contract.

    mews-loyalty proxy reverse --upstream https://provider.example/mews --port 8443 --token T \
        [--token T2] [--report-dir DIR] [--host 127.0.0.1] [--timeout 30] [--quiet]
    mews-loyalty proxy connector --upstream https://api.mews-demo.com --port 8080 \
        --client-token X --access-token Y [--report-dir DIR]

A provider puts it in front of their server during Mews' review (Mews -> proxy -> provider), an
integrator between their code and Mews' demo environment (their code -> proxy -> Mews). Every exchange
passes unchanged (``forward``) and is judged against our spec (``judge``); the findings are the
contract suite's: the same checks, the same report folder rule and reports (``<DIR>/<api>/``:
report.html, summary.txt, junit.xml, failures.txt, results.json), tokens masked, a live line while it
runs. It listens on plain HTTP: put it behind the TLS terminator that serves your HTTPS address (the
upstream may be HTTPS).

Tokens are needed to keep them out of the reports, given as for the suite: flags, or the environment
(MEWS_CLIENT_TOKEN, MEWS_ACCESS_TOKEN; MEWS_REVERSE_TOKENS, comma separated). Only the tokens given
are masked: give every token the traffic will carry.

SIGINT (Ctrl-C) and SIGTERM are its normal stop: the exchanges under way finish, the reports are
written and it exits 0 when nothing broke the contract, 1 when something did; 2 for a usage error,
a report folder refused, an address it cannot listen on, or a fault of its own.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from mews_loyalty._asgi import ServerStartError, add_server_arguments, run_server
from mews_loyalty._spec.catalog import ApiName
from mews_loyalty.contract._exchange.masking import Secret, Secrets
from mews_loyalty.contract._proxy.forward import ForwardingProxy, Passage
from mews_loyalty.contract._proxy.judge import Judge
from mews_loyalty.contract._report.folder import ReportFolderRefused, claim
from mews_loyalty.contract._report.progress import Progress
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.text import printable
from mews_loyalty.contract._run.options import DEFAULT_REPORT_DIR
from mews_loyalty.contract._run.signals import signal_name
from mews_loyalty.contract._run.stages import finish
from mews_loyalty.contract._run.verification import reverse_secrets
from mews_loyalty.contract.cli import (  # the suite's rules for URLs and tokens
    base_url_argument,
    checked_token,
    reverse_tokens,
)

OK, BROKEN, USAGE = 0, 1, 2
DEFAULT_PORT = 8090
SWITCH_INTERVAL = 0.0002  # seconds (Python's default: 0.005)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_STATUS = (
    "Stop it with SIGINT (Ctrl-C) or SIGTERM: reports written, exit 0 when no exchange broke the "
    "contract, 1 when one did; 2 for a usage error, a --report-dir refused, an address in use or a "
    "fault of the proxy itself."
)


class WatchProgress(Progress):
    """The live line of a proxy: what it watches and what it found so far (no end to estimate)."""

    def line(self) -> str:
        elapsed = self._clock() - self._started
        failures = len(self.results.failures)
        where = f" {self._operation}" if self._operation else ""
        return (
            f"[{self.results.api} proxy {_duration(elapsed)}] watching{where}: {self.results.requests} "
            f"exchanges, {failures} failure{'' if failures == 1 else 's'}"
        )


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _parser(api: str, who: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"mews-loyalty proxy {api}",
        description=f"Forward every exchange to {who} unchanged and report each one that breaks "
        "the contract. Listens on plain HTTP: put it behind your TLS terminator.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--upstream", required=True, type=base_url_argument, help="the server to forward to")
    add_server_arguments(parser, default_port=DEFAULT_PORT)
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"where reports go, under DIR/{api}/ (default {DEFAULT_REPORT_DIR}); the contract suite's "
        "rule: new, empty, or holding only an earlier run's reports",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="deadline in seconds of each whole exchange; past it the proxy answers 504 (or cuts an "
        "answer under way) and reports it (default 30)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live line while it runs")
    return parser


def _connector_secrets(argv: list[str]) -> tuple[argparse.Namespace, Secrets]:
    parser = _parser("connector", "a Connector API server")
    parser.add_argument(
        "--client-token", default=os.environ.get("MEWS_CLIENT_TOKEN"), help="(or MEWS_CLIENT_TOKEN)"
    )
    parser.add_argument(
        "--access-token", default=os.environ.get("MEWS_ACCESS_TOKEN"), help="(or MEWS_ACCESS_TOKEN)"
    )
    args = parser.parse_args(argv)
    return args, Secrets(
        [
            Secret(checked_token(parser, "--client-token", args.client_token), "MEWS_CLIENT_TOKEN"),
            Secret(checked_token(parser, "--access-token", args.access_token), "MEWS_ACCESS_TOKEN"),
        ]
    )


def _reverse_secrets(argv: list[str]) -> tuple[argparse.Namespace, Secrets]:
    parser = _parser("reverse", "a Loyalty Reverse API provider")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="bearer token Mews uses; repeat during a rotation (or MEWS_REVERSE_TOKENS)",
    )
    args = parser.parse_args(argv)
    return args, reverse_secrets(reverse_tokens(parser, args.token))


@contextmanager
def _stops_noted(stops: list[str]) -> Iterator[None]:
    """SIGINT and SIGTERM end the server (uvicorn's handlers, while it serves) and nothing else:
    the one uvicorn raises again once it has stopped is noted here, not fatal."""

    def note(signum: int, frame: FrameType | None) -> None:
        stops.append(signal_name(signum))
        raise KeyboardInterrupt  # before uvicorn serves, or raised again after: ends run_server

    previous = {signum: signal.signal(signum, note) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def watch(api: ApiName, args: argparse.Namespace, secrets: Secrets) -> int:
    """Serve the proxy until stopped; write the reports; the exit status."""
    report_dir = claim(args.report_dir, api)
    results = Results(api, args.upstream)
    judge = Judge(api, args.upstream, secrets, results)
    progress = Progress.silent(results) if args.quiet else WatchProgress.to_stream(results, sys.stderr)
    progress.stage("watching")

    def judged(passage: Passage) -> None:
        progress.operation(judge.label(passage))
        judge.judge(passage)

    app = ForwardingProxy(args.upstream, judged, timeout=args.timeout)
    header = [
        f"mews-loyalty proxy {api}: in front of {args.upstream}",
        "every exchange forwarded unchanged and judged against the spec until stopped",
    ]
    stops: list[str] = []
    # The judge runs in worker threads, CPU-bound; by default the forwarding thread may wait 5 ms
    # for the interpreter each time it wakes up while a judge runs. A shorter slice keeps the
    # forwarding prompt (the judging, off the forwarding path, merely takes a little longer).
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with progress, _stops_noted(stops):
            run_server(app, args.host, args.port, server_headers=False)
    except ServerStartError as error:
        print(printable(f"mews-loyalty proxy {api}: {error.strerror}"), file=sys.stderr)
        return USAGE
    results.notes.append(
        f"stopped by {stops[0] if stops else 'the server ending'} after watching the exchanges"
    )
    finish(results, secrets, report_dir, header, None, progress)
    if results.faults:
        return USAGE
    return OK if results.conforms else BROKEN


def _main(
    api: ApiName, parse: Callable[[list[str]], tuple[argparse.Namespace, Secrets]], argv: list[str]
) -> int:
    try:
        args, secrets = parse(argv)
    except SystemExit as exit_:
        return USAGE if exit_.code else OK
    try:
        return watch(api, args, secrets)
    except ReportFolderRefused as error:
        print(printable(f"mews-loyalty proxy {api}: {error}"), file=sys.stderr)
        return USAGE


def connector_main(argv: list[str]) -> int:
    return _main("connector", _connector_secrets, argv)


def reverse_main(argv: list[str]) -> int:
    return _main("reverse", _reverse_secrets, argv)
