"""Headless Chromium (Debian's package) for the tests that look at the HTML report as QA would."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

BROWSER_SECONDS = 90
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The browser's path; skips the test, saying why, when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run does it)")
    return found


def _run(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=BROWSER_SECONDS,
            check=True,
        )


def rendered_text(page: Path) -> str:
    """The body text of the page as the browser built it (its DOM after loading, tags stripped)."""
    dom = _run(page, "--dump-dom").stdout
    assert "<body" in dom, "the browser produced no document"
    body = dom[dom.index("<body") :]
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(text).split())


def screenshot(page: Path, png: Path, size: str = "1280,2000") -> Path:
    _run(page, f"--screenshot={png}", f"--window-size={size}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return png
