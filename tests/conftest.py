"""Shared test helpers: the documented examples kept as test data (tests never read ../shared)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run and machine: a failure in CI is reproducible,
# and a pass does not depend on luck. No example database is written into the work tree.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

DATA = Path(__file__).parent / "data"


def load_examples(api: str) -> list[dict[str, Any]]:
    return [
        {**json.loads(path.read_text()), "file": path.name}
        for path in sorted((DATA / "examples" / api).glob("*.json"))
    ]


def example_params(api: str) -> list[Any]:
    return [pytest.param(example, id=example["file"].removesuffix(".json")) for example in load_examples(api)]
