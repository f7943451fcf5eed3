"""The ASGI app the kit builds around a backend: one request path for every operation of the catalog.

    app = create_provider_app(MyBackend(), tokens=["old-token", "new-token"])

Every request goes through the same steps, whatever the operation: route (404 / 405 problems),
negotiate the language, check the bearer token (401), read and validate the body (400), call the
backend (422 / 408 from it, 500 for anything else) and shape its answer to the spec (200).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty.provider._auth import BearerTokens
from mews_loyalty.provider._backend import ProviderBackend, ResponseShaper, bind, invoke
from mews_loyalty.provider._language import negotiate
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

logger = logging.getLogger("mews_loyalty.provider")

DEFAULT_PORT = 8081


@dataclass
class _OperationHandler:
    """One operation's request path: its backend method, the accepted tokens, the limits."""

    operation: Operation
    method: Callable[[BaseModel], Any]
    tokens: BearerTokens
    timeout: float | None
    max_body_bytes: int
    shaper: ResponseShaper = field(init=False)

    def __post_init__(self) -> None:
        self.shaper = ResponseShaper.for_operation(self.operation)  # read from the spec once, at build

    async def __call__(self, request: Request, language: str) -> Response:
        try:
            self.tokens.check(request.headers.get("authorization"))
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


def create_provider_app(
    backend: ProviderBackend,
    tokens: str | Iterable[str],
    *,
    timeout: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """An ASGI app serving every Reverse API operation from ``backend``.

    ``tokens``: the bearer tokens accepted right now (several during a rotation). ``timeout``: seconds
    after which an ``async def`` backend call is cancelled and answered with a 408 problem, and which
    a ``def`` one observes through ``current_deadline()`` (None: wait). ``max_body_bytes``: larger
    request bodies are answered with a 400 problem.
    """
    accepted = BearerTokens(tokens)
    operations = catalog("reverse").operations
    methods = bind(backend, operations)
    by_path: dict[str, dict[str, _OperationHandler]] = {}
    for operation in operations:
        handler = _OperationHandler(
            operation, methods[operation.operation_id], accepted, timeout, max_body_bytes
        )
        by_path.setdefault(operation.path, {})[operation.method] = handler
    routes = [
        Route(path, _path_endpoint(handlers), methods=list(handlers)) for path, handlers in by_path.items()
    ]
    app = Starlette(
        routes=routes, exception_handlers={HTTPException: _routing_problem, Exception: _unexpected}
    )
    app.router.redirect_slashes = False  # "/memberships/list/" is not an operation: 404, not a redirect
    return app


def serve(app: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve ``app`` with uvicorn until interrupted; prints ``mews-loyalty listening on http://HOST:PORT``.

    Raises ``ServerStartError`` (an ``OSError``) when the address cannot be bound, the port in use say.
    """
    from mews_loyalty._asgi import run_server

    run_server(app, host, port)
