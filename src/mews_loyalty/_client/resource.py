"""Running catalog operations, and the per-resource accessors built from them.

What an operation does follows from the catalog, never from its name:

* a paged query (request has ``Limitation``) -> one ``Page`` per call, and an ``iter_*`` twin that
  yields every item across pages (``get_all`` -> ``iter_all``); given an interval filter longer than
  the spec's ``x-max-interval-in-months``, the twin walks consecutive windows within the limit;
* a bulk call (request has a bounded array of items) -> split into batches of the spec's maxItems,
  every batch validated before the first is sent, results merged in order;
* anything else -> one call, decoded with its generated attrs class.

``client.loyalty_memberships.add(...)`` and an operation added to the spec tomorrow take the same path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

import httpx

from mews_loyalty._errors import CallArgumentError, MewsError, UnexpectedResponseError
from mews_loyalty._spec.catalog import PAGING_FIELD, Operation, catalog, resolve
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._transport.sender import AsyncSender, Sender
from mews_loyalty._wire.decode import Page, decode_items, decode_page, decode_result, returns_items
from mews_loyalty._wire.encode import (
    PAGE_SIZE_FIELD,
    batches,
    build,
    describe,
    encode,
    items_to_wire,
    split_long_intervals,
)

Envelope = Callable[[], Mapping[str, Any]]
ITERATOR_PREFIX = "iter_"
PAGE_PREFIX = "get_"


def max_page_size(op: Operation) -> int:
    """The largest page the spec allows (``Limitation.Count`` maximum): the default page size."""
    document = catalog(op.api).document
    request = resolve(document, {"$ref": f"#/components/schemas/{op.request_schema}"})
    limitation = resolve(document, request["properties"][PAGING_FIELD])
    return int(resolve(document, limitation["properties"][PAGE_SIZE_FIELD])["maximum"])


class _Planner:
    """The request bodies of each kind of call; shared by the blocking and the async runner."""

    def __init__(self, envelope: Envelope, redactor: Redactor) -> None:
        self._envelope = envelope
        self._redactor = redactor

    def _page_body(
        self, op: Operation, page_size: int | None, cursor: UUID | str | None, params: Mapping[str, Any]
    ) -> tuple[int, bytes]:
        size = max_page_size(op) if page_size is None else page_size
        return size, encode(op, build(op, self._envelope(), params=params, paging=(size, cursor)))

    def _batch_bodies(self, op: Operation, items: Iterable[Any], params: Mapping[str, Any]) -> list[bytes]:
        """Every batch's bytes, all validated before any is sent; empty for no items."""
        if op.batch_field is None or op.batch_limit is None:
            raise CallArgumentError(f"{describe(op)}() does not take a list of items")
        wire_items = items_to_wire(items)
        if not wire_items:
            build(op, {}, params=params)  # still reject unknown parameters
        return [
            encode(op, build(op, self._envelope(), params=params, items=chunk), item_offset=offset)
            for offset, chunk in batches(wire_items, op.batch_limit)
        ]

    def _walk_bodies(
        self, op: Operation, page_size: int | None, params: Mapping[str, Any]
    ) -> list[tuple[int, bytes, dict[str, Any]]]:
        """(page size, first page body, arguments) per window of the walk, all validated now."""
        return [
            (*self._page_body(op, page_size, None, window), window)
            for window in split_long_intervals(op, params)
        ]

    def _call_body(self, op: Operation, params: Mapping[str, Any]) -> bytes:
        return encode(op, build(op, self._envelope(), params=params))

    def _next_body(
        self, op: Operation, size: int, page: Page[Any], seen: set[UUID | None], params: Mapping[str, Any]
    ) -> bytes:
        """The body of the page after ``page``; the cursor is remembered in ``seen``, since a server
        handing back any cursor a second time (A -> A, or A -> B -> A) would loop forever."""
        if page.cursor in seen:
            raise UnexpectedResponseError(
                f"the server returned cursor {page.cursor} a second time, after {len(seen) + 1} pages;"
                " stopping instead of looping",
                status=200,
                operation_id=op.operation_id,
            )
        seen.add(page.cursor)
        return self._page_body(op, size, page.cursor, params)[1]

    def _read_page(self, op: Operation, response: httpx.Response, size: int) -> Page[Any]:
        return decode_page(op, response, size, self._redactor)

    def _read_batch(self, op: Operation, response: httpx.Response, results: list[Any]) -> None:
        """One batch's result items appended to ``results``; a call without items is still decoded,
        so a body other than the documented one (EmptyResult) is an error."""
        if returns_items(op):
            results.extend(decode_items(op, response, self._redactor))
        else:
            decode_result(op, response, self._redactor)

    @staticmethod
    def _batches_done(op: Operation, results: list[Any]) -> list[Any] | None:
        return results if returns_items(op) else None

    @staticmethod
    def _batch_failed(op: Operation, error: MewsError, results: list[Any], number: int) -> None:
        first_item = number * (op.batch_limit or 0)  # every batch but the last is full
        error.batch_failed(results, number, field=op.batch_field, first_item=first_item)

    def _read_result(self, op: Operation, response: httpx.Response) -> Any:
        return decode_result(op, response, self._redactor)


