"""``mews-loyalty contract connector|reverse``: verify that a server honours the contract.

    mews-loyalty contract connector --base-url URL --client-token X --access-token Y \
        [--client NAME] [--allow-writes [--max-writes N|unlimited]] [--max-examples N] [--report-dir DIR]
        [--quiet] [--debug]
    mews-loyalty contract reverse --base-url URL --token T [--token T2] [--enterprise-id UUID] \
        [--membership-id ID ...] [--allow-writes [--max-writes N|unlimited] [--customer-id UUID]] \
        [--latency-budget SECONDS] [--max-examples N] [--report-dir DIR]
    mews-loyalty contract connector|reverse ... --baseline FILE   # accepted causes warn, new ones fail
    mews-loyalty contract diff RUN_A RUN_B    # causes that appeared, disappeared or changed count

A baseline is a text file: one accepted cause id per line, the rest of the line its reason, ``#``
starts a comment (the ids are in results.json's ``causes``, summary.txt and report.html).

Tokens may come from the environment instead of the command line (which other users of the machine
can read): MEWS_CLIENT_TOKEN, MEWS_ACCESS_TOKEN, MEWS_REVERSE_TOKENS (comma separated).

Exit status (connector, reverse): 0 the server conforms (no cause but those the baseline accepts), 1 it does not (or the run could not finish its job), 2 it
could not run (the server cannot be reached or refuses the tokens: one line, reports written), a
usage error, a report folder refused (one line, nothing written) or a fault of the suite itself (one
line; the traceback with --debug); 130, 143 or 129 when SIGINT, SIGTERM or SIGHUP interrupted it
(INTERRUPTED: what ran is reported, what it made is deleted within 5 s; a second signal skips that).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mews_loyalty._transport.window import parse_rate
from mews_loyalty.contract import exit_status, verify
from mews_loyalty.contract._exchange.api_client import MAX_SILENT_IN_A_ROW
from mews_loyalty.contract._exchange.masking import MIN_SECRET_LENGTH
from mews_loyalty.contract._fuzz.events import DEFAULT_RECORDINGS, RECORDINGS
from mews_loyalty.contract._fuzz.phases import PHASES
from mews_loyalty.contract._report.causes import BaselineError, read_baseline
from mews_loyalty.contract._report.diff import diff
from mews_loyalty.contract._report.folder import ReportFolderRefused
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._report.text import printable
from mews_loyalty.contract._run import signals
from mews_loyalty.contract._run.options import (
    DEFAULT_LATENCY_BUDGET,
    DEFAULT_MAX_ENROLMENTS,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_WRITES,
    DEFAULT_REPORT_DIR,
    DEFAULT_SEED,
    ConnectorOptions,
    ReverseOptions,
    UsageError,
)

OptionsT = TypeVar("OptionsT", bound=ConnectorOptions | ReverseOptions)
EndedT = TypeVar("EndedT")

OK, NOT_CONFORMING, USAGE = 0, 1, 2
# The write contract of `contract reverse --allow-writes`, as --help and the README state it.
REVERSE_WRITES = (
    "with --allow-writes the suite enrols made-up test customers, named so they read as tests "
    "(mews-loyalty-test+<run id>-<n>@example.invalid, MewsLoyaltyTest Test-<run id>-<n>), at most "
    "--max-writes of them, and links and unlinks: real memberships only when named with "
    "--membership-id (to the --customer-id customer), else a test member it enrolled; each pair linked "
    "is unlinked again. The API cannot delete a member: the reports (summary.txt, results.json's "
    "enrolled_members, report.html) list every member the run enrolled, for the provider to remove"
)
EXIT_STATUS = (
    "exit status: 0 CONFORMS, 1 DOES NOT CONFORM, 2 COULD NOT RUN (server unreachable or tokens refused; "
    "reports written), a suite fault, a usage error or a --report-dir refused (nothing written); "
    "130, 143, 129 INTERRUPTED by SIGINT, SIGTERM, SIGHUP (what it made deleted within 5 s, reports written)"
)


def base_url_argument(text: str) -> str:
    """An argument type (the suite's, the proxy's, the rehearsal's): an http(s) URL, no trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def _subset(what: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """An argument type: comma-separated names out of ``allowed`` (each once, in the order given), or
    'none' for none of them."""

    def parse(text: str) -> tuple[str, ...]:
        if text.strip().lower() == "none":
            return ()
        chosen = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
        unknown = [name for name in chosen if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {unknown}; choose from {','.join(allowed)} (or 'none')"
            )
        return chosen

    return parse


_phases_or_none = _subset("phases", PHASES)
_recordings = _subset("recordings", RECORDINGS)


def _rate(text: str) -> tuple[int, float] | None:
    try:
        return parse_rate(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _budget(text: str) -> int | None:
    if text.strip().lower() == "unlimited":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'unlimited': {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def seconds_argument(text: str) -> float:
    """An argument type: a number of seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _baseline(text: str) -> dict[str, str]:
    try:
        return read_baseline(Path(text))
    except BaselineError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def uuid_argument(text: str) -> str:
    """An argument type: a UUID, in canonical form."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _parser(api: str, server: str, rate_default: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, with the options both share."""
    parser = argparse.ArgumentParser(
        prog=f"mews-loyalty contract {api}",
        description=f"Verify that {server} honours the contract.",
        epilog=EXIT_STATUS,
    )
    _common(parser, rate_default)
    return parser


def _common(parser: argparse.ArgumentParser, rate_default: str) -> None:
    parser.add_argument("--base-url", required=True, type=base_url_argument, help="the server to verify")
    parser.add_argument(
        "--max-examples",
        type=_positive,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"schemathesis cases per operation and phase (default {DEFAULT_MAX_EXAMPLES})",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"where reports go, under DIR/<api>/ (default {DEFAULT_REPORT_DIR}); it must be new, empty "
        "or hold only an earlier run's reports (which are replaced): a folder holding anything else is "
        "refused, nothing written",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--phases",
        type=_phases_or_none,
        default=PHASES,
        help=f"schemathesis phases, comma separated, or 'none' (default {','.join(PHASES)})",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate,
        default=_rate(rate_default),
        metavar="N/SECONDS",
        help=f"the server's rate limit; every request is paced under it, or 'off' (default {rate_default})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="deadline in seconds of each whole exchange: connect, send and the entire answer, not "
        "each read; an answer past it (or larger than 32 MiB decompressed) is a finding, and "
        f"{MAX_SILENT_IN_A_ROW} requests in a row past it end the run (default 30)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback when the suite itself fails"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="operations fuzzed at once, for servers that take concurrent requests (default 1)",
    )
    parser.add_argument(
        "--recordings",
        type=_recordings,
        default=DEFAULT_RECORDINGS,
        metavar="FORMATS",
        help="schemathesis' recordings of the traffic to write, comma separated: "
        f"{','.join(RECORDINGS)}, or 'none' (default {','.join(DEFAULT_RECORDINGS)})",
    )
    parser.add_argument(
        "--baseline",
        type=_baseline,
        default={},
        metavar="FILE",
        help="accepted causes: one cause id per line, the rest of the line its reason, '#' a comment; "
        "they are reported as warnings and only new causes fail the run",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress while the run goes on (a live line on a terminal, else a line every few seconds)",
    )


def _connector_parser() -> argparse.ArgumentParser:
    parser = _parser("connector", "a Connector API server (loyalty operations)", "200/30")
    parser.add_argument(
        "--client-token", default=os.environ.get("MEWS_CLIENT_TOKEN"), help="(or MEWS_CLIENT_TOKEN)"
    )
    parser.add_argument(
        "--access-token", default=os.environ.get("MEWS_ACCESS_TOKEN"), help="(or MEWS_ACCESS_TOKEN)"
    )
    parser.add_argument("--client", default=None, help="the Client name sent in every body")
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="also add, update and delete (everything created is deleted at the end)",
    )
    parser.add_argument(
        "--max-writes",
        type=_budget,
        default=DEFAULT_MAX_WRITES,
        metavar="N|unlimited",
        help=f"with --allow-writes: records created in total, all phases together (default {DEFAULT_MAX_WRITES})",
    )
    parser.add_argument(
        "--probe-rate-limit",
        action="store_true",
        help="burst past --rate-limit to see a 429 with Retry-After (only against a server you own); "
        "it first waits one quiet window of the limit, so that the burst opens a window of its own",
    )
    parser.add_argument(
        "--value",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="value for a property of created records the suite cannot make up (e.g. AccountId=<customer id>)",
    )
    return parser


