"""The package root is the public API: exactly what ``__all__`` lists, and nothing reachable only privately."""

from __future__ import annotations

import importlib
import inspect

import mews_loyalty
from mews_loyalty import _version


def test_all_lists_exactly_the_public_names_of_the_package_root():
    # A name exported but missing from __all__ (or the reverse) is an accident waiting to become API.
    # dir(): the root imports its names on first use, so vars() holds only those used so far.
    public = {
        name
        for name in dir(mews_loyalty)
        if not name.startswith("_") and not inspect.ismodule(getattr(mews_loyalty, name))
    }
    assert set(mews_loyalty.__all__) - {"__version__"} == public
    assert len(mews_loyalty.__all__) == len(set(mews_loyalty.__all__))


def test_every_listed_name_imports_from_the_root():
    # `from mews_loyalty import X` is the documented way in; each name must work that way.
    for name in mews_loyalty.__all__:
        assert getattr(importlib.import_module("mews_loyalty"), name) is not None


def test_the_documented_names_are_public():
    # The names the README, docs/sdk.md and the examples import from the root.
    promised = {
        "ConnectorClient",
        "AsyncConnectorClient",
        "ReverseClient",
        "AsyncReverseClient",
        "Page",
        "MewsApiError",
        "BadRequestError",
        "AuthenticationError",
        "ForbiddenError",
        "RequestTimeoutError",
        "RateLimitError",
        "ServerError",
        "MewsConnectionError",
        "UnexpectedResponseError",
        "ProblemDetailError",
    }
    assert promised <= set(mews_loyalty.__all__)
    assert mews_loyalty.__version__ == _version.__version__


def test_public_classes_live_in_private_modules_but_say_so_nowhere_in_their_names():
    # Private modules are flat and underscored; the public names themselves carry no underscore.
    for name in mews_loyalty.__all__:
        value = getattr(mews_loyalty, name)
        if inspect.isclass(value):
            assert value.__module__.startswith("mews_loyalty._"), name
            assert not name.startswith("_")
