"""However a run ends, it says so, exits with its own status and leaves reports CI can read: tried
through the real command (a child process) against servers started here on loopback.

- a signal mid-run (SIGINT, SIGTERM, SIGHUP): INTERRUPTED, exit 128 + N, what the run made deleted;
  a second signal cuts the clean-up short and the reports list what was left;
- a server that cannot be reached: COULD NOT RUN, exit 2, one line, a JUnit file with an <error>;
- a report folder that is not the run's: refused with one line, exit 2, left byte for byte as it was;
- a server answering control characters: every report parses, nothing raw reaches the terminal.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.contract._report.folder import MARKER
from mews_loyalty.contract._report.text import CONTROL
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN, ConnectorMockConfig, create_app
from mews_loyalty.mock.connector.rules import build_store
from mews_loyalty.mock.connector.store import ConnectorStore
from tests.contract._reports import assert_reports_parse, junit_errors
from tests.contract.conftest import SEED

# Signals and their timing: these runs keep to one worker, one after another (WORKERS in noxfile.py).
pytestmark = pytest.mark.xdist_group("endings")

TOKENS = {"MEWS_CLIENT_TOKEN": DEMO_CLIENT_TOKEN, "MEWS_ACCESS_TOKEN": DEMO_ACCESS_TOKEN}


def _command(url: str, report_dir: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mews_loyalty.contract",
        "connector",
        "--base-url",
        url,
        "--report-dir",
        str(report_dir),
        "--rate-limit",
        "off",
        "--seed",
        str(SEED),
        "--quiet",
        *options,
    ]


def _run(url: str, report_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TOKENS}
    return subprocess.run(
        _command(url, report_dir, *options), env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def empty_mock() -> Iterator[tuple[str, ConnectorStore]]:
    """The Connector mock with no records: whatever is active in it afterwards, the run made."""
    store = build_store()
    with serve_in_thread(create_app(ConnectorMockConfig(rate_limit=None), store=store)) as url:
        yield url, store


def _active(store: ConnectorStore) -> list[str]:
    return [r.id for table in store.tables.values() for r in table.newest_first() if not r.deleted]


def _when(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Wait until ``condition`` holds while the run goes on (pytest-timeout bounds a hang)."""
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(
                f"the run ended before the moment came: {process.returncode}\n{out[-2000:]}{err[-2000:]}"
            )
        time.sleep(0.02)


def _started(store: ConnectorStore, report: Path, moment: str) -> Callable[[], bool]:
    """The scenarios have created a record, or schemathesis has started (it writes its spec first)."""
    if moment == "scenarios":
        return lambda: bool(_active(store))
    return lambda: (report / "schemathesis" / "openapi.json").exists()


WRITES_RUN = ("--allow-writes", "--max-writes", "unlimited", "--phases", "fuzzing,stateful")