def _reverse_parser() -> argparse.ArgumentParser:
    parser = _parser("reverse", "a Loyalty Reverse API provider", "off")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="bearer token; give two during a rotation (or MEWS_REVERSE_TOKENS)",
    )
    parser.add_argument("--enterprise-id", type=uuid_argument, default=None, help="mewsEnterpriseId to send")
    parser.add_argument(
        "--membership-id", action="append", default=[], help="an id the provider knows (for link/unlink)"
    )
    parser.add_argument(
        "--customer-id",
        type=uuid_argument,
        default=None,
        help="mewsCustomerId for link/unlink (default: one made up from the seed)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="also enrol test customers and link/unlink: "
        + REVERSE_WRITES.removeprefix("with --allow-writes "),
    )
    parser.add_argument(
        "--max-writes",
        type=_budget,
        default=DEFAULT_MAX_ENROLMENTS,
        metavar="N|unlimited",
        help="with --allow-writes: test members enrolled in total, scenario checks and fuzzed valid "
        f"enrolments together (default {DEFAULT_MAX_ENROLMENTS}: what the checks need; more lets fuzzing "
        "enrol valid customers too)",
    )
    parser.add_argument(
        "--latency-budget",
        type=seconds_argument,
        default=DEFAULT_LATENCY_BUDGET,
        metavar="SECONDS",
        help="an answer slower than this is reported as a warning (it does not fail the run); default "
        f"{DEFAULT_LATENCY_BUDGET:g}: Mews does not publish the timeout of its calls, and a member search "
        "runs while a receptionist waits, where more than about two seconds reads as a stall",
    )
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:
        return USAGE if exit_.code else OK


