"""Requests are checked against the spec before sending: a clear error naming the field, and nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mews_loyalty import CallArgumentError, RequestValidationError
from mews_loyalty._generated.connector.client import models
from mews_loyalty._wire.encode import add_months, spans_more_than

from .fakes import PROGRAM_ID, FakeConnector, add_item, item_id

JANUARY = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> FakeConnector:
    return FakeConnector()


def refused(server: FakeConnector, call, expected: type[Exception], text: str) -> str:
    with pytest.raises(expected) as caught:
        call()
    assert text in str(caught.value)
    assert server.requests == []
    return str(caught.value)


def test_an_interval_over_three_months_is_refused_for_one_page(make_client, server):
    # Mews rejects long intervals with a bare 400; saying which filter and why saves a support round trip.
    # (iter_all walks such an interval in windows: tests/runtime/test_interval_windows.py.)
    memberships = make_client(server).loyalty_memberships
    message = refused(
        server,
        lambda: memberships.get_all(created_utc=(JANUARY, add_months(JANUARY, 3) + timedelta(seconds=1))),
        ValueError,
        "CreatedUtc: the interval from 2025-01-31T12:00:00+00:00 to 2025-04-30T12:00:01+00:00 is longer than 3 months",
    )
    assert message.startswith("invalid request for loyalty_memberships.get_all")


ISO_INTERVAL = {"StartUtc": "2025-01-31T12:00:00+00:00", "EndUtc": "2025-04-30T12:00:00+00:00"}
WIRE_INTERVAL = {"StartUtc": "2025-01-31T12:00:00Z", "EndUtc": "2025-04-30T12:00:00Z"}


@pytest.mark.parametrize(
    ("interval", "sent"),
    [
        ((JANUARY, add_months(JANUARY, 3)), ISO_INTERVAL),
        (WIRE_INTERVAL, WIRE_INTERVAL),
        (models.TimeFilterInterval(start_utc=JANUARY, end_utc=add_months(JANUARY, 3)), ISO_INTERVAL),
    ],
    ids=["tuple", "wire-dict", "attrs-model"],
)
def test_exactly_three_months_is_allowed_in_every_accepted_form(make_client, server, interval, sent):
    # The limit is inclusive, and the month-end clamp (Jan 31 -> Apr 30) must not refuse a legal interval.
    list(make_client(server).loyalty_programs.iter_all(updated_utc=interval))
    assert server.sent()[0]["UpdatedUtc"] == sent


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2025, 1, 31, tzinfo=UTC), 1, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 11, 15, tzinfo=UTC), 3, datetime(2026, 2, 15, tzinfo=UTC)),
    ],
)
def test_add_months_clamps_to_the_end_of_shorter_months(start, months, end):
    # Calendar months, not 90 days: the 31st plus a month is the last day of the next month.
    assert add_months(start, months) == end


def test_add_months_past_year_9999_says_so_and_an_interval_there_is_within_any_limit(make_client, server):
    # The SDK raised a bare "year 10000 is out of range" and the mock silently had its own rule.
    late = datetime(9999, 11, 30, tzinfo=UTC)
    with pytest.raises(
        ValueError, match="3 months after 9999-11-30T00:00:00\\+00:00 is outside years 1 to 9999"
    ):
        add_months(late, 3)
    assert not spans_more_than(late, datetime.max.replace(tzinfo=UTC), 3)
    make_client(server).loyalty_memberships.get_all(created_utc=(late, datetime(9999, 12, 31, tzinfo=UTC)))
    assert len(server.sent()) == 1


def test_an_unknown_filter_is_a_type_error_with_a_suggestion(make_client, server):
    # A misspelt filter would otherwise export everything instead of the intended subset.
    memberships = make_client(server).loyalty_memberships
    message = refused(
        server, lambda: memberships.iter_all(acount_ids=[PROGRAM_ID]), TypeError, "'acount_ids'"
    )
    assert "did you mean 'account_ids'?" in message


@pytest.mark.parametrize(
    ("filters", "path"),
    [
        (
            {"created_utc": (datetime(2025, 1, 1), datetime(2025, 2, 1))},
            "CreatedUtc.StartUtc: Input should have timezone info",
        ),
        ({"account_ids": []}, "AccountIds: List should have at least 1 item"),
        ({"activity_states": ["Active", "Gone"]}, "ActivityStates[1]: Input should be 'Active' or 'Deleted'"),
        ({"loyalty_membership_ids": ["not-a-uuid"]}, "LoyaltyMembershipIds[0]: Input should be a valid UUID"),
        ({"page_size": 0}, "Limitation.Count: Input should be greater than or equal to 1"),
        ({"page_size": 1001}, "Limitation.Count: Input should be less than or equal to 1000"),
    ],
    ids=["naive-datetime", "empty-list", "unknown-enum", "bad-uuid", "page-size-0", "page-size-1001"],
)
def test_a_filter_the_schema_rejects_names_its_wire_path(make_client, server, filters, path):
    # The error must point at the wire field the server would complain about, not at pydantic internals.
    memberships = make_client(server).loyalty_memberships
    refused(server, lambda: memberships.get_all(**filters), ValueError, path)


def test_a_required_filter_is_named_when_missing(make_client, server):
    # Tiers are listed per program; leaving the programs out is a caller bug worth a precise message.
    # The typed method makes the filter a required keyword (mypy reports it too); the untyped resource
    # underneath still names the wire field.
    tiers = make_client(server).loyalty_tiers
    refused(server, lambda: tiers.get_all(), TypeError, "'loyalty_program_ids'")
    refused(server, lambda: tiers._resource.get_all(), ValueError, "LoyaltyProgramIds: Field required")


@pytest.mark.parametrize(
    ("resource", "item", "path"),
    [
        (
            "loyalty_memberships",
            {**add_item("loyalty_memberships", 0), "Points": 2**31},
            "LoyaltyMemberships[3].Points: Input should be less than or equal to 2147483647",
        ),
        (
            "loyalty_memberships",
            {"AccountId": item_id("a", 0), "IsPrimary": True},
            "LoyaltyMemberships[3].LoyaltyProgramId: Field required",
        ),
        (
            "loyalty_memberships",
            {**add_item("loyalty_memberships", 0), "account_id": "x"},
            "LoyaltyMemberships[3].account_id: Extra inputs are not permitted",
        ),
        (
            "loyalty_memberships",
            {**add_item("loyalty_memberships", 0), "ExpirationDate": "2029-13-01"},
            "LoyaltyMemberships[3].ExpirationDate: Input should be a valid date",
        ),
        (
            "loyalty_programs",
            {**add_item("loyalty_programs", 0), "Type": "Airline"},
            "LoyaltyPrograms[3].Type: Input should be",
        ),
        (
            "loyalty_tiers",
            {**add_item("loyalty_tiers", 0), "Name": ""},
            "LoyaltyTiers[3].Name: String should have at least 1 character",
        ),
    ],
    ids=["int32-overflow", "missing-field", "snake-case-key", "bad-date", "unknown-enum", "empty-name"],
)
def test_an_item_the_schema_rejects_names_its_index_and_field(make_client, server, resource, item, path):
    # In a list of thousands, "item 3, field X" is the difference between a fix and a hunt.
    items = [add_item(resource, n) for n in range(3)] + [item]
    refused(server, lambda: getattr(make_client(server), resource).add(items), RequestValidationError, path)


def test_update_fields_must_be_wrapped_in_value_objects(make_client, server):
    # A bare value where Mews expects {"Value": ...} is silently ignored by some servers; refuse it here.
    update = {"LoyaltyMembershipId": item_id("loyalty_memberships", 0), "Points": 5}
    refused(
        server,
        lambda: make_client(server).loyalty_memberships.update([update]),
        ValueError,
        "LoyaltyMembershipUpdates[0].Points: Input should be an object",
    )


def test_clearing_a_field_that_cannot_be_empty_is_refused(make_client, server):
    # {"Value": null} clears only nullable fields; a program name cannot be cleared.
    update = {"LoyaltyProgramId": item_id("loyalty_programs", 0), "Name": {"Value": None}}
    refused(
        server,
        lambda: make_client(server).loyalty_programs.update([update]),
        ValueError,
        "LoyaltyProgramUpdates[0].Name.Value: Input should be a valid string",
    )


def test_validation_errors_list_the_problems_as_data(make_client, server):
    # Tools (and the contract suite) read the problems without parsing the message.
    with pytest.raises(RequestValidationError) as caught:
        make_client(server).loyalty_tiers.add([{"LoyaltyProgramId": PROGRAM_ID, "Name": "Gold", "Code": "G"}])
    assert caught.value.problems == (("LoyaltyTiers[0].Ordering", "Field required"),)
    assert caught.value.operation == "loyalty_tiers.add"


def test_a_bare_update_value_names_the_wrapper_to_write(make_client, server):
    # `"Points": 120` instead of `{"Value": 120}`: the message says what to write, not only "an object".
    text = refused(
        server,
        lambda: make_client(server).loyalty_memberships.update(
            [{"LoyaltyMembershipId": item_id("loyalty_memberships", 0), "Points": 120}]
        ),
        RequestValidationError,
        "LoyaltyMembershipUpdates[0].Points",
    )
    assert "{'Value': 120}" in text


def test_a_reversed_interval_is_refused_before_sending(make_client, server):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    text = refused(
        server,
        lambda: make_client(server).loyalty_memberships.get_all(
            updated_utc=(start, start - timedelta(days=1))
        ),
        RequestValidationError,
        "UpdatedUtc",
    )
    assert "after it ends" in text


def test_the_unknown_parameter_message_lists_the_paging_keywords(make_client, server):
    # A CallArgumentError: a TypeError, as Python's own, and a MewsError, so `except MewsError` sees it.
    text = refused(
        server, lambda: make_client(server).loyalty_memberships.get_all(size=5), CallArgumentError, "size"
    )
    assert "page_size" in text
    assert "cursor" in text


def test_combination_rules_are_found_under_any_request_that_holds_one():
    # encode skips walking a body's items when its request schema holds no combination rule, so the
    # search must find a rule wherever unmet_combinations would look: here under a property.
    from mews_loyalty._spec.catalog import catalog
    from mews_loyalty._wire.combinations import has_combinations, required_combinations

    ruled = []
    for api in ("connector", "reverse"):
        document = catalog(api).document
        for name in document["components"]["schemas"]:
            ref = {"$ref": f"#/components/schemas/{name}"}
            if required_combinations(document, ref) is not None:
                assert has_combinations(document, ref), name
                wrapper = {"type": "object", "properties": {"outer": {"type": "array", "items": ref}}}
                assert has_combinations(document, wrapper), name
                ruled.append(name)
    assert ruled  # the Reverse API's memberFilter at least
    connector = catalog("connector").document
    add = {"$ref": "#/components/schemas/MultipleLoyaltyMembershipAddParameters"}
    assert not has_combinations(connector, add)
    looping: dict = {"type": "object", "properties": {}}
    looping["properties"]["self"] = looping  # a recursive schema ends the search
    assert not has_combinations(connector, looping)
