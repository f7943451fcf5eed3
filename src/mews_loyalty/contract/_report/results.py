"""What a run found: per check and operation, how many times it passed and failed, and each failure.

Thread-safe: schemathesis runs checks in worker threads while scenarios record from the main thread.

A check that cannot go on raises; ``Results.guard`` (the one place that catches) sorts what it caught:

    ScenarioError   the server answered something a check cannot build on (or did not answer):
                    a finding for the check and operation, the rest reported "not run: X: needs ..."
    NotRunnable     the check needs something the run does not have (writes, a budget): "not run"
    any other       a fault of the suite itself: recorded (traceback kept for --debug), the run
                    goes on, reports are written, and the exit status is 2
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from mews_loyalty.contract._report.causes import ADVISORY, cause_id, deviation_kind

# Checks this suite adds (schemathesis custom checks and scenario checks), with a one-line meaning.
OUR_CHECKS: dict[str, str] = {
    "ignored_body_auth": "wrong, missing or empty body tokens get 401",
    "request_id_header": "every response carries a non-empty Request-Id",
    "pagination": "every item exactly once across pages, cursor = oldest id, short or empty last page",
    "newest_first": "listings return the newest items first",
    "create_then_read": "created items read back by id as created",
    "update_semantics": "absent/null keeps, Value sets, Value null clears",
    "soft_delete": "deleted items leave the default listing and stay under ActivityStates Deleted",
    "interval_limit": "time filters longer than the documented months are rejected with 400",
    "rate_limit": "over the limit: 429 with Retry-After; after waiting it, requests succeed",
    "cleanup": "everything the run created is deleted again",
    "one_result_per_id": "one entry per requested id, no more, no less",
    "not_found_status": "unknown ids come back with status notFound",
    "id_limit": "100 ids are accepted, 101 rejected with 400",
    "link_unlink": "a membership can be linked and unlinked",
    "token_rotation": "both tokens of a rotation are accepted, a wrong one is not",
    "problem_details": "field errors are problem+json with pointers to the field",
    "member_search": "an enrolled member is found by each filter combination, a stranger is not",
    "invalid_search_criteria": "a filter completing no combination is a 400 problem at #/memberFilter",
    "enrolment_idempotent": "the same customer enrolled twice gets the same membership, another one another",
    "enrolled_member_listed": "the enrolled membership is listed, not notFound",
    "enrolment_open_customer": "a customer carrying properties the spec does not list is enrolled (200)",
    "link_unknown": "linking a membership the provider does not know is not answered as a success",
    "search_email_case": "(advice) a search by the enrolled e-mail in another letter case finds the member",
    "duplicate_members": "(advice) no member appears twice in one search answer",
    "problem_type": "(advice) problem types are the ones Mews defines, which it shows users in words",
    "latency_budget": "(advice) every answer comes within --latency-budget seconds",
    "answers": "every request gets a whole HTTP answer within --timeout (no reset, no truncation)",
    "response_size_limit": "every answer is at most the size cap (32 MiB) once decompressed",
    "response_deadline": "every exchange (connect, send, the whole answer) ends within --timeout",
    "request_conformance": "every request the proxy forwards is an operation the spec documents and accepts",
}

# How every report introduces ``Results.enrolled``.
ENROLLED_TITLE = "Members this run enrolled (the API cannot delete a member: remove them at the provider)"


class ScenarioError(Exception):
    """A check cannot go on because of what the server answered (e.g. it refused to create a
    record to check with, or sent no usable answer): a finding, and what depends on it is not run."""

    def __init__(
        self, operation: str, message: str, curl: str = "", check: str | None = None, needs: str = ""
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.message = message
        self.curl = curl
        self.check = check
        self.needs = needs  # what the rest of the check lacks, e.g. "a loyalty_programs record"


class NoAnswer(ScenarioError):
    """The request got no whole HTTP answer: a timeout, a reset, a truncated or undecodable body."""


# Why a check the run's selection leaves out did not run.
NOT_SELECTED = "not selected (pytest -k/-m)"


class Stopped(BaseException):
    """The run reached its failure limit (``Results.stop_after``: pytest's ``-x``) and stops sending.
    Not an ``Exception``: no check's guard may keep the run going past it."""


@dataclass(frozen=True)
class Selection:
    """The (check, operation) pairs a run performs (pytest's ``-k``/``-m``); None in the options:
    every one. A scenario check runs on the resources whose operations it names, schemathesis sends
    cases to the operations of the selected checks with only those checks on."""

    pairs: frozenset[tuple[str, str]]

    def has(self, check: str, *operations: str) -> bool:
        """Whether ``check`` is selected (on one of ``operations``, when given)."""
        return any(c == check and (not operations or op in operations) for c, op in self.pairs)

    def operations(self, checks: Iterable[str]) -> set[str]:
        """The operations any of ``checks`` is selected on."""
        wanted = set(checks)
        return {op for check, op in self.pairs if check in wanted}


class NotRunnable(Exception):
    """A check needs something the run was not given (writes, a larger write budget): not run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SuiteFault:
    """A bug in this suite (not in the server): where it happened, one line, and the traceback."""

    where: str
    error: str
    traceback: str = field(default="", repr=False)


@dataclass
class Writes:
    """Records the run created on the server, for the summary's 'created N, deleted N, left M'
    (``created == deleted + gone + left``; the run's write ledger counts them)."""

    budget: int | None  # None: unlimited
    created: int = 0
    deleted: int = 0
    left: int = 0
    gone: int = 0  # not found active at clean-up although the run did not delete them
    asked: int = 0  # records the run's creating requests could create (what the budget bounds)


@dataclass
class Failure:
    check: str
    operation: str
    message: str
    curl: str = ""  # masked reproduction; empty when the failure has no single request
    kind: str = ""  # the kind of deviation (``causes.deviation_kind``): with the check, its cause
    cause: str = ""  # the cause's stable id (``causes.cause_id``)


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0


@dataclass
class NotRun:
    check: str
    reason: str


@dataclass
class Results:
    api: str
    base_url: str
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (check, operation)
    failures: list[Failure] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    schemathesis_cases: int = 0
    cases_by_phase: dict[str, int] = field(default_factory=dict)
    cases_by_operation: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> phase -> cases
    requests: int = 0
    errors: list[str] = field(default_factory=list)  # the run could not do its job (not a verdict)
    leftovers: list[str] = field(default_factory=list)  # what cleanup could not delete
    faults: list[SuiteFault] = field(default_factory=list)  # the suite's own bugs: exit 2
    required: set[str] = field(default_factory=set)  # checks the user asked for: not running fails
    writes: Writes | None = None  # set by runs that may write
    read_only: bool = False  # the run sent only reads: its CONFORMS says how many checks did not run
    interrupted: str | None = None  # the signal that stopped the run (e.g. "SIGINT")
    could_not_run: str | None = None  # why the run could not start (e.g. the server cannot be reached)
    # (check, kind of deviation) -> operation -> failing cases: the causes (``causes.causes``)
    cause_cases: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    accepted: dict[str, str] = field(default_factory=dict)  # cause id -> reason (a --baseline): warnings
    selection: Selection | None = None  # the pairs the run performs (None: every one)
    stop_after: int | None = None  # failing (check, operation) pairs that stop the run (pytest -x: 1)
    stopped: str | None = None  # the failing pair that reached ``stop_after``: "check on operation"
    _failing: set[tuple[str, str]] = field(default_factory=set, repr=False)
    # Members a writing Reverse run enrolled (membership ids): the API cannot delete them, so the
    # reports list each one for the provider to remove.
    enrolled: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def passed(self, check: str, operation: str, count: int = 1) -> None:
        with self._lock:
            self.tallies.setdefault((check, operation), Tally()).passed += count

    def failed(self, check: str, operation: str, message: str, curl: str = "", keep: bool = True) -> None:
        """Count a failure under its cause; keep its message (once per distinct message) unless
        ``keep`` is False."""
        kind = deviation_kind(message)
        with self._lock:
            self.tallies.setdefault((check, operation), Tally()).failed += 1
            per_operation = self.cause_cases.setdefault((check, kind), {})
            per_operation[operation] = per_operation.get(operation, 0) + 1
            # One failure per distinct message is enough to act on; the count says how often.
            if keep and not any(
                f.check == check and f.operation == operation and f.message == message for f in self.failures
            ):
                self.failures.append(Failure(check, operation, message, curl, kind, cause_id(check, kind)))
            self._count_towards_stop(check, operation, cause_id(check, kind))

    def _count_towards_stop(self, check: str, operation: str, cause: str) -> None:
        """A failing selected pair counts towards ``stop_after``; the one reaching it stops the run.
        A warning (advice, or a cause the baseline accepts) does not."""
        if self.stop_after is None or not self.selected(check, operation) or self.warns(check, cause):
            return
        self._failing.add((check, operation))
        if self.stopped is None and len(self._failing) >= self.stop_after:
            self.stopped = f"{check} on {operation}"

    def selected(self, check: str, *operations: str) -> bool:
        """Whether the run performs ``check`` (on one of ``operations``, when given): the selection's."""
        return self.selection is None or self.selection.has(check, *operations)

    def halt_if_stopped(self) -> None:
        """Raise ``Stopped`` once the failure limit is reached: what the run consults between checks."""
        if self.stopped is not None:
            raise Stopped(self.stopped)

    def expect(self, check: str, operation: str, ok: bool, message: str, curl: str = "") -> bool:
        if ok:
            self.passed(check, operation)
        else:
            self.failed(check, operation, message, curl)
        return ok

    def skip(self, check: str, reason: str, operation: str = "run") -> None:
        """Note that ``check`` (or part of it) did not run; a check the user asked for fails instead."""
        with self._lock:
            if all((n.check, n.reason) != (check, reason) for n in self.not_run):
                self.not_run.append(NotRun(check, reason))
        if check in self.required:
            self.failed(check, operation, f"asked for, but could not run: {reason}")

    def fault(self, where: str, error: BaseException) -> None:
        """Record a bug of the suite itself (the run goes on; the exit status will be 2)."""
        text = f"{type(error).__name__}: {error}"
        trace = "".join(traceback.format_exception(error))
        with self._lock:
            self.faults.append(SuiteFault(where, text, trace))

    @contextmanager
    def guard(self, check: str) -> Iterator[None]:
        """Run one check (or one part of it) so that nothing it raises ends the run."""
        try:
            yield
        except ScenarioError as error:
            name = error.check or check
            self.failed(name, error.operation, error.message, error.curl)
            if error.needs:
                self.skip(name, f"needs {error.needs}")
        except NotRunnable as error:
            self.skip(check, error.reason)
        except Exception as error:  # a bug here, not in the server: keep going, report it, exit 2
            self.fault(check, error)

    def count_cases(self, phase: str, per_operation: dict[str, int]) -> None:
        """Count schemathesis cases of one scenario of ``phase``, per operation."""
        with self._lock:
            self.schemathesis_cases += sum(per_operation.values())
            self.cases_by_phase[phase] = self.cases_by_phase.get(phase, 0) + sum(per_operation.values())
            for operation, count in per_operation.items():
                phases = self.cases_by_operation.setdefault(operation, {})
                phases[phase] = phases.get(phase, 0) + count

    def count_requests(self, count: int = 1) -> None:
        with self._lock:
            self.requests += count

    def finish(self) -> None:
        self.finished = time.monotonic()

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def conforms(self) -> bool:
        ended = self.interrupted is None and self.could_not_run is None
        return ended and not self.errors and not self.leftovers and not self.faults and not self.new_causes()

    def new_causes(self) -> list[str]:
        """The ids of the causes found that no baseline accepts and no advice is (each fails the run), sorted."""
        return sorted(
            {cause_id(check, kind) for check, kind in self.cause_cases if check not in ADVISORY}
            - set(self.accepted)
        )

    def warns(self, check: str, cause: str) -> bool:
        """Whether a cause is a warning, not a failure: advice, or accepted by the baseline."""
        return check in ADVISORY or cause in self.accepted

    def breaks(self, check: str, operation: str) -> bool:
        """Whether ``check`` failed on ``operation`` with a cause that is an error (not a warning)."""
        return any(
            operation in per_operation and not self.warns(check, cause_id(check, kind))
            for (failed_check, kind), per_operation in self.cause_cases.items()
            if failed_check == check
        )

    def enrolled_member(self, membership_id: str) -> None:
        """Note a member the run enrolled (once), for the reports' list of members to remove."""
        with self._lock:
            if membership_id not in self.enrolled:
                self.enrolled.append(membership_id)

    def checks_not_run(self) -> list[str]:
        """The checks (or parts of one) that did not run, each once."""
        return sorted({n.check for n in self.not_run})

    @property
    def verdict(self) -> str:
        """The run's one-word (or qualified) ending, in the order that decides it: it could not start,
        it was stopped, the suite failed, the server does not conform, it conforms."""
        if self.could_not_run is not None:
            return "COULD NOT RUN"
        if self.interrupted is not None:
            return "INTERRUPTED"
        if self.faults:
            return "NO VERDICT (the contract suite itself failed)"
        if not self.conforms:
            return "DOES NOT CONFORM"
        qualifiers = []
        if self.read_only:
            qualifiers.append(f"read-only: {len(self.checks_not_run())} checks not run")
        advice = sum(check in ADVISORY for check, _ in self.cause_cases)
        if advice:
            qualifiers.append(f"{advice} advisory warning{'' if advice == 1 else 's'}")
        if len(self.cause_cases) > advice:
            qualifiers.append(f"{len(self.cause_cases) - advice} known causes accepted by the baseline")
        return f"CONFORMS ({'; '.join(qualifiers)})" if qualifiers else "CONFORMS"

    def checks(self) -> list[str]:
        return sorted({check for check, _ in self.tallies})

    def operations(self) -> list[str]:
        return sorted({operation for _, operation in self.tallies})

    def failing_checks(self) -> list[str]:
        """The checks with findings that fail the run or a baseline accepts (advice is not failing)."""
        return sorted({f.check for f in self.failures if f.check not in ADVISORY})

    def advised_checks(self) -> list[str]:
        """The advisory checks with findings (warnings)."""
        return sorted({f.check for f in self.failures if f.check in ADVISORY})

    def by_check(self, check: str) -> Iterable[tuple[str, Tally]]:
        return ((op, t) for (c, op), t in sorted(self.tallies.items()) if c == check)
