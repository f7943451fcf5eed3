"""What a verification run is asked to do: the options of both runs and their defaults."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mews_loyalty._transport.pacing import MEWS_RATE_LIMIT
from mews_loyalty._version import __version__
from mews_loyalty.contract._fuzz.events import DEFAULT_RECORDINGS
from mews_loyalty.contract._fuzz.phases import PHASES
from mews_loyalty.contract._report.results import Selection

DEFAULT_SEED = 20251122


DEFAULT_MAX_EXAMPLES = 25


DEFAULT_REPORT_DIR = Path("reports/contract")


# Records a writing run may create, all phases together: enough for every scenario check, gentle on
# an environment every partner shares (deletion there is soft: the records stay, as deleted).
DEFAULT_MAX_WRITES = 50


# Seconds an answer may take before a run advises about it (a `warning`, never a failure). Mews does
# not publish the timeout of its calls to a provider; a member search runs while a receptionist waits
# at the desk, where more than about two seconds reads as a stall. Used by the suite and the rehearsal.
DEFAULT_LATENCY_BUDGET = 2.0


# Test members a writing Reverse run may enrol (the API cannot delete them: the report lists each one
# for the provider to remove).
DEFAULT_MAX_ENROLMENTS = 3


def default_enterprise_id(seed: int = DEFAULT_SEED) -> str:
    """The mewsEnterpriseId a Reverse run sends when none is given (--enterprise-id): made up from the
    seed, so runs with one seed speak for one enterprise."""
    return str(uuid.UUID(int=seed, version=4))


class UsageError(Exception):
    """The run cannot start as asked (unreachable server, rejected tokens, bad options): exit 2."""


@dataclass
class CommonOptions:
    base_url: str
    max_examples: int = DEFAULT_MAX_EXAMPLES
    report_dir: Path = DEFAULT_REPORT_DIR
    seed: int = DEFAULT_SEED
    phases: tuple[str, ...] = PHASES
    rate_limit: tuple[int, float] | None = None  # pace every request under it (None: no pacing)
    timeout: float = 30.0
    stateful_max_steps: int = 6
    quiet: bool = False  # no progress display or lines while the run goes on
    workers: int = 1  # schemathesis threads for the per-operation phases (the pacer spans them all)
    recordings: tuple[str, ...] = DEFAULT_RECORDINGS  # schemathesis' traffic recordings to write
    baseline: Mapping[str, str] = field(default_factory=dict)  # accepted cause id -> reason (--baseline)
    selection: Selection | None = None  # the (check, operation) pairs to perform (None: every one)
    max_failures: int | None = None  # stop once this many selected pairs failed (pytest -x: 1)


@dataclass
class ConnectorOptions(CommonOptions):
    client_token: str = ""
    access_token: str = ""
    client: str = f"mews-loyalty-contract/{__version__}"
    allow_writes: bool = False
    probe_rate_limit: bool = False  # burst past the limit on purpose (only against a server you own)
    values: Mapping[str, Any] = field(default_factory=dict)
    rate_limit: tuple[int, float] | None = MEWS_RATE_LIMIT
    max_writes: int | None = DEFAULT_MAX_WRITES  # records created in total; None: unlimited


@dataclass
class ReverseOptions(CommonOptions):
    tokens: Sequence[str] = ()
    enterprise_id: str | None = None
    membership_ids: Sequence[str] = ()
    customer_id: str | None = None
    allow_writes: bool = False  # enrol test customers; link/unlink the named memberships (or a test member)
    max_writes: int | None = DEFAULT_MAX_ENROLMENTS  # test members enrolled in total; None: unlimited
    latency_budget: float = DEFAULT_LATENCY_BUDGET  # seconds before an answer is advised about
