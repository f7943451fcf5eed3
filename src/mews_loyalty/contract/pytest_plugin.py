"""The suite under pytest: one verification per session, one test per check and operation.

    pytest contract_tests --api connector --base-url URL --client-token X --access-token Y [--allow-writes]
    pytest contract_tests --api reverse --base-url URL --token T [--token T2]

Registered as a ``pytest11`` entry point (installed with ``mews-loyalty[contract]``); it does nothing
in a session that collects no test asking for ``contract_check`` (``contract_tests/`` of the
repository is such a test module). Tests are the run's (check, operation) pairs, known before the
run from the checks (ours and schemathesis') and the API's operations, plus four for the run itself
(ended by itself, finished its job, nothing left behind, findings on no operation), so ``-k``, ``-x``,
``--lf`` and ``--junitxml`` work as on any suite. A session fixture (``contract_results``) runs the
verification once, through the public API (``mews_loyalty.contract.verify``), before the first test;
each test then reports its pair: failed with the masked findings, passed, or skipped with why
(not run, or not exercised by this run).

The selection (``-k``, ``-m``, ``--lf``, node ids) is the run's: the tests collected and selected
name the (check, operation) pairs the run performs (``Selection``), so a Connector scenario check
runs on the resources it was selected for and schemathesis sends cases to the selected operations
with the selected checks only (the Reverse API's member checks share one enrolment: they run
together when any of them is selected). ``-x`` (``--maxfail N``) stops the run itself at its first (Nth) failing
selected pair: it sends nothing more (the clean-up excepted), the stages it did not reach are
reported as not run, and the summary says where it stopped. The verdict's endings keep their exit
status: CONFORMS 0, DOES NOT CONFORM 1 (pytest's own, from the
selected tests: with all selected, the CLI's verdict), COULD NOT RUN / a usage error / a fault of the
suite 2, INTERRUPTED 128 + the signal (130, 143). pytest-xdist is refused with one line: the run
holds one token's pacing window, which workers would break.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mews_loyalty.contract import ConnectorOptions, Results, ReverseOptions, Selection

APIS = ("connector", "reverse")
USAGE = 2
RUN = "run"
# The run's own tests: (name, what makes it fail); the catch-all last.
RUN_TESTS = ("ended by itself", "finished its job", "nothing left behind", "findings on no operation")
FIXTURE = "contract_check"


class ContractWarning(UserWarning):
    """A check's findings that are warnings only: advice, or causes the ``--baseline`` accepts."""


@dataclass
class _Session:
    """The plugin's state in one pytest session."""

    selected: set[tuple[str, str]] = field(default_factory=set)
    results: Results | None = None
    summary: str = ""


_STATE = pytest.StashKey[_Session]()


# The plugin's options: (flag, dest, argparse keywords). Values are parsed at the run's start, as the
# command line parses them, so that a bad one is the run's usage error (exit 2).
OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--api", "contract_api", {"choices": APIS, "help": "the API the server speaks"}),
    ("--base-url", "contract_base_url", {"help": "the server to verify"}),
    ("--client-token", "contract_client_token", {"help": "connector (or MEWS_CLIENT_TOKEN)"}),
    ("--access-token", "contract_access_token", {"help": "connector (or MEWS_ACCESS_TOKEN)"}),
    (
        "--token",
        "contract_tokens",
        {"action": "append", "default": [], "help": "reverse (or MEWS_REVERSE_TOKENS)"},
    ),
    ("--allow-writes", "contract_allow_writes", {"action": "store_true", "help": "also write"}),
    ("--request-timeout", "contract_timeout", {"default": "30", "help": "seconds per exchange (default 30)"}),
    ("--report-dir", "contract_report_dir", {"help": "where reports go (default reports/contract)"}),
    ("--max-examples", "contract_max_examples", {"help": "schemathesis cases per operation and phase"}),
    ("--phases", "contract_phases", {"help": "schemathesis phases, comma separated, or 'none'"}),
    ("--seed", "contract_seed", {"help": "generation seed"}),
    ("--rate-limit", "contract_rate_limit", {"help": "the server's rate limit, N/SECONDS or 'off'"}),
)


