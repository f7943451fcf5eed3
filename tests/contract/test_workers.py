"""--workers: several operations fuzzed at once must find the same things as one at a time."""

from __future__ import annotations

import io
from pathlib import Path

from mews_loyalty.contract._run.verification import ConnectorOptions, verify_connector
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract.conftest import SEED


def _run(url: str, report_dir: Path, workers: int) -> tuple[bool, dict[str, int], int]:
    options = ConnectorOptions(
        base_url=url,
        client_token=DEMO_CLIENT_TOKEN,
        access_token=DEMO_ACCESS_TOKEN,
        report_dir=report_dir,
        seed=SEED,
        phases=("examples", "fuzzing"),
        max_examples=4,
        rate_limit=None,
        workers=workers,
        quiet=True,
    )
    results = verify_connector(options, out=io.StringIO())
    return results.conforms, dict(results.cases_by_phase), len(results.checks())


def test_two_workers_send_the_same_cases_as_one(connector_mock: str, tmp_path: Path) -> None:
    # Read-only, so the mock's state is the same for both runs; generation is seeded per operation.
    one = _run(connector_mock, tmp_path / "one", 1)
    two = _run(connector_mock, tmp_path / "two", 2)
    assert one[0], "the mock conforms"
    assert two == one
