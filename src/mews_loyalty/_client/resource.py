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

import copy
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

import httpx

from mews_loyalty._errors import CallArgumentError, ExportResume, MewsError, UnexpectedResponseError
from mews_loyalty._spec.catalog import PAGING_FIELD, Operation, catalog, resolve
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._transport.sender import AsyncSender, CallOptions, Sender, Timeout
from mews_loyalty._wire.decode import (
    AsyncPage,
    Page,
    RawResponse,
    ResultList,
    decode_items,
    decode_page,
    decode_result,
    request_id_of,
    returns_items,
    stream_page,
)
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


# One window of an export: (its number, page size, first page's body, its cursor, its arguments).
Window = tuple[int, int, bytes, UUID | None, dict[str, Any]]
# How a single-request call's response becomes its result.
Parse = Callable[[httpx.Response], Any]


class _Planner:
    """The request bodies of each kind of call, and how each response is read; shared by the blocking
    and the async runner. A runner made by ``raw_twin()`` returns ``RawResponse``s of single requests."""

    _raw = False
    _page_kind: ClassVar[type[Page[Any]] | type[AsyncPage[Any]]]  # what a page query returns

    def __init__(self, envelope: Envelope, redactor: Redactor) -> None:
        self._envelope = envelope
        self._redactor = redactor
        self._plain: Any = self  # the runner returning results: a raw twin's pages fetch the next with it

    def raw_twin(self) -> Self:
        """This runner, returning the ``RawResponse`` of each single-request call (``with_raw_response``)."""
        twin = copy.copy(self)
        twin._raw = True
        return twin

    def _page_body(
        self, op: Operation, page_size: int | None, cursor: UUID | str | None, params: Mapping[str, Any]
    ) -> tuple[int, bytes]:
        size = max_page_size(op) if page_size is None else page_size
        return size, encode(op, build(op, self._envelope(), params=params, paging=(size, cursor)))

    def _page_plan(
        self,
        op: Operation,
        page_size: int | None,
        cursor: UUID | str | None,
        params: dict[str, Any],
        call: CallOptions,
    ) -> tuple[bytes, Parse]:
        """A page's body, and how its response becomes a page whose ``get_next_page()`` asks the
        plain runner for the page after, with the same arguments and options."""
        size, body = self._page_body(op, page_size, cursor, params)
        fetch = partial(
            self._plain.page, op, page_size=size, timeout=call.timeout, max_retries=call.max_retries, **params
        )
        return body, partial(
            decode_page, op, page_size=size, redactor=self._redactor, kind=self._page_kind, fetch=fetch
        )

    def iterate(
        self,
        op: Operation,
        *,
        page_size: int | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        resume_from: ExportResume | None = None,
        **params: Any,
    ) -> Any:  # an Iterator, or an AsyncIterator for the async runner
        walk = self._walk_bodies(op, page_size, params, resume_from)  # validates now, not at next()
        return self._walk(op, walk, CallOptions(timeout, max_retries))

    def _walk(self, op: Operation, walk: list[Window], call: CallOptions) -> Any:
        raise NotImplementedError

    def _batch_bodies(self, op: Operation, items: Iterable[Any], params: Mapping[str, Any]) -> list[bytes]:
        """Every batch's bytes, all validated before any is sent; empty for no items. A raw call takes
        one request only: more items than one batch holds are refused before sending."""
        if op.batch_field is None or op.batch_limit is None:
            raise CallArgumentError(f"{describe(op)}() does not take a list of items")
        wire_items = items_to_wire(items)
        if not wire_items:
            build(op, {}, params=params)  # still reject unknown parameters
        if self._raw and not 0 < len(wire_items) <= op.batch_limit:
            raise ValueError(
                f"with_raw_response.{describe(op)}() sends one request: give 1 to {op.batch_limit} items"
                f" (got {len(wire_items)}), or call it without with_raw_response to send them in batches"
            )
        return [
            encode(op, build(op, self._envelope(), params=params, items=chunk), item_offset=offset)
            for offset, chunk in batches(wire_items, op.batch_limit)
        ]

    def _walk_bodies(
        self, op: Operation, page_size: int | None, params: Mapping[str, Any], resume: ExportResume | None
    ) -> list[Window]:
        """The windows of an export, all validated now; from where ``resume`` says it stopped, if given."""
        if self._raw:
            raise TypeError(
                f"{describe(op)} sends a request per page, so it has no raw response: use"
                " with_raw_response on the get_* call, a page at a time"
            )
        windows = split_long_intervals(op, params)
        first, cursor = 0, None
        if resume is not None:
            if not (0 <= resume.window < len(windows) and windows[resume.window] == dict(resume.arguments)):
                raise ValueError(
                    f"resume_from belongs to another export: call {describe(op)} with the arguments of"
                    " the export that failed"
                )
            first, cursor = resume.window, resume.cursor
        walk: list[Window] = []
        for number, window in enumerate(windows[first:], start=first):
            start = cursor if number == first else None
            size, body = self._page_body(op, page_size, start, window)
            walk.append((number, size, body, start, window))
        return walk

    def _call_body(self, op: Operation, params: Mapping[str, Any]) -> bytes:
        return encode(op, build(op, self._envelope(), params=params))

    def _next_body(
        self,
        op: Operation,
        size: int,
        cursor: UUID | None,
        seen: set[UUID | None],
        params: Mapping[str, Any],
    ) -> bytes:
        """The body of the page after the one whose cursor is ``cursor``; the cursor is remembered in
        ``seen``, since a server handing back any cursor a second time (A -> A, or A -> B -> A) would
        loop forever."""
        if cursor in seen:
            raise UnexpectedResponseError(
                f"the server returned cursor {cursor} a second time, after {len(seen) + 1} pages;"
                " stopping instead of looping",
                status=200,
                operation_id=op.operation_id,
            )
        seen.add(cursor)
        return self._page_body(op, size, cursor, params)[1]

    @staticmethod
    def _stopped(error: MewsError, window: Window, cursor: UUID | None) -> None:
        number, *_, arguments = window
        error.resume = ExportResume(window=number, cursor=cursor, arguments=arguments)

    def _read_batch(self, op: Operation, response: httpx.Response, results: ResultList[Any]) -> None:
        """One batch's result items appended to ``results``; a call without items is still decoded,
        so a body other than the documented one (EmptyResult) is an error."""
        if returns_items(op):
            results.extend(decode_items(op, response, self._redactor))
        else:
            decode_result(op, response, self._redactor)
        results.request_ids.append(request_id_of(response))

    def _one_batch(self, op: Operation, response: httpx.Response) -> ResultList[Any] | None:
        results: ResultList[Any] = ResultList()
        self._read_batch(op, response, results)
        return self._batches_done(op, results)

    @staticmethod
    def _batches_done(op: Operation, results: ResultList[Any]) -> ResultList[Any] | None:
        return results if returns_items(op) else None

    @staticmethod
    def _batch_failed(op: Operation, error: MewsError, results: list[Any], number: int) -> None:
        first_item = number * (op.batch_limit or 0)  # every batch but the last is full
        error.batch_failed(results, number, field=op.batch_field, first_item=first_item)

    def _read_result(self, op: Operation, response: httpx.Response) -> Any:
        return decode_result(op, response, self._redactor)

    def _finish(self, response: httpx.Response, parse: Parse) -> Any:
        """The call's result, or its ``RawResponse`` for a raw twin."""
        return RawResponse(response, parse) if self._raw else parse(response)


