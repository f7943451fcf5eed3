"""What a run is doing while it runs, for the person watching it.

    progress = Progress.to_stream(results, sys.stderr, pacer=pacer)  # terminal or not, decided here
    progress = Progress.silent(results)                                     # --quiet
    progress.plan(fuzz_stages(phases, operations=12, max_examples=25, max_steps=6), scenarios=120)
    with progress:                         # starts the display (or the plain-line ticker), stops it
        progress.stage("scenarios")        # a step of the run; the next planned one when it is known
        progress.operation("loyaltyMemberships_getAll")  # the operation being exercised now
        progress.case_done()               # one schemathesis case sent and checked
        progress.unit_done()               # one operation of the current phase finished

On a terminal a rich live line is redrawn four times a second and vanishes when the run ends (the
summary printed afterwards stays as it was); anywhere else (CI logs) a plain line is written every
``PLAIN_INTERVAL`` seconds. Requests sent and failures found are read from the run's ``Results``, so
every request counts, whoever sent it.

The time left comes from the requests left and the pacing: the requests still expected (the rest of
the current stage, extrapolated from its finished operations once there are some, plus rough budgets
for the stages to come) at the request rate seen so far while sending (waits for the pacer left out),
but never sooner than the pacing allows (a paced run sends its first window's worth at once, then no
more than the window allows) nor than a 429's Retry-After still to wait out. Once shown, it never
moves backwards by more than the pacing explains: a later estimate may exceed the last one shown
less the time since only up to that floor; when the run outgrows its budgets the line says
"time left unknown (past the estimate)" rather than raise it.

The line also says what the run waits on, from the throttle every request passes: ``waiting: rate
limit 12 s`` while it waits for the window or a Retry-After, ``waiting: answer 25 s`` while a request
has been out for more than ``ANSWER_SHOWN_AFTER`` seconds (at most the per-exchange deadline: the
bounded transport ends every exchange by then).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report.results import Results

PLAIN_INTERVAL = 5.0  # seconds between plain lines
LIVE_REFRESH = 4  # terminal redraws per second
# Rough request budgets per operation, for stages not started yet (measured on the embedded mocks:
# the coverage phase sends about three times max-examples cases per operation).
COVERAGE_FACTOR = 3
ANSWER_SHOWN_AFTER = 2.0  # seconds a request is out before the line says it waits on the answer


@dataclass
class Stage:
    name: str
    expected: int  # requests, a prior guess until the stage has finished units
    units: int = 0  # operations the stage goes through (0: not known)
    units_done: int = 0
    requests_at_start: int = 0
    started: bool = False
    finished: bool = False
    started_at: float = 0.0
    ended_at: float = 0.0
    requests_at_end: int = 0


def fuzz_stages(phases: Iterable[str], *, operations: int, max_examples: int, max_steps: int) -> list[Stage]:
    """Request budgets for schemathesis' phases, before anything ran."""
    per_operation = {"examples": 1, "coverage": COVERAGE_FACTOR * max_examples, "fuzzing": max_examples}
    stages = []
    for phase in phases:
        if phase == "stateful":
            stages.append(Stage(phase, max_examples * max_steps))
        else:
            stages.append(Stage(phase, per_operation.get(phase, max_examples) * operations, operations))
    return stages


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 10 else f"{minutes} min"


