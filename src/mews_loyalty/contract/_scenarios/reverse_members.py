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
                             another customer (given only first name, last name and e-mail: the
                             rest is optional) another one
    enrolled_member_listed   the enrolled membership is listed by the list operation
    enrolment_open_customer  a customer carrying properties the spec does not list is enrolled (the
                             reconstructed customer is open: Mews may send more than we know of)
    token_rotation           both rotation tokens work on the search, a wrong or missing one is a 401
    search_email_case        (advice) the enrolled e-mail in another letter case finds the member
    duplicate_members        (advice) no membership appears twice in one search answer

Enrolment is a write: with ``allow_writes=False`` the checks that need it report why they did not
run and nothing is created. With writes, every customer enrolled is a made-up test customer
(``EnrolmentBudget``: ``mews-loyalty-test+<run id>-<n>@example.invalid``), at most the run's budget
of them; each member answered is noted in ``Results.enrolled`` for the reports' list of members to
remove (the API cannot delete one). Server answers are read defensively: a missing field or a body
that is not an object is a finding, never an exception.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._spec.catalog import Operation, catalog, ref_name, resolve
from mews_loyalty._wire.combinations import PROBLEM_TYPE_KEY, required_combinations
from mews_loyalty.contract._exchange.api_client import ApiClient, Exchange
from mews_loyalty.contract._report.results import NotRunnable, Results
from mews_loyalty.contract._scenarios import values as S

MEMBERSHIP = "membership"
ENROLLED_CHECKS = ("enrolled_member_listed", "search_email_case")  # checks of the member enrolled
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


def email_fields(ops: MemberOperations) -> list[str]:
    """The filter properties holding an e-mail address (``format: email``)."""
    document = catalog("reverse").document
    schema = catalog("reverse").schema(ops.search.request_schema)
    member_filter = resolve(document, schema["properties"][ops.filter_field])
    return [
        name
        for name, sub in member_filter.get("properties", {}).items()
        if resolve(document, sub).get("format") == "email"
    ]


def _customer_schema(ops: MemberOperations) -> dict[str, Any]:
    assert ops.enrol is not None
    assert ops.customer_field is not None
    request = catalog("reverse").schema(ops.enrol.request_schema)
    return dict(resolve(catalog("reverse").document, request["properties"][ops.customer_field]))


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


def membership_id_of(member: Any) -> str | None:
    """The provider membership id of a member (an enrolment's answer, a search's item), or None."""
    membership = member.get(MEMBERSHIP) if isinstance(member, Mapping) else None
    value = membership.get(MEMBERSHIP_ID) if isinstance(membership, Mapping) else None
    return value if isinstance(value, str) else None


def test_customer(tag: str) -> dict[str, Any]:
    """A customer nobody else has, named so a provider's staff read it as a test: every name and
    place carries ``tag``, the e-mail is ``mews-loyalty-test+<tag>@example.invalid``."""
    return {
        "firstName": "MewsLoyaltyTest",
        "lastName": f"Test-{tag}",
        "email": f"mews-loyalty-test+{tag}@example.invalid",
        "birthday": "1990-01-01",
        "phoneNumber": "+420000000000",
        "address": {
            "line1": "1 Test Street",
            "city": f"Testville-{tag}",
            "postalCode": "00000",
            "countryCode": "CZ",
        },
    }


# The identity of a test customer: what a fuzzed enrolment's customer takes from ``test_customer``
# (its other properties stay as generated), so whatever it enrols reads as a test.
IDENTITY = ("firstName", "lastName", "email")


# Properties the spec's customer does not list, of every JSON kind: Mews may send more than its
# guides show (the reconstructed customer is open for that reason), and a provider must enrol them.
UNLISTED: dict[str, Any] = {
    "middleName": "Quentin",
    "title": "Mister",
    "nationalityCode": "CZ",
    "preferredLanguageCode": "cs-CZ",
    "loyaltyCode": None,
    "classifications": ["Returning", "Loyalty program member"],
    "options": {"sendMarketingEmails": False, "invoiceable": True},
    "visitCount": 3,
    "score": 4.5,
}


def with_unlisted(customer: Mapping[str, Any], listed: Mapping[str, Any]) -> dict[str, Any]:
    """``customer`` with the ``UNLISTED`` properties ``listed`` (the spec's properties) does not name,
    also in its nested objects."""
    extended = dict(customer) | {name: value for name, value in UNLISTED.items() if name not in listed}
    for name, value in customer.items():
        if isinstance(value, Mapping):
            extended[name] = {**value, "unlistedLine": "Building B", "unlistedCode": 7}
    return extended