@pytest.hookimpl(trylast=True)
def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the options, last: a flag another plugin added already (pytest-base-url's ``--base-url``)
    is left to it, and read from its dest (``_option``), so installing both breaks neither. pytest
    has no public list of the flags taken: this reads its parser's groups."""
    taken = {
        name for group in (parser._anonymous, *parser._groups) for o in group.options for name in o.names()
    }
    group = parser.getgroup("mews-loyalty contract", "contract verification (contract_tests/)")
    for flag, dest, keywords in OPTIONS:
        if flag not in taken:  # else the flag is another plugin's
            group.addoption(flag, dest=dest, **keywords)


def _option(config: pytest.Config, dest: str) -> Any:
    """An option's value, also when another plugin owns its flag (its dest: the flag's own name)."""
    flag = next(flag for flag, name, _ in OPTIONS if name == dest)
    value = config.getoption(dest, None)
    return config.getoption(flag.lstrip("-").replace("-", "_"), None) if value is None else value


def refusal(config: pytest.Config) -> str | None:
    """Why this session cannot verify: pytest-xdist would split one run's pacing window."""
    if hasattr(config, "workerinput") or config.getoption("numprocesses", None):
        return (
            "mews-loyalty contract: pytest-xdist is refused (one token, one pacing window): "
            "run without -n/--numprocesses"
        )
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STATE] = _Session()
    if _option(session.config, "contract_api") is None:
        return
    reason = refusal(session.config)
    if reason is not None:
        pytest.exit(reason, returncode=USAGE)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        return
    api = _option(metafunc.config, "contract_api")
    pairs = [(RUN, name) for name in RUN_TESTS] + ([] if api is None else list(_pairs(api)))
    metafunc.parametrize(
        FIXTURE, pairs, indirect=True, ids=[f"{check}-{operation}" for check, operation in pairs]
    )


@functools.cache
def _pairs(api: str) -> tuple[tuple[str, str], ...]:
    """Every (check, operation) the run can tally: our checks and schemathesis', each operation."""
    from mews_loyalty._spec.catalog import catalog
    from mews_loyalty.contract._fuzz.adapter import CHECKS
    from mews_loyalty.contract._report.results import OUR_CHECKS

    checks = sorted({*OUR_CHECKS, *CHECKS.get_all_names()})
    operations = [operation.operation_id for operation in catalog(api).operations]
    return tuple((check, operation) for check in checks for operation in operations)


def pytest_collection_finish(session: pytest.Session) -> None:
    chosen = [item for item in session.items if FIXTURE in getattr(item, "fixturenames", ())]
    if not chosen:
        return
    if _option(session.config, "contract_api") is None:
        pytest.exit("mews-loyalty contract: give --api connector|reverse and --base-url URL", USAGE)
    state = session.config.stash[_STATE]
    state.selected = {item.callspec.params[FIXTURE] for item in chosen if hasattr(item, "callspec")}


@pytest.fixture(scope="session")
def contract_results(request: pytest.FixtureRequest) -> Results:
    """The session's one verification (run at the first test asking for it)."""
    from mews_loyalty.contract import ReportFolderRefused, UsageError, verify
    from mews_loyalty.contract._run import signals

    config = request.config
    options = _options(config)
    out = io.StringIO()
    try:
        with signals.handled(), _argv_masked(_secrets(options)):
            results = verify(options, out)
    except (UsageError, ReportFolderRefused) as error:
        pytest.exit(f"mews-loyalty contract: {error}", USAGE)
    state = config.stash[_STATE]
    state.results, state.summary = results, out.getvalue()
    return results


@pytest.fixture
def contract_check(request: pytest.FixtureRequest, contract_results: Results) -> Callable[[], None]:
    """The verdict of this test's (check, operation) in the session's run, as a call that fails,
    skips or returns."""
    check, operation = request.param
    if check == RUN:
        return lambda: _run_verdict(contract_results, operation)
    return lambda: _check_verdict(contract_results, check, operation)


def _check_verdict(results: Results, check: str, operation: str) -> None:
    tally = results.tallies.get((check, operation))
    if tally is not None and tally.failed:
        texts = _findings(results, check, operation) or [f"{tally.failed} failures"]
        summary = f"{check} on {operation}: failed {tally.failed}, passed {tally.passed}"
        if results.breaks(check, operation):
            pytest.fail("\n".join([summary, *texts]), pytrace=False)
        # only warnings (advice, or causes the baseline accepts): shown, as the CLI shows them
        warnings.warn(ContractWarning("\n".join([f"{summary} (warnings only)", *texts])), stacklevel=1)
    if tally is None:
        reasons = [n.reason for n in results.not_run if n.check == check]
        pytest.skip("; ".join(reasons) or f"{check} was not exercised on {operation} by this run")


def _findings(results: Results, check: str, operation: str) -> list[str]:
    """The masked findings of one check on one operation, each with its curl line."""
    found = [f for f in results.failures if (f.check, f.operation) == (check, operation)]
    return [f"{f.message}\n{f.curl}".strip() for f in found]


def _run_verdict(results: Results, name: str) -> None:
    problems = {
        RUN_TESTS[0]: [f"COULD NOT RUN: {results.could_not_run}"] * (results.could_not_run is not None)
        + [f"INTERRUPTED by {results.interrupted}"] * (results.interrupted is not None),
        RUN_TESTS[1]: [*results.errors, *(f"suite fault in {f.where}: {f.error}" for f in results.faults)],
        RUN_TESTS[2]: [f"not cleaned up: {leftover}" for leftover in results.leftovers],
        RUN_TESTS[3]: [
            f"{f.check} on {f.operation}: {f.message}\n{f.curl}".strip()
            for f in results.failures
            if (f.check, f.operation) not in _pairs(results.api)
        ],
    }[name]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _secrets(options: ConnectorOptions | ReverseOptions) -> list[str]:
    from mews_loyalty.contract import ConnectorOptions

    if isinstance(options, ConnectorOptions):
        return [options.client_token, options.access_token]
    return list(options.tokens)


