"""The README's and docs' examples and the scripts in examples/ run against the mocks, pointed there by
environment variables alone: none of them names a server, so none can reach Mews' shared demo by surprise.

Each runs in a subprocess whose environment holds only the documented variables (``MEWS_BASE_URL``,
``MEWS_CLIENT_TOKEN``, ``MEWS_ACCESS_TOKEN``, ``MEWS_REVERSE_BASE_URL``, ``MEWS_REVERSE_TOKEN``); the
names a block leaves to the reader (``rows``, ``program_id``, ``ids``, ...) are set up first, through
the SDK, on the same mocks.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty.mock.connector import ConnectorMockConfig, create_app
from mews_loyalty.mock.connector.config import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_TOKEN = "provider-example-token"
ENTERPRISE = "0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11"
CUSTOMER = "5b1f0f4e-9a57-4d6b-a3c1-7c9e0b2d4f10"

CONNECTOR_SETUP = """
import uuid
from mews_loyalty import ConnectorClient
with ConnectorClient(client="docs setup") as setup:
    [program] = setup.loyalty_programs.add(
        [{"Name": "Docs Club", "Code": "DOCS" + uuid.uuid4().hex[:4], "Type": "Hotel", "Subscription": "Free"}]
    )
program_id = program.id
account_id = uuid.uuid4()
rows = [{"AccountId": str(uuid.uuid4()), "LoyaltyProgramId": str(program_id), "IsPrimary": True}]
"""
REVERSE_SETUP = f"ids = ['A-1', 'A-2']\nenterprise_id = {ENTERPRISE!r}\ncustomer_id = {CUSTOMER!r}\n"


def python_block(path: str, after: str) -> str:
    """The first ```python block of ``path`` after the line that starts with ``after``."""
    text = (ROOT / path).read_text()
    start = text.index("\n" + after + "\n")
    found = re.search(r"```python\n(.*?)```", text[start:], re.DOTALL)
    assert found, f"no python block after {after!r} in {path}"
    return found.group(1)


@pytest.fixture(scope="module")
def variables() -> Iterator[dict[str, str]]:
    """The environment of a documented run: both mocks' addresses and tokens, nothing else of MEWS_*."""
    connector = create_app(ConnectorMockConfig(rate_limit=None, seed_data=True))
    with mock.patch.dict(os.environ, {"PROVIDER_TOKENS": PROVIDER_TOKEN}):
        provider = runpy.run_path(str(ROOT / "examples" / "provider_minimal.py"), run_name="provider_example")
    with serve_in_thread(connector) as connector_url, serve_in_thread(provider["app"]) as provider_url:
        kept = {name: value for name, value in os.environ.items() if not name.startswith("MEWS_")}
        yield {
            **kept,
            "MEWS_BASE_URL": connector_url,
            "MEWS_CLIENT_TOKEN": DEMO_CLIENT_TOKEN,
            "MEWS_ACCESS_TOKEN": DEMO_ACCESS_TOKEN,
            "MEWS_REVERSE_BASE_URL": provider_url,
            "MEWS_REVERSE_TOKEN": PROVIDER_TOKEN,
        }


def run(argv: list[str], variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=variables, check=False, timeout=120
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("path", "after", "setup", "printed"),
    [
        ("README.md", "## For integrators: call the Connector API", CONNECTOR_SETUP, "Enrolled"),
        ("docs/sdk.md", "## Connector API (integrators)", CONNECTOR_SETUP + "chain_id = None\n", ""),
        (
            "docs/sdk.md",
            "## Errors",
            CONNECTOR_SETUP + "mews = ConnectorClient(client='docs errors')\n",
            "",
        ),
        # The problem example must reach its `except`: the 401 is printed there.
        ("docs/sdk.md", "## Reverse API (QA harnesses, provider tests)", REVERSE_SETUP, "401 "),
    ],
    ids=["readme-integrator", "docs-connector", "docs-errors", "docs-reverse"],
)
def test_a_documented_block_runs_against_the_mocks(
    variables, path: str, after: str, setup: str, printed: str
):
    done = run(["-W", "error::UserWarning", "-c", setup + python_block(path, after)], variables)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert printed in done.stdout


@pytest.mark.timeout(180)
def test_the_export_example_reaches_the_mock_by_variables_alone(variables):
    done = run([str(ROOT / "examples" / "connector_export.py"), "--days", "30"], variables)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "exported" in done.stderr


@pytest.mark.timeout(180)
def test_the_reverse_example_reaches_the_provider_by_variables_alone(variables):
    argv = [str(ROOT / "examples" / "reverse_refresh.py"), "--enterprise", ENTERPRISE, "--customer", CUSTOMER]
    done = run([*argv, "A-1", "A-2", "X-9"], variables)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "X-9                  notFound" in done.stdout
    assert "link: True" in done.stdout
