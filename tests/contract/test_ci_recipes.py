"""docs/ci.md's recipes work: their shell steps run against the Connector mock and leave the files they
keep as artifacts and publish as JUnit.

Each recipe's shell steps run as CI runs them (``bash -e``, in a fresh folder, the secrets in the
environment), with two substitutions: the checkout stands in for the package index (the install line
becomes an import of the installed suite, the test environment's ``bin`` first on ``PATH``), and the
verification gets ``--phases none`` (the scenario checks only), to stay within a test's time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "ci.md"
INSTALL = "pip install 'mews-loyalty[contract]'"
INSTEAD = "python -c 'import mews_loyalty.contract.cli'"  # the checkout, installed in the test environment
BOUND = 300  # seconds the steps of one recipe may take
SECRET = re.compile(r"\$\{\{\s*secrets\.(\w+)\s*\}\}")


def _recipe(heading: str) -> Any:
    """The YAML block under ``## heading`` in docs/ci.md."""
    text = RECIPES.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def _github() -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    """The job's shell steps (each with its env) and the paths it keeps or publishes."""
    steps = _recipe("GitHub Actions")["jobs"]["contract"]["steps"]
    shell = [(step["run"], step.get("env", {})) for step in steps if "run" in step]
    kept = [step["with"]["path"] for step in steps if "upload-artifact" in step.get("uses", "")]
    published = [step["with"]["report_paths"] for step in steps if "junit" in step.get("uses", "")]
    return shell, kept + published


def _gitlab() -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    job = _recipe("GitLab CI")["contract"]
    artifacts = job["artifacts"]
    return [(line, {}) for line in job["script"]], [*artifacts["paths"], artifacts["reports"]["junit"]]


def _local(command: str) -> str:
    assert command.strip() == INSTALL or "pip" not in command, command
    if command.strip() == INSTALL:
        return INSTEAD
    if command.startswith("mews-loyalty contract "):
        return f"{command} --phases none"
    return command


def _run(steps: list[tuple[str, dict[str, str]]], secrets: dict[str, str], folder: Path) -> None:
    """Run each step as CI would; the first that fails fails the test, with its output."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: the recipes' steps are bash")
    environment = {
        **os.environ,
        **secrets,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for command, env in steps:
        step_env = {name: SECRET.sub(lambda m: secrets[m.group(1)], value) for name, value in env.items()}
        done = subprocess.run(
            [bash, "-e", "-c", _local(command)],
            cwd=folder,
            env={**environment, **step_env},
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )
        assert done.returncode == 0, (
            f"{command}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )


@pytest.mark.parametrize("recipe", [_github, _gitlab], ids=["github", "gitlab"])
def test_the_recipe_verifies_and_leaves_what_it_keeps(
    recipe: Any, connector_mock: str, tmp_path: Path
) -> None:
    steps, paths = recipe()
    assert any(command.strip() == INSTALL for command, _ in steps)  # the substitution below is real
    secrets = {
        "MEWS_BASE_URL": connector_mock,
        "MEWS_CLIENT_TOKEN": DEMO_CLIENT_TOKEN,
        "MEWS_ACCESS_TOKEN": DEMO_ACCESS_TOKEN,
    }
    _run(steps, secrets, tmp_path)
    for path in paths:
        assert (tmp_path / path).exists(), path
    junit = next(path for path in paths if path.endswith(".xml"))
    root = ET.parse(tmp_path / junit).getroot()
    assert root.tag == "testsuites"
    assert int(root.get("tests", "0")) > 0
    assert root.get("failures") == "0"
    reports = "".join(p.read_text(errors="replace") for p in (tmp_path / "reports").rglob("*") if p.is_file())
    assert DEMO_ACCESS_TOKEN not in reports