@contextlib.contextmanager
def _argv_masked(secrets: list[str]) -> Iterator[None]:
    """``sys.argv`` without the tokens while the run goes on: schemathesis' HTML report shows the
    command line of a pytest process, and a token given as an option would be in it."""
    saved = sys.argv
    masked = []
    for arg in saved:
        for secret in secrets:
            arg = arg.replace(secret, "[masked]")
        masked.append(arg)
    sys.argv = masked
    try:
        yield
    finally:
        sys.argv = saved


def _options(config: pytest.Config) -> ConnectorOptions | ReverseOptions:
    """The run's options from the command line (and the environment, for tokens); a bad one ends the
    session with one line and exit status 2."""
    try:
        return _build(config)
    except (argparse.ArgumentTypeError, ValueError) as error:
        pytest.exit(f"mews-loyalty contract: {error}", USAGE)


def _build(config: pytest.Config) -> ConnectorOptions | ReverseOptions:
    from mews_loyalty.contract import ConnectorOptions, ReverseOptions

    common = _common(config)
    if _option(config, "contract_api") == "connector":
        return ConnectorOptions(
            **common,
            client_token=_token(
                "--client-token", _option(config, "contract_client_token"), "MEWS_CLIENT_TOKEN"
            ),
            access_token=_token(
                "--access-token", _option(config, "contract_access_token"), "MEWS_ACCESS_TOKEN"
            ),
            allow_writes=_option(config, "contract_allow_writes"),
        )
    given = _option(config, "contract_tokens") or os.environ.get("MEWS_REVERSE_TOKENS", "").split(",")
    tokens = [_token("--token", token.strip(), "MEWS_REVERSE_TOKENS") for token in given if token.strip()]
    if not tokens:
        raise ValueError("give at least one --token (or set MEWS_REVERSE_TOKENS)")
    return ReverseOptions(**common, tokens=tokens, allow_writes=_option(config, "contract_allow_writes"))


def _common(config: pytest.Config) -> dict[str, Any]:
    """The options both APIs share, parsed as the command line parses them."""
    from mews_loyalty.contract import cli

    base_url = _option(config, "contract_base_url")
    if not base_url:
        raise ValueError("give --base-url URL")
    found: dict[str, Any] = {
        "base_url": cli.base_url_argument(base_url),
        "timeout": float(_option(config, "contract_timeout")),
        "quiet": config.getoption("capture") != "no",  # a live line only where pytest shows output
        "selection": _selection(config),
        "max_failures": config.getoption("maxfail", 0) or None,  # -x: 1
    }
    parsers: dict[str, tuple[str, Callable[[str], Any]]] = {
        "report_dir": ("contract_report_dir", Path),
        "max_examples": ("contract_max_examples", cli._positive),
        "phases": ("contract_phases", cli._phases_or_none),
        "seed": ("contract_seed", int),
        "rate_limit": ("contract_rate_limit", cli._rate),
    }
    for name, (dest, parse) in parsers.items():
        text = _option(config, dest)
        if text is not None:
            found[name] = parse(text)
    return found


def _selection(config: pytest.Config) -> Selection | None:
    """The (check, operation) pairs of the selected tests, for the run to perform; None when every
    pair is selected (the run's own tests are no check)."""
    from mews_loyalty.contract import Selection

    chosen = frozenset(pair for pair in config.stash[_STATE].selected if pair[0] != RUN)
    if chosen >= set(_pairs(_option(config, "contract_api"))):
        return None
    return Selection(chosen)


def _token(flag: str, value: str | None, variable: str) -> str:
    from mews_loyalty.contract._exchange.masking import MIN_SECRET_LENGTH

    token = value or os.environ.get(variable, "")
    if not token:
        raise ValueError(f"{flag} is required (or {variable})")
    if len(token) < MIN_SECRET_LENGTH:
        raise ValueError(f"{flag} is too short to be a real token (and could not be masked in reports)")
    return token


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.results is None:
        return
    terminalreporter.section("mews-loyalty contract")
    terminalreporter.write(state.summary)
    results = state.results
    if results.selection is not None:
        terminalreporter.write_line(
            f"selection: the run performed the checks of {len(results.selection.pairs)} selected "
            f"(check, operation) tests of {len(_pairs(results.api))}"
        )
    if results.stopped is not None:
        terminalreporter.write_line(
            f"stopped at the first failing check (-x/--maxfail {results.stop_after}): {results.stopped}"
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The verdict's endings keep their exit status; DOES NOT CONFORM and CONFORMS are pytest's own
    (from the selected tests)."""
    from mews_loyalty.contract import COULD_NOT_RUN, exit_status

    state = session.config.stash.get(_STATE, None)
    if state is None or state.results is None:
        return
    status = exit_status(state.results)
    if status >= COULD_NOT_RUN:
        session.exitstatus = status
