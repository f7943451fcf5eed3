"""Tokens never leave the request: not in a log line, repr, str, exception message or traceback."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mews_loyalty import MewsError, RequestValidationError
from mews_loyalty._transport.redaction import PLACEHOLDER, Redactor, Secret

from .fakes import FakeConnector, FakeProvider, add_item, problem, stored_item


def everything_said_about(error: BaseException) -> str:
    """The exception as tools show it: message, repr, args, attributes and the formatted traceback."""
    parts = [str(error), repr(error), repr(error.args), repr(vars(error))]
    parts += traceback.format_exception(error)
    return "\n".join(parts)


def raised_by(call: Callable[[], Any]) -> BaseException:
    with pytest.raises((MewsError, RequestValidationError)) as caught:
        call()
    return caught.value


def test_a_canary_token_appears_in_no_log_line_or_error(make_client, make_reverse_client, tokens, caplog):
    # Every path a token could slip out by: servers and transports echoing it, retries being logged,
    # decoding and validation failures. Each error is checked as tracebacks and error trackers show it.
    echo = {
        "Message": f"Invalid AccessToken {tokens.access_token}.",
        "RequestId": "r-1",
        "Details": {"Body": {"ClientToken": tokens.client_token}},
    }
    kept_item = stored_item("loyalty_memberships", 0, State=tokens.access_token)  # kept, and logged
    leaky_item = stored_item("loyalty_memberships", 1, State={"v": tokens.access_token})  # fails to decode
    server = FakeConnector()
    server.script(
        "loyaltyMemberships_getAll",
        httpx.Response(503, json=echo),  # retried, then served: a logged retry
        httpx.ConnectError(f"cannot reach host for {tokens.access_token}"),  # retried: not sent
        httpx.Response(200, json={"LoyaltyMemberships": [kept_item, leaky_item], "Cursor": None}),
    )
    server.script(
        "loyaltyMemberships_add",
        httpx.Response(401, json=echo),
        httpx.Response(502, text=f"<pre>{tokens.client_token}</pre>", headers={"Content-Type": "text/html"}),
        httpx.ReadError(f"reset while sending {tokens.client_token}"),
    )
    provider = FakeProvider(token=tokens.provider_token)
    field_error = {
        "type": "https://purl.mews.com/problem/core/field-invalid-format",
        "pointer": "#/providerMembershipIds/0",
        "detail": f"unknown token {tokens.provider_token}",
    }
    provider.script(
        "listMemberships",
        problem(422, "Unprocessable", f"Token {tokens.provider_token} is odd.", errors=[field_error]),
    )
    item = [add_item("loyalty_memberships", 0)]
    with caplog.at_level(logging.DEBUG):
        client = make_client(server)
        reverse = make_reverse_client(provider)
        errors = [
            raised_by(lambda: client.loyalty_memberships.get_all()),  # decodes a body quoting the token
            raised_by(lambda: client.loyalty_memberships.add(item)),  # 401 echoing both tokens
            raised_by(lambda: client.loyalty_memberships.add(item)),  # HTML 502 quoting a token
            raised_by(lambda: client.loyalty_memberships.add(item)),  # transport error quoting a token
            raised_by(lambda: client.loyalty_memberships.add([{"Bad": tokens.client_token}])),  # validation
            raised_by(
                lambda: reverse.list_memberships(
                    ["M-1"], enterprise_id="0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11"
                )
            ),
        ]
        shown = [repr(client), str(client), repr(client.loyalty_memberships), repr(reverse), dir(client)]
    assert len(server.requests) == 6
    assert all(body["AccessToken"] == tokens.access_token for body in server.sent())  # the tokens were used
    assert provider.requests[0].headers["Authorization"] == f"Bearer {tokens.provider_token}"
    assert PLACEHOLDER in str(errors[1])  # echoed tokens are replaced, the rest of the message kept
    assert caplog.records  # logging did happen
    assert any("is not a LoyaltyMembershipState value" in r.getMessage() for r in caplog.records)
    said = caplog.text + "\n".join(everything_said_about(error) for error in errors) + repr(shown)
    for token in tokens.all:
        assert token not in said


def test_validation_errors_do_not_chain_pydantic_errors_that_quote_the_input(make_client, tokens):
    # pydantic's ValidationError prints the input, and the input is a body holding the tokens.
    with pytest.raises(RequestValidationError) as caught:
        make_client(FakeConnector()).loyalty_memberships.add([{"Bad": 1}])
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_secret_shows_a_placeholder_everywhere_and_refuses_pickling():
    # Settings objects get printed, logged with %r and pickled by multiprocessing; none may carry the value.
    secret = Secret("CANARY-123")
    assert "CANARY-123" not in f"{secret} {secret!r} {secret:>40} {[secret]}"
    assert secret.reveal() == "CANARY-123"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_the_redactor_scrubs_nested_data_and_overlapping_tokens():
    # Details can nest the token anywhere; a token containing another must not leave a fragment behind.
    redactor = Redactor([Secret("ABC"), Secret("ABCDEF")])
    scrubbed = redactor.data({"k": ["xABCDEFx", {"ABC": "ABC"}], "n": 5})
    assert scrubbed == {"k": [f"x{PLACEHOLDER}x", {PLACEHOLDER: PLACEHOLDER}], "n": 5}
    assert "ABC" not in repr(redactor)


def test_a_named_secret_is_masked_as_its_shell_variable_and_still_hides_its_value():
    # The contract suite names tokens after the variables QA exports, so masked curl lines run as
    # pasted; the name changes the placeholder, never what repr, format or pickle give away.
    secret = Secret("CANARY-456789", "MEWS_ACCESS_TOKEN")
    assert (secret.name, secret.placeholder) == ("MEWS_ACCESS_TOKEN", "$MEWS_ACCESS_TOKEN")
    shown = f"{secret} {secret!r} {secret:>40} {[secret]}"
    assert "CANARY-456789" not in shown
    assert "$MEWS_ACCESS_TOKEN" in shown
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    redactor = Redactor([secret, Secret("OTHER-TOKEN")])
    assert redactor.text("a CANARY-456789 b OTHER-TOKEN") == f"a $MEWS_ACCESS_TOKEN b {PLACEHOLDER}"
    assert redactor.binary(b'{"t": "CANARY-456789"}') == b'{"t": "$MEWS_ACCESS_TOKEN"}'
    assert list(redactor.pieces("x CANARY-456789")) == ["x ", secret]


@pytest.mark.parametrize("name", ["", "1ST", "MEWS TOKEN", "$X", "A;rm"])
def test_a_secret_is_named_only_after_a_shell_variable(name):
    # The name is written into shell lines as "$NAME": anything else would not expand, or worse.
    with pytest.raises(ValueError, match="shell variable"):
        Secret("CANARY-456789", name)


def test_masking_is_one_pass_and_never_rewrites_a_placeholder():
    # A secret that happens to occur in another's placeholder must not be replaced inside it.
    redactor = Redactor([Secret("LONG-TOKEN-1", "ACCESS"), Secret("ACCESS")])
    assert redactor.text("LONG-TOKEN-1 ACCESS") == f"$ACCESS {PLACEHOLDER}"
    assert Redactor([Secret("short")], min_length=8).text("short") == "short"
