"""``mews-loyalty mock reverse``: the reference provider as a real process."""

from __future__ import annotations

import httpx
import pytest

from mews_loyalty._asgi import serve_in_process
from mews_loyalty._cli import main
from mews_loyalty.mock.reverse import TOKENS_ENVIRONMENT_VARIABLE
from tests.provider._support import LIST, NEXT_TOKEN, TOKEN, assert_conforms, list_body


def lookup(base_url: str, token: str, *ids: str) -> tuple[int, dict]:
    response = httpx.post(
        f"{base_url}{LIST}", json=list_body(*ids), headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, assert_conforms(response)


def test_the_command_serves_seed_data_to_every_given_token():
    # What a Mews-side developer runs: two tokens (a rotation) and the seed data.
    command = ["mock", "reverse", "--token", TOKEN, "--token", NEXT_TOKEN, "--seed-data"]
    with serve_in_process(command, env={TOKENS_ENVIRONMENT_VARIABLE: ""}) as base_url:
        first = lookup(base_url, TOKEN, "M-1004", "nope")
        second = lookup(base_url, NEXT_TOKEN, "M-1004")
        wrong = lookup(base_url, "other", "M-1004")
    assert first[0] == second[0] == 200
    assert [entry["status"] for entry in first[1]["data"]] == ["pending", "notFound"]
    assert wrong[0] == 401


def test_tokens_may_come_from_the_environment_and_seed_data_is_opt_in():
    # Tokens on the command line show in the process list; the environment keeps them out of it.
    with serve_in_process(
        ["mock", "reverse"], env={TOKENS_ENVIRONMENT_VARIABLE: f"{TOKEN}, {NEXT_TOKEN}"}
    ) as base_url:
        first = lookup(base_url, TOKEN, "M-1001")
        second = lookup(base_url, NEXT_TOKEN, "M-1001")
    assert first == second
    assert first[1]["data"][0]["status"] == "notFound"


def test_starting_without_a_token_is_a_usage_error(monkeypatch, capsys):
    # A provider without tokens would refuse every call; say so instead of serving.
    monkeypatch.delenv(TOKENS_ENVIRONMENT_VARIABLE, raising=False)
    assert main(["mock", "reverse", "--port", "0"]) == 2
    assert "--token" in capsys.readouterr().err


def test_an_unusable_token_is_a_usage_error_that_does_not_print_it(monkeypatch, capsys):
    # Typos in secrets get reported by position, never echoed to the terminal or CI logs.
    monkeypatch.delenv(TOKENS_ENVIRONMENT_VARIABLE, raising=False)
    assert main(["mock", "reverse", "--token", "good-token", "--token", "bad secret!"]) == 2
    error = capsys.readouterr().err
    assert "#2" in error
    assert "bad secret!" not in error


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_options(flag, capsys):
    # The options the README documents are discoverable from the command itself.
    assert main(["mock", "reverse", flag]) == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--token", "--seed-data", "--delete-on-unlink"):
        assert option in out
