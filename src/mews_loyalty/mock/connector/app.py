"""The request pipeline of the Connector mock, one path for every operation of the catalog.

    fault -> body -> JSON object -> tokens (401) -> rate limit (429) -> spec (400) -> resource (200/403)

Every answer carries a fresh ``Request-Id`` header; every error answers a
``ConnectorApiExceptionResult`` with the same id in ``RequestId``. Unknown paths get 404 and other
methods 405, with the same error body, outside any operation.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mews_loyalty._asgi import BodyTooLarge, read_body
from mews_loyalty._errors import REQUEST_ID_HEADER
from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty._transport.window import SlidingWindow
from mews_loyalty.mock.connector.config import Access, ConnectorMockConfig
from mews_loyalty.mock.connector.errors import (
    BAD_REQUEST,
    INTERNAL_SERVER_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    REQUEST_TIMEOUT,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    ConnectorError,
)
from mews_loyalty.mock.connector.faults import FaultInjector
from mews_loyalty.mock.connector.operations import ConnectorOperations
from mews_loyalty.mock.connector.rules import API
from mews_loyalty.mock.connector.store import ConnectorStore
from mews_loyalty.mock.connector.validation import RequestValidator, parse_object

logger = logging.getLogger("mews_loyalty.mock.connector")

JSON = "application/json"
RETRY_AFTER = "Retry-After"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a full batch of 1000 items is well under 4 MB
FAULT_MESSAGES = {
    REQUEST_TIMEOUT: "The request took too long to prepare; ask for smaller pages or batches.",
    TOO_MANY_REQUESTS: "Too many requests; wait as Retry-After says.",
    INTERNAL_SERVER_ERROR: "An unexpected error occurred on the server; retry later.",
}
INJECTED_RETRY_AFTER = "1"


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_response(error: ConnectorError, request_id: str) -> Response:
    body: dict[str, Any] = {"Message": error.message, "RequestId": request_id}
    if error.details is not None:
        body["Details"] = error.details
    return Response(
        orjson.dumps(body),
        error.status,
        headers={REQUEST_ID_HEADER: request_id, **error.headers},
        media_type=JSON,
    )


async def _read_body(request: Request) -> bytes:
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge as error:
        raise ConnectorError(BAD_REQUEST, f"The request body is larger than {error.limit} bytes.") from None


class ConnectorPipeline:
    """Auth, rate limit, faults and validation around the resource operations."""

    def __init__(self, config: ConnectorMockConfig, store: ConnectorStore) -> None:
        self.config = config
        self.operations = ConnectorOperations(store, now=config.now, new_id=config.new_id)
        self.validators = {
            op.operation_id: RequestValidator.for_operation(op) for op in catalog(API).operations
        }
        self.faults = FaultInjector(config.faults)
        self._windows: dict[str, SlidingWindow] = {}

    def __repr__(self) -> str:
        return f"ConnectorPipeline({self.config!r})"

    async def handle(self, request: Request, op: Operation) -> Response:
        request_id = new_request_id()
        try:
            await self._inject_fault()
            raw = await _read_body(request)
            data = parse_object(raw)
            access, access_token = self._authenticate(data)
            self._throttle(access_token)
            model = self.validators[op.operation_id].validate(raw, data)
            body = self.operations.handle(op, model, data, access)
        except ConnectorError as error:
            return error_response(error, request_id)
        except ClientDisconnect:
            # Nobody is left to answer; nothing went wrong on our side.
            return Response(status_code=BAD_REQUEST, headers={REQUEST_ID_HEADER: request_id})
        except Exception:
            logger.exception("%s failed unexpectedly (Request-Id %s)", op.operation_id, request_id)
            return error_response(
                ConnectorError(INTERNAL_SERVER_ERROR, FAULT_MESSAGES[INTERNAL_SERVER_ERROR]), request_id
            )
        return Response(body, headers={REQUEST_ID_HEADER: request_id}, media_type=JSON)

    async def _inject_fault(self) -> None:
        fault = self.faults.draw()
        if fault.delay:
            await self.config.sleep(fault.delay)
        if fault.status is None:
            return
        headers = {RETRY_AFTER: INJECTED_RETRY_AFTER} if fault.status == TOO_MANY_REQUESTS else None
        raise ConnectorError(
            fault.status,
            FAULT_MESSAGES.get(fault.status, "A fault was injected into this request."),
            details={"InjectedFault": True},
            headers=headers,
        )

    def _authenticate(self, data: dict[str, Any]) -> tuple[Access, str]:
        """The access of valid tokens; 401 for missing, empty or unknown ones (never echoing them)."""
        for name in ("ClientToken", "AccessToken"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ConnectorError(UNAUTHORIZED, f"{name} is missing; send the tokens in the request body.")
        if data["ClientToken"] not in self.config.client_tokens:
            raise ConnectorError(UNAUTHORIZED, "The ClientToken is not valid.")
        access = self.config.access_tokens.get(data["AccessToken"])
        if access is None:
            raise ConnectorError(UNAUTHORIZED, "The AccessToken is not valid or has expired.")
        return access, data["AccessToken"]

    def _throttle(self, access_token: str) -> None:
        if self.config.rate_limit is None:
            return
        limit, seconds = self.config.rate_limit
        window = self._windows.get(access_token)
        if window is None:
            window = self._windows[access_token] = SlidingWindow(limit, seconds)
        wait = window.try_acquire(self.config.clock())
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ConnectorError(
                TOO_MANY_REQUESTS,
                f"Too many requests: at most {limit} per access token in {seconds:g} seconds; "
                f"retry in {retry_after} s.",
                headers={RETRY_AFTER: str(retry_after)},
            )


def _endpoint(pipeline: ConnectorPipeline, op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await pipeline.handle(request, op)

    endpoint.__name__ = op.operation_id
    return endpoint


async def _outside_operations(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == METHOD_NOT_ALLOWED:
        error = ConnectorError(
            METHOD_NOT_ALLOWED,
            f"{request.method} is not allowed; every operation takes POST.",
            headers=dict(exc.headers or {}),
        )
    elif exc.status_code == NOT_FOUND:
        error = ConnectorError(NOT_FOUND, f"There is no operation at {request.url.path}.")
    else:
        error = ConnectorError(exc.status_code, exc.detail)
    return error_response(error, new_request_id())


def build_app(config: ConnectorMockConfig, store: ConnectorStore) -> Starlette:
    pipeline = ConnectorPipeline(config, store)
    routes = [
        Route(op.path, _endpoint(pipeline, op), methods=[op.method], name=op.operation_id)
        for op in catalog(API).operations
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _outside_operations})
    app.router.redirect_slashes = False  # Mews: a trailing slash is a 404
    app.state.pipeline = pipeline
    app.state.store = store
    return app
