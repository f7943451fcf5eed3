"""docs/provider.md's Python blocks run as written, with the example provider's ``Backend``."""

from __future__ import annotations

import inspect
import re
import runpy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.provider._support import LIST, list_body

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(
    r"```python\n(.*?)```", (ROOT / "docs" / "provider.md").read_text(encoding="utf-8"), re.DOTALL
)


def run_blocks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("PROVIDER_TOKENS", "current-token")  # restored after the test: a block sets it too
    example = runpy.run_path(str(ROOT / "examples" / "provider_minimal.py"), run_name="provider_docs")
    namespace: dict[str, Any] = {"Backend": example["Backend"]}
    for block in BLOCKS:
        exec(compile(block, "docs/provider.md", "exec"), namespace)
    return namespace


async def call(app: Any, path: str, token: str = "current-token", **options: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, **options)
    async with httpx.AsyncClient(transport=transport, base_url="http://docs") as client:
        return await client.post(path, json=list_body("A-1"), headers={"Authorization": f"Bearer {token}"})


async def test_every_block_runs_and_its_apps_answer(monkeypatch):
    namespace = run_blocks(monkeypatch)
    assert len(BLOCKS) >= 6
    assert (await call(namespace["site"], f"/mews{LIST}")).json()["data"][0]["points"] == 420
    assert (
        await call(namespace["app"], LIST, token="next-token")
    ).status_code == 200  # the callable's tokens
    # uvicorn --root-path /mews behind a stripping proxy: the path carries the prefix, root_path names it.
    assert (await call(namespace["app"], f"/mews{LIST}", root_path="/mews")).status_code == 200
    assert inspect.iscoroutinefunction(namespace["AsyncBackend"]().enroll_member)