def checked_token(parser: argparse.ArgumentParser, name: str, value: str | None) -> str:
    """A token given, long enough to be masked in reports; otherwise a usage error naming ``name``."""
    if not value:
        parser.error(f"{name} is required")
    if len(value) < MIN_SECRET_LENGTH:
        parser.error(f"{name} is too short to be a real token (and could not be masked in reports)")
    return value


def _common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "base_url": args.base_url,
        "max_examples": args.max_examples,
        "report_dir": args.report_dir,
        "seed": args.seed,
        "phases": args.phases,
        "rate_limit": args.rate_limit,
        "timeout": args.timeout,
        "quiet": args.quiet,
        "workers": args.workers,
        "recordings": args.recordings,
        "baseline": args.baseline,
    }


def connector_main(argv: list[str]) -> int:
    return _main("connector", _connector_parser(), argv, _connector_options)


def _connector_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ConnectorOptions:
    options = ConnectorOptions(
        **_common_kwargs(args),
        client_token=checked_token(parser, "--client-token", args.client_token),
        access_token=checked_token(parser, "--access-token", args.access_token),
        allow_writes=args.allow_writes,
        probe_rate_limit=args.probe_rate_limit,
        values=dict(args.value),
        max_writes=args.max_writes,
    )
    if args.client:
        options.client = args.client
    if args.probe_rate_limit and args.rate_limit is None:
        parser.error("--probe-rate-limit needs --rate-limit N/SECONDS (the server's limit)")
    return options


def reverse_main(argv: list[str]) -> int:
    return _main("reverse", _reverse_parser(), argv, _reverse_options)


def reverse_tokens(parser: argparse.ArgumentParser, given: list[str]) -> list[str]:
    """The ``--token`` values given, else MEWS_REVERSE_TOKENS (comma separated): at least one."""
    environment = [t.strip() for t in os.environ.get("MEWS_REVERSE_TOKENS", "").split(",") if t.strip()]
    tokens = [checked_token(parser, "--token", token) for token in (given or environment)]
    if not tokens:
        parser.error("give at least one --token (or set MEWS_REVERSE_TOKENS)")
    return tokens


def _reverse_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ReverseOptions:
    tokens = reverse_tokens(parser, args.token)
    return ReverseOptions(
        **_common_kwargs(args),
        tokens=tokens,
        enterprise_id=args.enterprise_id,
        membership_ids=args.membership_id,
        customer_id=args.customer_id,
        allow_writes=args.allow_writes,
        max_writes=args.max_writes,
        latency_budget=args.latency_budget,
    )


def _main(
    api: str,
    parser: argparse.ArgumentParser,
    argv: list[str],
    options_of: Callable[[argparse.ArgumentParser, argparse.Namespace], OptionsT],
) -> int:
    """Parse ``argv`` into options (a usage error exits 2, ``--help`` 0), then verify."""
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        options = options_of(parser, args)
    except SystemExit as exit_:
        return USAGE if exit_.code else OK
    return _verify(api, lambda: verify(options), args.debug)


def _verify(api: str, run: Callable[[], Results], debug: bool) -> int:
    """Run a verification under the run's signal handlers; the exit status, and one line on stderr
    when it is not a verdict."""
    prog = f"mews-loyalty contract {api}"
    return run_ending(prog, run, lambda results: _exit_status(prog, results, debug), debug)


