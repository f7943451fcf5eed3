"""Typed SDK, stateful mocks and contract tests for Mews' loyalty APIs.

    from mews_loyalty import ConnectorClient

    with ConnectorClient(client_token=..., access_token=..., client="MyApp 1.0") as mews:
        for membership in mews.loyalty_memberships.iter_all(activity_states=["Active"]):
            print(membership.id, membership.membership_number)

Items are the generated attrs models (``mews_loyalty._generated.connector.client.models``, ``mews_loyalty._generated.reverse.client.models``).
Everything public is listed in ``__all__``; modules starting with an underscore are internal.
"""

import logging
import pkgutil
from typing import Any as _Any

# The generated code (mews_loyalty._generated) sits in generated/mews_loyalty/ of a checkout, beside
# this folder: an editable install puts both roots on sys.path and this joins them into one package.
# In a wheel both are one folder already and this changes nothing.
__path__ = pkgutil.extend_path(__path__, __name__)

from mews_loyalty._client.connector import AsyncConnectorClient, ConnectorClient
from mews_loyalty._client.resource import AsyncResource, Resource
from mews_loyalty._client.reverse import AsyncReverseClient, ReverseClient
from mews_loyalty._errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    MewsApiError,
    MewsConnectionError,
    MewsError,
    ProblemDetailError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ServerError,
    UnexpectedResponseError,
)
from mews_loyalty._transport.pacing import SharedRateLimit
from mews_loyalty._wire.decode import Page

__version__ = "0.1.0"


def __getattr__(name: str) -> _Any:
    if name == "__spec_versions__":  # read from the shipped specs on first use (YAML parsing is not free)
        from mews_loyalty._version import spec_versions

        return spec_versions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A library logs, the application decides where to: without a handler of its own, nothing is printed.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AsyncConnectorClient",
    "AsyncResource",
    "AsyncReverseClient",
    "AuthenticationError",
    "BadRequestError",
    "ConnectorClient",
    "ForbiddenError",
    "MewsApiError",
    "MewsConnectionError",
    "MewsError",
    "Page",
    "ProblemDetailError",
    "RateLimitError",
    "RequestTimeoutError",
    "RequestValidationError",
    "Resource",
    "ReverseClient",
    "ServerError",
    "SharedRateLimit",
    "UnexpectedResponseError",
    "__version__",
]
