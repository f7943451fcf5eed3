"""Successful responses -> the generated attrs models, and the Page a paged query returns.

The shape of each result comes from the spec: the response schema's array property holds the items
(``LoyaltyMemberships``, ``data``), each decoded with the attrs class generated for the array's item
schema; a response without one decodes whole (``LinkMembershipResponse``).

Reading is tolerant, as a client must be of a server that evolves without a version bump: unknown
properties are ignored at any depth (the attrs ``from_dict`` reads only the keys it knows) and an enum
value the spec does not list is kept as its string (``parse_enum`` in the generated ``types``), logged
once per operation, enum and value as a warning.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx

from mews_loyalty._errors import REQUEST_ID_HEADER, UnexpectedResponseError, excerpt, parse_json
from mews_loyalty._generated.connector.client import types as connector_types
from mews_loyalty._generated.reverse.client import types as reverse_types
from mews_loyalty._spec.catalog import (
    CURSOR_FIELD,
    ApiName,
    Operation,
    catalog,
    class_name,
    client_package,
    ref_name,
    resolve,
)
from mews_loyalty._transport.redaction import Redactor
from mews_loyalty._wire.fast import ItemReader, Unread, item_reader

ItemT = TypeVar("ItemT")
logger = logging.getLogger("mews_loyalty")

# The operation whose response is being decoded and its client's redactor, for the warning below.
_decoding: ContextVar[tuple[str, Redactor] | None] = ContextVar("mews_loyalty_decoding", default=None)
_warned: set[tuple[str, str, str]] = set()
MAX_WARNED = 10_000  # past this many distinct values, stop remembering (and warning): logs stay bounded


def _warn_unknown_enum_value(enum: type[Enum], value: str) -> None:
    """Log an enum value the spec does not list, once per operation, enum and value (tokens masked)."""
    decoding = _decoding.get()
    operation, redactor = decoding if decoding is not None else ("a response", Redactor(()))
    key = (operation, enum.__name__, value)
    if key in _warned or len(_warned) >= MAX_WARNED:
        return
    _warned.add(key)
    known = ", ".join(str(member.value) for member in enum)
    logger.warning(
        redactor.text(
            f"{operation}: {value!r} is not a {enum.__name__} value the spec lists ({known}); "
            "kept as the string"
        )
    )


for _types in (connector_types, reverse_types):
    if _warn_unknown_enum_value not in _types.UNKNOWN_ENUM_VALUE_LISTENERS:
        _types.UNKNOWN_ENUM_VALUE_LISTENERS.append(_warn_unknown_enum_value)


def is_last_page(cursor: UUID | None, count: int, page_size: int) -> bool:
    """Whether a page is the last: its cursor is null, or it holds fewer items than were asked for."""
    return cursor is None or count < page_size


@dataclass(frozen=True)
class _PageBase(Generic[ItemT]):
    """What a page of either kind holds: its items, where the next starts, and its Request-Id."""

    items: list[ItemT]
    cursor: UUID | None
    page_size: int
    request_id: str | None = None

    @property
    def is_last(self) -> bool:
        return is_last_page(self.cursor, len(self.items), self.page_size)

    @property
    def next_cursor(self) -> UUID | None:
        """Where the next page starts, or None after the last page."""
        return None if self.is_last else self.cursor

    def has_next_page(self) -> bool:
        """Whether a page follows this one (``get_next_page()`` fetches it)."""
        return not self.is_last

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def _no_next(self) -> RuntimeError:
        what = "this is the last page" if self.is_last else "this page was not fetched by a client"
        return RuntimeError(f"no next page: {what}; check has_next_page() first")


@dataclass(frozen=True)
class Page(_PageBase[ItemT]):
    """One page of a cursor-paged list, newest first.

    ``cursor`` is the id of the oldest item returned; ``get_next_page()`` fetches the page after with the
    same arguments (or pass ``next_cursor`` to ``get_all(cursor=...)``), ``iter_pages()`` walks this page
    and every one after it. The page is the last one when the cursor is null or the page is not full.
    ``request_id`` is the server's Request-Id of the response (quote it to Mews' support).
    """

    fetch: Callable[..., Page[ItemT]] | None = field(default=None, repr=False, compare=False)

    def get_next_page(self) -> Page[ItemT]:
        """The page after this one, fetched with the arguments and options of this one's call."""
        if self.fetch is None or self.next_cursor is None:
            raise self._no_next()
        return self.fetch(cursor=self.next_cursor)

    def iter_pages(self) -> Iterator[Page[ItemT]]:
        """This page and every page after it, one request each (each page has its own ``request_id``)."""
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page