class OperationRunner(_Planner):
    """Runs operations over a blocking Sender: the calls of ``_Planner``, blocking."""

    _page_kind = Page

    def __init__(self, sender: Sender, envelope: Envelope, redactor: Redactor) -> None:
        super().__init__(envelope, redactor)
        self._sender = sender

    def page(
        self,
        op: Operation,
        *,
        page_size: int | None = None,
        cursor: UUID | str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Any:  # a Page, or its RawResponse for a raw twin
        call = CallOptions(timeout, max_retries)
        body, parse = self._page_plan(op, page_size, cursor, params, call)
        return self._finish(self._sender.send(op, body, call), parse)

    def _walk(self, op: Operation, walk: list[Window], call: CallOptions) -> Iterator[Any]:
        for window in walk:
            _, size, body, _, params = window
            cursor, seen = window[3], set[UUID | None]()
            while True:
                try:
                    page = stream_page(op, self._sender.send(op, body, call), size, self._redactor)
                    following = None if page.is_last else self._next_body(op, size, page.cursor, seen, params)
                except MewsError as error:
                    self._stopped(error, window, cursor)
                    raise
                yield from page.items
                if following is None:
                    break
                body, cursor = following, page.cursor

    def batch(
        self,
        op: Operation,
        items: Iterable[Any],
        *,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Any:  # ResultList (None without result items), or a RawResponse for a raw twin
        call = CallOptions(timeout, max_retries)
        bodies = self._batch_bodies(op, items, params)
        if self._raw:
            return self._finish(self._sender.send(op, bodies[0], call), partial(self._one_batch, op))
        results: ResultList[Any] = ResultList()
        for number, body in enumerate(bodies):
            try:
                self._read_batch(op, self._sender.send(op, body, call), results)
            except MewsError as error:
                self._batch_failed(op, error, results, number)
                raise
        return self._batches_done(op, results)

    def call(
        self, op: Operation, *, timeout: Timeout | None = None, max_retries: int | None = None, **params: Any
    ) -> Any:
        call = CallOptions(timeout, max_retries)
        response = self._sender.send(op, self._call_body(op, params), call)
        return self._finish(response, partial(self._read_result, op))


class AsyncOperationRunner(_Planner):
    """Runs operations over an AsyncSender: the calls of ``OperationRunner``, awaited."""

    _page_kind = AsyncPage

    def __init__(self, sender: AsyncSender, envelope: Envelope, redactor: Redactor) -> None:
        super().__init__(envelope, redactor)
        self._sender = sender

    async def page(
        self,
        op: Operation,
        *,
        page_size: int | None = None,
        cursor: UUID | str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Any:  # an AsyncPage, or its RawResponse for a raw twin
        call = CallOptions(timeout, max_retries)
        body, parse = self._page_plan(op, page_size, cursor, params, call)
        return self._finish(await self._sender.send(op, body, call), parse)

    async def _walk(self, op: Operation, walk: list[Window], call: CallOptions) -> AsyncIterator[Any]:
        for window in walk:
            _, size, body, _, params = window
            cursor, seen = window[3], set[UUID | None]()
            while True:
                try:
                    response = await self._sender.send(op, body, call)
                    page = stream_page(op, response, size, self._redactor)
                    following = None if page.is_last else self._next_body(op, size, page.cursor, seen, params)
                except MewsError as error:
                    self._stopped(error, window, cursor)
                    raise
                for item in page.items:
                    yield item
                if following is None:
                    break
                body, cursor = following, page.cursor

    async def batch(
        self,
        op: Operation,
        items: Iterable[Any],
        *,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        **params: Any,
    ) -> Any:  # ResultList (None without result items), or a RawResponse for a raw twin
        call = CallOptions(timeout, max_retries)
        bodies = self._batch_bodies(op, items, params)
        if self._raw:
            response = await self._sender.send(op, bodies[0], call)
            return self._finish(response, partial(self._one_batch, op))
        results: ResultList[Any] = ResultList()
        for number, body in enumerate(bodies):
            try:
                self._read_batch(op, await self._sender.send(op, body, call), results)
            except MewsError as error:
                self._batch_failed(op, error, results, number)
                raise
        return self._batches_done(op, results)

    async def call(
        self, op: Operation, *, timeout: Timeout | None = None, max_retries: int | None = None, **params: Any
    ) -> Any:
        call = CallOptions(timeout, max_retries)
        response = await self._sender.send(op, self._call_body(op, params), call)
        return self._finish(response, partial(self._read_result, op))


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
    Every call takes ``timeout=`` and ``max_retries=`` for itself; ``iter_*`` takes ``resume_from=``.
    """

    def run_page(self, action: str, **params: Any) -> Page[Any]:
        """One page (``page_size`` defaults to the API's maximum), starting after ``cursor``."""
        page: Page[Any] = self._runner.page(self._operation(action), **params)
        return page

    def run_iterate(self, action: str, **params: Any) -> Iterator[Any]:
        """Every item across all pages of the paged query ``action``."""
        items: Iterator[Any] = self._runner.iterate(self._operation(action), **params)
        return items

    def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> ResultList[Any]:
        """A bulk call in batches of the spec's maxItems; the merged result items (none for a delete)."""
        results: ResultList[Any] | None = self._runner.batch(self._operation(action), items, **params)
        return ResultList() if results is None else results

    def run_call(self, action: str, **params: Any) -> Any:
        """A single call, decoded with its generated attrs class."""
        return self._runner.call(self._operation(action), **params)

    @property
    def with_raw_response(self) -> RawResource:
        """This resource's single-request calls, returning their ``RawResponse``."""
        return RawResource(self._name, self._operations, self._runner.raw_twin())


class RawResource(_ResourceBase[OperationRunner]):
    """``resource.with_raw_response``: each single-request call returns its ``RawResponse`` (status,
    headers, ``request_id``, ``parse()``). An ``iter_*`` export, a write of more rows than one batch
    holds and a Reverse list of more ids than one request takes send several requests: they have none."""

    def run_page(self, action: str, **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = self._runner.page(self._operation(action), **params)
        return raw

    def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = self._runner.batch(self._operation(action), items, **params)
        return raw

    def run_call(self, action: str, **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = self._runner.call(self._operation(action), **params)
        return raw


class AsyncResource(_ResourceBase[AsyncOperationRunner]):
    """The async twin of ``Resource``: ``await`` the calls, ``async for`` over ``iter_*``."""

    async def run_page(self, action: str, **params: Any) -> AsyncPage[Any]:
        """One page (``page_size`` defaults to the API's maximum), starting after ``cursor``."""
        page: AsyncPage[Any] = await self._runner.page(self._operation(action), **params)
        return page

    def run_iterate(self, action: str, **params: Any) -> AsyncIterator[Any]:
        """Every item across all pages of the paged query ``action`` (``async for``)."""
        items: AsyncIterator[Any] = self._runner.iterate(self._operation(action), **params)
        return items

    async def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> ResultList[Any]:
        """A bulk call in batches of the spec's maxItems; the merged result items (none for a delete)."""
        results: ResultList[Any] | None = await self._runner.batch(self._operation(action), items, **params)
        return ResultList() if results is None else results

    async def run_call(self, action: str, **params: Any) -> Any:
        """A single call, decoded with its generated attrs class."""
        return await self._runner.call(self._operation(action), **params)

    @property
    def with_raw_response(self) -> AsyncRawResource:
        """This resource's single-request calls, returning their ``RawResponse``."""
        return AsyncRawResource(self._name, self._operations, self._runner.raw_twin())


class AsyncRawResource(_ResourceBase[AsyncOperationRunner]):
    """The async twin of ``RawResource``."""

    async def run_page(self, action: str, **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = await self._runner.page(self._operation(action), **params)
        return raw

    async def run_batch(self, action: str, items: Iterable[Any], **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = await self._runner.batch(self._operation(action), items, **params)
        return raw

    async def run_call(self, action: str, **params: Any) -> RawResponse[Any]:
        raw: RawResponse[Any] = await self._runner.call(self._operation(action), **params)
        return raw


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
