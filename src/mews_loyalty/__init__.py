"""Typed SDK, stateful mocks and contract tests for Mews' loyalty APIs.

    from mews_loyalty import ConnectorClient

    with ConnectorClient(client_token=..., access_token=..., client="MyApp 1.0") as mews:
        for membership in mews.loyalty_memberships.iter_all(activity_states=["Active"]):
            print(membership.id, membership.membership_number)

Items are the generated attrs models (``mews_loyalty._generated.connector.client.models``, ``mews_loyalty._generated.reverse.client.models``).
Everything public is listed in ``__all__``; modules starting with an underscore are internal.
"""

import importlib
import logging
import pkgutil
import typing as _typing

from mews_loyalty._version import __version__

# The generated code (mews_loyalty._generated) sits in generated/mews_loyalty/ of a checkout, beside
# this folder: an editable install puts both roots on sys.path and this joins them into one package.
# In a wheel both are one folder already and this changes nothing.
__path__ = pkgutil.extend_path(__path__, __name__)

if _typing.TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on first use
    from mews_loyalty._client.connector import AsyncConnectorClient, ConnectorClient
    from mews_loyalty._client.resource import AsyncResource, Resource
    from mews_loyalty._client.reverse import AsyncReverseClient, ReverseClient
    from mews_loyalty._errors import (
        ApiTimeoutError,
        AuthenticationError,
        BadRequestError,
        CallArgumentError,
        ClientClosedError,
        ConfigurationError,
        ExportResume,
        ForbiddenError,
        MewsApiError,
        MewsConnectionError,
        MewsError,
        ProblemDetailError,
        RateLimitError,
        RequestTimeoutError,
        RequestValidationError,
        ResponseTooLargeError,
        ServerError,
        UnexpectedResponseError,
    )
    from mews_loyalty._transport.pacing import SharedRateLimit
    from mews_loyalty._wire.decode import AsyncPage, Page, RawResponse, ResultList

# Public name -> the module defining it. Importing the package runs none of them: a reader of the
# spec (``mews_loyalty._spec.marks``, which codegen loads) needs neither httpx nor the generated code.
_PUBLIC = {
    "AsyncConnectorClient": "mews_loyalty._client.connector",
    "ConnectorClient": "mews_loyalty._client.connector",
    "AsyncResource": "mews_loyalty._client.resource",
    "Resource": "mews_loyalty._client.resource",
    "AsyncReverseClient": "mews_loyalty._client.reverse",
    "ReverseClient": "mews_loyalty._client.reverse",
    "ApiTimeoutError": "mews_loyalty._errors",
    "ClientClosedError": "mews_loyalty._errors",
    "ConfigurationError": "mews_loyalty._errors",
    "ResponseTooLargeError": "mews_loyalty._errors",
    "CallArgumentError": "mews_loyalty._errors",
    "AuthenticationError": "mews_loyalty._errors",
    "BadRequestError": "mews_loyalty._errors",
    "ForbiddenError": "mews_loyalty._errors",
    "MewsApiError": "mews_loyalty._errors",
    "MewsConnectionError": "mews_loyalty._errors",
    "MewsError": "mews_loyalty._errors",
    "ProblemDetailError": "mews_loyalty._errors",
    "RateLimitError": "mews_loyalty._errors",
    "RequestTimeoutError": "mews_loyalty._errors",
    "RequestValidationError": "mews_loyalty._errors",
    "ServerError": "mews_loyalty._errors",
    "UnexpectedResponseError": "mews_loyalty._errors",
    "SharedRateLimit": "mews_loyalty._transport.pacing",
    "ExportResume": "mews_loyalty._errors",
    "AsyncPage": "mews_loyalty._wire.decode",
    "Page": "mews_loyalty._wire.decode",
    "RawResponse": "mews_loyalty._wire.decode",
    "ResultList": "mews_loyalty._wire.decode",
}


def __getattr__(name: str) -> _typing.Any:
    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # once resolved, a plain module attribute
        return value
    if name == "__spec_versions__":  # read from the shipped specs on first use (YAML parsing is not free)
        from mews_loyalty._version import spec_versions

        return spec_versions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC, "__spec_versions__"})


# A library logs, the application decides where to: without a handler of its own, nothing is printed.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ApiTimeoutError",
    "AsyncConnectorClient",
    "AsyncPage",
    "AsyncResource",
    "AsyncReverseClient",
    "AuthenticationError",
    "BadRequestError",
    "CallArgumentError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectorClient",
    "ExportResume",
    "ForbiddenError",
    "MewsApiError",
    "MewsConnectionError",
    "MewsError",
    "Page",
    "ProblemDetailError",
    "RateLimitError",
    "RawResponse",
    "RequestTimeoutError",
    "RequestValidationError",
    "Resource",
    "ResponseTooLargeError",
    "ResultList",
    "ReverseClient",
    "ServerError",
    "SharedRateLimit",
    "UnexpectedResponseError",
    "__version__",
]
