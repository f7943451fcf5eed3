"""The one place the suite reaches into schemathesis beyond its documented Python API.

Schemathesis' public API (``schemathesis.hook``, ``check``, ``Case``, ``Response``, ``Config``,
``BaseSchema``, ``APIOperation``, ``GenerationMode``, ``openapi.from_dict``) is used where it is
needed. To run in process (one pacer for all traffic, tokens masked before any report is written),
the suite also drives schemathesis' engine, reads its events and recorder, feeds its CLI's report
writers and calls its conformance checks directly: internals, which change between minor versions.
They are imported here only and checked, when this module is imported, for the shape the suite
uses (names, fields, call parameters), so that another schemathesis fails at once with one error
naming the installed version and the supported range, instead of an ``AttributeError`` mid-run.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:  # a missing piece is reported below, with every other one, by ensure_compatible()
    from schemathesis.cli.commands.run.context import ExecutionContext
    from schemathesis.cli.commands.run.handlers.base import EventHandler
    from schemathesis.cli.commands.run.handlers.har import HarHandler
    from schemathesis.cli.commands.run.handlers.html import HtmlReportHandler
    from schemathesis.cli.commands.run.handlers.junitxml import JunitXMLHandler
    from schemathesis.cli.commands.run.handlers.ndjson import NdjsonHandler
    from schemathesis.cli.commands.run.handlers.vcr import VcrHandler
    from schemathesis.cli.loaders import into_event_stream
    from schemathesis.config import ProjectConfig
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.engine import Status, events, from_schema
    from schemathesis.engine.recorder import ScenarioRecorder
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError:
    pass

# The range pyproject.toml pins (tests check that the two agree).
SUPPORTED = ">=4.32,<4.33"


class IncompatibleSchemathesis(ImportError):
    """The installed schemathesis lacks a piece of its internals the suite uses."""

    def __init__(self, installed: str, problems: list[str]) -> None:
        super().__init__(
            f"the contract suite needs schemathesis{SUPPORTED}, but schemathesis {installed} is "
            f"installed and differs in what the suite uses: {'; '.join(problems)}. "
            f"Install a supported version: pip install 'schemathesis{SUPPORTED}'"
        )
        self.installed = installed
        self.problems = problems


@dataclass(frozen=True)
class Need:
    """One internal the suite uses: ``module.name``, with the members and call parameters it relies on."""

    module: str
    name: str
    members: tuple[str, ...] = ()  # attributes, methods or (dataclass) fields
    parameters: tuple[str, ...] = ()  # keyword parameters the suite passes when calling it

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


_HANDLERS = "schemathesis.cli.commands.run.handlers"
_EVENTS = ("EngineEvent", "ScenarioFinished", "FuzzScenarioFinished", "NonFatalError", "FatalError")
NEEDS: tuple[Need, ...] = (
    Need(
        "schemathesis.cli.loaders",
        "into_event_stream",
        (),
        ("location", "config", "filter_set", "engine_callback"),
    ),
    Need("schemathesis.cli.commands.run.context", "ExecutionContext", ("on_event",), ("config",)),
    Need(f"{_HANDLERS}.base", "EventHandler", ("start", "handle_event", "shutdown")),
    Need(f"{_HANDLERS}.har", "HarHandler", ("handle_event",), ("output", "config")),
    Need(f"{_HANDLERS}.html", "HtmlReportHandler", ("handle_event",), ("output_dir",)),
    Need(f"{_HANDLERS}.junitxml", "JunitXMLHandler", ("handle_event",), ("output",)),
    Need(f"{_HANDLERS}.ndjson", "NdjsonHandler", ("handle_event",), ("output", "config")),
    Need(f"{_HANDLERS}.vcr", "VcrHandler", ("handle_event",), ("output", "config")),
    Need("schemathesis.config", "ProjectConfig", ("output",)),
    Need("schemathesis.core.failures", "Failure", ("case_id", "title", "message")),
    Need("schemathesis.core.failures", "FailureGroup"),
    Need("schemathesis.engine", "from_schema", (), ("schema",)),
    Need("schemathesis.engine", "Status", ("SUCCESS",)),
    Need("schemathesis.engine", "events", (*_EVENTS, "PhaseStarted")),
    Need("schemathesis.engine.events", "ScenarioFinished", ("recorder", "phase")),
    Need("schemathesis.engine.events", "FuzzScenarioFinished", ("recorder",)),
    Need("schemathesis.engine.events", "NonFatalError", ("label", "info", "value", "related_to_operation")),
    Need("schemathesis.engine.events", "FatalError", ("exception",)),
    Need("schemathesis.engine.events", "PhaseStarted", ("phase",)),
    Need("schemathesis.engine.recorder", "ScenarioRecorder", ("label", "cases", "checks", "interactions")),
    *(
        Need("schemathesis.specs.openapi.checks", name, (), ("ctx", "response", "case"))
        for name in (
            "status_code_conformance",
            "content_type_conformance",
            "response_headers_conformance",
            "response_schema_conformance",
        )
    ),
)


def installed_version() -> str:
    try:
        return version("schemathesis")
    except PackageNotFoundError:
        return "(not installed)"


def _members(thing: Any) -> set[str]:
    """What ``thing`` offers: its attributes, and for classes their annotated and dataclass fields."""
    names = set(dir(thing))
    if inspect.isclass(thing):
        for klass in thing.__mro__:
            names |= set(vars(klass).get("__annotations__", {}))
        if dataclasses.is_dataclass(thing):
            names |= {f.name for f in dataclasses.fields(thing)}
    return names


def problems(
    needs: tuple[Need, ...] = NEEDS, load: Callable[[str], Any] = importlib.import_module
) -> list[str]:
    """What of ``needs`` the modules ``load`` returns lack (empty: everything the suite uses is there)."""
    found: list[str] = []
    for need in needs:
        try:
            thing = getattr(load(need.module), need.name)
        except (ImportError, AttributeError):
            found.append(f"{need} is missing")
            continue
        missing = [m for m in need.members if m not in _members(thing)]
        if missing:
            found.append(f"{need} has no {', '.join(missing)}")
        if need.parameters:
            try:
                accepted = set(inspect.signature(thing).parameters)
            except (TypeError, ValueError):
                accepted = set()
            lacking = [p for p in need.parameters if p not in accepted]
            if lacking:
                found.append(f"{need} takes no parameter {', '.join(lacking)}")
    return found


def ensure_compatible(
    needs: tuple[Need, ...] = NEEDS,
    load: Callable[[str], Any] = importlib.import_module,
    installed: str | None = None,
) -> None:
    """Raise ``IncompatibleSchemathesis`` unless every internal the suite uses has the expected shape."""
    found = problems(needs, load)
    if found:
        raise IncompatibleSchemathesis(installed or installed_version(), found)


ensure_compatible()

__all__ = [
    "SUPPORTED",
    "EventHandler",
    "ExecutionContext",
    "Failure",
    "FailureGroup",
    "HarHandler",
    "HtmlReportHandler",
    "IncompatibleSchemathesis",
    "JunitXMLHandler",
    "NdjsonHandler",
    "ProjectConfig",
    "ScenarioRecorder",
    "Status",
    "VcrHandler",
    "content_type_conformance",
    "ensure_compatible",
    "events",
    "from_schema",
    "into_event_stream",
    "problems",
    "response_headers_conformance",
    "response_schema_conformance",
    "status_code_conformance",
]
