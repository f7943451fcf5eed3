"""The backend a provider writes, and how the kit calls it and turns its answers into spec answers.

One backend method per operation, named by the spec: the operation's ``x-provider-method``
(``search_members``, ``enroll_member``, ``list_memberships``, ``link_membership``; absent, the
operationId in snake case), read once into ``Operation.provider_method``.
Each takes the validated generated request model and may be ``def`` (run in a worker thread, so it
may block) or ``async def`` (run on the event loop).

A 408 means nothing happened, so the kit's ``timeout`` is enforced without lying about a call still
running: an ``async def`` method is cancelled at the deadline (its ``finally`` blocks run) and then
answered 408, unless it marked its commit point first; a ``def`` method cannot be stopped from
outside, so it is given the deadline to observe (``current_deadline().remaining()`` as its own I/O
timeout, ``current_deadline().check()`` before it commits, which raises ``RequestTimedOut``) and its
outcome is what the kit answers, even when it comes late. The kit never leaves a worker thread
running behind a 408.

An ``async def`` method that stores something and then awaits more (a notification, a second write)
marks the moment it commits with ``current_deadline().commit_point()``, right before the awaited
write: a 408 if the deadline already passed (nothing was stored), and from then on the kit no longer
cancels the call and answers with its outcome, however late. Without the mark the kit cannot know a
change was made: cancelled at the deadline, the call is answered 408, and Mews retries it.

What a method returns is made to conform before it is sent:

- a batch lookup (the request carries a batch of keys, e.g. ``providerMembershipIds``, and the answer
  a list of items with a required property of the keys' component, ``providerMembershipId``: the
  catalog's ``Operation.batch_key``) answers one item per requested key,
  in request order. Keys the backend did not return get the spec's ``x-not-found-item``; items for keys nobody
  asked about, and repeats, are dropped. An item that does not conform (say a 51-character tier) is
  withheld with its key left out of the answer, which Mews asks for again later; a ``notFound``
  in its place would make Mews remove the membership. Nothing usable at all, or ``None``, is a 500.
- otherwise the result is validated as the response model; a bare value fills a one-field response
  (``True`` -> ``{"success": true}``, a list of members -> ``{"data": [...]}``) and ``None`` means
  done (a one-boolean response gets ``true``).
"""

from __future__ import annotations

import contextvars
import inspect
import math
import time
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import anyio
import anyio.to_thread
from pydantic import BaseModel, RootModel, ValidationError

from mews_loyalty._generated.reverse.models import (
    EnrollMemberRequest,
    LinkMembershipRequest,
    LinkMembershipResponse,
    ListMembershipsRequest,
    ListMembershipsResponse,
    Member,
    Membership,
    SearchMembersRequest,
    SearchMembersResponse,
)
from mews_loyalty._spec.catalog import REQUESTED_KEY, Operation
from mews_loyalty.provider._logs import logger
from mews_loyalty.provider._problems import RequestTimedOut

MembershipListing: TypeAlias = ListMembershipsResponse | Iterable[Membership | Mapping[str, Any]]
LinkOutcome: TypeAlias = bool | LinkMembershipResponse | None
MemberMatches: TypeAlias = SearchMembersResponse | Iterable[Member | Mapping[str, Any]]
Enrollment: TypeAlias = Member | Mapping[str, Any]


