"""The mutants: servers that each break one rule of the contract, and the check that must notice.

Every mutation is written against the wire (JSON bodies, headers, statuses) and, where it needs
operation knowledge, against the operation catalog, so it keeps working when the spec grows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from mews_loyalty._spec.catalog import Operation, catalog, resolve
from mews_loyalty.mock.connector import DEMO_ACCESS_TOKEN, DEMO_CLIENT_TOKEN
from tests.contract._proxy import Answer, Flow, Mutation

ENUM_FIELDS = ("State", "Type", "Subscription")
# A required property of each Connector item: memberships, programs, tiers.
REQUIRED_FIELDS = ("IsPrimary", "Subscription", "Ordering")


def _item_lists(body: Any) -> Iterator[list[dict[str, Any]]]:
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list) and all(isinstance(item, dict) for item in value):
                yield value


def _rewrite_items(answer: Answer, change: Any) -> Answer:
    body = answer.json()
    if answer.status == 200 and body is not None:
        for items in _item_lists(body):
            for item in items:
                change(item)
        answer.set_json(body)
    return answer


def _valid_empty_body(operation: Operation) -> dict[str, Any]:
    """A 200 body the spec accepts for ``operation`` that says nothing (empty lists, null cursor)."""
    if operation.response_schema is None:
        return {}
    schema = catalog(operation.api).schema(operation.response_schema)
    body: dict[str, Any] = {name: [] for name in schema.get("required", ())}
    if "Cursor" in schema.get("properties", {}):
        body["Cursor"] = None
    return body


def _connector_error(status: int, message: str) -> Answer:
    request_id = str(uuid.uuid4())
    body = f'{{"Message": "{message}", "RequestId": "{request_id}"}}'.encode()
    return Answer(status, {"content-type": "application/json", "Request-Id": request_id}, body)


# --- Connector -------------------------------------------------------------------------------------


def _drop_required(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    return _rewrite_items(answer, lambda item: [item.pop(name, None) for name in REQUIRED_FIELDS])


def _enum_casing(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    def lower(item: dict[str, Any]) -> None:
        for name in ENUM_FIELDS:
            if isinstance(item.get(name), str):
                item[name] = item[name].lower()

    return _rewrite_items(answer, lower)


def _ignore_cursor(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if isinstance(body, dict) and isinstance(body.get("Limitation"), dict):
        body["Limitation"].pop("Cursor", None)
        flow.set_json(body)
    return flow


def _accept_wrong_tokens(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if isinstance(body, dict):
        body["ClientToken"] = DEMO_CLIENT_TOKEN
        body["AccessToken"] = DEMO_ACCESS_TOKEN
        flow.set_json(body)
    return flow


def _ok_for_invalid(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if answer.status != 400 or op is None:
        return answer
    answer.status = 200
    answer.set_json(_valid_empty_body(op))
    return answer


def _undocumented_status(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if answer.status == 403:
        answer.status = 409
    return answer


def _wrong_content_type(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if answer.status == 200:
        answer.drop_header("content-type")
        answer.headers["content-type"] = "text/plain; charset=utf-8"
    return answer


def _delete_noop(flow: Flow, op: Operation | None) -> Flow | Answer:
    if op is not None and op.action == "delete":
        return Answer(200, {"content-type": "application/json", "Request-Id": str(uuid.uuid4())}, b"{}")
    return flow


def _drop_request_id(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    answer.drop_header("Request-Id")
    return answer


def _null_clears(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if op is not None and op.action == "update" and isinstance(body, dict):
        for item in body.get(op.batch_field or "", []) or []:
            if isinstance(item, dict):
                for key, value in item.items():
                    if value is None:
                        item[key] = {"Value": None}
        flow.set_json(body)
    return flow


def _oldest_first(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    body = answer.json()
    if op is not None and op.is_paged and answer.status == 200 and isinstance(body, dict):
        for items in _item_lists(body):
            items.reverse()
        answer.set_json(body)
    return answer


def _no_retry_after(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if answer.status == 429:
        answer.drop_header("Retry-After")
    return answer


def _unlimited_intervals(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if op is not None and isinstance(body, dict):
        for name in op.max_interval_months:
            body.pop(name, None)
        flow.set_json(body)
    return flow


def _crash_on_language(flow: Flow, op: Operation | None) -> Flow | Answer:
    body = flow.json()
    if isinstance(body, dict) and "LanguageCode" in body:
        return _connector_error(500, "Unexpected error.")
    return flow


def _ignore_activity_filter(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if op is not None and op.is_paged and isinstance(body, dict):
        body.pop("ActivityStates", None)
        flow.set_json(body)
    return flow


# --- Reverse ---------------------------------------------------------------------------------------


def _list_entries(answer: Answer, change: Any) -> Answer:
    body = answer.json()
    if answer.status == 200 and isinstance(body, dict) and isinstance(body.get("data"), list):
        body["data"] = change(body["data"])
        answer.set_json(body)
    return answer


def _drop_not_found(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    return _list_entries(answer, lambda data: [e for e in data if e.get("status") != "notFound"] or data[:1])


def _status_casing(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    def change(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for entry in data:
            if entry.get("status") == "notFound":
                entry["status"] = "NotFound"
        return data

    return _list_entries(answer, change)


def accept_any_token(valid: str) -> Any:
    def rewrite(flow: Flow, op: Operation | None) -> Flow:
        flow.headers = {k: v for k, v in flow.headers.items() if k.lower() != "authorization"}
        flow.headers["authorization"] = f"Bearer {valid}"
        return flow

    return rewrite


def reject_token(rejected: str) -> Any:
    def rewrite(flow: Flow, op: Operation | None) -> Flow:
        for key, value in list(flow.headers.items()):
            if key.lower() == "authorization" and value.endswith(rejected):
                flow.headers[key] = "Bearer contract-test-revoked-token"
        return flow

    return rewrite


def _problem_as_json(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if (answer.header("content-type") or "").startswith("application/problem+json"):
        answer.drop_header("content-type")
        answer.headers["content-type"] = "application/json"
    return answer


def _no_field_pointers(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    body = answer.json()
    if answer.status >= 400 and isinstance(body, dict) and "errors" in body:
        del body["errors"]
        answer.set_json(body)
    return answer


def _truncate_ids(flow: Flow, op: Operation | None) -> Flow:
    body = flow.json()
    if (
        op is not None
        and op.batch_field
        and isinstance(body, dict)
        and isinstance(body.get(op.batch_field), list)
    ):
        body[op.batch_field] = body[op.batch_field][: op.batch_limit or 100]
        flow.set_json(body)
    return flow


def _link_fails(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if op is not None and op.method == "PUT" and answer.status == 200:
        answer.set_json({"success": False})
    return answer


def _is_search(op: Operation | None) -> bool:
    return op is not None and op.tag == "Members" and op.action.startswith("search")


def _is_enrolment(op: Operation | None) -> bool:
    return op is not None and op.tag == "Members" and not op.action.startswith("search")


def _search_finds_nobody(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if _is_search(op) and answer.status == 200:
        answer.set_json({"data": []})
    return answer


def _incomplete_filter_accepted(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    body = answer.json()
    if (
        _is_search(op)
        and answer.status == 400
        and isinstance(body, dict)
        and "loyalty/" in str(body.get("type"))
    ):
        answer.status = 200
        answer.drop_header("content-type")
        answer.headers["content-type"] = "application/json"
        answer.set_json({"data": []})
    return answer


def _enrol_duplicates(flow: Flow, op: Operation | None) -> Flow:
    # Every enrolment looks like a new customer to the provider: a duplicate member each time.
    body = flow.json()
    customer = body.get("customer") if isinstance(body, dict) else None
    if _is_enrolment(op) and isinstance(customer, dict) and isinstance(customer.get("email"), str):
        local, _, domain = customer["email"].partition("@")
        customer["email"] = f"{local}.{uuid.uuid4().hex[:6]}@{domain}"
        flow.set_json(body)
    return flow


def _list_forgets_enterprise(flow: Flow, op: Operation | None) -> Flow:
    # The list looks in the wrong enterprise: members enrolled for this one come back notFound.
    body = flow.json()
    if op is not None and op.batch_field and isinstance(body, dict) and "mewsEnterpriseId" in body:
        body["mewsEnterpriseId"] = str(uuid.uuid4())
        flow.set_json(body)
    return flow


def enrolment_always_first() -> Any:
    # Every enrolment answers the first member enrolled: idempotent, but for everyone.
    first: list[bytes] = []

    def answer(flow: Flow, op: Operation | None, upstream: Answer) -> Answer:
        if _is_enrolment(op) and upstream.status == 200:
            if not first:
                first.append(upstream.body)
            upstream.body = first[0]
        return upstream

    return answer


def search_finds_anyone() -> Any:
    # A search that matches nobody answers the last members it found: a filter that does not filter.
    last: list[Any] = []

    def answer(flow: Flow, op: Operation | None, upstream: Answer) -> Answer:
        body = upstream.json()
        if _is_search(op) and upstream.status == 200 and isinstance(body, dict):
            if body.get("data"):
                last[:] = [body["data"]]
            elif last:
                upstream.set_json({"data": last[0]})
        return upstream

    return answer


def reject_token_on_search(rejected: str) -> Any:
    rewrite = reject_token(rejected)

    def on_search(flow: Flow, op: Operation | None) -> Flow:
        return rewrite(flow, op) if _is_search(op) else flow

    return on_search


def connector_mutants() -> list[Mutation]:
    def m(name: str, expected: str, **hooks: Any) -> Mutation:
        return Mutation(name, "connector", frozenset(expected.split()), **hooks)

    return [
        m("drop_required_field", "response_schema_conformance", on_response=_drop_required),
        m("enum_casing", "response_schema_conformance", on_response=_enum_casing),
        m("ignore_cursor", "pagination", on_request=_ignore_cursor),
        m("accept_wrong_tokens", "ignored_body_auth", on_request=_accept_wrong_tokens),
        m("ok_for_invalid_input", "negative_data_rejection", on_response=_ok_for_invalid),
        m("undocumented_status", "status_code_conformance", on_response=_undocumented_status),
        m("wrong_content_type", "content_type_conformance", on_response=_wrong_content_type),
        m("delete_noop", "soft_delete cleanup", on_request=_delete_noop),
        m("drop_request_id", "request_id_header", on_response=_drop_request_id),
        m("null_clears_value", "update_semantics", on_request=_null_clears),
        m("oldest_first", "newest_first pagination", on_response=_oldest_first),
        m(
            "unlimited_intervals",
            "interval_limit",
            on_request=_unlimited_intervals,
            messages={"interval_limit": "got 200"},
        ),
        m("crash_on_language_code", "not_a_server_error", on_request=_crash_on_language),
        m("ignore_activity_filter", "soft_delete", on_request=_ignore_activity_filter),
    ]


def rate_limit_mutants() -> list[Mutation]:
    return [Mutation("no_retry_after", "connector", frozenset({"rate_limit"}), on_response=_no_retry_after)]


def _reverse(name: str, expected: str, **hooks: Any) -> Mutation:
    """A Reverse mutation that the checks in ``expected`` (space separated) must catch."""
    return Mutation(name, "reverse", frozenset(expected.split()), **hooks)


def reverse_mutants(tokens: list[str]) -> list[Mutation]:
    m = _reverse
    return [
        m("drop_not_found_entries", "one_result_per_id not_found_status", on_response=_drop_not_found),
        m("status_casing", "response_schema_conformance", on_response=_status_casing),
        m("accept_any_token", "ignored_auth token_rotation", on_request=accept_any_token(tokens[0])),
        m("reject_rotated_token", "token_rotation", on_request=reject_token(tokens[1])),
        m("problem_as_plain_json", "content_type_conformance problem_details", on_response=_problem_as_json),
        m("no_field_pointers", "problem_details", on_response=_no_field_pointers),
        m("accept_101_ids", "id_limit", on_request=_truncate_ids),
        m("link_fails", "link_unlink", on_response=_link_fails),
        m("search_finds_nobody", "member_search", on_response=_search_finds_nobody),
        m("search_finds_anyone", "member_search", on_response=search_finds_anyone()),
        m("enrolment_always_first", "enrolment_idempotent", on_response=enrolment_always_first()),
        m("incomplete_filter_accepted", "invalid_search_criteria", on_response=_incomplete_filter_accepted),
        m("enrolment_duplicates", "enrolment_idempotent", on_request=_enrol_duplicates),
        m("enrolled_not_listed", "enrolled_member_listed", on_request=_list_forgets_enterprise),
        m("search_rejects_rotated_token", "token_rotation", on_request=reject_token_on_search(tokens[1])),
    ]


# --- Reverse: a provider's realistic defects (issue 19) ---------------------------------------------


def _is_link(op: Operation | None) -> bool:
    return op is not None and op.effect == "link"


def _customer_properties() -> set[str]:
    enrol = next(op for op in catalog("reverse").operations if op.effect == "create")
    request = catalog("reverse").schema(enrol.request_schema)
    return set(resolve(catalog("reverse").document, request["properties"]["customer"])["properties"])


def _problem(status: int, problem_type: str, detail: str) -> Answer:
    body = {"type": problem_type, "title": "Error", "status": status, "detail": detail}
    return Answer(status, {"content-type": "application/problem+json"}, json.dumps(body).encode())


def _email_case_sensitive(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # The backend compares e-mails as typed: one in another letter case finds nobody.
    body = flow.json()
    member_filter = body.get("memberFilter") if isinstance(body, dict) else None
    email = member_filter.get("email") if isinstance(member_filter, dict) else None
    if _is_search(op) and answer.status == 200 and isinstance(email, str) and email != email.lower():
        answer.set_json({"data": []})
    return answer


def _member_twice(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # A join in the backend's query returns a member once per matching row.
    body = answer.json()
    if _is_search(op) and answer.status == 200 and isinstance(body, dict) and body.get("data"):
        body["data"] = [*body["data"], body["data"][0]]
        answer.set_json(body)
    return answer


def _member_twice_for_a_full_filter(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # The backend adds up each search combination's matches: a filter holding everything Mews knows
    # matches a member through several of them, and the member comes back once per combination.
    request = flow.json()
    member_filter = request.get("memberFilter") if isinstance(request, dict) else None
    if isinstance(member_filter, dict) and len(member_filter) > 3:
        return _member_twice(flow, op, answer)
    return answer


def _crash_on_unlisted_customer_property(flow: Flow, op: Operation | None) -> Flow | Answer:
    # The backend maps the customer onto its own record and fails on a property it did not expect.
    body = flow.json()
    customer = body.get("customer") if isinstance(body, dict) else None
    if _is_enrolment(op) and isinstance(customer, dict) and set(customer) - _customer_properties():
        return _problem(500, "https://purl.mews.com/problem/core/internal-server-error", "KeyError")
    return flow


def _crash_without_phone(flow: Flow, op: Operation | None) -> Flow | Answer:
    # The backend reads an optional property as if it were always there.
    body = flow.json()
    customer = body.get("customer") if isinstance(body, dict) else None
    if _is_enrolment(op) and isinstance(customer, dict) and "phoneNumber" not in customer:
        return _problem(500, "https://purl.mews.com/problem/core/internal-server-error", "NoneType")
    return flow


def _link_unknown_succeeds(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # The backend upserts a link row without looking the membership up.
    if _is_link(op) and answer.status == 200:
        answer.set_json({"success": True})
    return answer


def _custom_problem_types(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # The provider's own problem URIs where Mews defines one (the search criteria type is kept).
    body = answer.json()
    core = "https://purl.mews.com/problem/core/"
    if isinstance(body, dict) and str(body.get("type", "")).startswith(core):
        body["type"] = "https://loyalty-provider.example/problems/" + body["type"].removeprefix(core)
        answer.set_json(body)
    return answer


def _slow_search(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    if _is_search(op):
        answer.delay = SLOW_SEARCH_SECONDS
    return answer


SLOW_SEARCH_SECONDS = 0.2  # the test's --latency-budget is below it


def _unknown_link_422(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
    # A correct provider may refuse a link of a membership it does not know with the spec's 422.
    if _is_link(op) and answer.status == 200 and answer.json() == {"success": False}:
        return _problem(
            422, "https://purl.mews.com/problem/core/unprocessable-content", "No such membership."
        )
    return answer


def reverse_defect_mutants() -> list[Mutation]:
    """Defects that fail the run (error causes), each caught by the check named."""

    m = _reverse
    return [
        m(
            "enrolment_500_on_unlisted_property",
            "enrolment_open_customer",
            on_request=_crash_on_unlisted_customer_property,
        ),
        m("link_unknown_membership_succeeds", "link_unknown", on_response=_link_unknown_succeeds),
        m("enrolment_500_without_optional_property", "enrolment_idempotent", on_request=_crash_without_phone),
    ]


def reverse_advice_mutants() -> list[Mutation]:
    """Defects a provider is advised about (warning causes: the run still conforms)."""

    m = _reverse
    return [
        m("email_case_sensitive", "search_email_case", on_response=_email_case_sensitive),
        m("member_twice_in_answer", "duplicate_members", on_response=_member_twice),
        m("member_twice_for_a_full_filter", "duplicate_members", on_response=_member_twice_for_a_full_filter),
        m("custom_problem_types", "problem_type", on_response=_custom_problem_types),
        m("slow_search", "latency_budget", on_response=_slow_search),
    ]


UNKNOWN_LINK_422 = Mutation("unknown_link_422", "reverse", frozenset(), on_response=_unknown_link_422)