def run_ending(prog: str, run: Callable[[], EndedT], status: Callable[[EndedT], int], debug: bool) -> int:
    """Run a command's ``run`` under the run's signal handlers (``signals.handled``): the exit status
    ``status`` gives what it returned, else one line on stderr and the ending's status (a usage error
    or a refused folder: 2; a signal before the run could catch it: 128 + its number; a fault of the
    suite before anything was written: 2, the traceback with ``debug``)."""
    try:
        with signals.handled():
            outcome = run()
    except (UsageError, ReportFolderRefused) as error:
        print(printable(f"{prog}: {error}"), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt as error:  # before the run could catch it: nothing sent, nothing written
        signum = error.signum if isinstance(error, signals.Interrupted) else signal.SIGINT
        print(
            f"{prog}: INTERRUPTED before the run started: no request sent, no report written", file=sys.stderr
        )
        return 128 + signum
    except Exception as error:  # a fault of the suite before any report could be written
        if debug:
            traceback.print_exc()
        print(
            printable(
                f"{prog}: internal error (a bug in the suite): {type(error).__name__}: {error}"
                f"{'' if debug else ' (--debug shows the traceback)'}"
            ),
            file=sys.stderr,
        )
        return USAGE
    return status(outcome)


def _exit_status(prog: str, results: Results, debug: bool) -> int:
    """The exit status of a run that wrote its reports: 128 + the signal that interrupted it, 2 when
    it could not run or the suite failed (one line on stderr), else its verdict."""
    if results.interrupted is None and results.could_not_run is None and results.faults:
        if debug:
            for fault in results.faults:
                print(fault.traceback, file=sys.stderr)
        first = results.faults[0]
        print(
            printable(
                f"{prog}: internal error (a bug in the suite, not in the server) in {first.where}: "
                f"{first.error}{'' if debug else ' (--debug shows the traceback)'}"
            ),
            file=sys.stderr,
        )
    return exit_status(results)


def replay_main(argv: list[str] | None = None) -> int:
    """``mews-loyalty contract replay <report-dir> <finding-id>``: 1 the deviation is still there, 0 it
    is gone, 2 replay could not run (``_run.replay``)."""
    parser = argparse.ArgumentParser(
        prog="mews-loyalty contract replay",
        description="Send a finding's recorded request again (tokens from the environment, never from "
        "the report) and say whether the deviation is still there.",
        epilog="exit status: 1 still there, 0 gone, 2 could not replay (no such finding, a token "
        "variable not set, a write without --allow-writes, a re-run that could not run its check)",
    )
    parser.add_argument("report_dir", type=Path, help="the folder the run was given as --report-dir")
    parser.add_argument("finding_id", help="a finding's id (findings/<id>.json in the report)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole exchange (30)")
    parser.add_argument("--base-url", type=base_url_argument, help="send to this server instead of the run's")
    parser.add_argument("--allow-writes", action="store_true", help="replay a request that writes")
    args = _parse(parser, sys.argv[1:] if argv is None else argv)
    if isinstance(args, int):
        return args
    from mews_loyalty.contract._run.replay import replay  # loads the spec: only when replaying

    outcome = replay(
        args.report_dir,
        args.finding_id,
        timeout=args.timeout,
        base_url=args.base_url,
        allow_writes=args.allow_writes,
    )
    print(printable(outcome.line), file=sys.stdout if outcome.status != USAGE else sys.stderr)
    return outcome.status


def diff_main(argv: list[str]) -> int:
    """``mews-loyalty contract diff RUN_A RUN_B``: exit 1 when an error cause appeared, 0 otherwise,
    2 when a run could not be read."""
    parser = argparse.ArgumentParser(
        prog="mews-loyalty contract diff",
        description="List the causes that appeared, disappeared or changed count from RUN_A to RUN_B.",
        epilog="exit status: 0 no new error cause, 1 an error cause appeared, 2 a run could not be read",
    )
    parser.add_argument(
        "run_a", type=Path, metavar="RUN_A", help="a --report-dir folder, or its <api> folder"
    )
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run, likewise")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    lines, status = diff(args.run_a, args.run_b)
    print("\n".join(lines), file=sys.stderr if status == USAGE else sys.stdout)
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m mews_loyalty.contract.cli connector|reverse|replay|diff ...``"""
    args = sys.argv[1:] if argv is None else argv
    commands = {
        "connector": connector_main,
        "reverse": reverse_main,
        "replay": replay_main,
        "diff": diff_main,
    }
    if not args or args[0] not in commands:
        print(
            "usage: python -m mews_loyalty.contract [connector|reverse|replay|diff] [options]",
            file=sys.stderr,
        )
        return USAGE
    return commands[args[0]](args[1:])