class ProviderBackend(Protocol):
    """What a provider implements; plain ``def`` or ``async def`` methods both fit.

    ``search_members`` returns the members who may be the customer of ``request.member_filter``,
    best first (generated ``Member`` models or mappings; none is an empty list); the kit has already
    refused a filter that completes no combination. ``enroll_member`` returns the ``Member`` with
    their membership, and must return the existing one for a customer it already has (Mews' rule:
    the same 200 as a new enrolment, never a duplicate). ``list_memberships`` returns the
    memberships it knows among the requested ids (generated ``Membership`` models, or mappings with
    wire or Python names); the kit answers ``notFound`` for the rest. ``link_membership`` returns
    whether the membership is now in the requested state (``None`` counts as ``True``). Any may
    raise ``BusinessRuleViolation`` (422) or ``RequestTimedOut`` (408); any other exception becomes
    a 500 without its message.
    """

    def search_members(
        self, request: SearchMembersRequest, /
    ) -> MemberMatches | Awaitable[MemberMatches]: ...

    def enroll_member(self, request: EnrollMemberRequest, /) -> Enrollment | Awaitable[Enrollment]: ...

    def list_memberships(
        self, request: ListMembershipsRequest, /
    ) -> MembershipListing | Awaitable[MembershipListing]: ...

    def link_membership(self, request: LinkMembershipRequest, /) -> LinkOutcome | Awaitable[LinkOutcome]: ...


class BackendContractError(Exception):
    """The backend answered something the kit cannot turn into a conforming response."""


def bind(backend: object, operations: Iterable[Operation]) -> dict[str, Callable[[BaseModel], Any]]:
    """The backend method for each operation id; a missing one is a TypeError now, not a 500 later."""
    methods = {op.operation_id: getattr(backend, op.provider_method, None) for op in operations}
    missing = sorted(op.provider_method for op in operations if not callable(methods[op.operation_id]))
    if missing:
        raise TypeError(f"{type(backend).__name__} lacks the backend method(s) {', '.join(missing)}")
    return methods  # type: ignore[return-value]


@dataclass
class _CommitMark:
    """Shared by a call's ``Deadline`` and the kit: the cancel scope of an async call, and whether it committed."""

    scope: anyio.CancelScope | None = None
    committed: bool = False


