"""`mews-loyalty mock connector`: a real server process, configured from the command line."""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty._asgi import serve_in_process
from mews_loyalty._cli import main
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CHAIN_ID, config_from_args
from tests.mock.conftest import CONNECTOR, DEMO_TOKENS

SECRET = "SECRET-0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF0123"
CHAIN_A = "11111111-1111-4111-8111-111111111111"


def test_the_command_serves_the_mock_as_a_process():
    # What QA starts by hand and the contract suite starts in CI: a separate process on loopback.
    with serve_in_process(["mock", "connector", "--seed-data", "--rate-limit", "off"]) as base_url:
        op = CONNECTOR.by_id["loyaltyPrograms_getAll"]
        response = httpx.post(base_url + op.path, json={**DEMO_TOKENS, "Limitation": {"Count": 10}})
    assert response.status_code == 200
    assert [program["Code"] for program in response.json()["LoyaltyPrograms"]] == ["GEC07", "PC01"]


def test_seed_minimal_serves_memberships_with_only_the_required_properties():
    # The paging_minimal benchmark's server: the demo data set with minimal memberships.
    argv = [
        "mock",
        "connector",
        "--seed-data",
        "--seed-memberships",
        "30",
        "--seed-minimal",
        "--rate-limit",
        "off",
    ]
    with serve_in_process(argv) as base_url:
        op = CONNECTOR.by_id["loyaltyMemberships_getAll"]
        body = {**DEMO_TOKENS, "ActivityStates": ["Active"], "Limitation": {"Count": 100}}
        response = httpx.post(base_url + op.path, json=body)
    assert response.status_code == 200
    set_properties = [
        {name for name, value in membership.items() if value is not None}
        for membership in response.json()["LoyaltyMemberships"]
    ]
    minimal = {"Id", "ChainId", "AccountId", "LoyaltyProgramId", "State", "IsPrimary"}
    assert set_properties.count(minimal) >= len(set_properties) - 2  # all but the documented ones


def test_token_options_build_the_access_map():
    # Own tokens next to the demo ones, single-chain and portfolio; --no-demo-tokens drops Mews'.
    config, host, port = config_from_args(
        [
            "--client-token",
            SECRET,
            "--access-token",
            SECRET,
            "--portfolio-token",
            f"P={CHAIN_A},{DEMO_CHAIN_ID}",
        ]
    )
    assert (host, port) == ("127.0.0.1", 8080)
    assert SECRET in config.client_tokens
    assert config.access_tokens[SECRET].chains == (DEMO_CHAIN_ID,)
    assert config.access_tokens["P"].portfolio
    assert config.access_tokens["P"].chains == (CHAIN_A, DEMO_CHAIN_ID)
    bare, _, _ = config_from_args(
        ["--no-demo-tokens", "--client-token", "C", "--access-token", f"A={CHAIN_A}"]
    )
    assert DEMO_ACCESS_TOKEN not in bare.access_tokens
    assert bare.access_tokens["A"].chains == (CHAIN_A,)


@pytest.mark.parametrize(
    "argv",
    [
        ["--access-token", f"{SECRET}=not-a-chain"],
        ["--portfolio-token", f"{SECRET}="],
        ["--rate-limit", "fast"],
        ["--faults", "418=0.5"],
        ["--no-demo-tokens"],
    ],
)
def test_bad_options_exit_2_with_a_reason_and_never_echo_tokens(
    argv: list[str], capsys: pytest.CaptureFixture[str]
):
    # Command lines hold tokens; an error message is printed to logs CI keeps.
    assert main(["mock", "connector", *argv]) == 2
    error = capsys.readouterr().err
    assert "error:" in error
    assert SECRET not in error