class Progress:
    def __init__(
        self,
        results: Results,
        *,
        pacer: Throttle | None = None,
        console: Console | None = None,
        plain: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> None:
        """``console``: a live display on it; ``plain``: lines written to it; neither: silent;
        ``deadline``: the per-exchange deadline (no answer is waited on longer)."""
        self.results = results
        self.pacer = pacer
        self._console = console
        self._plain = plain
        self._clock = clock
        self._lock = threading.Lock()
        self._stages: list[Stage] = []
        self._current: Stage | None = None
        self._operation = ""
        self._cases = 0
        self._started = clock()
        self._last_line = self._started
        self._live: Live | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.deadline = deadline
        self._shown: tuple[float, float] | None = None  # (when, seconds left) last shown
        self._outgrown = False  # the run outgrew the estimate shown: it is held, not raised

    @classmethod
    def to_stream(
        cls, results: Results, stream: TextIO, *, pacer: Throttle | None = None, deadline: float | None = None
    ) -> Progress:
        console = Console(file=stream, stderr=True)
        if console.is_terminal:
            return cls(results, pacer=pacer, console=console, deadline=deadline)
        return cls(results, pacer=pacer, plain=stream, deadline=deadline)

    @classmethod
    def silent(cls, results: Results) -> Progress:
        return cls(results)

    # -- what the run tells it ------------------------------------------------------------------

    def plan(self, stages: Iterable[Stage], *, scenarios: int = 0) -> None:
        """The stages the run will go through, in order, with their request budgets."""
        with self._lock:
            self._stages = ([Stage("scenarios", scenarios)] if scenarios else []) + list(stages)

    def stage(self, name: str, units: int | None = None) -> None:
        with self._lock:
            self._end_current()
            found = next((s for s in self._stages if s.name == name and not s.started), None)
            if found is None:
                found = Stage(name, 0)
                self._stages.append(found)
            if units is not None:
                found.units = units
            found.started = True
            found.started_at = self._clock()
            found.requests_at_start = self.results.requests
            self._current = found
            self._operation = ""

    def _end_current(self) -> None:
        if self._current is not None and not self._current.finished:
            self._current.finished = True
            self._current.ended_at = self._clock()
            self._current.requests_at_end = self.results.requests

    def timings(self) -> list[tuple[str, float, int]]:
        """(stage, seconds, requests) of every stage that ran, in order; ends the current one."""
        with self._lock:
            self._end_current()
            ran = sorted((s for s in self._stages if s.started), key=lambda s: s.started_at)
            return [(s.name, s.ended_at - s.started_at, s.requests_at_end - s.requests_at_start) for s in ran]

    def unreached(self) -> tuple[str, list[str]]:
        """Where the run is (the current stage, "starting" before the first) and the planned stages
        it has not started: what an interrupted run did not do."""
        with self._lock:
            current = self._current.name if self._current is not None else "starting"
            return current, [s.name for s in self._stages if not s.started]

    def operation(self, name: str) -> None:
        self._operation = name

    def case_done(self) -> None:
        with self._lock:
            self._cases += 1

    def unit_done(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.units_done += 1

    # -- what it shows --------------------------------------------------------------------------

    def _requests_left(self, sent: int) -> float:
        """Requests still expected: the rest of the current stage and the budgets of those to come."""
        remaining = 0.0
        for stage in self._stages:
            if stage.finished:
                continue
            if stage is self._current:
                done = sent - stage.requests_at_start
                if stage.units and stage.units_done:
                    expected = done * stage.units / stage.units_done
                else:
                    expected = max(stage.expected, done)
                remaining += max(0.0, expected - done)
            elif not stage.started:
                remaining += stage.expected
        return remaining

    def _pacing_floor(self, sent: int, remaining: float, elapsed: float) -> float:
        """The soonest the pacing lets the run end: the window's and a Retry-After's share."""
        if self.pacer is None:
            return 0.0
        floor = self.pacer.blocked_for()
        if self.pacer.paced is not None:
            # Under a sliding window of L requests per W seconds, request n goes out no earlier than
            # (n - L) / L * W seconds after the start: the first window's burst, then L per window.
            limit, window = self.pacer.paced
            floor = max(floor, (sent + remaining - limit) / limit * window - elapsed)
        return max(0.0, floor)

    def seconds_left(self) -> float | None:
        """The estimate described in the module docstring; None before there is a rate to go by."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._started
            sent = self.results.requests
            remaining = self._requests_left(sent)
        if not sent or elapsed <= 0:
            return None
        # The rate while sending: time spent waiting for the pacer's window does not count.
        waited = self.pacer.waited if self.pacer is not None else 0.0
        floor = self._pacing_floor(sent, remaining, elapsed)
        estimate = max(floor, remaining * max(elapsed - waited, elapsed / 10) / sent)
        left = estimate
        if self._shown is not None:
            when, shown = self._shown
            left = max(floor, min(estimate, shown - (now - when)))
        self._shown = (now, left)
        self._outgrown = estimate >= left + 1
        return max(0.0, left)

    def waiting(self) -> str:
        """What the run waits on now ("rate limit 12 s", "answer 25 s"), or "" when it is sending."""
        if self.pacer is None:
            return ""
        now = self.pacer.now()
        until = self.pacer.waiting_until
        if until is not None and until > now:
            return f"rate limit {_duration(until - now)}"
        sent_at = self.pacer.sent_at
        out = now - sent_at if sent_at is not None else 0.0
        if out >= ANSWER_SHOWN_AFTER and (self.deadline is None or out <= self.deadline + 1):
            return f"answer {_duration(out)}"
        return ""

    def line(self) -> str:
        elapsed = self._clock() - self._started
        stage = self._current.name if self._current is not None else "starting"
        where = f"{stage} {self._operation}".strip()
        failures = len(self.results.failures)
        left = self.seconds_left()
        parts = [
            f"{self._cases} cases",
            f"{self.results.requests} requests",
            f"{failures} failure{'' if failures == 1 else 's'}",
        ]
        if left is not None:
            outgrown = self._outgrown and left < 1
            parts.append(
                "time left unknown (past the estimate)" if outgrown else f"about {_duration(left)} left"
            )
        waiting = self.waiting()
        if waiting:
            parts.append(f"waiting: {waiting}")
        return f"[{self.results.api} {_duration(elapsed)}] {where}: {', '.join(parts)}"

    def _renderable(self) -> Text:
        text = Text()
        text.append(f"{self.results.api} ", style="bold")
        text.append(self.line().split("] ", 1)[1])
        return text

    def tick(self) -> None:
        """Write a plain line when ``PLAIN_INTERVAL`` has passed since the last one."""
        if self._plain is None:
            return
        now = self._clock()
        if now - self._last_line >= PLAIN_INTERVAL:
            self._last_line = now
            print(self.line(), file=self._plain, flush=True)

    def __enter__(self) -> Progress:
        if self._console is not None:
            self._live = Live(
                console=self._console,
                get_renderable=self._renderable,
                refresh_per_second=LIVE_REFRESH,
                transient=True,
            )
            self._live.start()
        elif self._plain is not None:
            self._ticker = threading.Thread(target=self._tick_until_stopped, daemon=True)
            self._ticker.start()
        return self

    def _tick_until_stopped(self) -> None:
        while not self._stop.wait(0.5):
            self.tick()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._live is not None:
            self._live.stop()


__all__ = ["Progress", "Stage", "fuzz_stages"]