class OperationRunner(_Planner):
    """Runs operations over a blocking Sender: the calls of ``_Planner``, blocking."""

    def __init__(self, sender: Sender, envelope: Envelope, redactor: Redactor) -> None:
        super().__init__(envelope, redactor)
        self._sender = sender

    def page(
        self, op: Operation, *, page_size: int | None = None, cursor: UUID | str | None = None, **params: Any
    ) -> Page[Any]:
        size, body = self._page_body(op, page_size, cursor, params)
        return self._read_page(op, self._sender.send(op, body), size)

    def iterate(self, op: Operation, *, page_size: int | None = None, **params: Any) -> Iterator[Any]:
        walk = self._walk_bodies(op, page_size, params)  # validates now, not at the first next()
        return self._walk(op, walk)

    def _walk(self, op: Operation, walk: list[tuple[int, bytes, dict[str, Any]]]) -> Iterator[Any]:
        for size, first, params in walk:
            body: bytes | None = first
            seen: set[UUID | None] = set()
            while body is not None:
                page = self._read_page(op, self._sender.send(op, body), size)
                yield from page.items
                body = None if page.is_last else self._next_body(op, size, page, seen, params)

    def batch(self, op: Operation, items: Iterable[Any], **params: Any) -> list[Any] | None:
        results: list[Any] = []
        for number, body in enumerate(self._batch_bodies(op, items, params)):
            try:
                self._read_batch(op, self._sender.send(op, body), results)
            except MewsError as error:
                self._batch_failed(op, error, results, number)
                raise
        return self._batches_done(op, results)

    def call(self, op: Operation, **params: Any) -> Any:
        return self._read_result(op, self._sender.send(op, self._call_body(op, params)))


class AsyncOperationRunner(_Planner):
    """Runs operations over an AsyncSender: the calls of ``OperationRunner``, awaited."""

    def __init__(self, sender: AsyncSender, envelope: Envelope, redactor: Redactor) -> None:
        super().__init__(envelope, redactor)
        self._sender = sender

    async def page(
        self, op: Operation, *, page_size: int | None = None, cursor: UUID | str | None = None, **params: Any
    ) -> Page[Any]:
        size, body = self._page_body(op, page_size, cursor, params)
        return self._read_page(op, await self._sender.send(op, body), size)

    def iterate(self, op: Operation, *, page_size: int | None = None, **params: Any) -> AsyncIterator[Any]:
        walk = self._walk_bodies(op, page_size, params)  # validates now, not at the first anext()
        return self._walk(op, walk)

    async def _walk(self, op: Operation, walk: list[tuple[int, bytes, dict[str, Any]]]) -> AsyncIterator[Any]:
        for size, first, params in walk:
            body: bytes | None = first
            seen: set[UUID | None] = set()
            while body is not None:
                page = self._read_page(op, await self._sender.send(op, body), size)
                for item in page.items:
                    yield item
                body = None if page.is_last else self._next_body(op, size, page, seen, params)

    async def batch(self, op: Operation, items: Iterable[Any], **params: Any) -> list[Any] | None:
        results: list[Any] = []
        for number, body in enumerate(self._batch_bodies(op, items, params)):
            try:
                self._read_batch(op, await self._sender.send(op, body), results)
            except MewsError as error:
                self._batch_failed(op, error, results, number)
                raise
        return self._batches_done(op, results)

    async def call(self, op: Operation, **params: Any) -> Any:
        return self._read_result(op, await self._sender.send(op, self._call_body(op, params)))


RunnerT = TypeVar("RunnerT", OperationRunner, AsyncOperationRunner)


class _ResourceBase(Generic[RunnerT]):
    """The operations of one resource, looked up by action name, run by a blocking or an async runner."""

    def __init__(self, name: str, operations: Mapping[str, Operation], runner: RunnerT) -> None:
        self._name = name
        self._operations = dict(operations)
        self._runner: RunnerT = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        op, mode = self._lookup(name)
        return partial(getattr(self._runner, mode), op)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name}: {', '.join(self._action_names())}>"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._action_names()})

    def action_names(self) -> list[str]:
        """The method names of the resource's operations, with ``iter_*`` twins of paged queries."""
        return self._action_names()

    def _operation(self, action: str) -> Operation:
        return self._lookup(action)[0]

    def _action_names(self) -> list[str]:
        names = []
        for action, op in self._operations.items():
            names.append(action)
            if op.is_paged and action.startswith(PAGE_PREFIX):
                names.append(ITERATOR_PREFIX + action.removeprefix(PAGE_PREFIX))
        return names

    def _lookup(self, name: str) -> tuple[Operation, str]:
        """(operation, mode) for a method name; mode is "page", "iterate", "batch" or "call"."""
        op = self._operations.get(name)
        if op is not None:
            return op, "page" if op.is_paged else "batch" if op.batch_field else "call"
        paged = self._operations.get(PAGE_PREFIX + name.removeprefix(ITERATOR_PREFIX))
        if name.startswith(ITERATOR_PREFIX) and paged is not None and paged.is_paged:
            return paged, "iterate"
        raise AttributeError(
            f"{self._name} has no operation {name!r}; it has: {', '.join(self._action_names())}"
        )


