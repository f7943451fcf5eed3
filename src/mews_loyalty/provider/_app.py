"""The ASGI app the kit builds around a backend: one request path for every operation of the catalog.

    app = create_provider_app(MyBackend(), tokens=["old-token", "new-token"])

Every request goes through the same steps, whatever the operation: route (404 / 405 problems),
negotiate the language, check the bearer token (401; the token's fingerprint is counted), read and
validate the body (400), call the backend (422 / 408 from it, 500 for anything else) and shape its
answer to the spec (200). Beside Mews' paths the app answers one of its own: a health route
(``GET /healthz`` by default), without a token.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty.provider._auth import BearerTokens, TokenSource
from mews_loyalty.provider._backend import ProviderBackend, ResponseShaper, bind, invoke
from mews_loyalty.provider._language import negotiate
from mews_loyalty.provider._logs import logger, make_visible
from mews_loyalty.provider._parse import DEFAULT_MAX_BODY_BYTES, read_payload
from mews_loyalty.provider._problems import (
    ProviderProblem,
    internal_error,
    method_not_allowed,
    new_instance,
    not_found,
    problem_response,
    request_timed_out,
)

DEFAULT_PORT = 8081
DEFAULT_HEALTH_PATH = "/healthz"


class TokenUse:
    """Which accepted token each request carried, by fingerprint (never the token itself).

    ``counts`` maps fingerprints to the number of requests that carried them; a change of token
    from one request to the next is logged (INFO), so a provider rotating tokens sees when Mews
    switched and when the old one went unused.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._last: str | None = None
        self._lock = threading.Lock()  # counted from the event loop and, under some servers, threads

    def record(self, fingerprint: str) -> None:
        with self._lock:
            self.counts[fingerprint] += 1
            previous, self._last = self._last, fingerprint
        if previous != fingerprint:
            logger.info(
                "requests carry the token with fingerprint %s (before: %s)", fingerprint, previous or "none"
            )


@dataclass
class _OperationHandler:
    """One operation's request path: its backend method, the accepted tokens, the limits."""

    operation: Operation
    method: Callable[[BaseModel], Any]
    tokens: BearerTokens
    token_use: TokenUse
    timeout: float | None
    max_body_bytes: int
    shaper: ResponseShaper = field(init=False)

    def __post_init__(self) -> None:
        self.shaper = ResponseShaper.for_operation(self.operation)  # read from the spec once, at build

    async def __call__(self, request: Request, language: str) -> Response:
        try:
            self.token_use.record(self.tokens.check(request.headers.get("authorization")))
            payload = await read_payload(request, self.operation, self.max_body_bytes)
            result = await invoke(self.method, payload, self.timeout)
            answer = self.shaper.shape(payload, result)
        except ProviderProblem as problem:
            return problem_response(problem, language)
        except TimeoutError:
            return problem_response(request_timed_out(), language)
        except Exception:
            instance = new_instance()
            logger.exception("%s failed (problem instance %s)", self.operation.operation_id, instance)
            return problem_response(internal_error(), language, instance)
        return Response(answer.model_dump_json(by_alias=True), media_type="application/json")


def _language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def _path_endpoint(handlers: dict[str, _OperationHandler]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request, _language(request))

    return endpoint


async def _routing_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        allow = (error.headers or {}).get("Allow", "")
        return problem_response(method_not_allowed(allow), _language(request))
    return problem_response(not_found(), _language(request))


async def _unexpected(request: Request, error: Exception) -> Response:
    # Only reached by a fault of the kit itself: backend failures are handled per operation.
    instance = new_instance()
    logger.error("unexpected failure (problem instance %s)", instance, exc_info=error)
    return problem_response(internal_error(), _language(request), instance)


class ProviderApp(Starlette):
    """The kit's ASGI app: a Starlette app, plus ``token_use`` (``token_use.counts``: requests per
    token fingerprint, in this process)."""

    token_use: TokenUse


async def _healthy(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _routes(
    backend: ProviderBackend,
    tokens: BearerTokens,
    token_use: TokenUse,
    timeout: float | None,
    max_body_bytes: int,
) -> list[Route]:
    operations = catalog("reverse").operations
    methods = bind(backend, operations)
    by_path: dict[str, dict[str, _OperationHandler]] = {}
    for operation in operations:
        method = methods[operation.operation_id]
        handler = _OperationHandler(operation, method, tokens, token_use, timeout, max_body_bytes)
        by_path.setdefault(operation.path, {})[operation.method] = handler
    return [
        Route(path, _path_endpoint(handlers), methods=list(handlers)) for path, handlers in by_path.items()
    ]


def create_provider_app(
    backend: ProviderBackend,
    tokens: TokenSource,
    *,
    timeout: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    health_path: str | None = DEFAULT_HEALTH_PATH,
) -> ProviderApp:
    """An ASGI app serving every Reverse API operation from ``backend``.

    ``tokens``: the bearer tokens accepted right now (several during a rotation), or a callable
    returning them, called on every request (rotation without a restart; it must be quick: read a
    variable or a cached secret). ``timeout``: seconds after which an ``async def`` backend call that
    has not reached its commit point is cancelled and answered with a 408 problem, and which a
    ``def`` one observes through ``current_deadline()`` (None: wait). ``max_body_bytes``: larger
    request bodies are answered with a 400 problem. ``health_path``: answers ``GET`` with 200
    ``{"status": "ok"}`` without a token, for a load balancer or an orchestrator (None: no such route).

    Building the app makes the kit's log visible on stderr when logging is not configured (see
    ``mews_loyalty.provider._logs``).
    """
    make_visible()
    accepted = BearerTokens(tokens)
    token_use = TokenUse()
    routes = _routes(backend, accepted, token_use, timeout, max_body_bytes)
    if health_path is not None:
        if any(route.path == health_path for route in routes):
            raise ValueError(f"health_path {health_path!r} is one of Mews' operation paths")
        routes.append(Route(health_path, _healthy, methods=["GET"]))
    app = ProviderApp(
        routes=routes, exception_handlers={HTTPException: _routing_problem, Exception: _unexpected}
    )
    app.router.redirect_slashes = False  # "/memberships/list/" is not an operation: 404, not a redirect
    app.token_use = token_use
    return app


def serve(app: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve ``app`` with uvicorn until interrupted; prints ``mews-loyalty listening on http://HOST:PORT``.

    Raises ``ServerStartError`` (an ``OSError``) when the address cannot be bound, the port in use say.
    """
    from mews_loyalty._asgi import run_server

    run_server(app, host, port)
