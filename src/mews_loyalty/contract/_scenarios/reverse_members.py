"""Scenario checks for the Members operations of a Reverse API provider: search and enrolment.

The operations come from the catalog, not from their names: the search is the operation whose request
holds an object with property combinations (``memberFilter``), the enrolment the one answering the
search's item (``member``). Checks, each under its own name:

    member_search            an enrolled member is found by each complete filter combination, and
                             not for a stranger
                             (read-only: a known --membership-id is found by its id; every
                             combination is answered)
    invalid_search_criteria  a filter completing no combination is a 400 problem at #/memberFilter
    enrolment_idempotent     enrolling the same customer twice answers the same membership, and
                             another customer another one
    enrolled_member_listed   the enrolled membership is listed by the list operation
    token_rotation           both rotation tokens work on the search, a wrong or missing one is a 401

Enrolment is a write: with ``allow_writes=False`` the checks that need it report why they did not
run and nothing is created. Server answers are read defensively: a missing field or a body that is
not an object is a finding, never an exception.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._spec.catalog import Operation, catalog, ref_name, resolve
from mews_loyalty._wire.combinations import PROBLEM_TYPE_KEY, required_combinations
from mews_loyalty.contract._exchange.api_client import ApiClient, Exchange
from mews_loyalty.contract._report.results import Results

MEMBERSHIP = "membership"
MEMBERSHIP_ID = "providerMembershipId"


@dataclass(frozen=True)
class MemberOperations:
    search: Operation
    filter_field: str  # the request property holding the filter ("memberFilter")
    combinations: tuple[tuple[str, ...], ...]
    problem_type: str | None  # what an incomplete filter is answered with
    results_field: str  # the response list of members ("data")
    enrol: Operation | None
    customer_field: str | None  # the enrolment request property holding the customer ("customer")


def member_operations() -> MemberOperations | None:
    """The search and enrolment operations of the Reverse spec, or None when it has no search."""
    reverse = catalog("reverse")
    document = reverse.document
    for op in reverse.operations:
        request = reverse.schema(op.request_schema)
        for name, sub in request.get("properties", {}).items():
            combos = required_combinations(document, sub)
            results_field = op.result_items
            if not combos or op.response_schema is None or results_field is None:
                continue
            results = reverse.schema(op.response_schema)["properties"][results_field]
            item = ref_name(resolve(document, results).get("items"))
            enrol = next((o for o in reverse.operations if o is not op and o.response_schema == item), None)
            customer_field = None
            if enrol is not None:
                enrol_request = reverse.schema(enrol.request_schema)
                customer_field = next(
                    (
                        key
                        for key, value in enrol_request.get("properties", {}).items()
                        if resolve(document, value).get("type") == "object"
                    ),
                    None,
                )
            problem = resolve(document, sub).get(PROBLEM_TYPE_KEY)
            return MemberOperations(
                op, name, combos, str(problem) if problem else None, results_field, enrol, customer_field
            )
    return None


def _find(value: Any, name: str) -> Any:
    """The first value of property ``name`` anywhere in a JSON value (depth first), or None."""
    if isinstance(value, Mapping):
        if name in value and not isinstance(value[name], Mapping | list):
            return value[name]
        for item in value.values():
            found = _find(item, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _find(item, name)
            if found is not None:
                return found
    return None


def _membership_id(member: Any) -> str | None:
    membership = member.get(MEMBERSHIP) if isinstance(member, Mapping) else None
    value = membership.get(MEMBERSHIP_ID) if isinstance(membership, Mapping) else None
    return value if isinstance(value, str) else None


def test_customer(tag: str) -> dict[str, Any]:
    """A customer nobody else has: every name and place carries ``tag``."""
    return {
        "firstName": f"Contract{tag[:6]}",
        "lastName": f"Suite-{tag}",
        "email": f"contract-suite-{tag}@example.com",
        "birthday": "1990-01-01",
        "phoneNumber": "+420000000000",
        "address": {
            "line1": "1 Test Street",
            "city": f"Testville-{tag}",
            "postalCode": "00000",
            "countryCode": "CZ",
        },
    }


@dataclass
class MemberScenarios:
    client: ApiClient
    results: Results
    tokens: Sequence[str]
    enterprise_id: str
    membership_ids: Sequence[str]
    list_ids: Callable[[Sequence[str]], Exchange]  # the list operation, from ReverseScenarios
    problem: Callable[..., None]  # ReverseScenarios._problem: problem+json with a pointer
    allow_writes: bool = True
    enrolled: list[str] = field(default_factory=list)  # membership ids this run created

    def __post_init__(self) -> None:
        self.ops = member_operations()

    def run(self) -> None:
        if self.ops is None:
            self.results.notes.append("member checks: the spec has no member search operation")
            return
        ops = self.ops
        with self.results.guard("invalid_search_criteria"):  # whatever comes back, the next check runs
            self.check_invalid_criteria(ops)
        with self.results.guard("token_rotation"):
            self.check_search_tokens(ops)
        if not self.allow_writes:
            with self.results.guard("member_search"):
                self.check_search_read_only(ops)
            for check in ("enrolment_idempotent", "enrolled_member_listed"):
                self.results.skip(check, "enrolment creates a member: needs --allow-writes")
            return
        member = None
        with self.results.guard("enrolment_idempotent"):
            member = self.check_enrolment(ops)
        if member is None:
            for check in ("member_search", "enrolled_member_listed"):
                self.results.skip(check, "needs an enrolled member")
        else:
            with self.results.guard("member_search"):
                self.check_enrolled_search(ops, member)
            with self.results.guard("enrolled_member_listed"):
                self.check_enrolled_listed(member)
        if self.enrolled:
            self.results.notes.append(
                f"member checks enrolled {len(self.enrolled)} test customer(s) in enterprise "
                f"{self.enterprise_id}: {', '.join(self.enrolled)}"
            )

    # --- requests -----------------------------------------------------------------------------

    def search(self, ops: MemberOperations, member_filter: Mapping[str, Any], **options: Any) -> Exchange:
        body = {self.enterprise_field(ops.search): self.enterprise_id, ops.filter_field: dict(member_filter)}
        return self.client.send(ops.search, body, **options)

    def enterprise_field(self, op: Operation) -> str:
        schema = catalog("reverse").schema(op.request_schema)
        return next(
            (
                name
                for name in schema.get("required", ())
                if resolve(catalog("reverse").document, schema["properties"][name]).get("format") == "uuid"
            ),
            "mewsEnterpriseId",
        )

    def found(self, ops: MemberOperations, exchange: Exchange) -> list[str | None]:
        return [_membership_id(member) for member in exchange.items(ops.results_field)]

    def enrol(self, ops: MemberOperations, customer: Mapping[str, Any]) -> Exchange:
        assert ops.enrol is not None
        assert ops.customer_field is not None
        body = {self.enterprise_field(ops.enrol): self.enterprise_id, ops.customer_field: dict(customer)}
        return self.client.send(ops.enrol, body)

    # --- checks -------------------------------------------------------------------------------

    def check_invalid_criteria(self, ops: MemberOperations) -> None:
        """A filter that completes no combination is refused as a 400 problem pointing at the filter."""
        label = ops.search.operation_id
        alone = {combo[0] for combo in ops.combinations if len(combo) == 1}
        partial = [
            name for combo in ops.combinations if len(combo) > 1 for name in combo if name not in alone
        ]
        incomplete = partial[0] if partial else None  # firstName: half of the name filter
        filters = [{}] if incomplete is None else [{incomplete: "Contract"}, {}]
        for member_filter in filters:
            exchange = self.search(ops, member_filter)
            body = exchange.json()
            problem_type = body.get("type") if isinstance(body, dict) else None
            ok = exchange.status == 400 and (ops.problem_type is None or problem_type == ops.problem_type)
            self.results.expect(
                "invalid_search_criteria",
                label,
                ok,
                f"the filter {member_filter} completes no combination: it must be a 400"
                f"{f' of type {ops.problem_type}' if ops.problem_type else ''}, got {exchange.describe()}",
                exchange.curl,
            )
            self.problem(exchange, label, "/" + ops.filter_field, check="invalid_search_criteria")

    def check_search_tokens(self, ops: MemberOperations) -> None:
        """The search honours the token rotation like the membership operations do."""
        label = ops.search.operation_id
        member_filter = {name: self.value_for(name, uuid.uuid4().hex[:8]) for name in ops.combinations[0]}
        for index, accepted in enumerate(self.tokens, start=1):
            exchange = self.search(ops, member_filter, bearer=accepted)
            self.results.expect(
                "token_rotation",
                label,
                exchange.status == 200,
                f"token #{index} must be accepted by the search: {exchange.describe()}",
                exchange.curl,
            )
        for name, token in (("a wrong", "contract-test-token-nobody-issued-0123456789"), ("no", None)):
            exchange = self.search(ops, member_filter, bearer=token)
            self.results.expect(
                "token_rotation",
                label,
                exchange.status == 401,
                f"{name} token must get 401 from the search: {exchange.describe()}",
                exchange.curl,
            )
            self.problem(exchange, label, None, check="token_rotation")

    def value_for(self, name: str, tag: str) -> str:
        sample = _find(test_customer(tag), name)
        return str(sample) if sample is not None else f"ct-{tag}"

    def check_search_read_only(self, ops: MemberOperations) -> None:
        """Without writes: each combination is answered, and a known membership is found by its id."""
        label = ops.search.operation_id
        tag = uuid.uuid4().hex[:8]
        for combo in ops.combinations:
            exchange = self.search(ops, {name: self.value_for(name, tag) for name in combo})
            self.results.expect(
                "member_search",
                label,
                exchange.status == 200 and isinstance(exchange.json(), dict),
                f"a search by {' + '.join(combo)} must be answered with 200: {exchange.describe()}",
                exchange.curl,
            )
        search_by_id = next((combo for combo in ops.combinations if combo == (MEMBERSHIP_ID,)), None)
        if search_by_id is None or not self.membership_ids:
            self.results.notes.append(
                "member_search: read-only, only the answers checked (give --membership-id to search a known one, "
                "--allow-writes to enrol one)"
            )
            return
        for membership_id in self.membership_ids:
            exchange = self.search(ops, {MEMBERSHIP_ID: membership_id})
            self.results.expect(
                "member_search",
                label,
                membership_id in self.found(ops, exchange),
                f"searching by {MEMBERSHIP_ID} {membership_id!r} (a known membership) must find it: "
                f"{exchange.describe()}",
                exchange.curl,
            )

    def check_enrolment(self, ops: MemberOperations) -> dict[str, Any] | None:
        """Enrolling a new customer answers a member; enrolling them again answers the same membership."""
        if ops.enrol is None or ops.customer_field is None:
            self.results.skip("enrolment_idempotent", "the spec has no enrolment operation")
            return None
        label = ops.enrol.operation_id
        customer = test_customer(uuid.uuid4().hex[:12])
        first = self.enrol(ops, customer)
        body = first.json()
        membership_id = _membership_id(body)
        self.results.expect(
            "enrolment_idempotent",
            label,
            first.status == 200 and membership_id is not None,
            f"enrolling a new customer must answer 200 with a membership: {first.describe()}",
            first.curl,
        )
        if membership_id is None or not isinstance(body, dict):
            return None
        self.enrolled.append(membership_id)
        second = self.enrol(ops, customer)
        again = _membership_id(second.json())
        self.results.expect(
            "enrolment_idempotent",
            label,
            second.status == 200 and again == membership_id,
            f"enrolling the same customer again must answer the same membership {membership_id!r} "
            f"(Mews: 200 with the existing membership), got {again!r}: {second.describe()}",
            second.curl,
        )
        if again is not None and again != membership_id:
            self.enrolled.append(again)
        # A provider answering every enrolment with one member would pass the above: a new customer is new.
        other = self.enrol(ops, test_customer(uuid.uuid4().hex[:12]))
        other_id = _membership_id(other.json())
        self.results.expect(
            "enrolment_idempotent",
            label,
            other.status == 200 and other_id not in (None, membership_id),
            f"enrolling another customer must answer another membership than {membership_id!r}, got "
            f"{other_id!r}: {other.describe()}",
            other.curl,
        )
        if other_id is not None and other_id != membership_id:
            self.enrolled.append(other_id)
        return {"customer": customer, "member": body}

    def check_enrolled_search(self, ops: MemberOperations, enrolled: Mapping[str, Any]) -> None:
        """Each complete filter combination finds the member just enrolled."""
        label = ops.search.operation_id
        membership_id = _membership_id(enrolled["member"])
        for combo in ops.combinations:
            values = {
                name: _find(enrolled["member"], name) or _find(enrolled["customer"], name) for name in combo
            }
            if any(value is None for value in values.values()):
                self.results.notes.append(f"member_search: no value for {' + '.join(combo)} to search by")
                continue
            exchange = self.search(ops, values)
            self.results.expect(
                "member_search",
                label,
                exchange.status == 200 and membership_id in self.found(ops, exchange),
                f"searching by {' + '.join(combo)} ({values}) must find the enrolled membership "
                f"{membership_id!r}: {exchange.describe()}",
                exchange.curl,
            )
        # A provider answering every search with everyone would pass the above: nobody matches a stranger.
        stranger = {name: self.value_for(name, uuid.uuid4().hex[:12]) for name in ops.combinations[0]}
        exchange = self.search(ops, stranger)
        self.results.expect(
            "member_search",
            label,
            exchange.status == 200 and membership_id not in self.found(ops, exchange),
            f"searching for a customer nobody enrolled ({stranger}) must not find {membership_id!r}: "
            f"{exchange.describe()}",
            exchange.curl,
        )

    def check_enrolled_listed(self, enrolled: Mapping[str, Any]) -> None:
        """The list operation answers the enrolled membership as the enrolment did."""
        membership_id = _membership_id(enrolled["member"])
        assert membership_id is not None
        exchange = self.list_ids([membership_id])
        entries = [e for e in exchange.items("data") if e.get(MEMBERSHIP_ID) == membership_id]
        status = entries[0].get("status") if entries else None
        self.results.expect(
            "enrolled_member_listed",
            exchange.operation.operation_id,
            exchange.status == 200 and status not in (None, "notFound"),
            f"the enrolled membership {membership_id!r} must be listed (not notFound), got status {status!r}: "
            f"{exchange.describe()}",
            exchange.curl,
        )
