"""The mock's 400 decision equals the spec's: generated models plus the spec's string formats."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mews_loyalty.mock.connector.errors import ConnectorError
from mews_loyalty.mock.connector.validation import RequestValidator
from tests.mock.conftest import CONNECTOR, DEMO_TOKENS, PROGRAM_ID

VALID = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2022-10-15T08:30:00.25+02:00",
    "date": "2029-12-24",
    "uri": "https://rewards.example.com/member/PRV-MBR-9842XKLT?x=1#top",
}
# Where each format sits in a request, as (operation, body with a slot for the string).
PLACES = {
    "uuid": ("loyaltyMemberships_getAll", lambda s: {"Limitation": {"Count": 1, "Cursor": s}}),
    "date-time": (
        "loyaltyMemberships_getAll",
        lambda s: {"Limitation": {"Count": 1}, "UpdatedUtc": {"StartUtc": s, "EndUtc": s}},
    ),
    "date": (
        "loyaltyMemberships_add",
        lambda s: {
            "LoyaltyMemberships": [
                {
                    "AccountId": PROGRAM_ID,
                    "LoyaltyProgramId": PROGRAM_ID,
                    "IsPrimary": True,
                    "ExpirationDate": s,
                }
            ]
        },
    ),
    "uri": (
        "loyaltyMemberships_add",
        lambda s: {
            "LoyaltyMemberships": [
                {"AccountId": PROGRAM_ID, "LoyaltyProgramId": PROGRAM_ID, "IsPrimary": True, "Url": s}
            ]
        },
    ),
}
# Where the spec allows what .NET (and so Mews) and pydantic cannot represent: leap seconds,
# year 0 and ports above 65535. Schemathesis never generates them; the mock answers 400.
BEYOND_REPRESENTATION = re.compile(r":60|^0000-|:\d{6,}|:6[5-9]\d{3}|:[7-9]\d{4}")


@functools.cache
def spec_validator(operation_id: str) -> jsonschema_rs.Validator:
    op = CONNECTOR.by_id[operation_id]
    schema = {
        "$ref": f"#/components/schemas/{op.request_schema}",
        "components": CONNECTOR.document["components"],
    }
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


@functools.cache
def mock_validator(operation_id: str) -> RequestValidator:
    return RequestValidator.for_operation(CONNECTOR.by_id[operation_id])


def mock_accepts(operation_id: str, body: dict[str, Any]) -> bool:
    """Whether validation lets the body through; a refusal must be a 400."""
    try:
        mock_validator(operation_id).validate(orjson.dumps(body), body)
    except ConnectorError as error:
        status = error.status
    else:
        return True
    assert status == 400
    return False


# Rewritings a lenient parser might take: pydantic accepts several of them, the spec none.
REWRITINGS = (
    lambda text: text,
    lambda text: text.replace("-", ""),
    lambda text: "{" + text + "}",
    lambda text: "urn:uuid:" + text,
    lambda text: text.replace("T", " "),
    lambda text: text.replace("T", "_"),
    lambda text: text[:16] + text[19:],  # a date-time without seconds
    lambda text: text[:19],  # ... without an offset
    lambda text: text.replace("-", ""),
    lambda text: "1735689600",
    lambda text: text.replace("rewards", "réwards"),
    lambda text: text.replace("/member", "/mem ber"),
    lambda text: text.upper(),
)


def mutations(fmt: str) -> st.SearchStrategy[str]:
    """Rewritings and near misses of a valid value: characters dropped, inserted or replaced."""
    alphabet = st.sampled_from("0123456789abcdefABCDEFxyzTtZz:-+./?#%{} _[]@é\u3000")
    edit = st.tuples(st.integers(0, 60), st.sampled_from(("drop", "insert", "replace")), alphabet)

    def apply(rewrite: Any, changes: list[tuple[int, str, str]]) -> str:
        text = rewrite(VALID[fmt])
        for position, kind, character in changes:
            position = min(position, len(text))
            if kind == "drop":
                text = text[:position] + text[position + 1 :]
            elif kind == "insert":
                text = text[:position] + character + text[position:]
            else:
                text = text[:position] + character + text[position + 1 :]
        return text

    return st.builds(apply, st.sampled_from(REWRITINGS), st.lists(edit, max_size=2))


@pytest.mark.parametrize("fmt", sorted(PLACES))
def test_the_valid_forms_are_accepted(fmt: str):
    # The baseline of the property below: a valid value in each place passes both.
    operation_id, place = PLACES[fmt]
    body = {**DEMO_TOKENS, **place(VALID[fmt])}
    assert spec_validator(operation_id).is_valid(body)
    assert mock_accepts(operation_id, body)


@pytest.mark.parametrize("fmt", sorted(PLACES))
@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mock_and_spec_agree_on_near_misses(fmt: str, data: st.DataObject):
    # pydantic alone accepts hyphen-less and braced UUIDs, date-times with a space or without
    # seconds, unix timestamps and IRIs; a mock that let those through would pass bad clients.
    operation_id, place = PLACES[fmt]
    text = data.draw(mutations(fmt))
    if BEYOND_REPRESENTATION.search(text):
        return
    body = {**DEMO_TOKENS, **place(text)}
    assert mock_accepts(operation_id, body) == spec_validator(operation_id).is_valid(body), text


EDGES = [
    ("uri", "https:/rewards.example.com/m"),  # RFC 3986 path-absolute: pydantic's URL type refuses it
    ("uri", "http://[v1.x]/"),
    ("uri", "http://[::1]:80/a?b#c"),
    ("uri", "urn:isbn:0451450523"),
    ("uri", "https:[//rewards.example.com/m"),
    ("uri", "http://[fe80::1%25eth0]/"),
    ("uri", "http://x/[a]"),
    ("uuid", "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6"),
    ("date-time", "2022-10-15t08:30:00z"),
    ("date-time", "2022-10-15T08:30Z"),
    ("date", "2029-02-29"),
]


@pytest.mark.parametrize(("fmt", "text"), EDGES)
def test_mock_and_spec_agree_on_known_edges(fmt: str, text: str):
    # Cases where pydantic and JSON Schema part ways in one direction or the other.
    operation_id, place = PLACES[fmt]
    body = {**DEMO_TOKENS, **place(text)}
    assert mock_accepts(operation_id, body) == spec_validator(operation_id).is_valid(body)
