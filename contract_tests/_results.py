"""What a run found: per check and operation, how many times it passed and failed, and each failure.

Thread-safe: schemathesis runs checks in worker threads while scenarios record from the main thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

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
}


@dataclass
class Failure:
    check: str
    operation: str
    message: str
    curl: str = ""  # masked reproduction; empty when the failure has no single request


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
    requests: int = 0
    errors: list[str] = field(default_factory=list)  # the run could not do its job (not a verdict)
    leftovers: list[str] = field(default_factory=list)  # what cleanup could not delete
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def passed(self, check: str, operation: str, count: int = 1) -> None:
        with self._lock:
            self.tallies.setdefault((check, operation), Tally()).passed += count

    def failed(self, check: str, operation: str, message: str, curl: str = "") -> None:
        with self._lock:
            self.tallies.setdefault((check, operation), Tally()).failed += 1
            # One failure per distinct message is enough to act on; the count says how often.
            if not any(
                f.check == check and f.operation == operation and f.message == message for f in self.failures
            ):
                self.failures.append(Failure(check, operation, message, curl))

    def expect(self, check: str, operation: str, ok: bool, message: str, curl: str = "") -> bool:
        if ok:
            self.passed(check, operation)
        else:
            self.failed(check, operation, message, curl)
        return ok

    def skip(self, check: str, reason: str) -> None:
        with self._lock:
            if all(n.check != check for n in self.not_run):
                self.not_run.append(NotRun(check, reason))

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
        return not self.failures and not self.errors and not self.leftovers

    def checks(self) -> list[str]:
        return sorted({check for check, _ in self.tallies})

    def operations(self) -> list[str]:
        return sorted({operation for _, operation in self.tallies})

    def failing_checks(self) -> list[str]:
        return sorted({f.check for f in self.failures})

    def by_check(self, check: str) -> Iterable[tuple[str, Tally]]:
        return ((op, t) for (c, op), t in sorted(self.tallies.items()) if c == check)