@dataclass
class EnrolmentBudget:
    """The test customers a writing run may enrol: at most ``budget`` (None: no limit), each new one
    named ``<run id>-<n>`` (``test_customer``). Thread-safe: fuzzing enrols from worker threads."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    budget: int | None = None
    made: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def left(self) -> int | None:
        return None if self.budget is None else max(self.budget - self.made, 0)

    def new(self) -> dict[str, Any] | None:
        """A test customer nobody enrolled yet, or None when the budget is spent."""
        with self._lock:
            if self.budget is not None and self.made >= self.budget:
                return None
            self.made += 1
            return test_customer(f"{self.run_id}-{self.made}")

    def require(self, count: int, what: str) -> None:
        """Raise ``NotRunnable`` unless ``count`` more customers may be enrolled."""
        left = self.left
        if left is not None and left < count:
            raise NotRunnable(
                f"{what} needs {count} more enrolment(s): raise --max-writes (now {self.budget})"
            )


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
    customers: EnrolmentBudget = field(default_factory=EnrolmentBudget)
    member: dict[str, Any] | None = None  # the first member enrolled: {"customer": ..., "member": ...}

    def __post_init__(self) -> None:
        self.ops = member_operations()

    @property
    def membership_id(self) -> str | None:
        """The membership of the first member this run enrolled (None: none was)."""
        return membership_id_of(self.member["member"]) if self.member is not None else None

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
            for check in (*ENROLLED_CHECKS, "enrolment_idempotent", "enrolment_open_customer"):
                self.results.skip(check, "enrolment creates a member: needs --allow-writes")
            return
        with self.results.guard("enrolment_idempotent"):
            self.member = self.check_enrolment(ops)
        if self.member is None:
            for check in ("member_search", *ENROLLED_CHECKS):
                self.results.skip(check, "needs an enrolled member")
        else:
            with self.results.guard("member_search"):
                self.check_enrolled_search(ops, self.member)
            with self.results.guard("enrolled_member_listed"):
                self.check_enrolled_listed(self.member)
        with self.results.guard("enrolment_open_customer"):
            self.check_open_customer(ops)

    # --- requests -----------------------------------------------------------------------------

    def search(self, ops: MemberOperations, member_filter: Mapping[str, Any], **options: Any) -> Exchange:
        """One search; an answer naming a membership twice is advised against (``duplicate_members``)."""
        body = {self.enterprise_field(ops.search): self.enterprise_id, ops.filter_field: dict(member_filter)}
        exchange = self.client.send(ops.search, body, **options)
        if exchange.status == 200:
            twice = sorted(
                m for m, n in Counter(self.found(ops, exchange)).items() if m is not None and n > 1
            )
            self.results.expect(
                "duplicate_members",
                ops.search.operation_id,
                not twice,
                f"the answer names membership(s) {twice} more than once: staff would see one member as "
                "several",
                exchange.curl,
            )
        return exchange

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
        return [membership_id_of(member) for member in exchange.items(ops.results_field)]

    def enrol(self, ops: MemberOperations, customer: Mapping[str, Any]) -> Exchange:
        """Enrol ``customer``; the membership answered goes on the run's list of members to remove."""
        assert ops.enrol is not None
        assert ops.customer_field is not None
        body = {self.enterprise_field(ops.enrol): self.enterprise_id, ops.customer_field: dict(customer)}
        exchange = self.client.send(ops.enrol, body)
        membership_id = membership_id_of(exchange.json())
        if membership_id is not None:
            self.results.enrolled_member(membership_id)
        return exchange

    def new_customer(self, what: str) -> dict[str, Any]:
        customer = self.customers.new()
        if customer is None:
            self.customers.require(1, what)  # raises: the budget is spent
        assert customer is not None
        return customer

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
        self.customers.require(2, "enrolment_idempotent (a customer, then another)")
        customer = self.new_customer("enrolment_idempotent")
        first = self.enrol(ops, customer)
        body = first.json()
        membership_id = membership_id_of(body)
        self.results.expect(
            "enrolment_idempotent",
            label,
            first.status == 200 and membership_id is not None,
            f"enrolling a new customer must answer 200 with a membership: {first.describe()}",
            first.curl,
        )
        if membership_id is None or not isinstance(body, dict):
            return None
        second = self.enrol(ops, customer)
        again = membership_id_of(second.json())
        self.results.expect(
            "enrolment_idempotent",
            label,
            second.status == 200 and again == membership_id,
            f"enrolling the same customer again must answer the same membership {membership_id!r} "
            f"(Mews: 200 with the existing membership), got {again!r}: {second.describe()}",
            second.curl,
        )
        # A provider answering every enrolment with one member would pass the above: a new customer is new.
        # It gives only its identity: every other property of the customer is optional, and a
        # provider must enrol a customer without them (Mews sends what it has).
        sparse = {
            name: value
            for name, value in self.new_customer("enrolment_idempotent").items()
            if name in IDENTITY
        }
        other = self.enrol(ops, sparse)
        other_id = membership_id_of(other.json())
        self.results.expect(
            "enrolment_idempotent",
            label,
            other.status == 200 and other_id not in (None, membership_id),
            f"enrolling another customer (giving only {', '.join(sorted(sparse))}: the rest is optional) "
            f"must answer another membership than {membership_id!r}, got {other_id!r}: {other.describe()}",
            other.curl,
        )
        return {"customer": customer, "member": body}

    def check_enrolled_search(self, ops: MemberOperations, enrolled: Mapping[str, Any]) -> None:
        """Each complete filter combination finds the member just enrolled."""
        label = ops.search.operation_id
        membership_id = membership_id_of(enrolled["member"])
        for combo in ops.combinations:
            values = {
                name: _find(enrolled["member"], name) or _find(enrolled["customer"], name) for name in combo
            }
            if any(value is None for value in values.values()):
                self.results.notes.append(f"member_search: no value for {' + '.join(combo)} to search by")
                continue
            self.expect_found(ops, values, f"{' + '.join(combo)} ({values})", membership_id)
        # Mews sends everything it knows of a customer: one filter matching several combinations
        # must still find the member, once (a provider adding each combination's matches names it
        # twice: ``duplicate_members``, judged by ``search``).
        everything = self.known_filter(ops, enrolled["member"], enrolled["customer"])
        if len(everything) > max(map(len, ops.combinations), default=0):
            self.expect_found(ops, everything, f"everything known ({', '.join(everything)})", membership_id)
        self.check_email_case(ops, enrolled)
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

    def expect_found(
        self, ops: MemberOperations, member_filter: Mapping[str, Any], by: str, membership_id: str | None
    ) -> None:
        """A search by ``member_filter`` (described as ``by``) must find the enrolled membership."""
        exchange = self.search(ops, member_filter)
        self.results.expect(
            "member_search",
            ops.search.operation_id,
            exchange.status == 200 and membership_id in self.found(ops, exchange),
            f"searching by {by} must find the enrolled membership {membership_id!r}: {exchange.describe()}",
            exchange.curl,
        )

    @staticmethod
    def known_filter(ops: MemberOperations, *sources: Any) -> dict[str, Any]:
        """A search filter holding every property of the spec's filter that ``sources`` (a member,
        a customer) have a value for: what Mews sends when it knows a customer."""
        reverse = catalog("reverse")
        request = reverse.schema(ops.search.request_schema)
        schema = resolve(reverse.document, request["properties"][ops.filter_field])
        found = {
            name: next((v for source in sources if (v := _find(source, name)) is not None), None)
            for name in schema.get("properties", {})
        }
        return {name: value for name, value in found.items() if value is not None}

    def check_email_case(self, ops: MemberOperations, enrolled: Mapping[str, Any]) -> None:
        """(advice) A search by the enrolled e-mail in another letter case finds the member: Mews
        sends the address as someone typed it, and letter case does not make another mailbox."""
        membership_id = membership_id_of(enrolled["member"])
        for name in email_fields(ops):
            value = _find(enrolled["customer"], name)
            if (name,) not in ops.combinations or not isinstance(value, str):
                continue
            other = value.swapcase()
            exchange = self.search(ops, {name: other})
            self.results.expect(
                "search_email_case",
                ops.search.operation_id,
                exchange.status == 200 and membership_id in self.found(ops, exchange),
                f"searching by {name} {other!r} (the enrolled {value!r} in another letter case) must find "
                f"{membership_id!r}: {exchange.describe()}",
                exchange.curl,
            )

    def check_open_customer(self, ops: MemberOperations) -> None:
        """A customer carrying properties the spec does not list (``UNLISTED``) is enrolled: 200 with a
        membership, never a 5xx."""
        if ops.enrol is None or ops.customer_field is None:
            self.results.skip("enrolment_open_customer", "the spec has no enrolment operation")
            return
        listed = S.properties(catalog("reverse").document, _customer_schema(ops))
        customer = with_unlisted(self.new_customer("enrolment_open_customer"), listed)
        exchange = self.enrol(ops, customer)
        added = sorted(set(customer) - set(listed))
        self.results.expect(
            "enrolment_open_customer",
            ops.enrol.operation_id,
            exchange.status == 200 and membership_id_of(exchange.json()) is not None,
            f"a customer carrying properties the spec does not list ({', '.join(added)}, and more in its "
            f"nested objects) must be enrolled with 200 and a membership: {exchange.describe()}",
            exchange.curl,
        )

    def check_enrolled_listed(self, enrolled: Mapping[str, Any]) -> None:
        """The list operation answers the enrolled membership as the enrolment did."""
        membership_id = membership_id_of(enrolled["member"])
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
