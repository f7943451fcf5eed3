"""Under a plain ``uvicorn module:app``, with no logging set up, the provider sees why the kit answered 500."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.provider._support import AUTH, LIST, TOKEN, list_body

PROVIDER = f"""
from mews_loyalty.provider import create_provider_app


class Backend:
    def search_members(self, request):
        raise RuntimeError("the members database is unreachable")

    def enroll_member(self, request):
        raise RuntimeError("unused")

    def list_memberships(self, request):
        return [{{"providerMembershipId": "A", "membershipNumber": "1", "status": "Enrolled"}}]

    def link_membership(self, request):
        return True


app = create_provider_app(Backend(), {TOKEN!r})
"""
SEARCH = {
    "mewsEnterpriseId": "00000000-0000-4000-8000-0000000000e1",
    "memberFilter": {"email": "a@b.example"},
}


@pytest.mark.timeout(60)
def test_a_500s_traceback_and_a_withheld_entrys_cause_reach_stderr(tmp_path: Path) -> None:
    (tmp_path / "provider_app.py").write_text(textwrap.dedent(PROVIDER), encoding="utf-8")
    argv = [sys.executable, "-m", "uvicorn", "provider_app:app", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    started: list[str] = []
    try:
        for line in process.stderr:  # uvicorn announces its address on stderr
            started.append(line)
            match = re.search(r"Uvicorn running on (http://\S+)", line)
            if match:
                base_url = match.group(1)
                break
        else:
            pytest.fail("uvicorn did not start:\n" + "".join(started))
        with httpx.Client(base_url=base_url, headers=AUTH, timeout=20) as client:
            searched = client.post("/members/search", json=SEARCH)
            listed = client.post(LIST, json=list_body("A"))
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=20)
    assert (searched.status_code, listed.status_code) == (500, 500)
    logged = "".join(started) + rest
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: the members database is unreachable" in logged
    assert searched.json()["instance"] in logged  # the answer's instance finds its traceback
    assert "withheld an entry that does not conform" in logged
    assert "Input should be 'pending', 'enrolled', 'canceled', 'declined' or 'notFound'" in logged
    assert TOKEN not in logged
