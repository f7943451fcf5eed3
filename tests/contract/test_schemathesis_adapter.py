"""The schemathesis adapter: every internal the suite uses is checked, and a mismatch fails loudly."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from schemathesis.engine.errors import EngineErrorInfo

from mews_loyalty._transport.bounded import Bounds
from mews_loyalty.contract._exchange.api_client import BOUND_CHECKS
from mews_loyalty.contract._fuzz import adapter as adapter
from mews_loyalty.contract._fuzz.adapter import (
    NEEDS,
    SUPPORTED,
    IncompatibleSchemathesis,
    ensure_compatible,
    problems,
)
from tests._hostile import hostile_server

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_schemathesis_has_every_piece_the_suite_uses():
    assert problems() == []
    ensure_compatible()


def test_the_supported_range_is_the_one_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [
        requirement
        for requirements in project["project"]["optional-dependencies"].values()
        for requirement in requirements
        if requirement.startswith("schemathesis")
    ]
    assert pins
    assert set(pins) == {f"schemathesis{SUPPORTED}"}


def test_no_module_of_the_suite_imports_schemathesis_internals_but_the_adapter():
    # Only the documented API (``import schemathesis``) elsewhere; internals go through the adapter.
    package = ROOT / "src" / "mews_loyalty" / "contract"
    adapter = package / "_fuzz" / "adapter.py"
    modules = sorted(package.rglob("*.py"))
    assert adapter in modules
    assert len(modules) > 20  # the walk reaches every room of the suite
    offenders = [
        f"{path.relative_to(package)}: {line.strip()}"
        for path in modules
        if path != adapter
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith("from schemathesis")
        or (line.lstrip().startswith("import schemathesis.") and " as " not in line)
    ]
    assert offenders == []


def _without(module_name: str, attribute: str) -> Any:
    """An import function whose ``module_name`` lacks ``attribute`` (as a newer schemathesis might)."""

    def load(name: str) -> Any:
        module = importlib.import_module(name)
        if name != module_name:
            return module
        return SimpleNamespace(**{k: v for k, v in vars(module).items() if k != attribute})

    return load


@pytest.mark.parametrize(
    ("module_name", "attribute", "expected"),
    [
        (
            "schemathesis.cli.loaders",
            "into_event_stream",
            "schemathesis.cli.loaders.into_event_stream is missing",
        ),
        ("schemathesis.engine", "events", "schemathesis.engine.events is missing"),
    ],
)
def test_a_schemathesis_without_a_piece_fails_with_one_clear_error(module_name, attribute, expected):
    with pytest.raises(IncompatibleSchemathesis) as raised:
        ensure_compatible(load=_without(module_name, attribute), installed="4.40.0")
    message = str(raised.value)
    assert expected in message
    assert "schemathesis 4.40.0 is installed" in message
    assert f"schemathesis{SUPPORTED}" in message
    assert raised.value.problems == [expected]


def test_a_module_that_is_gone_is_reported_not_raised():
    def load(name: str) -> Any:
        if name == "schemathesis.engine.recorder":
            raise ModuleNotFoundError(name)
        return importlib.import_module(name)

    with pytest.raises(
        IncompatibleSchemathesis, match=re.escape("schemathesis.engine.recorder.ScenarioRecorder is missing")
    ):
        ensure_compatible(load=load, installed="5.0.0")


def test_a_changed_field_or_parameter_is_caught():
    # The same names with another shape: a recorder without ``interactions``, a loader that renamed a parameter.
    class Recorder:
        label: str
        cases: dict[str, Any]
        checks: dict[str, Any]

    def into_event_stream(*, location: str, config: Any, filters: Any, engine_callback: Any) -> None: ...

    fakes = {
        "schemathesis.engine.recorder": SimpleNamespace(ScenarioRecorder=Recorder),
        "schemathesis.cli.loaders": SimpleNamespace(into_event_stream=into_event_stream),
    }
    found = problems(load=lambda name: fakes.get(name) or importlib.import_module(name))
    assert found == [
        "schemathesis.cli.loaders.into_event_stream takes no parameter filter_set",
        "schemathesis.engine.recorder.ScenarioRecorder has no interactions",
    ]


def test_every_internal_the_adapter_hands_out_is_one_it_checks():
    own = {"SUPPORTED", "IncompatibleSchemathesis", "ensure_compatible", "problems"}
    own |= {"BoundedAdapter", "BoundedRequestError", "AnswerTooLargeError", "DeadlinePassedError"}
    own |= {"bounded_sessions", "bound_check"}
    # (and the events module's classes the suite reads, checked as members of ``events``)
    top_level = {need.name for need in NEEDS if need.module != "schemathesis.engine.events"}
    assert set(adapter.__all__) - own == top_level


def test_the_command_reports_an_incompatible_schemathesis_in_one_line(monkeypatch, capsys):
    from mews_loyalty import _cli, _entry

    def incompatible(name: str) -> Any:
        raise IncompatibleSchemathesis("9.0.0", ["schemathesis.cli.loaders.into_event_stream is missing"])

    monkeypatch.setattr(_entry.importlib, "import_module", incompatible)
    assert _cli.main(["contract", "connector", "--base-url", "http://127.0.0.1:9"]) == 2
    error = capsys.readouterr().err
    assert "schemathesis 9.0.0 is installed" in error
    assert f"pip install 'schemathesis{SUPPORTED}'" in error


def test_python_m_reports_an_incompatible_schemathesis_in_one_line(tmp_path):
    # `python -m mews_loyalty.contract` (nox -s contract) as a user runs it, with a schemathesis whose
    # internals are gone (a stand-in package earlier on the path): one line and exit 2, no traceback.
    fake = tmp_path / "site" / "schemathesis"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "9.0.0"\n')
    environment = {**os.environ, "PYTHONPATH": str(fake.parent)}
    done = subprocess.run(
        [sys.executable, "-m", "mews_loyalty.contract"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("mews-loyalty: the contract suite needs schemathesis")
    assert "into_event_stream is missing" in line


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("behaviour", "check"), [("drip", "response_deadline"), ("bomb", "response_size_limit")]
)
def test_what_schemathesis_sends_past_a_bound_is_that_bounds_finding(behaviour: str, check: str):
    # Schemathesis describes the error (its own wording code must not choke on it), and the
    # collector files it under the bound's check.
    session = requests.Session()
    session.mount("http://", adapter.BoundedAdapter(Bounds(max_bytes=1 << 20, deadline=1.0)))
    with hostile_server(behaviour) as server, pytest.raises(adapter.BoundedRequestError) as caught:
        session.post(server.url + "/api", data=b"{}")
    info = EngineErrorInfo(caught.value)
    assert info.title == "Network Error"
    assert ("within 1 s" if check == "response_deadline" else "larger than") in info.message
    assert adapter.bound_check(caught.value, BOUND_CHECKS) == check
