"""Contract verification of servers that speak Mews' loyalty APIs.

    mews-loyalty contract connector --base-url URL --client-token X --access-token Y [--allow-writes]
    mews-loyalty contract reverse --base-url URL --token T [--token T2]
    pytest contract_tests --api connector --base-url URL --client-token X --access-token Y
    python -m mews_loyalty.contract            # both embedded mocks, started on loopback, verified

Schemathesis drives the schema-based phases (examples, coverage, fuzzing, stateful, every built-in
check plus ``ignored_body_auth`` and ``request_id_header``); scenario checks cover what a schema
cannot say (paging, update values, soft delete, interval and rate limits, the Reverse API's list and
link rules). Exit status: 0 the server conforms, 1 it does not, 2 it could not run (or a usage
error, a report folder refused, a fault of the suite), 128 + N when signal N interrupted it.

The public API, which the command line and the pytest plugin (``pytest_plugin``) both use:

    results = verify(ConnectorOptions(base_url=..., client_token=..., access_token=...))
    results.verdict                     # "CONFORMS", "DOES NOT CONFORM", "COULD NOT RUN", ...
    results.tallies[check, operation]   # Tally(passed, failed) per check and operation
    results.failures                    # Failure(check, operation, message, curl), masked
    ConnectorOptions(..., selection=Selection(pairs), max_failures=1)   # some checks; stop at a failure
    exit_status(results)                # the verdict's exit status

Importing this package is cheap: the names resolve (and schemathesis loads) on first use.
"""

from __future__ import annotations

import importlib
import signal
import typing as _typing

if _typing.TYPE_CHECKING:
    from mews_loyalty.contract._report.folder import ReportFolderRefused
    from mews_loyalty.contract._report.results import Failure, NotRun, Results, Selection, Tally
    from mews_loyalty.contract._run.options import ConnectorOptions, ReverseOptions, UsageError

CONFORMS, DOES_NOT_CONFORM, COULD_NOT_RUN = 0, 1, 2

# Public name -> the module defining it.
_PUBLIC = {
    "ConnectorOptions": "mews_loyalty.contract._run.options",
    "ReverseOptions": "mews_loyalty.contract._run.options",
    "UsageError": "mews_loyalty.contract._run.options",
    "ReportFolderRefused": "mews_loyalty.contract._report.folder",
    "Results": "mews_loyalty.contract._report.results",
    "Tally": "mews_loyalty.contract._report.results",
    "Failure": "mews_loyalty.contract._report.results",
    "NotRun": "mews_loyalty.contract._report.results",
    "Selection": "mews_loyalty.contract._report.results",
}


def verify(options: ConnectorOptions | ReverseOptions, out: _typing.TextIO | None = None) -> Results:
    """Verify the server ``options`` name, write the reports, return what the run found.

    The API follows the options' class. Raises ``UsageError`` or ``ReportFolderRefused`` when the
    run cannot start as asked (nothing sent, nothing written); every other ending (the server
    cannot be reached, an interrupting signal under ``signals.handled()``, a fault of the suite) is
    in the results, with the reports written. ``out`` takes the summary (default: stdout).
    """
    from mews_loyalty.contract._run.options import ConnectorOptions
    from mews_loyalty.contract._run.verification import verify_connector, verify_reverse

    if isinstance(options, ConnectorOptions):
        return verify_connector(options, out)
    return verify_reverse(options, out)


def exit_status(results: Results) -> int:
    """The exit status of a run's ending: 128 + the signal that interrupted it, 2 when it could not
    run or the suite itself failed, 1 when the server does not conform, 0 when it conforms."""
    if results.interrupted is not None:
        return 128 + signal.Signals[results.interrupted].value
    if results.could_not_run is not None or results.faults:
        return COULD_NOT_RUN
    return CONFORMS if results.conforms else DOES_NOT_CONFORM


def __getattr__(name: str) -> _typing.Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once resolved, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__all__ = [
    "CONFORMS",
    "COULD_NOT_RUN",
    "DOES_NOT_CONFORM",
    "ConnectorOptions",
    "Failure",
    "NotRun",
    "ReportFolderRefused",
    "Results",
    "ReverseOptions",
    "Selection",
    "Tally",
    "UsageError",
    "exit_status",
    "verify",
]
