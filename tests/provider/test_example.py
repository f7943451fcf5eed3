"""``examples/provider_minimal.py``: a provider of the four operations in a page gets the kit's whole behaviour."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mews_loyalty._asgi import LISTENING_PREFIX, serve_in_thread
from tests.provider._support import (
    ENTERPRISE,
    LINK,
    LIST,
    TOKEN,
    assert_conforms,
    field_errors,
    link_body,
    list_body,
)

SEARCH = "/members/search"
ENROL = "/members"

EXAMPLE = Path(__file__).parents[2] / "examples" / "provider_minimal.py"


def test_the_example_is_a_page():
    # The promise of the kit: a conforming provider of the whole API is a page of business logic.
    assert len(EXAMPLE.read_text().splitlines()) < 70


@pytest.fixture
def example(monkeypatch):
    monkeypatch.setenv("PROVIDER_TOKENS", TOKEN)
    namespace = runpy.run_path(str(EXAMPLE), run_name="provider_minimal")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with (
        serve_in_thread(namespace["app"]) as base_url,
        httpx.Client(base_url=base_url, headers=headers) as client,
    ):
        yield client, namespace


def test_the_example_lists_links_and_enforces_its_rule(example):
    # Lookup with notFound filled in, link round trip, a 422 rule and validation, all from the kit.
    client, namespace = example
    listed = assert_conforms(client.post(LIST, json=list_body("A-2", "Z", "A-1")))
    assert [(e["providerMembershipId"], e["status"]) for e in listed["data"]] == [
        ("A-2", "pending"),
        ("Z", "notFound"),
        ("A-1", "enrolled"),
    ]
    assert assert_conforms(client.put(LINK, json=link_body("A-1"))) == {"success": True}
    assert namespace["LINKS"]["A-1"] is not None
    assert assert_conforms(client.put(LINK, json=link_body("A-1", linked=False))) == {"success": True}
    assert namespace["LINKS"]["A-1"] is None
    assert assert_conforms(client.put(LINK, json=link_body("Z"))) == {"success": False}
    pending = client.put(LINK, json=link_body("A-2"))
    assert (pending.status_code, assert_conforms(pending)["detail"]) == (
        422,
        "Only an enrolled membership can be linked.",
    )
    invalid = client.post(LIST, json=list_body("a", "b", "c", "x" * 51))
    assert field_errors(assert_conforms(invalid)) == {("#/providerMembershipIds/3", "field-too-long")}
    assert (
        client.post(LIST, json=list_body("A-1"), headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_the_example_runs_as_a_script():
    # `python examples/provider_minimal.py` is how its readers will start it.
    env = {**os.environ, "PROVIDER_TOKENS": TOKEN, "PORT": "0"}
    process = subprocess.Popen([sys.executable, str(EXAMPLE)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().removeprefix(LISTENING_PREFIX).strip()
        response = httpx.post(
            f"{base_url}{LIST}", json=list_body("A-1"), headers={"Authorization": f"Bearer {TOKEN}"}
        )
    finally:
        process.terminate()
        process.wait(20)
    assert assert_conforms(response)["data"][0]["points"] == 420


def test_the_example_passes_the_contract_suite(monkeypatch, tmp_path):
    # "Passes the same checks": the under-30-line provider must satisfy the very suite QA runs
    # before certification (every schemathesis phase and the Reverse API scenarios), not just our unit tests.
    from mews_loyalty.contract.cli import OK, reverse_main

    monkeypatch.setenv("PROVIDER_TOKENS", f"{TOKEN},{TOKEN}-next")
    namespace = runpy.run_path(str(EXAMPLE), run_name="provider_minimal")
    with serve_in_thread(namespace["app"]) as base_url:
        status = reverse_main(
            [
                "--base-url", base_url,
                "--token", TOKEN,
                "--token", f"{TOKEN}-next",
                "--membership-id", "A-1",
                "--membership-id", "A-2",
                "--max-examples", "25",
                "--seed", "7",
                "--report-dir", str(tmp_path),
            ]
        )  # fmt: skip
    assert status == OK, (tmp_path / "reverse" / "failures.txt").read_text()


def test_the_example_enrols_once_and_finds_the_member(example):
    # Enrolment is idempotent per customer, the member is found and listed, a bad filter is refused.
    client, _ = example
    customer = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}
    body = {"mewsEnterpriseId": ENTERPRISE, "customer": customer}
    first = assert_conforms(client.post(ENROL, json=body))
    assert assert_conforms(client.post(ENROL, json=body)) == first
    membership_id = first["membership"]["providerMembershipId"]
    for member_filter in ({"email": "grace@example.com"}, {"firstName": "Grace", "lastName": "Hopper"}):
        found = assert_conforms(
            client.post(SEARCH, json={"mewsEnterpriseId": ENTERPRISE, "memberFilter": member_filter})
        )
        assert [m["membership"]["providerMembershipId"] for m in found["data"]] == [membership_id]
    listed = assert_conforms(client.post(LIST, json=list_body(membership_id)))
    assert listed["data"][0]["status"] == "enrolled"
    refused = client.post(
        SEARCH, json={"mewsEnterpriseId": ENTERPRISE, "memberFilter": {"firstName": "Grace"}}
    )
    assert refused.status_code == 400
    problem = assert_conforms(refused)
    assert problem["type"] == "https://purl.mews.com/problem/loyalty/invalid-member-search-criteria"
    assert ("#/memberFilter", "field-required") in field_errors(problem)
