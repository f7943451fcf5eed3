"""What ``python -m mews_loyalty.contract`` runs: both embedded mocks verified; with arguments, the CLI.

    python -m mews_loyalty.contract                                   # both mocks, started on loopback
    python -m mews_loyalty.contract connector --base-url URL ...      # = mews-loyalty contract connector ...
    python -m mews_loyalty.contract reverse --base-url URL ...        # = mews-loyalty contract reverse ...

Without arguments the two mocks run as real servers (child processes on free loopback ports): the
Connector mock with the demo data, its rate limit scaled to 300 requests per 1 s: above what fuzzing
sends unpaced on a 2-core machine (~220/s), so pacing never holds the run back, and below what the
deliberate burst reaches over four connections (~500/s), so the 429 comes within the window and its
Retry-After costs under a second; the reference provider with its seed memberships
and two fresh tokens, to check a rotation. Writes are allowed, without a budget: the servers are ours.
Every phase runs, with the command's default number of examples, as in QA's own runs.

The two runs go side by side: the Reverse one in a second process (schemathesis allows one run per
process; spawned, so its function lives here and not in ``__main__``, which spawn does not import),
quiet, its summary printed after the Connector's. One run holds the GIL and leaves most of the
second core idle; together they take the time of the longer one.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import secrets
from concurrent.futures import ProcessPoolExecutor

from mews_loyalty._asgi import serve_in_process
from mews_loyalty.contract.cli import NOT_CONFORMING, OK, USAGE, connector_main, main, reverse_main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

MOCK_RATE_LIMIT = "300/1"
# Memberships of the reference provider's seed data: enrolled, pending, canceled and linked ones.
SEED_MEMBERSHIP_IDS = ("M-1002", "M-1001", "M-1004", "M-1005")


def verify_connector_mock(extra: list[str] | None = None) -> int:
    with serve_in_process(["mock", "connector", "--seed-data", "--rate-limit", MOCK_RATE_LIMIT]) as url:
        return connector_main(
            [
                "--base-url",
                url,
                "--client-token",
                DEMO_CLIENT_TOKEN,
                "--access-token",
                DEMO_ACCESS_TOKEN,
                "--allow-writes",
                "--max-writes",
                "unlimited",
                "--rate-limit",
                MOCK_RATE_LIMIT,
                "--probe-rate-limit",
                *(extra or []),
            ]
        )


def verify_reverse_mock(extra: list[str] | None = None) -> int:
    tokens = [secrets.token_hex(24), secrets.token_hex(24)]
    # The provider reads its tokens from the environment, which keeps them out of the process list;
    # the verification runs in this process, so its argument list is never visible.
    with serve_in_process(
        ["mock", "reverse", "--seed-data"], env={"MEWS_PROVIDER_TOKENS": ",".join(tokens)}
    ) as url:
        argv = [
            "--base-url",
            url,
            f"--token={tokens[0]}",
            f"--token={tokens[1]}",
            "--allow-writes",
        ]
        argv += [arg for mid in SEED_MEMBERSHIP_IDS for arg in ("--membership-id", mid)]
        return reverse_main([*argv, *(extra or [])])


def _captured_reverse_run() -> tuple[int, str]:
    """The Reverse mock's verification with its output kept, for the parent to print in order."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = verify_reverse_mock(["--quiet"])
    return code, output.getvalue()


def run(argv: list[str]) -> int:
    if argv:
        return main(argv)
    # spawn, not fork: the parent already runs threads (fork would copy their locks mid-use).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        reverse = pool.submit(_captured_reverse_run)
        codes = [verify_connector_mock()]
        try:
            try:
                code, output = reverse.result()
            except KeyboardInterrupt:  # Ctrl-C reached the child too: it ends with its own reports
                code, output = reverse.result()
        except Exception as error:  # the child died: report it as the suite's own fault
            code, output = USAGE, f"mews-loyalty contract reverse: the run's process failed: {error!r}\n"
    print(output, end="", flush=True)
    codes.append(code)
    interrupted = [c for c in codes if c > 128]  # 128 + a signal: the runs were stopped
    if interrupted:
        return interrupted[0]
    if USAGE in codes:
        return USAGE
    return NOT_CONFORMING if NOT_CONFORMING in codes else OK
