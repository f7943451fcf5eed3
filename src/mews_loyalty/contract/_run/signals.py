"""How a run ends when it is told to stop: SIGINT (Ctrl-C, or CI cancelling a job), SIGTERM (CI or a
supervisor stopping it), SIGHUP (the terminal closing).

    with handled():            # the CLI, around the whole run: the run's own handlers (main thread only)
        ...                    # the run: the first signal raises Interrupted(signum) in the main thread
        with cleaning(interrupted=True) as deadline:
            ...                # clean-up, bounded: a second signal, or CLEANUP_BOUND s, raises CleanupCut
        with shielded():
            ...                # the reports: a signal is noted, nothing is raised

On the first signal the run stops sending new cases: schemathesis turns the ``Interrupted`` raised in
its event loop into an event of its own (``_fuzz.events`` raises it again once its report writers have
seen the end), the scenario checks let it through (they catch ``Exception`` only), after the exchange
under way (``deferred``): its answer may name a record the run made and must delete. The run then
deletes what it made, within ``CLEANUP_BOUND`` seconds (inside the 7.5 s GitHub Actions leaves between
its SIGINT and its SIGTERM), writes its reports and exits 128 + the signal's number (130, 143, 129),
as a shell reports a process a signal ended. A second signal skips what is left of the clean-up; the
reports are written all the same and list what was left (before the clean-up, a second signal also
abandons the work the first was waiting for). The bound is a real timer (SIGALRM), so a request
in flight is cut too, not only the ones not yet sent.

Signals are a process's, not a run's: the state lives here, once, and ``handled`` resets it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

# Seconds the clean-up of an interrupted run may take.
CLEANUP_BOUND = 5.0
# Seconds between two looks at a signal held back while the pacer waits.
PAUSE_SLICE = 0.1
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """The run was told to stop by ``signum``; a ``KeyboardInterrupt``, so that schemathesis and
    Hypothesis stop as they do for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


class CleanupCut(BaseException):
    """The clean-up of an interrupted run was cut short (a second signal, or its time ran out).
    Not an ``Exception``: the clean-up's own error handling must not swallow it."""


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class _State:
    received: list[int] = field(default_factory=list)  # signal numbers, in order
    mode: Literal["run", "cleanup", "reports"] = "run"
    cut: str | None = None  # why the clean-up must stop now (a second signal came before it started)
    deferring: int = 0  # the main thread's work under way that a first signal waits for (``deferred``)
    pending: int | None = None  # a first signal held back until that work is over


_STATE = _State()


def received() -> list[int]:
    """The signals received since the run's handlers were installed, in order."""
    return list(_STATE.received)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _STATE.received.append(signum)
    if _STATE.mode == "run":
        if len(_STATE.received) == 1:
            if _STATE.deferring:
                _STATE.pending = signum  # raised when the work under way is over (``deferred``)
                return
            raise Interrupted(signum)
        if _STATE.pending is not None:  # a second signal: the work under way is abandoned
            _STATE.pending = None
            raise Interrupted(_STATE.received[0])  # the run ends as the first signal said
        # The first one is on its way out (schemathesis' workers finish the case under way): raised
        # again mid-way, it could stop schemathesis before it tells its workers to stop. Noted: the
        # clean-up will be skipped.
    if _STATE.mode == "cleanup":
        if len(_STATE.received) == 1:  # the clean-up of a run that was not interrupted: bound it now
            _arm(CLEANUP_BOUND)
        else:
            raise CleanupCut(f"a second signal ({signal_name(signum)})")
    # "reports": the run is over and its reports are being written; nothing to stop.


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _STATE.mode == "cleanup":
        raise CleanupCut(f"its {CLEANUP_BOUND:g} s were up")


