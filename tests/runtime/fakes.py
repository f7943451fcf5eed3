"""Test doubles for the runtime: a clock that sleeping advances, and in-memory API servers.

The servers are httpx.MockTransport handlers, so the SDK runs its real request, retry and decode code;
only the socket is missing. Responses queued with ``script`` are served first (errors, odd bodies,
transport failures); otherwise the Connector fake pages through and stores items as the spec says.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mews_loyalty._spec.catalog import Operation, catalog
from mews_loyalty._transport.window import SlidingWindow

CHAIN_ID = "a3b1c0de-0000-4000-8000-000000000001"
PROGRAM_ID = "a3b1c0de-0000-4000-8000-000000000002"
START = 1_763_800_000.0  # an arbitrary fixed epoch second


class FakeTime:
    """A clock plus sleepers that move it: sleeping records the wait and advances time, instantly."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def item_id(resource: str, index: int) -> str:
    """Deterministic, distinct ids per resource and index."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource}/{index}"))


def stored_item(resource: str, index: int, **overrides: Any) -> dict[str, Any]:
    """A wire-format item as the Connector API returns it."""
    identifier = overrides.pop("Id", item_id(resource, index))
    if resource == "loyalty_memberships":
        item = {
            "Id": identifier,
            "ChainId": CHAIN_ID,
            "AccountId": item_id("accounts", index),
            "LoyaltyProgramId": PROGRAM_ID,
            "State": "Enrolled",
            "IsPrimary": True,
            "MembershipNumber": f"M-{index}",
            "CreatorProfile": None,
            "UpdaterProfile": None,
        }
    elif resource == "loyalty_programs":
        item = {
            "Id": identifier,
            "ChainId": CHAIN_ID,
            "Name": f"Program {index}",
            "Code": f"P{index}",
            "Type": "Hotel",
            "Subscription": "Free",
        }
    elif resource == "loyalty_tiers":
        item = {
            "Id": identifier,
            "LoyaltyProgramId": PROGRAM_ID,
            "Name": f"Tier {index}",
            "Code": f"T{index}",
            "Ordering": index,
        }
    else:
        raise KeyError(resource)
    return {**item, **overrides}


def add_item(resource: str, index: int) -> dict[str, Any]:
    """A wire-format add parameter, as Mews' documentation writes one."""
    if resource == "loyalty_memberships":
        return {
            "AccountId": item_id("accounts", index),
            "LoyaltyProgramId": PROGRAM_ID,
            "IsPrimary": False,
            "MembershipNumber": f"M-{index}",
        }
    if resource == "loyalty_programs":
        return {"Name": f"Program {index}", "Code": f"P{index}", "Type": "Hotel", "Subscription": "Paid"}
    if resource == "loyalty_tiers":
        return {
            "LoyaltyProgramId": PROGRAM_ID,
            "Name": f"Tier {index}",
            "Code": f"T{index}",
            "Ordering": index,
        }
    raise KeyError(resource)


def update_item(resource: str, index: int) -> dict[str, Any]:
    """A wire-format update parameter: the id plus one field wrapped in ``{"Value": ...}``."""
    if resource == "loyalty_memberships":
        return {"LoyaltyMembershipId": item_id(resource, index), "Points": {"Value": index}}
    if resource == "loyalty_programs":
        return {"LoyaltyProgramId": item_id(resource, index), "Name": {"Value": f"Renamed {index}"}}
    if resource == "loyalty_tiers":
        return {"LoyaltyTierId": item_id(resource, index), "Ordering": {"Value": index}}
    raise KeyError(resource)


@dataclass
class Captured:
    """One request the fake received."""

    operation: Operation
    body: dict[str, Any]
    headers: httpx.Headers
    url: str = ""


SERVE = "serve as usual"  # a scripted reply that lets the fake answer normally
Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response] | str


def error_body(message: str, request_id: str = "req-body") -> dict[str, Any]:
    return {"Message": message, "RequestId": request_id, "Details": None}