def _interrupt(
    url: str, store: ConnectorStore, report_dir: Path, moment: str, *signums: int
) -> tuple[int, str]:
    """A writing run, sent ``signums`` back to back once ``moment`` has come; its status and output."""
    env = {**os.environ, **TOKENS}
    with subprocess.Popen(
        _command(url, report_dir, *WRITES_RUN),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _when(_started(store, report_dir / "connector", moment), process)
        for signum in signums:
            process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    return process.returncode, out + err


@pytest.mark.parametrize(
    ("signum", "code", "moment"),
    [
        (signal.SIGINT, 130, "scenarios"),
        (signal.SIGTERM, 143, "fuzzing"),
        (signal.SIGHUP, 129, "scenarios"),
    ],
    ids=["SIGINT in the scenarios", "SIGTERM while fuzzing", "SIGHUP in the scenarios"],
)
def test_a_signal_mid_run_ends_it_interrupted_cleaned_up_and_reported(
    empty_mock: tuple[str, ConnectorStore], tmp_path: Path, signum: int, code: int, moment: str
) -> None:
    # A cancelled CI job must not come out green, and must not leave records on a shared server.
    url, store = empty_mock
    status, output = _interrupt(url, store, tmp_path, moment, signum)
    name = signal.Signals(signum).name
    assert status == code, output[-3000:]
    assert f"RESULT: connector at {url} INTERRUPTED\n" in output
    assert f"INTERRUPTED by {name}" in output
    assert not _active(store), "the run left records it made active"
    report = tmp_path / "connector"
    data = assert_reports_parse(report)
    assert (data["verdict"], data["interrupted"], data["leftovers"]) == ("INTERRUPTED", name, [])
    assert any(note.startswith(f"interrupted by {name} during ") for note in data["notes"])
    assert [m for m in junit_errors(report) if m.startswith("INTERRUPTED")], "JUnit must not read as a pass"


def test_a_second_signal_skips_the_clean_up_and_the_reports_say_what_was_left(
    empty_mock: tuple[str, ConnectorStore], tmp_path: Path
) -> None:
    # CI's SIGINT and then its SIGTERM (two of a kind sent at once may arrive as one): stop now. The
    # reports are written all the same and name what was not deleted.
    url, store = empty_mock
    status, output = _interrupt(url, store, tmp_path, "fuzzing", signal.SIGINT, signal.SIGTERM)
    data = assert_reports_parse(tmp_path / "connector")
    # Sent back to back, either may be handled first (CI leaves 7.5 s between them): the run ends as
    # the first one says, and the second cuts the clean-up.
    first, second = ("SIGINT", "SIGTERM") if status == 130 else ("SIGTERM", "SIGINT")
    assert status in {130, 143}, output[-3000:]
    assert (data["verdict"], data["interrupted"]) == ("INTERRUPTED", first)
    assert f"the clean-up was cut short: a second signal ({second})" in data["errors"]
    listed = {leftover.rsplit(" ", 1)[-1] for leftover in data["leftovers"]}
    assert listed, "the scenarios' records were not deleted, and not listed either"
    assert listed <= set(_active(store)), "listed as left, but not on the server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_server_that_cannot_be_reached_could_not_run_with_a_junit_error(tmp_path: Path) -> None:
    # CI needs a JUnit file even when the server is down, and one line saying why.
    done = _run(f"http://127.0.0.1:{_free_port()}", tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert "COULD NOT RUN: cannot reach" in lines[0]
    assert "Traceback" not in done.stderr
    report = tmp_path / "connector"
    data = assert_reports_parse(report)
    assert data["verdict"] == "COULD NOT RUN"
    assert [m for m in junit_errors(report) if m.startswith("COULD NOT RUN: cannot reach")]


def _snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under ``root`` as it is: a link's target, a file's bytes, a folder."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for directory, folders, files in os.walk(root, followlinks=False):
        for name in [*folders, *files]:
            path = Path(directory) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("folder", "")
            else:
                found[key] = ("file", path.read_bytes())
    return found


def test_a_report_folder_holding_a_users_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    # A user's .env and settings.py once lost their token to the run's redaction, and a file outside
    # the folder through a link: a folder that is not the run's is not touched at all.
    outside = tmp_path / "outside.txt"
    outside.write_text(f"ACCESS={DEMO_ACCESS_TOKEN}\n")
    folder = tmp_path / "reports"
    (folder / "connector").mkdir(parents=True)
    (folder / ".env").write_text(f"MEWS_CLIENT_TOKEN={DEMO_CLIENT_TOKEN}\n")
    (folder / "connector" / "settings.py").write_text(f'TOKEN = "{DEMO_ACCESS_TOKEN}"\nDEBUG = True\n')
    (folder / "outside").symlink_to(outside)
    (folder / "connector" / "summary.txt").symlink_to(outside)
    before, outside_before = _snapshot(folder), outside.read_bytes()
    done = _run(f"http://127.0.0.1:{_free_port()}", folder)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "--report-dir" in done.stderr
    assert "Nothing was written" in done.stderr
    assert DEMO_ACCESS_TOKEN not in done.stderr
    assert DEMO_CLIENT_TOKEN not in done.stderr
    assert _snapshot(folder) == before
    assert outside.read_bytes() == outside_before


def test_an_earlier_runs_folder_is_reused_and_its_reports_replaced(tmp_path: Path) -> None:
    # The folder a run wrote carries its marker: the next run takes it, deletes the old reports.
    url = f"http://127.0.0.1:{_free_port()}"
    assert _run(url, tmp_path).returncode == 2
    report = tmp_path / "connector"
    assert (report / MARKER).is_file()
    stale = report / "schemathesis" / "stale.txt"
    stale.parent.mkdir()
    stale.write_text("from an earlier run")
    again = _run(url, tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "COULD NOT RUN" in again.stdout
    assert not stale.exists()
    assert_reports_parse(report)


HOSTILE = b'{"Message": "bell\x07 escape\x1b[2J\x1b]0;pwned\x07 nul\x00 del\x7f csi\xc2\x9b end"}'


async def _hostile_app(
    scope: dict[str, object], receive: Callable[..., object], send: Callable[..., object]
) -> None:
    """Every request: 400 with a body full of control characters (and a Request-Id, to be fair)."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"request-id", b"r-1")]
    await send({"type": "http.response.start", "status": 400, "headers": headers})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": HOSTILE})  # type: ignore[operator]


def test_a_server_answering_control_characters_leaves_every_report_readable(tmp_path: Path) -> None:
    # BEL, ESC, NUL once made junit.xml unreadable to Jenkins and drove the terminal.
    with serve_in_thread(_hostile_app) as url:
        done = _run(url, tmp_path, "--phases", "examples")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().endswith("DOES NOT CONFORM")
    assert CONTROL.search(done.stdout) is None
    assert CONTROL.search(done.stderr) is None
    assert_reports_parse(tmp_path / "connector")
    # The server's text is there, its control characters shown as escapes.
    assert (
        "escape\\x1b[2J\\x1b]0;pwned\\x07 nul\\x00" in (tmp_path / "connector" / "failures.txt").read_text()
    )