@dataclass(frozen=True)
class AsyncPage(_PageBase[ItemT]):
    """A page of an async client: ``Page`` with ``await page.get_next_page()`` and
    ``async for page in page.iter_pages()``."""

    fetch: Callable[..., Awaitable[AsyncPage[ItemT]]] | None = field(default=None, repr=False, compare=False)

    async def get_next_page(self) -> AsyncPage[ItemT]:
        """The page after this one, fetched with the arguments and options of this one's call."""
        if self.fetch is None or self.next_cursor is None:
            raise self._no_next()
        return await self.fetch(cursor=self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[ItemT]]:
        """This page and every page after it, one request each (each page has its own ``request_id``)."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page


class ResultList(list[ItemT]):
    """The result items of a bulk write, in the order of the rows sent, with ``request_ids``: the
    Request-Id of each request the write took (one per batch)."""

    def __init__(self, items: Iterable[ItemT] = (), request_ids: Iterable[str | None] = ()) -> None:
        super().__init__(items)
        self.request_ids: list[str | None] = list(request_ids)


ResultT = TypeVar("ResultT")


class RawResponse(Generic[ResultT]):
    """The HTTP response of a single-request call (``with_raw_response``): status, headers and
    Request-Id as the server sent them; ``parse()`` decodes it into what the call itself returns."""

    def __init__(self, response: httpx.Response, parse: Callable[[httpx.Response], ResultT]) -> None:
        self.http_response = response
        self._parse = parse

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.http_response)

    def parse(self) -> ResultT:
        """What the call returns without ``with_raw_response`` (decoded anew at each call)."""
        return self._parse(self.http_response)

    def __repr__(self) -> str:
        return f"<RawResponse HTTP {self.status_code} Request-Id {self.request_id}>"


def request_id_of(response: httpx.Response) -> str | None:
    """The Request-Id Mews gave the response (quote it to Mews' support), if any."""
    request_id: str | None = response.headers.get(REQUEST_ID_HEADER)
    return request_id


@dataclass(frozen=True)
class _Shape:
    result_class: Any  # attrs class of the whole response
    items_field: str | None  # wire name of the response's array of items
    item_class: Any  # attrs class of one item; None for items that are plain JSON values


def _models(api: ApiName) -> Any:
    return importlib.import_module(f"{client_package(api)}.models")


@cache
def _shape_of(api: ApiName, response_schema: str | None, items_field: str | None) -> _Shape:
    if response_schema is None:
        return _Shape(result_class=None, items_field=None, item_class=None)
    models = _models(api)
    document = catalog(api).document
    schema = resolve(document, {"$ref": f"#/components/schemas/{response_schema}"})
    item_class = None
    if items_field is not None:
        item_ref = ref_name(resolve(document, schema["properties"][items_field]).get("items"))
        item_class = getattr(models, class_name(item_ref)) if item_ref else None
    return _Shape(getattr(models, class_name(response_schema)), items_field, item_class)


def _shape(op: Operation) -> _Shape:
    return _shape_of(op.api, op.response_schema, op.result_items)


def returns_items(op: Operation) -> bool:
    """Whether the operation's result is a list of items (so batches merge into one list)."""
    return _shape(op).items_field is not None


def _unexpected(op: Operation, response: httpx.Response, text: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        text,
        status=response.status_code,
        request_id=response.headers.get(REQUEST_ID_HEADER),
        operation_id=op.operation_id,
    )


def _payload(op: Operation, response: httpx.Response, redactor: Redactor) -> dict[str, Any]:
    payload = parse_json(response.content)
    if not isinstance(payload, dict):
        raise _unexpected(op, response, f"expected a JSON object, got {excerpt(response, redactor)}")
    return payload


@contextmanager
def _decoding_for(op: Operation, redactor: Redactor) -> Iterator[None]:
    """The operation and redactor the unknown-enum warning names while a body is decoded."""
    token = _decoding.set((op.operation_id, redactor))
    try:
        yield
    finally:
        _decoding.reset(token)


def _decode(op: Operation, response: httpx.Response, redactor: Redactor, decoder: Any, data: Any) -> Any:
    try:
        with _decoding_for(op, redactor):
            return decoder(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        schema = op.response_schema or "the documented schema"
        reason = redactor.text(f"{type(error).__name__}: {error}")
        raise _unexpected(op, response, f"the body does not match {schema} ({reason})") from None


def _items(op: Operation, response: httpx.Response, payload: dict[str, Any], redactor: Redactor) -> list[Any]:
    shape = _shape(op)
    raw = payload.get(shape.items_field or "")
    if not isinstance(raw, list):
        raise _unexpected(op, response, f"the body has no {shape.items_field!r} list")
    if shape.item_class is None:
        return raw
    from_dict = shape.item_class.from_dict
    # One try for the whole list: the first item that does not match fails it, as one per item would.
    items: list[Any] = _decode(op, response, redactor, lambda batch: [from_dict(item) for item in batch], raw)
    return items


TakenT = TypeVar("TakenT")


def _fast(
    op: Operation, response: httpx.Response, redactor: Redactor, take: Callable[[ItemReader, bytes], TakenT]
) -> TakenT | None:
    """``take(reader, body)`` by the fast route (``_wire.fast``), or None when it does not take the body."""
    reader = _reader(op)
    if reader is None:
        return None
    with _decoding_for(op, redactor):
        try:
            return take(reader, response.content)
        except Unread:
            return None


def _reader(op: Operation) -> ItemReader | None:
    shape = _shape(op)
    if shape.item_class is None or shape.items_field is None:
        return None
    return item_reader(op.api, shape.item_class, shape.items_field)


def _slow_page(op: Operation, response: httpx.Response, redactor: Redactor) -> tuple[list[Any], Any]:
    """(items, raw cursor) by ``json.loads`` and ``from_dict``."""
    payload = _payload(op, response, redactor)
    return _items(op, response, payload, redactor), payload.get(CURSOR_FIELD)


def _cursor(op: Operation, response: httpx.Response, redactor: Redactor, raw_cursor: Any) -> UUID | None:
    cursor: UUID | None = None if raw_cursor is None else _decode(op, response, redactor, UUID, raw_cursor)
    return cursor


def decode_items(op: Operation, response: httpx.Response, redactor: Redactor) -> list[Any]:
    return (_fast(op, response, redactor, ItemReader.read) or _slow_page(op, response, redactor))[0]


def decode_page(
    op: Operation,
    response: httpx.Response,
    page_size: int,
    redactor: Redactor,
    kind: type[Page[Any]] | type[AsyncPage[Any]],
    fetch: Any,
) -> Page[Any] | AsyncPage[Any]:
    """A ``Page`` (or ``AsyncPage``) whose ``get_next_page()`` calls ``fetch(cursor=...)``."""
    items, raw_cursor = _fast(op, response, redactor, ItemReader.read) or _slow_page(op, response, redactor)
    return kind(
        items=items,
        cursor=_cursor(op, response, redactor, raw_cursor),
        page_size=page_size,
        request_id=request_id_of(response),
        fetch=fetch,
    )


@dataclass(frozen=True)
class PageStream:
    """A page of an export (``iter_all``): by the fast route, its items are built only as they are
    taken (see ``_wire.fast``), so a consumer that handles each and lets it go never holds a page's
    worth of them. Everything that could be refused was refused on reading it."""

    items: Iterator[Any]
    count: int
    cursor: UUID | None
    page_size: int

    @property
    def is_last(self) -> bool:
        return is_last_page(self.cursor, self.count, self.page_size)


def stream_page(op: Operation, response: httpx.Response, page_size: int, redactor: Redactor) -> PageStream:
    """The page ``decode_page`` reads, for an export: the same items, built as they are taken."""
    streamed = _fast(op, response, redactor, ItemReader.stream)
    if streamed is None:
        built, raw_cursor = _slow_page(op, response, redactor)
        streamed = (len(built), iter(built), raw_cursor)
    count, items, raw_cursor = streamed
    return PageStream(items, count, _cursor(op, response, redactor, raw_cursor), page_size)


def decode_result(op: Operation, response: httpx.Response, redactor: Redactor) -> Any:
    shape = _shape(op)
    payload = _payload(op, response, redactor)
    if shape.result_class is None:
        return payload
    return _decode(op, response, redactor, shape.result_class.from_dict, payload)
