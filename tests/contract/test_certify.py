"""``mews-loyalty certify reverse``: the rehearsal a provider runs before Mews' joint review.

Against the reference provider and ``examples/provider_minimal.py`` every flow that can run passes and
the page is written; against a provider with one defect the flow it breaks is the one the page names
as failed, and the exit status says so; the suite's endings hold (a provider that cannot be reached or
refuses the token: 2; a report folder holding other files: refused, nothing sent; SIGINT: 130, the
link undone). Providers run on the kit in a thread (uvicorn on loopback), one per test.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._cli import main as cli
from mews_loyalty.contract._certify.flows import FLOWS
from mews_loyalty.contract._certify.page import percentile
from mews_loyalty.contract._scenarios import reverse_members
from mews_loyalty.mock.reverse import InMemoryProvider
from mews_loyalty.provider import (
    EnrollMemberRequest,
    LinkMembershipRequest,
    SearchMembersRequest,
    create_provider_app,
)
from tests.contract._browser import rendered_text, screenshot
from tests.contract.conftest import REVERSE_TOKENS

EXAMPLE = Path(__file__).parents[2] / "examples" / "provider_minimal.py"
ALL_PASS = {flow.key: "passed" for flow in FLOWS} | {"checkout": "not run"}


def certify(base_url: str, report_dir: Path, *tokens: str, options: tuple[str, ...] = ()) -> int:
    arguments = ["certify", "reverse", "--base-url", base_url, "--report-dir", str(report_dir), *options]
    for token in tokens or REVERSE_TOKENS:
        arguments += ["--token", token]
    return cli(arguments)


def states(report_dir: Path) -> dict[str, str]:
    document = json.loads((report_dir / "certification.json").read_text())
    return {flow["key"]: flow["state"] for flow in document["flows"]}


def document(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "certification.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def reference() -> Iterator[tuple[str, InMemoryProvider]]:
    backend = InMemoryProvider.seeded()
    with serve_in_thread(create_provider_app(backend, REVERSE_TOKENS)) as base_url:
        yield base_url, backend


def serve(backend: object) -> Any:
    return serve_in_thread(create_provider_app(backend, REVERSE_TOKENS))


def test_the_reference_provider_passes_every_flow_and_the_page_hides_the_tokens(reference, tmp_path, capsys):
    base_url, backend = reference
    assert certify(base_url, tmp_path) == 0
    assert states(tmp_path) == ALL_PASS
    found = document(tmp_path)
    assert found["verdict"] == "PASSED"
    # The member it enrolled is listed for the provider to remove, and it is the one the provider made.
    ((enterprise, enrolled),) = backend.enrolled.items()
    assert found["enrolled"] == list(enrolled)
    assert str(enterprise) == found["enterpriseId"]
    assert found["testCustomerEmail"] == reverse_members.test_customer(found["runId"])["email"]
    assert not any(membership in enrolled for _, membership in backend.links), "the run left its link behind"
    # Latency per operation: every operation the flows called, its percentiles in order.
    assert set(found["latency"]) == {
        "searchMembers",
        "enrollMember",
        "listMemberships",
        "updateMembershipLink",
    }
    assert all(row["p50"] <= row["p95"] <= row["max"] for row in found["latency"].values())
    out, err = capsys.readouterr()
    assert "this rehearsal writes" in err
    assert found["testCustomerEmail"] in err
    assert f"page: {tmp_path / 'certification.html'}" in out
    assert found["enrolled"][0] in out
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert not any(token in text for token in REVERSE_TOKENS), path.name
    page = (tmp_path / "certification.html").read_text()
    assert "$MEWS_REVERSE_TOKEN" in page  # the curl lines name the token, never show it
    assert "@media print" in page


def test_the_example_provider_passes_every_flow(monkeypatch, tmp_path):
    monkeypatch.setenv("PROVIDER_TOKENS", ",".join(REVERSE_TOKENS))
    namespace = runpy.run_path(str(EXAMPLE), run_name="provider_minimal")
    with serve_in_thread(namespace["app"]) as base_url:
        assert certify(base_url, tmp_path) == 0
    assert states(tmp_path) == ALL_PASS
    assert document(tmp_path)["enrolled"][0] in namespace["MEMBERS"]


class NeverFinds(InMemoryProvider):
    """Finds nobody, ever: a search that ignores what it is asked."""

    async def search_members(self, request: SearchMembersRequest) -> list[dict[str, Any]]:
        return []


class LinkFails(InMemoryProvider):
    """Crashes on every link (the kit answers 500); unlinking still works."""

    async def link_membership(self, request: LinkMembershipRequest) -> bool:
        if request.is_linked:
            raise RuntimeError("the link table is locked")
        return await super().link_membership(request)


@pytest.mark.parametrize(
    ("backend", "failing", "said"),
    [
        (NeverFinds, "search-member", "finds membership"),
        (LinkFails, "link", "got 500"),
    ],
)
def test_a_defective_provider_fails_the_flow_it_breaks(backend, failing, said, tmp_path):
    with serve(backend.seeded()) as base_url:
        assert certify(base_url, tmp_path) == 1
    assert states(tmp_path) == ALL_PASS | {failing: "failed"}
    flow = next(f for f in document(tmp_path)["flows"] if f["key"] == failing)
    assert said in flow["reason"]
    text = " ".join((tmp_path / "certification.html").read_text().split())
    assert "Certification rehearsal: FAILED" in text
    title = next(f.title for f in FLOWS if f.key == failing)
    assert f'{title}</a></td><td><span class="state failed">failed</span>' in text


class EnrolFails(InMemoryProvider):
    """Crashes on every enrolment (the kit answers 500)."""

    async def enroll_member(self, request: EnrollMemberRequest) -> dict[str, Any]:
        raise RuntimeError("the members table is full")


def test_without_an_enrolled_member_the_flows_that_need_one_say_so(tmp_path):
    with serve(EnrolFails.seeded()) as base_url:
        assert certify(base_url, tmp_path) == 1
    needing = ("search-member", "list-refresh", "link", "unlink")
    assert states(tmp_path) == ALL_PASS | {"enrol": "failed"} | dict.fromkeys(needing, "not run")
    found = document(tmp_path)
    assert found["enrolled"] == []
    for flow in found["flows"]:
        if flow["key"] in needing:
            assert flow["reason"] == "needs the member the Enroll flow makes (it enrolled none)"


def test_one_token_leaves_rotation_not_run_and_the_run_passes(reference, tmp_path):
    # A latency budget no answer keeps is advice for the review, never a failed flow.
    base_url, _ = reference
    assert certify(base_url, tmp_path, REVERSE_TOKENS[0], options=("--latency-budget", "0.000001")) == 0
    assert states(tmp_path) == ALL_PASS | {"token-rotation": "not run"}
    found = document(tmp_path)
    rotation = next(f for f in found["flows"] if f["key"] == "token-rotation")
    assert "needs a second --token" in rotation["reason"]
    slow = next(item for item in found["leftForReview"] if item.startswith("Latency:"))
    assert all(operation in slow for operation in found["latency"])
    assert '<td class="n over">' in (tmp_path / "certification.html").read_text()


def test_help_says_it_writes_and_what_it_leaves(capsys):
    assert cli(["certify", "reverse", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "It writes by design" in text
    assert "the API cannot delete a member, so the page lists it for you to remove" in text
    assert cli(["--help"]) == 0
    assert "certify reverse" in capsys.readouterr().out


def test_a_provider_that_cannot_be_reached_could_not_run(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert certify(f"http://127.0.0.1:{port}", tmp_path) == 2
    found = document(tmp_path)
    assert found["verdict"] == "COULD NOT RUN"
    assert "cannot reach" in found["couldNotRun"]
    assert set(states(tmp_path).values()) == {"not run"}
    assert found["enrolled"] == []
    assert "COULD NOT RUN" in capsys.readouterr().out


def test_a_refused_token_could_not_run(reference, tmp_path):
    base_url, backend = reference
    assert certify(base_url, tmp_path, "a-token-the-provider-never-issued") == 2
    assert "refused the first --token" in document(tmp_path)["couldNotRun"]
    assert backend.enrolled == {}


def test_a_folder_holding_other_files_is_refused_before_anything_is_sent(reference, tmp_path, capsys):
    base_url, backend = reference
    (tmp_path / "notes.txt").write_text("mine")
    assert certify(base_url, tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert backend.enrolled == {}
    assert "holds what this suite did not write (notes.txt)" in capsys.readouterr().err
    # An earlier rehearsal's folder is the suite's own: replaced.
    earlier = tmp_path / "earlier"
    assert certify(base_url, earlier) == 0
    assert certify(base_url, earlier) == 0
    assert len(backend.enrolled[next(iter(backend.enrolled))]) == 2  # a fresh test customer per run


class InterruptedWhileLinking(InMemoryProvider):
    """Links, then the operator presses Ctrl-C (the process gets SIGINT while the answer is on its way)."""

    async def link_membership(self, request: LinkMembershipRequest) -> bool:
        linked = await super().link_membership(request)
        if request.is_linked:
            os.kill(os.getpid(), signal.SIGINT)
        return linked


def test_ctrl_c_undoes_the_link_writes_the_page_and_exits_130(tmp_path):
    backend = InterruptedWhileLinking.seeded()
    with serve(backend) as base_url:
        assert certify(base_url, tmp_path) == 130
    assert backend.links == InMemoryProvider.seeded().links  # the link it made is undone
    found = document(tmp_path)
    assert found["verdict"] == "INTERRUPTED"
    assert found["interrupted"] == "SIGINT"
    reached = states(tmp_path)
    assert [reached[key] for key in ("search-nobody", "enrol", "search-member", "list-refresh")] == [
        "passed"
    ] * 4
    link = next(flow for flow in found["flows"] if flow["key"] == "link")
    assert link["state"] == "not run"
    assert "interrupted during this flow" in link["reason"]
    assert [exchange["status"] for exchange in link["exchanges"]] == [200]  # what it sent is shown
    assert reached["unlink"] == "not run"
    assert found["enrolled"]


def test_percentiles_are_measured_values():
    assert percentile([0.3, 0.1, 0.2], 0.5) == 0.2
    assert percentile([0.1] * 19 + [9.0], 0.95) == 0.1
    assert percentile([0.1] * 19 + [9.0, 9.0], 0.95) == 9.0


def test_the_page_reads_in_a_browser(reference, tmp_path):
    # As a reviewer opens it: the summary first, then every flow's evidence, nothing but text.
    base_url, _ = reference
    report = tmp_path / "report"
    assert certify(base_url, report) == 0
    text = rendered_text(report / "certification.html")
    assert text.index("Summary: Mews' self-test list") < text.index("Evidence")
    for flow in FLOWS:
        assert flow.title in text
    assert "Test members to remove" in text
    assert "Left for the joint review" in text
    screenshot(report / "certification.html", tmp_path / "page.png")
