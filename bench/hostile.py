"""Wall time and peak memory of a contract run against hostile servers, beside one against the mock.

The servers (``tests/_hostile.py``, on 127.0.0.1) answer every request with an endless chunked
answer, a 2 MB gzip bomb that inflates to 2 GiB, or a body dripping one byte a second. Each run is
the real CLI in its own process, read-only, every phase, ``--max-examples 2 --timeout 3``; the
baseline is the same command against the embedded Connector mock (writes allowed there, as
``nox -s contract`` runs it). The tests (``tests/contract/test_hostile_servers.py``) assert the
verdicts under a memory limit; the figures live here: seconds in the rows, peak RSS in the notes.

The SDK rows are one ``get_all`` of a ``ConnectorClient`` (``timeout=3``, default ``max_retry_wait``) against the same servers, and against one answering 429 with ``Retry-After: 119``
for ever; ``tests/runtime/test_hostile_servers.py`` asserts their typed errors.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from bench._measure import Section
from tests._hostile import hostile_server

OPTIONS = ["--quiet", "--max-examples", "2", "--timeout", "3"]
HOSTILE = [*OPTIONS, "--rate-limit", "off"]  # the mock's run keeps its limit: it probes the 429
BASELINE = "the embedded Connector mock (conforming)"
# Runs ``argv`` and prints its peak resident set in kB (the children's maximum, this wrapper's only child).
PEAK = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _measured(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, exit status and peak RSS (MB) of ``argv``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True, check=True)
    status, peak_kb = done.stdout.split()
    return time.perf_counter() - started, int(status), int(peak_kb) // 1024


# One SDK call against argv[1]; exits 0 when it ended in a MewsError (printed), 1 otherwise.
SDK_CALL = """
import sys
import mews_loyalty as m
client = m.ConnectorClient(client_token="C" * 40, access_token="A" * 40, client="bench", base_url=sys.argv[1],
                           timeout=3.0, rate_limit=None, max_retries=int(sys.argv[2]))
try:
    client.loyalty_programs.get_all()
except m.MewsError as error:
    sys.exit(print(type(error).__name__))
sys.exit(1)
"""


def sdk_rows(section: Section) -> None:
    """One row per server: default retries (5; a missed deadline is retried on reads), and for the
    drip also none, so the deadline of one attempt shows."""
    for behaviour, retries in (("endless", 5), ("bomb", 5), ("drip", 5), ("drip", 0), ("throttle", 5)):
        with hostile_server(behaviour) as server:
            wall, status, peak = _measured([sys.executable, "-c", SDK_CALL, server.url, str(retries)])
        section.rows[f"SDK get_all: {behaviour}, max_retries={retries} (exit {status})"] = wall
        section.notes.append(f"SDK {behaviour}, max_retries={retries}: peak RSS {peak} MB, exit {status}")


def run() -> Section:
    section = Section("contract run against hostile servers", BASELINE, "s")
    mock = (
        "import sys\nimport mews_loyalty.contract._run.embedded as embedded\n"
        f"sys.exit(embedded.verify_connector_mock({OPTIONS!r}))\n"
    )
    rows = {BASELINE: [sys.executable, "-c", mock]}
    tokens = ["--client-token", "C" * 40, "--access-token", "A" * 40, "--report-dir"]
    reports = tempfile.mkdtemp(prefix="bench-hostile-")
    for behaviour in ("endless", "bomb", "drip"):
        with hostile_server(behaviour) as server:
            cli = [sys.executable, "-m", "mews_loyalty.contract", "connector", "--base-url", server.url]
            wall, status, peak = _measured([*cli, *tokens, f"{reports}/{behaviour}", *HOSTILE])
        section.rows[f"{behaviour} (exit {status})"] = wall
        section.notes.append(f"{behaviour}: peak RSS {peak} MB, exit {status}")
    sdk_rows(section)
    wall, status, peak = _measured(rows[BASELINE])
    section.rows[BASELINE] = wall
    section.notes.append(f"mock: peak RSS {peak} MB, exit {status}")
    return section
