"""The Python names the spec's names become, as the generators make them: one rule for the runtime's
catalog (accessors, actions, generated modules and classes) and for codegen (the typed methods' names).

    snake_case("loyaltyMemberships_getAll")                          # "loyalty_memberships_get_all"
    identifier("from")                                               # "from_": a keyword gets a "_"
    class_name("listMembershipsRequest")                             # "ListMembershipsRequest"
    resource_and_action("loyaltyMemberships_getAll", "Memberships")  # ("loyalty_memberships", "get_all")
    resource_and_action("listMemberships", "Memberships")            # ("memberships", "list_memberships")

Standard library only, like ``marks``: codegen imports this module without the generated code.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any


def snake_case(name: str) -> str:
    """``LoyaltyMembershipIds`` -> ``loyalty_membership_ids``, as the generators name fields and modules."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    return re.sub(r"[^a-zA-Z0-9]+", "_", words).strip("_").lower()


def identifier(name: str) -> str:
    """The snake_case name of a property as a Python keyword argument: a keyword gets a trailing ``_``
    (the pydantic models' field names, which the runtime accepts as keywords, are made the same way)."""
    snake = snake_case(name)
    return f"{snake}_" if keyword.iskeyword(snake) else snake


def class_name(component: str) -> str:
    """The class both generators make of a schema component (``listMembershipsRequest`` -> ``ListMembershipsRequest``)."""
    return component[:1].upper() + component[1:]


def first_tag(operation: Mapping[str, Any]) -> str:
    """The tag an operation is filed under (its first; ``default`` when it has none)."""
    return str(operation.get("tags", ["default"])[0])


def resource_and_action(operation_id: str, tag: str) -> tuple[str, str]:
    """The client accessor an operation hangs under and its method name there.

    A Connector operationId says both (``<resource>_<action>``); any other operation hangs under its
    first tag, named by its whole operationId.
    """
    if "_" in operation_id:
        resource, action = operation_id.split("_", 1)
        return snake_case(resource), snake_case(action)
    return snake_case(tag), snake_case(operation_id)


__all__ = ["class_name", "first_tag", "identifier", "resource_and_action", "snake_case"]
