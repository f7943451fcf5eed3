"""Request validation: every input the spec rejects is a 400 problem pointing at the field."""

from __future__ import annotations

import json

import pytest

from tests.provider._support import (
    AUTH,
    ENTERPRISE,
    LINK,
    LIST,
    MembershipsOnly,
    assert_conforms,
    field_errors,
    link_body,
    list_body,
)

pytestmark = pytest.mark.anyio


class RecordingBackend(MembershipsOnly):
    """Knows nothing; records what reached it, so a test can tell the kit stopped a request."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    async def list_memberships(self, request):
        self.calls.append(request)
        return []

    async def link_membership(self, request):
        self.calls.append(request)
        return True


@pytest.fixture
def backend():
    return RecordingBackend()


async def rejected(kit_client, backend, method, path, **request):
    async with kit_client(backend) as client:
        response = await client.request(
            method, path, headers={**AUTH, **request.pop("headers", {})}, **request
        )
    body = assert_conforms(response)
    assert response.status_code == 400, body
    assert body["type"] == "https://purl.mews.com/problem/core/bad-request"
    assert backend.calls == []
    return body


async def test_more_than_100_ids_point_at_the_array(kit_client, backend):
    # The spec caps a lookup at 100 ids; the whole array is at fault, not one element.
    body = await rejected(kit_client, backend, "POST", LIST, json=list_body(*(f"id-{n}" for n in range(101))))
    assert field_errors(body) == {("#/providerMembershipIds", "field-too-long")}


async def test_an_empty_id_list_is_too_short(kit_client, backend):
    # At least one id is required: an empty lookup is malformed, not an empty answer.
    body = await rejected(kit_client, backend, "POST", LIST, json=list_body())
    assert field_errors(body) == {("#/providerMembershipIds", "field-too-short")}


async def test_a_51_character_id_points_at_its_index(kit_client, backend):
    # Mews must learn which of up to 100 ids is wrong: the pointer carries the array index.
    body = await rejected(
        kit_client, backend, "POST", LIST, json=list_body("a", "b", "c", "x" * 51, "y" * 50)
    )
    assert field_errors(body) == {("#/providerMembershipIds/3", "field-too-long")}
    assert "50" in body["errors"][0]["detail"]


@pytest.mark.parametrize(
    "missing", ["mewsEnterpriseId", "providerMembershipId", "mewsCustomerId", "isLinked"]
)
async def test_each_missing_required_field_is_reported(kit_client, backend, missing):
    # Every required property of the link request is named when absent.
    body = link_body("M-1")
    del body[missing]
    problem = await rejected(kit_client, backend, "PUT", LINK, json=body)
    assert field_errors(problem) == {(f"#/{missing}", "field-required")}


@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        "",
        "0000000000004000800000000000000e1",  # 33 hex digits
        "00000000000040008000000000000e01",  # 32 bare hex digits: pydantic would accept it
        "{00000000-0000-4000-8000-0000000000e1}",  # braces: pydantic would accept them
        "urn:uuid:00000000-0000-4000-8000-0000000000e1",  # URN form: pydantic would accept it
    ],
)
async def test_a_non_uuid_enterprise_id_is_an_invalid_format(kit_client, backend, value):
    # JSON Schema's uuid format is the hyphenated 8-4-4-4-12 form only, stricter than pydantic.
    body = await rejected(
        kit_client, backend, "POST", LIST, json={**list_body("a"), "mewsEnterpriseId": value}
    )
    assert field_errors(body) == {("#/mewsEnterpriseId", "field-invalid-format")}


async def test_an_upper_case_uuid_is_accepted(kit_client, backend):
    # Hex digits are case-insensitive in RFC 9562; only the layout is checked.
    async with kit_client(backend) as client:
        response = await client.post(
            LIST, json=list_body("a") | {"mewsEnterpriseId": ENTERPRISE.upper()}, headers=AUTH
        )
    assert_conforms(response)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("isLinked", "true"),
        ("isLinked", 1),
        ("isLinked", None),
        ("providerMembershipId", 42),
        ("mewsCustomerId", 7),
        ("providerEnterpriseId", None),
    ],
)
async def test_a_wrong_json_type_is_an_invalid_type(kit_client, backend, field, value):
    # No coercion: "true" is not a boolean and null is not a string, as in JSON Schema.
    body = await rejected(kit_client, backend, "PUT", LINK, json=link_body("M-1") | {field: value})
    assert field_errors(body) == {(f"#/{field}", "field-invalid-type")}


async def test_every_faulty_field_is_reported_at_once(kit_client, backend):
    # One round trip should reveal all problems, across kinds and positions.
    request = {"mewsEnterpriseId": "nope", "providerMembershipIds": ["ok", 5, "z" * 60], "colour": "red"}
    body = await rejected(kit_client, backend, "POST", LIST, json=request)
    assert field_errors(body) == {
        ("#/mewsEnterpriseId", "field-invalid-format"),
        ("#/providerMembershipIds/1", "field-invalid-type"),
        ("#/providerMembershipIds/2", "field-too-long"),
        ("#/colour", "field-not-allowed-value"),
    }


async def test_pointer_tokens_are_escaped(kit_client, backend):
    # RFC 6901: "~" and "/" inside a name become "~0" and "~1", or the pointer would mislead.
    body = await rejected(kit_client, backend, "POST", LIST, json=list_body("a") | {"a/b~c": 1})
    assert field_errors(body) == {("#/a~1b~0c", "field-not-allowed-value")}


async def test_a_pointer_never_exceeds_the_spec_limit(kit_client, backend):
    # fieldError.pointer is at most 255 characters; an absurd property name must not break that.
    body = await rejected(kit_client, backend, "POST", LIST, json=list_body("a") | {"é" * 300: 1})
    assert field_errors(body) == {("#", "field-not-allowed-value")}


@pytest.mark.parametrize("content", [b"", b"{", b"{'a': 1}", b'{"a": 1} trailing', b"\xff\xfe"])
async def test_malformed_json_is_a_400_problem_without_field_errors(kit_client, backend, content):
    # Not JSON at all: there is no field to point at.
    body = await rejected(
        kit_client, backend, "POST", LIST, content=content, headers={"content-type": "application/json"}
    )
    assert "errors" not in body
    assert "JSON" in body["detail"]


@pytest.mark.parametrize("content", [b"null", b"[]", b'"text"', b"42"])
async def test_a_body_that_is_not_an_object_points_at_the_root(kit_client, backend, content):
    # Valid JSON of the wrong shape: the document itself ("#") has the wrong type.
    body = await rejected(kit_client, backend, "POST", LIST, content=content)
    assert field_errors(body) == {("#", "field-invalid-type")}


async def test_a_non_json_content_type_is_refused(kit_client, backend):
    # The spec accepts only application/json bodies; a form post is a client error, not a 415.
    body = await rejected(
        kit_client,
        backend,
        "POST",
        LIST,
        content=json.dumps(list_body("a")),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "application/json" in body["detail"]


async def test_a_json_body_with_charset_and_without_content_type_is_accepted(kit_client, backend):
    # Clients differ in how they label JSON; the body decides as long as the label is not another type.
    async with kit_client(backend) as client:
        labelled = await client.post(
            LIST,
            content=json.dumps(list_body("a")),
            headers={**AUTH, "content-type": "application/json; charset=utf-8"},
        )
        unlabelled = await client.post(LIST, content=json.dumps(list_body("a")), headers=AUTH)
    assert (labelled.status_code, unlabelled.status_code) == (200, 200)


async def test_an_oversized_body_is_refused_before_parsing(kit_client, backend):
    # A provider must not buffer arbitrarily large bodies; the limit is a 400 problem.
    async with kit_client(backend, max_body_bytes=1000) as client:
        response = await client.post(LIST, json=list_body("x" * 2000), headers=AUTH)
    body = assert_conforms(response)
    assert response.status_code == 400
    assert "1000" in body["detail"]
    assert backend.calls == []


async def test_an_unknown_path_is_a_404_problem(kit_client, backend):
    # Paths are exact, as in the spec: a trailing slash or an unknown path is not an operation.
    async with kit_client(backend) as client:
        for path in ("/memberships/lists", f"{LIST}/", "/"):
            response = await client.post(path, json=list_body("a"), headers=AUTH)
            assert assert_conforms(response)["status"] == 404, path


@pytest.mark.parametrize(
    ("method", "path", "allowed"), [("GET", LIST, "POST"), ("POST", LINK, "PUT"), ("DELETE", LIST, "POST")]
)
async def test_a_wrong_method_is_a_405_problem_with_allow(kit_client, backend, method, path, allowed):
    # RFC 9110 requires Allow on a 405, so a client can correct itself.
    async with kit_client(backend) as client:
        response = await client.request(method, path, headers=AUTH)
    assert assert_conforms(response)["status"] == 405
    assert response.headers["allow"] == allowed
