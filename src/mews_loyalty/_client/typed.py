"""The bases of the generated typed resources: what every typed resource class shares, written once.

    class LoyaltyMembershipsResource(TypedResource):      # generated, one module per resource
        def get_all(self, *, ...) -> Page[LoyaltyMembership]:
            return self._resource.run_page("get_all", ...)

A typed resource wraps the runtime's generic ``Resource`` (or ``AsyncResource``) of the same accessor:
its typed methods delegate to it, and an operation the shipped spec gained after the code was generated
is still reached through it, untyped. The generated modules import this one at run time and the
runtime imports them at its top, so it imports nothing of the runtime but for type checkers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from mews_loyalty._client.resource import AsyncRawResource, AsyncResource, RawResource, Resource


_Runner = TypeVar("_Runner", "Resource", "AsyncResource", "RawResource", "AsyncRawResource")


class _Delegating(Generic[_Runner]):
    """A typed resource of either kind: holds the runtime resource, shows and reaches its actions."""

    def __init__(self, resource: _Runner) -> None:
        self._resource: _Runner = resource

    def __repr__(self) -> str:
        return repr(self._resource)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._resource.action_names()})

    # Operations added to the shipped spec after the typed code was generated: untyped, still reachable.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            return getattr(self._resource, name)


class TypedResource(_Delegating["Resource"]):
    """What every blocking typed resource shares: the runtime resource its methods delegate to."""


class AsyncTypedResource(_Delegating["AsyncResource"]):
    """What every async typed resource shares: the runtime resource its methods delegate to."""


class RawTypedResource(_Delegating["RawResource"]):
    """What every blocking ``with_raw_response`` class shares: the raw runtime resource it delegates to."""


class AsyncRawTypedResource(_Delegating["AsyncRawResource"]):
    """What every async ``with_raw_response`` class shares: the raw runtime resource it delegates to."""


__all__ = ["AsyncRawTypedResource", "AsyncTypedResource", "RawTypedResource", "TypedResource"]
