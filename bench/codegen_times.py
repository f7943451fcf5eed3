"""Regeneration and drift-check wall time, against one bare openapi-python-client run (the floor)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._measure import Section
from codegen.apis import APIS
from codegen.drift import check
from codegen.generate import generate_into


def _timed(func: object) -> float:
    started = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - started


def _bare_generator() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                str(Path(sys.executable).parent / "openapi-python-client"),
                "generate",
                "--path",
                str(APIS[0].spec),
                "--meta",
                "none",
                "--output-path",
                str(Path(tmp) / "out"),
            ],
            check=True,
            capture_output=True,
        )


def _regenerate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        generate_into(Path(tmp))


def _drift() -> None:
    if not check().clean:
        raise RuntimeError("generated/ is stale: the drift timing would measure a failing check")


def run() -> Section:
    section = Section("regeneration and drift check", "bare openapi-python-client (connector)", "s")
    section.rows["bare openapi-python-client (connector)"] = _timed(_bare_generator)
    section.rows["regenerate everything (2 APIs x 2 generators)"] = _timed(_regenerate)
    section.rows["drift check"] = _timed(_drift)
    return section