@dataclass(frozen=True)
class Deadline:
    """When the kit's timeout for the backend call in progress runs out (``time.monotonic()`` seconds).

    ``at`` is None when the app has no timeout: nothing ever expires.
    """

    at: float | None = None
    _mark: _CommitMark = field(default_factory=_CommitMark, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def remaining(self) -> float | None:
        """Seconds left (0.0 once passed), or None without a timeout: usable as an I/O timeout."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    @property
    def committed(self) -> bool:
        """Whether the call marked its commit point: the kit answers with its outcome, never 408."""
        return self._mark.committed

    def check(self) -> None:
        """Raise ``RequestTimedOut`` (a 408) once the deadline passed; call it before committing.

        After ``commit_point()`` it never raises: the change is made, the answer is its outcome.
        """
        if self._mark.committed:
            return
        scope = self._mark.scope
        if self.expired or (scope is not None and scope.cancel_called):
            raise RequestTimedOut()

    def commit_point(self) -> None:
        """Mark the commit: ``RequestTimedOut`` if the deadline passed (call it before the change is
        made, with no ``await`` in between); from here on the kit no longer cancels the call and
        answers with whatever it returns. For ``async def`` methods that await after committing;
        in a ``def`` method it is ``check()``."""
        self.check()
        self._mark.committed = True
        if self._mark.scope is not None:
            self._mark.scope.deadline = math.inf  # the kit's timeout no longer cancels this call


_DEADLINE: contextvars.ContextVar[Deadline] = contextvars.ContextVar("mews_loyalty_provider_deadline")


def current_deadline() -> Deadline:
    """The deadline of the backend call in progress (from a ``def`` or ``async def`` method)."""
    return _DEADLINE.get(Deadline())


def _observing(method: Callable[[BaseModel], Any], payload: BaseModel, deadline: Deadline) -> Any:
    _DEADLINE.set(deadline)  # the worker thread's own context: the method reads it
    return method(payload)


async def invoke(method: Callable[[BaseModel], Any], payload: BaseModel, timeout: float | None) -> Any:
    """Call a backend method so that a 408 (``TimeoutError`` here) means it did not act.

    An ``async def`` method is cancelled at the deadline, unless it marked its commit point. A
    ``def`` method runs in a worker thread, which cannot be cancelled: it is awaited to its end,
    observing ``current_deadline()`` itself. A late outcome stands (logged), since the work is done
    and a 408 would say it was not.
    """
    deadline = Deadline.after(timeout)
    token = _DEADLINE.set(deadline)
    try:
        result = await _call(method, payload, deadline)
    finally:
        _DEADLINE.reset(token)
    if deadline.expired:
        name = getattr(method, "__name__", "the backend method")
        logger.warning(
            "%s finished after the %g s timeout: answered with its outcome, not 408", name, timeout
        )
    return result


async def _call(method: Callable[[BaseModel], Any], payload: BaseModel, deadline: Deadline) -> Any:
    if inspect.iscoroutinefunction(method):
        return await _within(deadline, method(payload))
    result = await anyio.to_thread.run_sync(_observing, method, payload, deadline)
    if inspect.isawaitable(result):  # a def handing back a coroutine: awaited like an async def
        return await _within(deadline, result)
    return result


async def _within(deadline: Deadline, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable``, cancelled (and then ``TimeoutError``) when ``deadline`` passes before its commit point."""
    remaining = deadline.remaining()
    if remaining is None:
        return await awaitable
    with anyio.CancelScope(deadline=anyio.current_time() + remaining) as scope:
        deadline._mark.scope = scope
        return await awaitable
    raise TimeoutError  # reached only when the scope cancelled the call: it did not commit


def _field_by_alias(model: type[BaseModel], alias: str) -> str | None:
    return next((name for name, info in model.model_fields.items() if (info.alias or name) == alias), None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """``list[Membership]`` -> ``Membership``."""
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


@dataclass(frozen=True)
class BatchLookup:
    keys_field: str  # request model field holding the requested keys
    items_alias: str  # response list of items, wire name
    item_model: type[BaseModel]
    key_field: str  # item field holding the key
    key_alias: str
    # The spec's x-not-found-item: wire names -> values of the item for an unknown key ($key: the key).
    not_found: Mapping[str, Any]

    def unknown(self, key: str) -> BaseModel:
        return self.item_model.model_validate(
            {name: key if value == REQUESTED_KEY else value for name, value in self.not_found.items()}
        )


def batch_lookup(operation: Operation) -> BatchLookup | None:
    """How a batch lookup operation's answer is keyed, read from the catalog and the models."""
    response = operation.response_model
    key_alias = operation.batch_key
    if (
        operation.batch_field is None
        or key_alias is None
        or response is None
        or len(response.model_fields) != 1
    ):
        return None
    keys_field = _field_by_alias(operation.request_model, operation.batch_field)
    ((items_name, items_info),) = response.model_fields.items()
    item_model = _model_in(items_info.annotation)
    if keys_field is None or item_model is None:
        return None
    key_field = _field_by_alias(item_model, key_alias)
    template = operation.not_found_item  # what the spec says an unknown key is answered with
    if key_field is None or template is None:
        return None
    return BatchLookup(keys_field, items_info.alias or items_name, item_model, key_field, key_alias, template)


def _plain(value: Any) -> Any:
    return value.root if isinstance(value, RootModel) else value


def _as_input(item: Any) -> Any:
    # Revalidate models too: one built with model_construct() was never checked.
    return item.model_dump(by_alias=True) if isinstance(item, BaseModel) else item


def _sole_field(model: type[BaseModel]) -> tuple[str, Any] | None:
    """The wire name and annotation of a one-field response model's field (``None`` for any other)."""
    if len(model.model_fields) != 1:
        return None
    ((name, info),) = model.model_fields.items()
    return info.alias or name, info.annotation


def _validate(model: type[BaseModel], value: Any) -> BaseModel:
    return model.model_validate(_as_input(value), from_attributes=True, by_alias=True, by_name=True)


@dataclass(frozen=True)
class ResponseShaper:
    operation: Operation
    lookup: BatchLookup | None

    @classmethod
    def for_operation(cls, operation: Operation) -> ResponseShaper:
        return cls(operation, batch_lookup(operation))

    @property
    def name(self) -> str:
        return self.operation.provider_method

    def shape(self, payload: BaseModel, result: Any) -> BaseModel:
        if self.lookup is not None:
            return self._shape_lookup(self.lookup, payload, result)
        return self._shape_single(result)

    def _response_model(self) -> type[BaseModel]:
        assert self.operation.response_model is not None
        return self.operation.response_model

    def _shape_single(self, result: Any) -> BaseModel:
        model = self._response_model()
        answer = self._single_answer(model, result)
        try:
            return _validate(model, answer)
        except ValidationError as error:
            raise BackendContractError(
                f"{self.name} returned an answer that does not conform: {error}"
            ) from None

    def _single_answer(self, model: type[BaseModel], result: Any) -> Any:
        """What to validate as ``model``: the result itself, or the one-field response it fills."""
        sole = _sole_field(model)
        if result is None:  # done: a one-boolean response says so
            return {sole[0]: True} if sole is not None and bool in typing.get_args(sole[1]) else {}
        if isinstance(result, BaseModel) and not isinstance(result, model):
            raise BackendContractError(
                f"{self.name} returned a {type(result).__name__}, not a {model.__name__}"
            )
        if isinstance(result, Mapping):
            self._known_only(model, result)
            return result
        if isinstance(result, BaseModel):
            return result
        if sole is None:
            raise BackendContractError(f"{self.name} returned a {type(result).__name__}")
        many = isinstance(result, Iterable) and not isinstance(result, str | bytes)
        return {sole[0]: [_as_input(item) for item in result] if many else result}

    def _known_only(self, model: type[BaseModel], result: Mapping[Any, Any]) -> None:
        """A mapping answer names only properties of ``model`` (by wire name or field name)."""
        known = {key for name, info in model.model_fields.items() for key in (name, info.alias or name)}
        unknown = [str(key) for key in result if key not in known]
        if unknown:
            raise BackendContractError(f"{self.name} returned unknown properties: {', '.join(unknown)}")

    def _items(self, lookup: BatchLookup, result: Any) -> list[Any]:
        if isinstance(result, self._response_model()):
            return list(
                getattr(result, _field_by_alias(type(result), lookup.items_alias) or lookup.items_alias)
            )
        if isinstance(result, Mapping) and lookup.items_alias in result:
            result = result[lookup.items_alias]
        if result is None or isinstance(result, str | bytes | Mapping) or not isinstance(result, Iterable):
            raise BackendContractError(
                f"{self.name} must return an iterable of {lookup.item_model.__name__} (empty when none is known), "
                f"not {type(result).__name__}"
            )
        return list(result)

    def _key_of(self, lookup: BatchLookup, item: Any) -> Any:
        if isinstance(item, Mapping):
            return item.get(lookup.key_alias, item.get(lookup.key_field))
        return getattr(item, lookup.key_field, None)

    def _shape_lookup(self, lookup: BatchLookup, payload: BaseModel, result: Any) -> BaseModel:
        keys = [_plain(key) for key in getattr(payload, lookup.keys_field)]
        requested = set(keys)
        found: dict[str, BaseModel] = {}
        withheld: set[str] = set()
        for item in self._items(lookup, result):
            key = self._key_of(lookup, item)
            if not isinstance(key, str) or key not in requested:
                logger.warning(
                    "%s: dropped an entry for a %s that was not requested", self.name, lookup.key_alias
                )
                continue
            if key in found or key in withheld:
                continue  # the first entry for a key answers every request of it
            try:
                entry = _validate(lookup.item_model, item)
            except ValidationError as error:
                withheld.add(key)
                logger.error("%s: withheld an entry that does not conform to the spec: %s", self.name, error)
                continue
            if getattr(entry, lookup.key_field) != key:
                withheld.add(key)
                logger.error("%s: withheld an entry whose %s is ambiguous", self.name, lookup.key_alias)
                continue
            found[key] = entry
        entries = [found[key] if key in found else lookup.unknown(key) for key in keys if key not in withheld]
        if not entries:
            raise BackendContractError(f"{self.name}: no entry of the answer conforms to the spec")
        return _validate(self._response_model(), {lookup.items_alias: entries})