def _arm(seconds: float) -> None:
    if hasattr(signal, "setitimer") and _in_main_thread():
        signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm() -> None:
    if hasattr(signal, "setitimer") and _in_main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def handled() -> Iterator[None]:
    """The run's handlers for SIGINT, SIGTERM and SIGHUP (and SIGALRM for the clean-up's bound), the
    previous ones restored afterwards. Only the main thread may install handlers: a run started from
    another thread leaves the process's own in place (signals reach the main thread, not the run)."""
    _reset()
    if not _in_main_thread():
        try:
            yield
        finally:
            _reset()
        return
    alarm = (signal.SIGALRM,) if hasattr(signal, "SIGALRM") else ()
    previous = {signum: signal.getsignal(signum) for signum in (*SIGNALS, *alarm)}
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    for signum in alarm:
        signal.signal(signum, _on_alarm)
    try:
        yield
    finally:
        _disarm()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _reset()


def _reset() -> None:
    """A run starts, or has ended: no signal received, nothing held back."""
    _STATE.received.clear()
    _STATE.mode = "run"
    _STATE.cut = None
    _STATE.pending = None
    _STATE.deferring = 0


@contextmanager
def deferred() -> Iterator[None]:
    """Work of the main thread that must not stop half-way: an exchange, from its pacing to its answer
    recorded (an answer may name a record the run created, which the clean-up must know), or the
    report writers told to finish (one left running would keep the process from exiting). A first
    signal waits for its end; pacing does not (``pause``), nor does a second signal. Elsewhere than in
    the main thread signals are not delivered, and nothing is held back."""
    if not _in_main_thread():
        yield
        return
    _raise_pending()
    _STATE.deferring += 1
    try:
        yield
    finally:
        _STATE.deferring -= 1
        _raise_pending()  # the signal wins over whatever the work raised


def _raise_pending() -> None:
    signum = _STATE.pending
    if signum is not None and not _STATE.deferring:
        _STATE.pending = None
        raise Interrupted(signum)


def pause(seconds: float) -> None:
    """The pacer's sleep: a signal held back ends it at once (pacing comes before a request is sent:
    nothing is under way yet)."""
    if not _in_main_thread():
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if _STATE.pending is not None:
            signum, _STATE.pending = _STATE.pending, None
            raise Interrupted(signum)
        time.sleep(min(left, PAUSE_SLICE))


@contextmanager
def cleaning(interrupted: bool) -> Iterator[float | None]:
    """The clean-up's time: unbounded for a run that ended by itself (until a signal comes), else
    ``CLEANUP_BOUND`` seconds; yields the deadline (``time.monotonic``), None when unbounded, for
    ``check_deadline``. A second signal received before the clean-up started cuts it at its first
    check."""
    _STATE.mode = "cleanup"
    if len(_STATE.received) > 1:
        _STATE.cut = f"a second signal ({signal_name(_STATE.received[1])})"
    deadline = time.monotonic() + CLEANUP_BOUND if interrupted else None
    try:
        if interrupted:
            _arm(CLEANUP_BOUND)
        yield deadline
    finally:
        _disarm()
        _STATE.mode = "run"
        _STATE.cut = None


@contextmanager
def shielded() -> Iterator[None]:
    """Writing the reports: a signal now is noted and changes nothing."""
    _STATE.mode = "reports"
    try:
        yield
    finally:
        _STATE.mode = "run"


def check_deadline(deadline: float | None) -> None:
    """Raise ``CleanupCut`` before the clean-up's next request when it must stop: a second signal came
    before it started, or ``deadline`` (``time.monotonic``) has passed (the timer cuts a request in
    flight; this check is what remains where there is no timer, on platforms without ``setitimer``)."""
    if _STATE.cut is not None:
        raise CleanupCut(_STATE.cut)
    if deadline is not None and time.monotonic() >= deadline:
        raise CleanupCut(f"its {CLEANUP_BOUND:g} s were up")


__all__ = [
    "CLEANUP_BOUND",
    "SIGNALS",
    "CleanupCut",
    "Interrupted",
    "check_deadline",
    "cleaning",
    "deferred",
    "handled",
    "pause",
    "received",
    "shielded",
    "signal_name",
]
