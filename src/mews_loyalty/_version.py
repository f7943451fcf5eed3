"""Which versions an installation is made of: the SDK's own, and the API specs its code was generated from.

    mews_loyalty.__version__          # "0.1.0": the SDK itself, semantic versioning (see CHANGELOG.md)
    spec_versions()                   # {"connector": "v1-loyalty.2026.11.22", "reverse": "2025.08.11"}
    spec_versions()["reverse"]        # the Loyalty Reverse API version the provider kit speaks

The SDK version moves with our code (a regenerated spec is at least a minor release); the spec versions
are the ``info.version`` of the spec copies shipped inside the generated models packages
(``mews_<api>_models/openapi.yaml``), the very documents the code was generated from, so they are right
for a wheel, an sdist build and an editable checkout alike (``generated/PROVENANCE.json``, which records
the same versions, is not part of a wheel).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mews_loyalty._spec.catalog import ApiName

__version__ = "0.1.0"


@cache
def spec_versions() -> Mapping[ApiName, str]:
    """The ``info.version`` of each API's spec, read once; read-only."""
    from mews_loyalty._spec.catalog import API_NAMES, load_document  # here: the catalog loads yaml, pydantic

    return MappingProxyType({api: str(load_document(api)["info"]["version"]) for api in API_NAMES})