@dataclass
class FakeConnector:
    """The Connector API's loyalty operations in memory: paging by cursor, batches echoed back as stored."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Captured] = field(default_factory=list)
    window: SlidingWindow | None = None  # when set, answers 429 like the real rate limit
    time: FakeTime | None = None
    scripted: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    rejected: int = 0

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def script(self, operation_id: str, *replies: Reply) -> None:
        self.scripted[operation_id].extend(replies)

    def sent(self, operation_id: str | None = None) -> list[dict[str, Any]]:
        return [c.body for c in self.requests if operation_id in (None, c.operation.operation_id)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        api = "reverse" if not request.url.path.startswith("/api/connector") else "connector"
        path = request.url.path
        op = catalog(api).by_path[(request.method, path)]
        self.requests.append(Captured(op, json.loads(request.content), request.headers, str(request.url)))
        if self.window is not None and self.time is not None and self.window.try_acquire(self.time.now) > 0:
            self.rejected += 1
            return httpx.Response(429, json=error_body("Too many requests"), headers={"Retry-After": "1"})
        queue = self.scripted.get(op.operation_id)
        reply = queue.popleft() if queue else SERVE
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if callable(reply):
            return reply(request)
        return self._serve(op, self.requests[-1].body)

    def _serve(self, op: Operation, body: dict[str, Any]) -> httpx.Response:
        headers = {"Request-Id": f"req-{len(self.requests)}"}
        if op.is_paged:
            return httpx.Response(200, json=self._page(op, body), headers=headers)
        stored = self.items.setdefault(op.resource, [])
        if op.action == "add":
            created = [
                stored_item(op.resource, len(stored) + n, **_shared_fields(op.resource, item))
                for n, item in enumerate(body[op.batch_field or ""])
            ]
            stored[:0] = reversed(created)  # newest first
            return httpx.Response(200, json={_items_field(op): created}, headers=headers)
        if op.action == "update":
            id_field = next(iter(body[op.batch_field or ""][0]))
            changed = [stored_item(op.resource, 0, Id=item[id_field]) for item in body[op.batch_field or ""]]
            return httpx.Response(200, json={_items_field(op): changed}, headers=headers)
        return httpx.Response(200, json={}, headers=headers)

    def _page(self, op: Operation, body: dict[str, Any]) -> dict[str, Any]:
        stored = self.items.get(op.resource, [])
        limitation = body["Limitation"]
        start = 0
        if limitation.get("Cursor"):
            start = next(i for i, item in enumerate(stored) if item["Id"] == limitation["Cursor"]) + 1
        page = stored[start : start + limitation["Count"]]
        return {op.page_items or "": page, "Cursor": page[-1]["Id"] if page else None}


def _items_field(op: Operation) -> str:
    return catalog("connector").resources()[op.resource]["get_all"].page_items or ""


def _shared_fields(resource: str, item: dict[str, Any]) -> dict[str, Any]:
    keep = set(stored_item(resource, 0)) - {"Id"}
    return {name: value for name, value in item.items() if name in keep}


def seeded(count: int, resource: str = "loyalty_memberships") -> dict[str, list[dict[str, Any]]]:
    return {resource: [stored_item(resource, index) for index in range(count)]}


def membership_payload(provider_id: str, status: str = "enrolled") -> dict[str, Any]:
    """One entry of a Reverse API list response."""
    return {"providerMembershipId": provider_id, "membershipNumber": f"N-{provider_id}", "status": status}


@dataclass
class FakeProvider:
    """A loyalty provider's Reverse API: answers each listed id, remembers links."""

    token: str
    requests: list[Captured] = field(default_factory=list)
    links: dict[str, bool] = field(default_factory=dict)
    scripted: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def script(self, operation_id: str, *replies: Reply) -> None:
        self.scripted[operation_id].extend(replies)

    def handle(self, request: httpx.Request) -> httpx.Response:
        op = catalog("reverse").by_path[(request.method, request.url.path.removeprefix("/provider"))]
        body = json.loads(request.content)
        self.requests.append(Captured(op, body, request.headers, str(request.url)))
        queue = self.scripted.get(op.operation_id)
        reply = queue.popleft() if queue else SERVE
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if callable(reply):
            return reply(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return problem(401, "Unauthorized", "The bearer token is missing or unknown.")
        if op.operation_id == "listMemberships":
            data = [membership_payload(i) for i in body["providerMembershipIds"]]
            return httpx.Response(200, json={"data": data})
        self.links[body["providerMembershipId"]] = body["isLinked"]
        return httpx.Response(200, json={"success": True})


def problem(status: int, title: str, detail: str, **extra: Any) -> httpx.Response:
    kind = {
        400: "https://purl.mews.com/problem/core/bad-request",
        401: "https://purl.mews.com/problem/core/unauthorized",
        408: "https://purl.mews.com/problem/core/request-timeout",
        422: "https://purl.mews.com/problem/core/unprocessable-content",
        500: "https://purl.mews.com/problem/core/internal-server-error",
    }.get(status, "about:blank")
    body = {"type": kind, "title": title, "status": status, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})
