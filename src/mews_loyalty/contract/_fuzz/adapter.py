"""The one place the suite reaches into schemathesis beyond its documented Python API.

Schemathesis' public API (``schemathesis.hook``, ``check``, ``Case``, ``Response``, ``Config``,
``BaseSchema``, ``APIOperation``, ``GenerationMode``, ``openapi.from_dict``) is used where it is
needed. To run in process (one pacer for all traffic, tokens masked before any report is written),
the suite also drives schemathesis' engine, reads its events and recorder, feeds its CLI's report
writers and calls its conformance checks directly: internals, which change between minor versions.
They are imported here only and checked, when this module is imported, for the shape the suite
uses (names, fields, call parameters), so that another schemathesis fails at once with one error
naming the installed version and the supported range, instead of an ``AttributeError`` mid-run.

What schemathesis sends is bounded like every other exchange of the project
(``mews_loyalty._transport.bounded``): schemathesis sends with ``requests``, on sessions of its
``SameHostRedirectsSession`` class; ``bounded_sessions`` mounts a ``BoundedAdapter`` on each. The adapter
reads every answer's raw bytes itself, decompressing them under the size cap, and a watchdog shuts
the connection's socket once the whole exchange's deadline passes (urllib3's timeouts are per
read, so a server dripping bytes would otherwise hold it for ever). Past a bound, it raises a
``requests`` error schemathesis reports as a network error of the case, carrying the bound's check.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from mews_loyalty._transport import bounded

try:  # a missing piece is reported below, with every other one, by ensure_compatible()
    from schemathesis.checks import CHECKS
    from schemathesis.cli.commands.run.context import ExecutionContext
    from schemathesis.cli.commands.run.handlers.base import EventHandler
    from schemathesis.cli.commands.run.handlers.har import HarHandler
    from schemathesis.cli.commands.run.handlers.html import HtmlReportHandler
    from schemathesis.cli.commands.run.handlers.junitxml import JunitXMLHandler
    from schemathesis.cli.commands.run.handlers.ndjson import NdjsonHandler
    from schemathesis.cli.commands.run.handlers.vcr import VcrHandler
    from schemathesis.cli.loaders import into_event_stream
    from schemathesis.config import ProjectConfig
    from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.engine import Status, events, from_schema
    from schemathesis.engine.recorder import ScenarioRecorder
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.transport.requests import SameHostRedirectsSession
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
    Need("schemathesis.checks", "CHECKS", ("get_all_names",)),  # the built-in checks' names
    Need("schemathesis.cli.commands.run.context", "ExecutionContext", ("on_event",), ("config",)),
    Need(f"{_HANDLERS}.base", "EventHandler", ("start", "handle_event", "shutdown")),
    Need(f"{_HANDLERS}.har", "HarHandler", ("handle_event",), ("output", "config")),
    Need(f"{_HANDLERS}.html", "HtmlReportHandler", ("handle_event",), ("output_dir",)),
    Need(f"{_HANDLERS}.junitxml", "JunitXMLHandler", ("handle_event",), ("output",)),
    Need(f"{_HANDLERS}.ndjson", "NdjsonHandler", ("handle_event",), ("output", "config")),
    Need(f"{_HANDLERS}.vcr", "VcrHandler", ("handle_event",), ("output", "config")),
    Need("schemathesis.config", "ProjectConfig", ("output",)),
    Need("schemathesis.config._checks", "POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES"),
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
    Need("schemathesis.transport.requests", "SameHostRedirectsSession", ("__init__", "mount")),
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


# --- bounded exchanges for what schemathesis sends ---------------------------------------------


class BoundedRequestError(requests.exceptions.RequestException):
    """An answer past one of the exchange's bounds; ``bound`` is the ``BoundExceeded`` behind it."""

    bound: bounded.BoundExceeded


class AnswerTooLargeError(BoundedRequestError):
    """The answer is larger than the size cap once decompressed."""


class DeadlinePassedError(BoundedRequestError):
    """The exchange was not over within its deadline.

    Not a ``requests`` ``ReadTimeout``: schemathesis parses those messages for urllib3's wording.
    """


