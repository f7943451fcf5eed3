"""Progress while a run goes on: a paced live run takes minutes, and a blank terminal looks dead."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from mews_loyalty._transport.pacing import paced_seconds
from mews_loyalty.contract._exchange.throttle import Throttle
from mews_loyalty.contract._report import progress as _progress
from mews_loyalty.contract._report.progress import Progress, Stage, fuzz_stages
from mews_loyalty.contract._report.results import Results
from mews_loyalty.contract._run.verification import ConnectorOptions, verify_connector
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract.conftest import SEED


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_come_every_few_seconds_and_say_where_the_run_is() -> None:
    # CI logs are not terminals: a line every PLAIN_INTERVAL seconds, never one per request.
    results, clock, out = Results("connector", "http://x"), Clock(), io.StringIO()
    progress = Progress(results, plain=out, clock=clock)
    progress.plan([Stage("fuzzing", 100, units=4)])
    progress.stage("fuzzing")
    progress.operation("loyaltyTiers_getAll")
    for _ in range(7):
        progress.case_done()
    results.count_requests(9)
    results.failed("status_code_conformance", "loyaltyTiers_getAll", "500")
    progress.tick()
    assert out.getvalue() == "", "nothing before the first interval"
    clock.now += _progress.PLAIN_INTERVAL
    progress.tick()
    progress.tick()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[connector 5 s] fuzzing loyaltyTiers_getAll: ")
    assert "7 cases, 9 requests, 1 failure, about " in lines[0]
    clock.now += _progress.PLAIN_INTERVAL
    progress.tick()
    assert len(out.getvalue().splitlines()) == 2


def test_time_left_comes_from_the_pacing_when_it_is_the_bottleneck() -> None:
    # 200 per 30 s, paced in the SDK's slightly longer window W: 200 go out at once, then 200 per W.
    # With 700 requests in all, the last leaves (700 - 200) / 200 * W after the start, however fast the
    # first burst went, and the estimate keeps going down while the run waits for the window.
    results, clock = Results("connector", "http://x"), Clock()
    pacer = Throttle((200, 30.0), clock=clock, sleep=lambda seconds: None)
    window = paced_seconds(30.0)
    progress = Progress(results, pacer=pacer, clock=clock)
    progress.plan([Stage("coverage", 100, units=10), Stage("fuzzing", 600, units=10)])
    progress.stage("coverage")
    results.count_requests(100)
    for _ in range(10):
        progress.unit_done()
    clock.now += 1.0
    assert progress.seconds_left() == pytest.approx((700 - 200) / 200 * window - 1)
    clock.now += 10.0  # waiting for the window: nothing sent
    pacer.waited += 10.0
    assert progress.seconds_left() == pytest.approx((700 - 200) / 200 * window - 11)
    progress.stage("fuzzing")
    results.count_requests(150)
    for _ in range(5):
        progress.unit_done()
    clock.now += 90.0
    # Half the operations took 150 requests: 150 more expected at the 250 per 91 s of sending seen
    # so far would be 55 s, more than the 53 s shown 90 s ago less those 90 s: the estimate does
    # not go back up (the pacing explains none of it), the line says it is past it.
    assert progress.seconds_left() == 0.0
    assert "time left unknown (past the estimate)" in progress.line()


def test_time_left_never_goes_back_up_by_more_than_the_pacing_explains() -> None:
    # Unpaced, 100 requests in 10 s, 100 more expected: 10 s left. A slow stretch (10 s for 10 more)
    # would make the rate estimate 19 s: the line holds its countdown instead (10 - 10 = 0 at most,
    # so it says it is past the estimate). A 429's Retry-After of 40 s then explains 40 s more.
    results, clock = Results("connector", "http://x"), Clock()
    pacer = Throttle(None, clock=clock, sleep=lambda seconds: None)
    progress = Progress(results, pacer=pacer, clock=clock)
    progress.plan([Stage("fuzzing", 200)])
    progress.stage("fuzzing")
    results.count_requests(100)
    clock.now += 10.0
    assert progress.seconds_left() == pytest.approx(10.0)
    clock.now += 4.0
    results.count_requests(4)
    first = progress.seconds_left()
    assert first is not None
    assert first <= 10.0 - 4.0
    clock.now += 6.0
    results.count_requests(6)
    assert progress.seconds_left() == 0.0
    assert "time left unknown (past the estimate)" in progress.line()
    pacer.observe(429, {"Retry-After": "40"})
    assert progress.seconds_left() == pytest.approx(40.0)
    assert "about 40 s left" in progress.line()


def test_the_line_says_when_the_run_waits_for_the_rate_limit() -> None:
    # 2 requests per 10 s: the third waits for the window, and the line says so while it does.
    results, clock = Results("connector", "http://x"), Clock()
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        seen.append(progress.line())
        clock.now += seconds

    pacer = Throttle((2, 10.0), clock=clock, sleep=sleep)
    progress = Progress(results, pacer=pacer, clock=clock)
    for _ in range(3):
        pacer.acquire()
        pacer.observe(200, {})
    assert len(seen) == 1
    wait = paced_seconds(10.0)
    assert f"waiting: rate limit {round(wait)} s" in seen[0]
    assert "waiting" not in progress.line()


def test_the_line_says_when_the_run_waits_for_an_answer() -> None:
    # A request out for 25 s (the bounded transport ends it by the deadline): "waiting: answer 25 s";
    # answered, or past the deadline (the exchange is over, whatever nobody told), nothing.
    results, clock = Results("connector", "http://x"), Clock()
    pacer = Throttle(None, clock=clock, sleep=lambda seconds: None)
    progress = Progress(results, pacer=pacer, clock=clock, deadline=30.0)
    pacer.acquire()
    clock.now += 1.0
    assert "waiting" not in progress.line(), "a prompt answer is not worth a word"
    clock.now += 24.0
    assert "waiting: answer 25 s" in progress.line()
    clock.now += 10.0
    assert "waiting" not in progress.line()
    pacer.acquire()
    clock.now += 5.0
    pacer.settled()  # no answer: the exchange is over
    assert "waiting" not in progress.line()
    pacer.acquire()
    clock.now += 5.0
    pacer.observe(200, {})
    assert "waiting" not in progress.line()


def test_a_stage_extrapolates_from_its_finished_operations() -> None:
    results, clock = Results("reverse", "http://x"), Clock()
    progress = Progress(results, clock=clock)
    assert progress.seconds_left() is None, "no rate to go by yet"
    progress.plan(fuzz_stages(["examples", "stateful"], operations=2, max_examples=10, max_steps=3))
    progress.stage("examples")
    results.count_requests(4)
    progress.unit_done()
    clock.now += 2.0
    # examples: 4 more expected (4 per operation, 2 operations); stateful: 10 x 3 budgeted; 2 per s.
    assert progress.seconds_left() == pytest.approx((4 + 30) / 2)


def test_terminal_gets_a_live_line_that_goes_away_before_the_summary() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    results = Results("connector", "http://x")
    with Progress(results, console=console) as progress:
        progress.stage("stateful")
        progress.operation("loyaltyPrograms_add")
        progress.case_done()
        results.count_requests(3)
        time.sleep(3 / _progress.LIVE_REFRESH)
    shown = out.getvalue()
    assert "connector stateful loyaltyPrograms_add: 1 cases, 3 requests, 0 failures" in shown
    assert "\x1b[2K" in shown, "the line is redrawn in place and erased at the end (transient)"


def test_to_stream_picks_plain_lines_when_not_a_terminal() -> None:
    progress = Progress.to_stream(Results("connector", "http://x"), io.StringIO())
    assert progress._plain is not None
    assert progress._console is None


def _paced_run(url: str, tmp_path: Path, *, quiet: bool) -> None:
    options = ConnectorOptions(
        base_url=url,
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        report_dir=tmp_path,
        seed=SEED,
        phases=("examples",),
        max_examples=2,
        rate_limit=(30, 1.0),  # paced: the run takes a few seconds
        quiet=quiet,
    )
    verify_connector(options, out=io.StringIO())


def test_a_real_run_reports_progress_on_stderr_unless_quiet(
    connector_mock: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole run, as the CLI does it: progress on stderr (stdout keeps the summary alone).
    monkeypatch.setattr(_progress, "PLAIN_INTERVAL", 0.5)
    _paced_run(connector_mock, tmp_path / "loud", quiet=False)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("[connector ")]
    assert len(lines) >= 2, captured.err
    assert any(" scenarios " in line for line in lines)
    assert all(" requests, " in line and " left" in line for line in lines)
    assert captured.out == ""
    _paced_run(connector_mock, tmp_path / "quiet", quiet=True)
    assert capsys.readouterr().err == ""
