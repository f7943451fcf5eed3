"""A mutating proxy: forwards to a real mock and breaks the contract in exactly one way.

    with serve_in_thread(MutatingProxy(upstream_url, mutation)) as url:
        verify_connector(ConnectorOptions(base_url=url, ...))

A ``Mutation`` may rewrite the request before it is forwarded, answer it itself, or rewrite the
upstream's answer. Everything else passes through untouched, so the identity mutation must verify
exactly like the mock itself. An ``Answer`` can also misbehave on the wire: arrive late (``delay``),
announce more bytes than it sends (``declared_length``), or drop the connection after its head
(``drop``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mews_loyalty._spec.catalog import ApiName, Operation, catalog

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


@dataclass
class Flow:
    """The request as the proxy received it (mutable)."""

    method: str
    target: bytes  # path and query exactly as received
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0  # seconds to wait before answering
    declared_length: int | None = None  # Content-Length to announce (None: the body's length)
    drop: bool = False  # close the connection after the head, sending no body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def drop_header(self, name: str) -> None:
        for key in [k for k in self.headers if k.lower() == name.lower()]:
            del self.headers[key]


RequestHook = Callable[[Flow, "Operation | None"], "Flow | Answer"]
ResponseHook = Callable[[Flow, "Operation | None", Answer], Answer]


@dataclass(frozen=True)
class Mutation:
    name: str
    api: ApiName
    expected: frozenset[str]  # checks that must fail against this mutant
    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    # Further conditions on the failures, e.g. a message fragment: {"interval_limit": "got 200"}
    messages: dict[str, str] = field(default_factory=dict)


IDENTITY = {api: Mutation("identity", api, frozenset()) for api in ("connector", "reverse")}


class MutatingProxy:
    """An ASGI app forwarding every request to ``upstream`` with one mutation applied."""

    def __init__(self, upstream: str, mutation: Mutation) -> None:
        self.upstream = upstream.rstrip("/")
        self.mutation = mutation
        self.operations = {op.path: op for op in catalog(mutation.api).operations}
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        query = scope.get("query_string") or b""
        target = (scope.get("raw_path") or scope["path"].encode()) + (b"?" + query if query else b"")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        kept = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        flow = Flow(scope["method"], target, kept, b"".join(chunks))
        operation = self.operations.get(scope["path"])
        answer = await self._answer(flow, operation)
        body = answer.body
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.items()
            if k.lower() not in HOP_BY_HOP
        ]
        length = len(body) if answer.declared_length is None else answer.declared_length
        out.append((b"content-length", str(length).encode()))
        if answer.delay:
            await asyncio.sleep(answer.delay)
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        if answer.drop:
            return  # an unfinished response: the server closes the connection
        # A body shorter than announced is sent as unfinished too (the server then closes).
        await send({"type": "http.response.body", "body": body, "more_body": len(body) < length})

    async def _answer(self, flow: Flow, operation: Operation | None) -> Answer:
        if self.mutation.on_request is not None:
            result = self.mutation.on_request(flow, operation)
            if isinstance(result, Answer):
                return result
            flow = result
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60.0)
        url = httpx.URL(self.upstream).copy_with(raw_path=flow.target)
        response = await self._client.request(flow.method, url, headers=flow.headers, content=flow.body)
        answer = Answer(
            response.status_code,
            {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP},
            response.content,
        )
        if self.mutation.on_response is not None:
            answer = self.mutation.on_response(flow, operation, answer)
        return answer
