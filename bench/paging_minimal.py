"""Walk 20 000 memberships holding only the properties the spec requires (``bench/paging.py``)."""

from __future__ import annotations

from bench._measure import Section
from bench.paging import section


def run() -> Section:
    return section(minimal=True)