def _as_request_error(error: bounded.BoundExceeded, request: Any) -> BoundedRequestError:
    kind = AnswerTooLargeError if isinstance(error, bounded.AnswerTooLarge) else DeadlinePassedError
    failure = kind(str(error), request=request)
    failure.bound = error
    return failure


class _Watchdog:
    """Shuts the sockets of one exchange once its deadline passes, waking any read blocked on them."""

    def __init__(self, deadline: bounded.Deadline) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline.remaining(), 0.0), self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        _WATCHING.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        _WATCHING.current = None
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Watching(threading.local):
    current: _Watchdog | None = None


_WATCHING = _Watching()


def _watched(sock: socket.socket | None) -> None:
    watchdog = _WATCHING.current
    if watchdog is not None:
        watchdog.watch(sock)


class _WatchedConnection(HTTPConnection):
    """A connection whose socket the running exchange's watchdog may shut (new or reused)."""

    def connect(self) -> None:
        super().connect()
        _watched(self.sock)

    def getresponse(self) -> Any:
        _watched(self.sock)
        return super().getresponse()


class _WatchedTlsConnection(_WatchedConnection, HTTPSConnection):
    """The same over TLS (``super()`` reaches the TLS connection's own connect)."""


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTlsPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedTlsConnection


_READ_SIZE = 64 * 1024


class BoundedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose every exchange keeps ``bounds`` (the ``timeout`` asked is ignored)."""

    def __init__(self, bounds: bounded.Bounds) -> None:
        self.bounds = bounds
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedTlsPool}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        deadline = bounded.Deadline(self.bounds.deadline)
        kwargs.update(stream=True, timeout=deadline.limit(None))
        with _Watchdog(deadline) as watchdog:
            try:
                response = super().send(request, *args, **kwargs)
                response._content = self._read(response, deadline)
            except bounded.BoundExceeded as error:
                raise _as_request_error(error, request) from None
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as error:
                if watchdog.expired or deadline.passed:
                    raise _as_request_error(deadline.error(), request) from None
                if isinstance(error, requests.exceptions.RequestException):
                    raise
                raise requests.exceptions.ConnectionError(error, request=request) from None
            except bounded.UndecodableAnswer as error:
                raise requests.exceptions.ContentDecodingError(error, request=request) from None
        response._content_consumed = True
        return response

    def _read(self, response: requests.Response, deadline: bounded.Deadline) -> bytes:
        chunks = response.raw.stream(_READ_SIZE, decode_content=False)
        encoding = response.headers.get("content-encoding", "")
        try:
            body = bounded.read_body(chunks, encoding, self.bounds, deadline)
        except BaseException:
            response.close()  # not back to the pool: its connection may still carry the rest
            raise
        response.raw.release_conn()
        return body


@contextlib.contextmanager
def bounded_sessions(bounds: bounded.Bounds) -> Iterator[None]:
    """While active, every session schemathesis makes sends through a ``BoundedAdapter``.

    Its sessions are all ``SameHostRedirectsSession`` (the engine's, through ``make_session``, and
    the ones its transport and checks open on their own), so its constructor is where they get it.
    """
    session_class: Any = SameHostRedirectsSession
    original = session_class.__init__

    def mounted(session: requests.Session, *args: Any, **kwargs: Any) -> None:
        original(session, *args, **kwargs)
        adapter = BoundedAdapter(bounds)
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    session_class.__init__ = mounted
    try:
        yield
    finally:
        session_class.__init__ = original


def bound_check(error: BaseException | None, checks: dict[type[bounded.BoundExceeded], str]) -> str | None:
    """The check (of ``checks``, bound type -> name) ``error`` fails when a bound is behind it, else None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = getattr(error, "bound", error)
        for kind, check in checks.items():
            if isinstance(found, kind):
                return check
        error = error.__cause__ or error.__context__
    return None


__all__ = [
    "CHECKS",
    "POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES",
    "SUPPORTED",
    "AnswerTooLargeError",
    "BoundedAdapter",
    "BoundedRequestError",
    "DeadlinePassedError",
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
    "SameHostRedirectsSession",
    "ScenarioRecorder",
    "Status",
    "VcrHandler",
    "bound_check",
    "bounded_sessions",
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