class Resource(_ResourceBase[OperationRunner]):
    """One resource of an API (``client.loyalty_memberships``): every operation the spec gives it.

    The typed classes generated into ``mews_<api>_resources`` call the ``run_*`` methods; any operation is
    also reachable here by its snake_case action name (``get_all``, ``iter_all``, ``add``), untyped.
    """

    def run_page(
        self, action: str, *, page_size: int | None = None, cursor: UUID | str | None = None, **params: Any
    ) -> Page[Any]:
        """One page (``page_size`` defaults to the API's maximum), starting after ``cursor``."""
        return self._runner.page(self._operation(action), page_size=page_size, cursor=cursor, **params)

    def run_iterate(self, action: str, *, page_size: int | None = None, **params: Any) -> Iterator[Any]:
        """Every item across all pages of the paged query ``action``."""
        return self._runner.iterate(self._operation(action), page_size=page_size, **params)

    def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> list[Any]:
        """A bulk call in batches of the spec's maxItems; the merged result items (none for a delete)."""
        return self._runner.batch(self._operation(action), items, **params) or []

    def run_call(self, action: str, **params: Any) -> Any:
        """A single call, decoded with its generated attrs class."""
        return self._runner.call(self._operation(action), **params)


class AsyncResource(_ResourceBase[AsyncOperationRunner]):
    """The async twin of ``Resource``: ``await`` the calls, ``async for`` over ``iter_*``."""

    async def run_page(
        self, action: str, *, page_size: int | None = None, cursor: UUID | str | None = None, **params: Any
    ) -> Page[Any]:
        """One page (``page_size`` defaults to the API's maximum), starting after ``cursor``."""
        return await self._runner.page(self._operation(action), page_size=page_size, cursor=cursor, **params)

    def run_iterate(self, action: str, *, page_size: int | None = None, **params: Any) -> AsyncIterator[Any]:
        """Every item across all pages of the paged query ``action`` (``async for``)."""
        return self._runner.iterate(self._operation(action), page_size=page_size, **params)

    async def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> list[Any]:
        """A bulk call in batches of the spec's maxItems; the merged result items (none for a delete)."""
        return await self._runner.batch(self._operation(action), items, **params) or []

    async def run_call(self, action: str, **params: Any) -> Any:
        """A single call, decoded with its generated attrs class."""
        return await self._runner.call(self._operation(action), **params)


def resource_accessors(
    resources: Mapping[str, Mapping[str, Operation]],
    runner: OperationRunner | AsyncOperationRunner,
    typed: Mapping[str, Callable[[Any], Any]],
) -> dict[str, Any]:
    """One accessor per resource of the catalog: its generated typed class over the runtime resource,
    or the runtime resource itself for a resource added to the shipped spec after codegen."""
    accessors: dict[str, Any] = {}
    for name, operations in resources.items():
        resource: Resource | AsyncResource
        if isinstance(runner, AsyncOperationRunner):
            resource = AsyncResource(name, operations, runner)
        else:
            resource = Resource(name, operations, runner)
        accessors[name] = typed[name](resource) if name in typed else resource
    return accessors


class ResourceAccessors:
    """What the four clients share about their resource attributes, which come from the catalog.

    ``_install_resources`` puts each accessor in the instance's ``__dict__`` (so attribute access costs
    nothing); a misspelt name gets an error listing the real ones. Type checkers see the generated
    ``*Resources`` classes instead, which name every accessor.
    """

    _resources: dict[str, Any]

    def _install_resources(self, accessors: dict[str, Any]) -> None:
        self._resources = accessors
        self.__dict__.update(accessors)

    @property
    def resource_names(self) -> tuple[str, ...]:
        """The resource accessors this client has, as the spec defines them."""
        return tuple(self._resources)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__dict__.get("_resources", {})})

    if not TYPE_CHECKING:  # type checkers see only the typed accessors

        def __getattr__(self, name: str) -> Any:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}; resources: "
                f"{', '.join(self.__dict__.get('_resources', {}))}"
            )
