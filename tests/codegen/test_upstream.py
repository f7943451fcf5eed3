"""The upstream watch must see every real change in Mews' Connector spec, class it right, and stay quiet
about the ways of writing the same thing and about the deviations specs/README.md records.

A watch that cries wolf on 3.0-vs-3.1 syntax gets ignored; one that misses a removed response property
or calls a tightened request constraint harmless lets a breaking Mews release reach our users.
The fixtures in tests/data/upstream/ are hand-written: ours.yaml (3.1, our style), and two documents in
Mews' published style: one that says the same, one that drifts once per rule (marked DRIFT).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from codegen._openapi_normalise import Shape, extract_operations
from codegen.apis import ROOT
from codegen.upstream import (
    KINDS,
    KNOWN,
    OURS,
    UpstreamError,
    build_report,
    compare,
    load_document,
    load_known,
    main,
)

DATA = Path(__file__).parent.parent / "data" / "upstream"
OURS_FIXTURE = DATA / "ours.yaml"
EQUIVALENT = DATA / "published-equivalent.yaml"
DRIFTED = DATA / "published-drifted.yaml"
PREFIX = "/api/connector/v1/loyalty"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main([*args, "--ours", str(OURS_FIXTURE)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def unexplained(published: Path) -> dict[tuple[str, str, str, str, str | None], str]:
    report = build_report(str(published), ours_source=str(OURS_FIXTURE))
    return {
        (d.operation, d.location, d.property_path, d.kind, d.keyword): d.classification
        for d in report.unexplained
    }


def write_document(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


# --- a document that says the same thing ---------------------------------------------------------


def test_published_style_that_says_the_same_leaves_nothing_to_report(capsys):
    # The published document writes null, wrappers and constraints the 3.0 way and names its
    # components differently; none of that may surface as a difference.
    status, out, _ = run(capsys, "--connector-spec", str(EQUIVALENT))
    assert status == 0
    assert "0 differences: 0 breaking, 0 non-breaking" in out


def test_recorded_deviations_are_explained_not_reported():
    # LanguageCode/CultureCode, Request-Id, the dropped 204, int32 bounds, Count bounds, the required
    # update Value and required request bodies are differences we chose; they must be recognised as such.
    report = build_report(str(EQUIVALENT), ours_source=str(OURS_FIXTURE))
    assert report.unexplained == []
    assert {d.known for d in report.differences} == {
        "locale-properties",
        "request-id-header",
        "status-204-dropped",
        "int32-minimum",
        "int32-maximum",
        "limitation-count-bounds",
        "update-value-required",
        "request-body-required",
    }


def test_only_the_loyalty_operations_of_a_larger_document_are_read():
    # Mews publishes hundreds of operations in one document; the others may use features we do not
    # read (here an external $ref and a self-referencing schema) and must neither fail nor be reported.
    document = yaml.safe_load(EQUIVALENT.read_text())
    assert "/api/connector/v1/customers/getAll" in document["paths"]
    operations = extract_operations(document, PREFIX)
    assert sorted(op.operation_id for op in operations.values()) == [
        "loyaltyBadges_add",
        "loyaltyBadges_delete",
        "loyaltyBadges_getAll",
        "loyaltyBadges_update",
    ]


def test_our_own_spec_compared_with_itself_has_no_difference():
    # Normalisation must be stable on the real spec: anything reported here would be noise in every run.
    report = build_report(str(OURS), ours_source=str(OURS))
    assert report.differences == ()


# --- a document that drifts once per rule --------------------------------------------------------

RESPONSE_OPERATIONS = ("loyaltyBadges_getAll", "loyaltyBadges_add", "loyaltyBadges_update")
# (case, operation, location, property, kind, keyword, expected class); the case names the DRIFT line.
DRIFT_CASES = [
    ("operation-added", "loyaltyBadges_merge", "operation", "", "operation-added", None, "non-breaking"),
    ("operation-removed", "loyaltyBadges_delete", "operation", "", "operation-removed", None, "breaking"),
    ("error-status-added", "loyaltyBadges_getAll", "response 409", "", "status-added", None, "non-breaking"),
    (
        "deprecated-added",
        "loyaltyBadges_getAll",
        "request",
        "BadgeIds",
        "deprecated-added",
        None,
        "non-breaking",
    ),
    (
        "optional-property-added-to-request",
        "loyaltyBadges_getAll",
        "request",
        "Tags",
        "property-added",
        None,
        "non-breaking",
    ),
    (
        "required-property-added-to-request",
        "loyaltyBadges_add",
        "request",
        "Badges[].Category",
        "property-added",
        None,
        "breaking",
    ),
    (
        "enum-value-removed-from-request",
        "loyaltyBadges_getAll",
        "request",
        "States[]",
        "enum-value-removed",
        None,
        "breaking",
    ),
    (
        "enum-value-added-to-request",
        "loyaltyBadges_add",
        "request",
        "Badges[].Kind",
        "enum-value-added",
        None,
        "non-breaking",
    ),
    (
        "constraint-tightened-on-request",
        "loyaltyBadges_add",
        "request",
        "Badges[].Name",
        "constraint-changed",
        "maxLength",
        "breaking",
    ),
    (
        "constraint-relaxed-on-request",
        "loyaltyBadges_add",
        "request",
        "Badges",
        "constraint-changed",
        "maxItems",
        "non-breaking",
    ),
    (
        "constraint-beside-update-wrapper-tightened",
        "loyaltyBadges_update",
        "request",
        "BadgeUpdates[].Name.Value",
        "constraint-changed",
        "maxLength",
        "breaking",
    ),
    (
        "format-changed-on-request",
        "loyaltyBadges_add",
        "request",
        "Badges[].ExpiresOn",
        "format-changed",
        None,
        "breaking",
    ),
    (
        "recorded-deviation-with-other-value",
        "loyaltyBadges_getAll",
        "request",
        "Limitation.Count",
        "constraint-changed",
        "maximum",
        "breaking",
    ),
]
RESPONSE_DRIFT_CASES = [
    ("enum-value-added-to-response", "Badges[].Kind", "enum-value-added", None, "breaking"),
    ("required-removed-from-response", "Badges[].Kind", "required-removed", None, "breaking"),
    ("nullable-added-to-response", "Badges[].Name", "nullable-added", None, "breaking"),
    ("nullable-removed-from-response", "Badges[].Holder", "nullable-removed", None, "non-breaking"),
    ("type-changed-in-response", "Badges[].Points", "type-changed", None, "breaking"),
    ("type-changed-in-response", "Badges[].Points", "format-changed", None, "breaking"),
    ("property-added-to-closed-response", "Badges[].Level", "property-added", None, "breaking"),
    ("property-removed-from-response", "Badges[].Note", "property-removed", None, "breaking"),
]
ALL_DRIFT_CASES = DRIFT_CASES + [
    (case, operation, "response 200", prop, kind, keyword, expected)
    for case, prop, kind, keyword, expected in RESPONSE_DRIFT_CASES
    for operation in RESPONSE_OPERATIONS
]


@pytest.fixture(scope="module")
def drift() -> dict[tuple[str, str, str, str, str | None], str]:
    return unexplained(DRIFTED)


@pytest.mark.parametrize(
    ("operation", "location", "prop", "kind", "keyword", "expected"),
    [pytest.param(*case[1:], id=f"{case[0]}:{case[1]}") for case in ALL_DRIFT_CASES],
)
def test_each_drift_is_reported_with_its_class(drift, operation, location, prop, kind, keyword, expected):
    # Each DRIFT line of the fixture exercises one rule of the breaking/non-breaking table; the same
    # change can be harmless in a request and breaking in a response (enum values, nullability).
    assert drift.get((operation, location, prop, kind, keyword)) == expected


def test_nothing_but_the_drifts_is_reported(drift):
    # A report padded with spurious lines hides the real ones: the drifted document differs from
    # ours in exactly the DRIFT lines (recorded deviations aside).
    expected = {(op, loc, prop, kind, keyword) for _, op, loc, prop, kind, keyword, _ in ALL_DRIFT_CASES}
    assert set(drift) == expected


def test_a_recorded_deviation_is_explained_only_with_the_recorded_values():
    # `limitation-count-bounds` records that Mews states no bounds on Count; Mews adding a maximum of
    # 500 is news (reported above), while the still-absent minimum stays explained.
    report = build_report(str(DRIFTED), ours_source=str(OURS_FIXTURE))
    count = [d for d in report.differences if d.property_path == "Limitation.Count"]
    assert {(d.keyword, d.known) for d in count} == {
        ("maximum", None),
        ("minimum", "limitation-count-bounds"),
    }


# --- the command ---------------------------------------------------------------------------------


def test_a_breaking_drift_fails_the_command(capsys):
    # CI and the nox session rely on the exit status, not on someone reading the report.
    status, out, _ = run(capsys, "--connector-spec", str(DRIFTED))
    assert status == 1
    assert "breaking" in out


def test_only_non_breaking_drift_passes_the_command(capsys, tmp_path):
    # A new optional filter is Mews adding a feature, not breaking us: report it, do not fail.
    document = yaml.safe_load(EQUIVALENT.read_text())
    document["components"]["schemas"]["LoyaltyBadgeFilterParameters"]["properties"]["Tags"] = {
        "type": "array",
        "items": {"type": "string"},
        "nullable": True,
    }
    status, out, _ = run(capsys, "--connector-spec", str(write_document(tmp_path, document)))
    assert status == 0
    assert re.search(r"non-breaking\s+request\s+Tags\s+property-added", out)
    assert "1 differences: 0 breaking, 1 non-breaking" in out


def test_text_report_groups_lines_under_their_operation(capsys):
    # People read the report per operation; a line under the wrong heading sends them to the wrong place.
    _, out, _ = run(capsys, "--connector-spec", str(DRIFTED))
    sections = re.split(r"\n(?=loyaltyBadges_\w+ \(POST )", out)
    by_operation = {section.split(" ", 1)[0]: section for section in sections[1:]}
    assert set(by_operation) == {
        "loyaltyBadges_getAll",
        "loyaltyBadges_add",
        "loyaltyBadges_update",
        "loyaltyBadges_delete",
        "loyaltyBadges_merge",
    }
    assert "Tags  property-added" in by_operation["loyaltyBadges_getAll"]
    assert "Tags" not in by_operation["loyaltyBadges_add"]
    assert "Badges[].Category  property-added" in by_operation["loyaltyBadges_add"]
    assert "operation-removed" in by_operation["loyaltyBadges_delete"]


def test_show_known_lists_the_explained_differences_with_their_deviation(capsys):
    # Recorded deviations are hidden by default; reviewing them must still be one flag away.
    _, hidden, _ = run(capsys, "--connector-spec", str(EQUIVALENT))
    _, shown, _ = run(capsys, "--connector-spec", str(EQUIVALENT), "--show-known")
    assert "LanguageCode" not in hidden
    assert re.search(r"LanguageCode  property-removed .*\[recorded deviation: locale-properties\]", shown)


def test_recorded_deviations_that_explain_nothing_are_named(capsys):
    # When Mews fixes a defect we worked around, the entry becomes dead weight; the report says so.
    _, out, _ = run(capsys, "--connector-spec", str(EQUIVALENT))
    unused = out.split("Recorded deviations that explained nothing", 1)[1]
    assert "profile-data-nullable" in unused
    assert "locale-properties" not in unused


def test_json_report_is_consistent_with_the_exit_status(capsys):
    # Machines read the JSON; its counts, classes and status must agree with each other.
    status, out, _ = run(capsys, "--connector-spec", str(DRIFTED), "--format", "json")
    report = json.loads(out)
    assert report["exit_status"] == status == 1
    classes = [d["classification"] for d in report["differences"]]
    expected = [case[-1] for case in ALL_DRIFT_CASES]
    assert report["summary"]["breaking"] == classes.count("breaking") == expected.count("breaking")
    assert (
        report["summary"]["non_breaking"] == classes.count("non-breaking") == expected.count("non-breaking")
    )
    assert all(d["known"] for d in report["known"])
    tags = next(d for d in report["differences"] if d["property_path"] == "Tags")
    assert tags["operation"] == "loyaltyBadges_getAll"
    assert tags["endpoint"] == "POST /api/connector/v1/loyaltyBadges/getAll"


# --- usage errors --------------------------------------------------------------------------------


def test_missing_spec_argument_is_a_usage_error(capsys):
    # The nox session passes arguments through; forgetting them must not look like "no drift".
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "cannot read", id="missing-file"),
        pytest.param("paths: [unclosed", "neither YAML nor JSON", id="not-yaml"),
        pytest.param("- a list\n", "not an OpenAPI document", id="not-a-mapping"),
        pytest.param(
            yaml.safe_dump(
                {"openapi": "3.0.4", "paths": {"/api/connector/v1/customers/getAll": {"post": {}}}}
            ),
            "no operations under /api/connector/v1/loyalty",
            id="no-loyalty-operations",
        ),
    ],
)
def test_unusable_documents_are_usage_errors(capsys, tmp_path, content, message):
    # Comparing against the wrong file would report every operation as removed: refuse instead, and say why.
    path = tmp_path / "published.yaml"
    if content is not None:
        path.write_text(content)
    status, out, err = run(capsys, "--connector-spec", str(path))
    assert status == 2
    assert message in err
    assert out == ""


def test_a_malformed_recorded_deviation_is_a_usage_error(capsys, tmp_path):
    # A typo in a matcher key would otherwise silently widen the entry to match everything.
    known = tmp_path / "known.yaml"
    known.write_text(
        yaml.safe_dump(
            {"deviations": [{"id": "x", "readme": "y", "kind": "property-removed", "propertys": "Z"}]}
        )
    )
    status, _, err = run(capsys, "--connector-spec", str(EQUIVALENT), "--known", str(known))
    assert status == 2
    assert "unknown keys ['propertys']" in err


# --- fetching from a URL -------------------------------------------------------------------------


def test_a_url_is_fetched_and_parsed():
    # Mews serves the document at a URL; the watch must read it from there when the network allows.
    body = EQUIVALENT.read_text()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body))
    with httpx.Client(transport=transport) as client:
        document = load_document("https://api.example.test/swagger/connector/swagger.yaml", http=client)
    assert document["openapi"] == "3.0.4"


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        pytest.param(lambda request: httpx.Response(404), "HTTP 404", id="not-found"),
        pytest.param(
            lambda request: (_ for _ in ()).throw(httpx.ConnectError("no route to host")),
            "cannot reach https://api.example.test/spec.yaml",
            id="unreachable",
        ),
    ],
)
def test_an_unusable_url_gives_a_clear_error(handler, message):
    # Offline CI must learn what failed and what to do (pass a file), not read a traceback.
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(UpstreamError) as error,
    ):
        load_document("https://api.example.test/spec.yaml", http=client)
    assert message in str(error.value)


# --- the recorded deviations we ship -------------------------------------------------------------


def squeeze(text: str) -> str:
    return " ".join(text.split())


def test_every_recorded_deviation_quotes_specs_readme():
    # The list must not outlive the choices it encodes: each entry points at the README passage that
    # records the choice, and editing that passage away makes this fail.
    readme = squeeze((ROOT / "specs" / "README.md").read_text())
    known = load_known(KNOWN)
    assert [k.id for k in known if squeeze(k.readme) not in readme] == []
    assert len({k.id for k in known}) == len(known)
    assert {k.kind for k in known} <= KINDS


# --- normalisation -------------------------------------------------------------------------------


def body_of(
    schema: dict[str, Any], components: dict[str, Any] | None = None, openapi: str = "3.1.0"
) -> Shape:
    """The normalised request body of a one-operation document whose body schema is ``schema``."""
    document = {
        "openapi": openapi,
        "paths": {
            "/api/connector/v1/loyaltyX/add": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {},
                }
            }
        },
        "components": {"schemas": components or {}},
    }
    (operation,) = extract_operations(document, PREFIX).values()
    assert operation.body is not None
    return operation.body


WRAPPER = {"type": "object", "properties": {"Value": {"type": "string"}}, "additionalProperties": False}


def test_three_ways_of_writing_a_nullable_reference_are_one_shape():
    # 3.0 `allOf` + `nullable`, 3.1 `anyOf [.., null]` and a 3.1 type array all admit the same values.
    components = {"W": WRAPPER}
    written_30 = body_of(
        {"allOf": [{"$ref": "#/components/schemas/W"}], "nullable": True}, components, "3.0.4"
    )
    written_31 = body_of({"anyOf": [{"$ref": "#/components/schemas/W"}, {"type": "null"}]}, components)
    inline_31 = body_of({**WRAPPER, "type": ["object", "null"]})
    assert written_30 == written_31 == inline_31
    assert written_30.nullable


def test_constraints_beside_an_update_wrapper_apply_to_its_value():
    # Mews writes `maxLength: 255` beside `allOf: [StringUpdateValue]`, where it constrains nothing;
    # it is meant for `Value`, and comparing it there is what catches Mews changing 255.
    shape = body_of(
        {"allOf": [{"$ref": "#/components/schemas/W"}], "maxLength": 255}, {"W": WRAPPER}, "3.0.4"
    )
    assert shape.constraints == {}
    assert shape.properties["Value"].constraints == {"maxLength": 255}


def test_constraints_beside_other_wrappers_stay_where_they_are():
    # Only update values carry their constraint on `Value`; a plain string wrapper keeps its own.
    shape = body_of(
        {"allOf": [{"$ref": "#/components/schemas/S"}], "maxLength": 9}, {"S": {"type": "string"}}
    )
    assert shape.constraints == {"maxLength": 9}


def test_date_or_date_time_alternatives_become_one_string_with_two_formats():
    # Our ExpirationDateInput is `anyOf [date-time, date]`; Mews says `format: date`: comparable only
    # as formats of one string.
    shape = body_of(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    )
    assert shape.types == frozenset({"string"})
    assert shape.formats == frozenset({"date", "date-time"})
    assert shape.variants == ()


def test_a_self_referencing_schema_terminates():
    # Profiles, customers and the like may nest themselves; following references must not loop.
    node = {"type": "object", "properties": {"Parent": {"$ref": "#/components/schemas/Node"}}}
    shape = body_of({"$ref": "#/components/schemas/Node"}, {"Node": node})
    assert shape.properties["Parent"].recursive_ref == "#/components/schemas/Node"


def test_exclusive_bounds_of_openapi_30_and_31_are_the_same():
    # 3.0 writes `minimum: 0, exclusiveMinimum: true`, 3.1 `exclusiveMinimum: 0`.
    written_30 = body_of({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, openapi="3.0.4")
    written_31 = body_of({"type": "integer", "exclusiveMinimum": 0})
    assert written_30 == written_31


# --- operation-level rules, on two tiny documents ------------------------------------------------


def one_operation(path: str = "/api/connector/v1/loyaltyX/add", **changes: Any) -> dict[str, Any]:
    """A document with one operation: JSON body in, 200 with a Request-Id header out."""
    ok = {
        "description": "OK",
        "headers": {"Request-Id": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    operation = {
        "operationId": "loyaltyX_add",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": ok},
        **changes,
    }
    return {"openapi": "3.0.4", "paths": {path: {"post": operation}}}


def differences_between(theirs: dict[str, Any], ours: dict[str, Any]) -> set[tuple[str, str, str]]:
    found = compare(extract_operations(theirs, PREFIX), extract_operations(ours, PREFIX))
    return {(d.location, d.kind, d.classification) for d in found}


OK = one_operation()["paths"]["/api/connector/v1/loyaltyX/add"]["post"]["responses"]["200"]


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        # A renamed path with the same operationId is one move, not a removal plus an addition.
        pytest.param(
            one_operation("/api/connector/v1/loyaltyX/create"),
            {("operation", "operation-path-changed", "breaking")},
            id="path-moved",
        ),
        # A success status we do not know is a response our client cannot decode.
        pytest.param(
            one_operation(responses={"201": OK}),
            {("response 200", "status-removed", "breaking"), ("response 201", "status-added", "breaking")},
            id="success-status-changed",
        ),
        pytest.param(
            one_operation(responses={"200": {**OK, "headers": {"Request-Id": {}, "X-Trace": {}}}}),
            {("response 200", "header-added", "non-breaking")},
            id="header-added",
        ),
        pytest.param(
            one_operation(
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            ),
            {("request", "body-required-changed", "breaking")},
            id="body-now-required",
        ),
        pytest.param(
            one_operation(deprecated=True),
            {("operation", "deprecated-added", "non-breaking")},
            id="operation-deprecated",
        ),
    ],
)
def test_operation_level_changes_are_classed(theirs, expected):
    # These rules act on operations, statuses and headers rather than on properties; each is one
    # line of the table in codegen/upstream.py.
    assert differences_between(theirs, one_operation()) == expected
