"""The HTTP surface shared by every operation: validation, error bodies, Request-Id, paths, methods."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mock.conftest import CONNECTOR, DEMO_TOKENS, PROGRAM_ID, ConnectorApi, spec_errors

GET_ALL = CONNECTOR.by_id["loyaltyMemberships_getAll"].path
ADD = CONNECTOR.by_id["loyaltyMemberships_add"]
PAGE = {"Limitation": {"Count": 10}}
MEMBER = {
    "AccountId": "fadd5bb6-b428-45d5-94f8-fd0d89fece6d",
    "LoyaltyProgramId": PROGRAM_ID,
    "IsPrimary": True,
}


def assert_error_body(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert spec_errors("ConnectorApiExceptionResult", body) == []
    assert body["RequestId"] == response.headers["Request-Id"]
    return dict(body)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "The request body is not valid JSON"),
        (b"", "The request body is not valid JSON"),
        (b'{"a": NaN}', "The request body is not valid JSON"),
        (b"[]", "The request body must be a JSON object."),
        (b'"text"', "The request body must be a JSON object."),
        (b"null", "The request body must be a JSON object."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api: ConnectorApi, content: bytes, message: str):
    # Malformed input is the client's bug (400), never a server fault (500).
    body = assert_error_body(api.post(GET_ALL, content, headers={"Content-Type": "application/json"}), 400)
    assert body["Message"].startswith(message)


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("count as text", {"Limitation": {"Count": "5"}}, "Invalid Limitation: Limitation.Count"),
    ("count as boolean", {"Limitation": {"Count": True}}, "Invalid Limitation: Limitation.Count"),
    ("fraction", {"Limitation": {"Count": 5.5}}, "Invalid Limitation: Limitation.Count"),
    ("64-bit overflow", {"Limitation": {"Count": 2**70}}, "Invalid Limitation: Limitation.Count"),
    ("no limitation", {}, "Invalid Limitation: Limitation: Field required"),
    ("unknown property", {**PAGE, "Colour": "red"}, "Invalid Colour: Colour: Extra inputs are not permitted"),
    ("empty id list", {**PAGE, "AccountIds": []}, "Invalid AccountIds"),
    (
        "unknown state",
        {**PAGE, "MembershipStates": ["enrolled"]},
        "Invalid MembershipStates: MembershipStates[0]",
    ),
    (
        "hyphenless uuid",
        {**PAGE, "AccountIds": ["fadd5bb6b42845d594f8fd0d89fece6d"]},
        "Invalid AccountIds: AccountIds[0]",
    ),
    (
        "braced uuid",
        {**PAGE, "ChainIds": ["{fadd5bb6-b428-45d5-94f8-fd0d89fece6d}"]},
        "Invalid ChainIds: ChainIds[0]",
    ),
    (
        "space in date-time",
        {**PAGE, "CreatedUtc": {"StartUtc": "2025-01-01 00:00:00Z", "EndUtc": "2025-01-02T00:00:00Z"}},
        "Invalid CreatedUtc: CreatedUtc.StartUtc",
    ),
    (
        "unix time",
        {**PAGE, "CreatedUtc": {"StartUtc": "1735689600", "EndUtc": "2025-01-02T00:00:00Z"}},
        "Invalid CreatedUtc: CreatedUtc.StartUtc",
    ),
    (
        "no offset",
        {**PAGE, "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00", "EndUtc": "2025-01-02T00:00:00Z"}},
        "Invalid CreatedUtc: CreatedUtc.StartUtc",
    ),
    (
        "half an interval",
        {**PAGE, "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z"}},
        "Invalid CreatedUtc: CreatedUtc.EndUtc",
    ),
    (
        "language alone",
        {**PAGE, "LanguageCode": "en-US"},
        "Invalid CultureCode: CultureCode: Field required when LanguageCode is sent",
    ),
    ("culture alone", {**PAGE, "CultureCode": "en-US"}, "Invalid LanguageCode"),
    ("empty client", {**PAGE, "Client": ""}, "Invalid Client: Client"),
]


@pytest.mark.parametrize(("body", "message"), [pytest.param(b, m, id=i) for i, b, m in INVALID])
def test_what_the_spec_rejects_is_a_400_naming_the_parameter(
    api: ConnectorApi, body: dict[str, Any], message: str
):
    # Mews answers "Invalid <Parameter>"; the mock is as strict as the spec, including formats the
    # generated models would let through (hyphenless or braced UUIDs, date-times with a space).
    response = api.client.post(GET_ALL, json={**DEMO_TOKENS, **body})
    assert assert_error_body(response, 400)["Message"].startswith(message)


@pytest.mark.parametrize(
    ("item", "where"),
    [
        ({**MEMBER, "IsPrimary": 1}, "LoyaltyMemberships[0].IsPrimary"),
        ({**MEMBER, "Points": 2**31}, "LoyaltyMemberships[0].Points"),
        ({**MEMBER, "Code": "x" * 256}, "LoyaltyMemberships[0].Code"),
        ({**MEMBER, "Url": "https://example.com/a b"}, "LoyaltyMemberships[0].Url"),
        ({**MEMBER, "Url": "https://example.com/päth"}, "LoyaltyMemberships[0].Url"),
        ({**MEMBER, "ExpirationDate": "2029-12-24T00:00"}, "LoyaltyMemberships[0].ExpirationDate"),
        ({**MEMBER, "ExpirationDate": "20291224"}, "LoyaltyMemberships[0].ExpirationDate"),
    ],
)
def test_items_of_a_batch_are_validated_to_the_field(api: ConnectorApi, item: dict[str, Any], where: str):
    # The message points at the item and field, so a client can fix a 1000-item batch.
    response = api.client.post(ADD.path, json={**DEMO_TOKENS, "LoyaltyMemberships": [MEMBER, item]})
    assert assert_error_body(response, 400)["Message"].startswith(
        f"Invalid LoyaltyMemberships: {where.replace('[0]', '[1]')}"
    )


def test_whole_numbers_written_as_decimals_are_integers(api: ConnectorApi):
    # JSON Schema counts 5.0 as an integer; a spec-following client may send it.
    api.add_program()
    page = api.ok("loyaltyPrograms_getAll", Limitation={"Count": 5.0})
    assert len(page["LoyaltyPrograms"]) == 1


def test_locale_codes_together_are_accepted(api: ConnectorApi):
    # Mews allows LanguageCode and CultureCode on every request when both are sent.
    api.ok("loyaltyMemberships_getAll", PAGE, LanguageCode="en-US", CultureCode="en-US")


def test_every_answer_has_its_own_request_id(api: ConnectorApi):
    # Support asks for the Request-Id; two answers sharing one would point at the wrong request.
    seen = {api.call("loyaltyMemberships_getAll", PAGE).headers["Request-Id"] for _ in range(5)}
    seen.add(api.client.post(GET_ALL, content=b"{").headers["Request-Id"])
    assert len(seen) == 6


@pytest.mark.parametrize(
    "path",
    [
        "/api/connector/v1/loyaltyMemberships/getAll/",  # Mews: a trailing slash is a 404
        "/api/connector/v1/loyaltymemberships/getall",  # paths are case-sensitive
        "/api/connector/v1/customers/getAll",
        "/",
    ],
)
def test_a_path_outside_the_spec_is_a_404_with_a_request_id(api: ConnectorApi, path: str):
    # Wrong paths answer in the same error shape, so clients can log them the same way.
    body = assert_error_body(api.client.post(path, json={**DEMO_TOKENS, **PAGE}), 404)
    assert path in body["Message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_a_405_that_says_post(api: ConnectorApi, method: str):
    # Every operation is POST; the Allow header says so.
    response = api.client.request(method, GET_ALL)
    assert_error_body(response, 405)
    assert response.headers["Allow"] == "POST"


def test_head_gets_a_405_without_a_body(api: ConnectorApi):
    # HEAD answers carry headers only; the Request-Id is still there.
    response = api.client.head(GET_ALL)
    assert response.status_code == 405
    assert response.headers["Request-Id"]


def test_an_unexpected_failure_is_a_500_in_the_documented_shape(
    api: ConnectorApi, monkeypatch: pytest.MonkeyPatch
):
    # A bug in the mock must still answer the documented 500 body with its Request-Id.
    from mews_loyalty.mock.connector import operations as _connector_operations

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr(_connector_operations.ConnectorOperations, "handle", broken)
    response = api.call("loyaltyMemberships_getAll", PAGE)
    body = assert_error_body(response, 500)
    assert "boom" not in body["Message"]


def test_a_valid_date_that_cannot_be_expressed_in_utc_is_refused_not_a_500(api: ConnectorApi):
    # The spec takes year 1 with a positive offset; in UTC it falls before year 1. Saying so
    # beats crashing on a date a fuzzer (or a careless client) sends.
    program_id = api.add_program()
    item = {**MEMBER, "LoyaltyProgramId": program_id, "ExpirationDate": "0001-01-01T00:30:00+01:00"}
    message = api.error("loyaltyMemberships_add", 403, LoyaltyMemberships=[item])
    assert message.startswith("Invalid LoyaltyMemberships[0].ExpirationDate")
