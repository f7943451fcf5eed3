"""What the SDK sends, the servers accept: one format grammar for the SDK's check and the mock's.

The SDK validated with pydantic, which takes braced, URN and bare-hex UUIDs and date-times without
seconds; the mock, like Mews, answers those with 400. Generated strings for each format go through
the SDK's own request building (``build`` and ``encode``, what every call sends) and every body the
SDK would send is handed to the mock's validator: none may be refused. Refusing before sending is
always allowed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mews_loyalty import RequestValidationError
from mews_loyalty._spec.catalog import catalog
from mews_loyalty._wire.encode import build, encode
from mews_loyalty._wire.formats import FORMATS, canonical_uuid, format_checker
from mews_loyalty.mock.connector.errors import ConnectorError
from mews_loyalty.mock.connector.validation import RequestValidator, parse_object
from mews_loyalty.provider._parse import parse_payload
from mews_loyalty.provider._problems import ProviderProblem

OPS = catalog("connector").by_id
GET_ALL = OPS["loyaltyMemberships_getAll"]
UPDATE = OPS["loyaltyMemberships_update"]
ENVELOPE = {"ClientToken": "client-token", "AccessToken": "access-token", "Client": "Format tests 1.0"}
MEMBERSHIP = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
BOUNDED = settings(max_examples=300, deadline=None)


def uuid_spellings(value: uuid.UUID) -> list[str]:
    text = str(value)
    return [
        text,
        text.upper(),
        "{" + text + "}",
        "{" + text.upper() + "}",
        "urn:uuid:" + text,
        "URN:UUID:" + text,
        value.hex,
        value.hex.upper(),
        "{" + value.hex + "}",  # braces around bare hex: not a spelling anyone means
        "uuid:" + text,
        text[:-1],
        text + "0",
        " " + text,
        text.replace("-", "", 1),
    ]


def date_time_spellings(moment: datetime) -> list[str]:
    return [
        moment.isoformat(),
        moment.isoformat().replace("+00:00", "Z"),
        moment.strftime("%Y-%m-%dT%H:%MZ"),  # no seconds
        moment.strftime("%Y-%m-%d %H:%M:%SZ"),  # a space for the T
        moment.strftime("%Y-%m-%dt%H:%M:%Sz"),
        moment.strftime("%Y-%m-%dT%H:%M:%S"),  # no offset
        moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        moment.strftime("%Y-%m-%d"),
        str(int(moment.timestamp())),
    ]


def date_spellings(day: date) -> list[str]:
    return [day.isoformat(), day.strftime("%Y%m%d"), day.strftime("%d.%m.%Y"), day.isoformat() + "T00:00:00Z"]


MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
STRINGS = {
    "uuid": st.one_of(
        st.uuids().flatmap(lambda value: st.sampled_from(uuid_spellings(value))),
        st.text(alphabet="0123456789abcdefABCDEF-{}:urnid ", max_size=45),
    ),
    "date-time": st.one_of(
        MOMENTS.flatmap(lambda moment: st.sampled_from(date_time_spellings(moment))),
        st.text(alphabet="0123456789-:TtZz+. ", max_size=32),
    ),
    "date": st.one_of(
        st.dates(min_value=date(1900, 1, 1)).flatmap(lambda day: st.sampled_from(date_spellings(day))),
        MOMENTS.flatmap(lambda moment: st.sampled_from(date_time_spellings(moment))),
        st.text(alphabet="0123456789-:TZ ", max_size=24),
    ),
    "uri": st.one_of(
        st.from_regex(r"\A(https?|urn|mailto|ftp):[a-z0-9./%?#=&:@\[\]-]{0,30}\Z"),
        st.text(alphabet="abhtps:/.%[]?#@ 0123456789", max_size=30),
    ),
}


def body_with(fmt: str, text: str) -> tuple[Any, dict[str, Any]]:
    """An otherwise valid request body with ``text`` at a place of the format, as the SDK builds it."""
    if fmt == "uuid":
        return GET_ALL, build(GET_ALL, ENVELOPE, params={"account_ids": [text]}, paging=(10, None))
    if fmt == "date-time":
        interval = {"StartUtc": text, "EndUtc": text}
        return GET_ALL, build(GET_ALL, ENVELOPE, params={"created_utc": interval}, paging=(10, None))
    field = {"date": "ExpirationDate", "uri": "Url"}[fmt]  # ExpirationDate: a date or a date-time
    return UPDATE, build(
        UPDATE, ENVELOPE, items=[{"LoyaltyMembershipId": MEMBERSHIP, field: {"Value": text}}]
    )


def sent_or_none(fmt: str, text: str) -> bytes | None:
    op, body = body_with(fmt, text)
    try:
        return encode(op, body)
    except RequestValidationError:
        return None  # refused before sending: allowed


def assert_the_mock_accepts(fmt: str, text: str) -> None:
    data = sent_or_none(fmt, text)
    if data is None:
        return
    op, _ = body_with(fmt, text)
    try:
        RequestValidator.for_operation(op).validate(data, parse_object(data))
    except ConnectorError as error:
        pytest.fail(f"the SDK sent {text!r} as {fmt} and the mock answered 400: {error}")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", sorted(STRINGS))
@BOUNDED
@given(data=st.data())
def test_nothing_the_sdk_sends_is_refused_by_the_mock_for_its_format(fmt, data):
    assert_the_mock_accepts(fmt, data.draw(STRINGS[fmt], label=fmt))


LINK = catalog("reverse").by_id["updateMembershipLink"]


@pytest.mark.timeout(120)
@BOUNDED
@given(text=STRINGS["uuid"])
def test_nothing_the_reverse_client_sends_is_refused_by_the_kit_for_its_format(text):
    # The same rule towards a provider: the kit answers 400 for what its grammar refuses.
    params = {"mews_enterprise_id": text, "provider_membership_id": "M-1", "mews_customer_id": text}
    try:
        data = encode(LINK, build(LINK, {}, params={**params, "is_linked": True}))
    except RequestValidationError:
        return
    try:
        parse_payload(LINK, data)
    except ProviderProblem as problem:
        pytest.fail(f"the Reverse client sent {text!r} as uuid and the kit answered {problem.status}")


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("uuid", "{3fa85f64-5717-4562-b3fc-2c963f66afa6}"),
        ("uuid", "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("uuid", "3fa85f6457174562b3fc2c963f66afa6"),
        ("date-time", "2025-01-01T00:00Z"),
    ],
)
def test_the_cases_users_hit_are_sent_in_a_form_the_mock_takes_or_refused(fmt, text):
    # The four spellings from the bug report, each sent by the SDK and refused by the mock before.
    assert_the_mock_accepts(fmt, text)


@pytest.mark.parametrize(
    "spelled",
    [
        "{3FA85F64-5717-4562-B3FC-2C963F66AFA6}",
        "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "URN:UUID:3FA85F64-5717-4562-B3FC-2C963F66AFA6",
        "3fa85f6457174562b3fc2c963f66afa6",
    ],
)
def test_ids_spelled_the_other_common_ways_are_sent_canonical(spelled):
    # Refusing these would be correct but unfriendly: they name one UUID without doubt.
    data = sent_or_none("uuid", spelled)
    assert data is not None
    assert parse_object(data)["AccountIds"] == [MEMBERSHIP]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("date-time", "2025-01-01T00:00Z"),
        ("date-time", "2025-01-01 00:00:00Z"),
        ("uuid", "{3fa85f6457174562b3fc2c963f66afa6}"),
        ("uuid", "3fa85f64-5717-4562-b3fc-2c963f66afa"),
        ("date", "20250101"),
    ],
)
def test_what_the_mock_would_refuse_is_refused_before_sending(fmt, text):
    assert sent_or_none(fmt, text) is None


def test_one_checker_serves_the_sdk_the_mock_and_the_kit():
    # The same object, not two walkers that drift apart (the kit's ignored anyOf).
    assert RequestValidator.for_operation(UPDATE).formats is format_checker(UPDATE)
    paths = dict(format_checker(UPDATE).paths)
    assert paths[("LoyaltyMembershipUpdates", "*", "ExpirationDate", "Value")] == {"date", "date-time"}


def test_canonical_uuid_only_rewrites_unambiguous_spellings():
    assert canonical_uuid("not-a-uuid") is None
    assert canonical_uuid("{" + MEMBERSHIP.replace("-", "") + "}") is None
    assert canonical_uuid("{" + MEMBERSHIP.upper() + "}") == MEMBERSHIP
    assert FORMATS["uuid"](MEMBERSHIP.upper())  # already valid: sent as the caller wrote it


def test_in_a_bulk_body_only_the_odd_rows_are_rewritten_or_reported_and_at_their_place():
    # The check passes over a body without noting positions and finds them only when it fails.
    rows = [{"LoyaltyMembershipId": MEMBERSHIP} for _ in range(1200)]
    rows[7] = {"LoyaltyMembershipId": "{" + MEMBERSHIP.upper() + "}"}
    checker = format_checker(UPDATE)
    body = {"LoyaltyMembershipUpdates": rows}
    normalised = checker.normalised(body)
    assert normalised["LoyaltyMembershipUpdates"][7] == {"LoyaltyMembershipId": MEMBERSHIP}
    assert normalised["LoyaltyMembershipUpdates"][8] is rows[8]  # the rest is not copied
    assert checker.violations(normalised) == []
    rows[1100] = {"LoyaltyMembershipId": MEMBERSHIP, "ExpirationDate": {"Value": "20250101"}}
    rows[1150] = {"LoyaltyMembershipId": "nope"}
    assert checker.violations(checker.normalised(body)) == [
        (("LoyaltyMembershipUpdates", 1150, "LoyaltyMembershipId"), {"uuid"}),
        (("LoyaltyMembershipUpdates", 1100, "ExpirationDate", "Value"), {"date", "date-time"}),
    ]
