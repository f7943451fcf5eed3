"""Scenario checks for a Loyalty Reverse API provider: what the schema cannot say.

The request bodies are built from the catalog: the list operation is the one whose batch field holds
the membership ids (``providerMembershipIds``, at most ``batch_limit``), the link operation is the
PUT. Known membership ids (``--membership-id``) let the suite check real entries and link/unlink;
without them those checks report why they did not run.

Read-only unless ``allow_writes``. The write contract: with writes allowed the suite enrols made-up
test customers (``reverse_members.EnrolmentBudget``: ``mews-loyalty-test+<run id>-<n>@example.invalid``),
at most ``EnrolmentBudget.budget`` of them (``--max-writes``), and lists every member it enrolled in the
reports for the provider to remove (the API cannot delete one). It links and unlinks real memberships
only when named with ``--membership-id`` (and only the customer of ``--customer-id``, or one made up);
with none of them linkable it links the test member it enrolled. Each pair it links it unlinks again
(a provider may delete a membership once it is unlinked). It never takes a made-up membership id for
one that should link: it links one only to check that the provider does not claim success
(``link_unknown``), and fuzzed links go to a made-up id only when there is nothing to link, where the
spec's 422 is an answer (``refused_link_statuses``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty._errors import PROBLEM_CONTENT_TYPE
from mews_loyalty._spec.catalog import Operation, catalog, resolve
from mews_loyalty.contract._exchange.api_client import ApiClient, Exchange, server_json
from mews_loyalty.contract._report.results import NOT_SELECTED, Results, ScenarioError
from mews_loyalty.contract._run.options import DEFAULT_LATENCY_BUDGET
from mews_loyalty.contract._scenarios import values as S
from mews_loyalty.contract._scenarios.reverse_advice import Advice
from mews_loyalty.contract._scenarios.reverse_members import (
    IDENTITY,
    EnrolmentBudget,
    MemberScenarios,
    member_operations,
    membership_id_of,
)
from mews_loyalty.provider._parse import parse_payload
from mews_loyalty.provider._problems import ProviderProblem

NOT_FOUND = "notFound"
WRONG_TOKEN = "contract-test-token-nobody-issued-0123456789"
MEMBER_CHECKS = "member checks"  # the group MemberScenarios.run performs (guarded as one)
# Checks that need no enrolled member: choosing only these (pytest -k) leaves the member checks out.
STAND_ALONE = ("one_result_per_id", "id_limit", "problem_details", "link_unknown")
LINKABLE = ("enrolled", "pending")  # statuses of a membership a customer may be linked to


def list_operation() -> Operation:
    return catalog("reverse").single("read", batched=True)


def link_operation() -> Operation:
    return catalog("reverse").single("link")


# The spec documents 422 for a link that breaks a provider's business rule (an unknown or canceled
# membership): a schema-valid link request refused with it is no refusal of valid data.
REFUSED_LINK_STATUSES = (422,)


def refused_link_statuses() -> dict[str, tuple[int, ...]]:
    """Operation id -> statuses with which a provider may refuse a schema-valid request."""
    return {link_operation().operation_id: REFUSED_LINK_STATUSES}


def _valid_request(op: Operation, body: Any) -> bool:
    """Whether the provider kit would take ``body`` for ``op`` (the spec's schema, strictly)."""
    try:
        parse_payload(op, json.dumps(body).encode())
    except (ProviderProblem, RecursionError, ValueError):
        return False
    return True


def _pointer(text: Any) -> str:
    """An RFC 6901 pointer in plain or URI-fragment form, normalised to the plain form."""
    return str(text).removeprefix("#") if isinstance(text, str) else ""


@dataclass
class ReverseScenarios:
    client: ApiClient
    results: Results
    tokens: Sequence[str]
    enterprise_id: str
    membership_ids: Sequence[str]
    customer_id: str
    allow_writes: bool = False  # True: link/unlink the named pairs and enrol test customers
    customers: EnrolmentBudget = field(default_factory=EnrolmentBudget)  # the enrolment budget
    latency_budget: float = DEFAULT_LATENCY_BUDGET  # seconds an answer may take before the run advises

    def __post_init__(self) -> None:
        self.list_op = list_operation()
        self.link_op = link_operation()
        assert self.list_op.batch_field is not None
        self.ids_field = self.list_op.batch_field
        self.limit = self.list_op.batch_limit or 100
        schema = catalog("reverse").schema(self.list_op.request_schema)
        self.enterprise_field = next(name for name in schema.get("required", ()) if name != self.ids_field)
        item = resolve(catalog("reverse").document, schema["properties"][self.ids_field]["items"])
        self.max_id_length = int(item.get("maxLength", 50))
        self._linked: dict[str, bool] = {}  # named memberships by whether the run left them linked
        self._confined = 0
        self._linkable: list[str] | None = None
        self.advice = Advice(self.results, self.latency_budget)
        self.client.observers.append(self.advice.exchange)
        self.members = MemberScenarios(
            self.client,
            self.results,
            self.tokens,
            self.enterprise_id,
            self.membership_ids,
            self.list_ids,
            self._problem,
            allow_writes=self.allow_writes,
            customers=self.customers,
        )

    def list_ids(self, ids: Sequence[str], **overrides: Any) -> Exchange:
        body: dict[str, Any] = {self.enterprise_field: self.enterprise_id, self.ids_field: list(ids)}
        body.update(overrides)
        return self.client.send(self.list_op, body)

    @staticmethod
    def unknown_ids(count: int) -> list[str]:
        return [f"ct-unknown-{uuid.uuid4().hex[:12]}-{n}" for n in range(count)]

    def run(self) -> None:
        """Every scenario check, each guarded (``Results.guard``): whatever the provider answers
        becomes a finding and the next check still runs."""
        for name, check in (
            ("one_result_per_id", self.check_results_per_id),
            ("id_limit", self.check_id_limit),
            ("problem_details", self.check_problem_details),
            ("token_rotation", self.check_token_rotation),
            (MEMBER_CHECKS, self.members.run),  # enrols the test member link_unlink may link
            ("link_unlink", self.check_link_unlink),
            ("link_unknown", self.check_link_unknown),
        ):
            if not self.selected(name):
                if name != MEMBER_CHECKS:
                    self.results.skip(name, NOT_SELECTED)
                continue
            with self.results.guard(name):
                check()

    def selected(self, name: str) -> bool:
        """Whether the run's selection (pytest's ``-k``/``-m``) performs ``name``. The member checks
        share one enrolment, so they run together when any check but the stand-alone ones is chosen."""
        selection = self.results.selection
        if name != MEMBER_CHECKS or selection is None:
            return self.results.selected(name)
        return any(check not in STAND_ALONE for check, _ in selection.pairs)

    def check_results_per_id(self) -> None:
        """One entry per requested id; unknown ids are notFound, known ones are not."""
        label = self.list_op.operation_id
        unknown = self.unknown_ids(2)
        requested = [*self.membership_ids, *unknown]
        exchange = self.list_ids(requested)
        data = exchange.items("data")
        returned = [str(entry.get("providerMembershipId")) for entry in data]
        self.results.expect(
            "one_result_per_id",
            label,
            exchange.status == 200 and sorted(returned) == sorted(requested),
            f"asked for {requested}, got entries for {returned} ({exchange.status})",
            exchange.curl,
        )
        entries = {str(entry.get("providerMembershipId")): entry for entry in data}
        for membership_id in unknown:
            status = entries.get(membership_id, {}).get("status")
            self.results.expect(
                "not_found_status",
                label,
                status == NOT_FOUND,
                f"unknown id {membership_id!r} must come back with status {NOT_FOUND}, got {status!r}",
                exchange.curl,
            )
        for membership_id in self.membership_ids:
            status = entries.get(membership_id, {}).get("status")
            self.results.expect(
                "not_found_status",
                label,
                status not in (None, NOT_FOUND),
                f"known id {membership_id!r} (given with --membership-id) came back as {status!r}",
                exchange.curl,
            )
        if not self.membership_ids:
            self.results.notes.append(
                "not_found_status: only unknown ids checked (give --membership-id for known ones)"
            )

    def check_id_limit(self) -> None:
        """The documented maximum of ids is accepted and answered in full; one more is a 400."""
        label = self.list_op.operation_id
        ids = self.unknown_ids(self.limit)
        full = self.list_ids(ids)
        self.results.expect(
            "id_limit",
            label,
            full.status == 200 and len(full.items("data")) == self.limit,
            f"{self.limit} ids must be answered with {self.limit} entries: {full.describe()}",
            full.curl,
        )
        over = self.list_ids([*ids, "ct-one-too-many"])
        self.results.expect(
            "id_limit",
            label,
            over.status == 400,
            f"{self.limit + 1} ids must be rejected with 400, got {over.describe()}",
            over.curl,
        )
        self._problem(over, label, "/" + self.ids_field, check="id_limit")

    def _problem(
        self, exchange: Exchange, label: str, pointer: str | None, *, check: str = "problem_details"
    ) -> None:
        """The answer is problem+json whose status matches, and names ``pointer`` among its field errors."""
        media = exchange.response.headers.get("content-type", "").split(";")[0].strip().lower()
        body = exchange.json()
        problems = []
        if media != PROBLEM_CONTENT_TYPE:
            problems.append(f"content type {media!r} is not {PROBLEM_CONTENT_TYPE}")
        if not isinstance(body, dict) or body.get("status") != exchange.status:
            problems.append(
                f"the body's status {body.get('status') if isinstance(body, dict) else None!r} differs from {exchange.status}"
            )
        if pointer is not None:
            errors = body.get("errors") if isinstance(body, dict) else None
            pointers = [_pointer(e.get("pointer")) for e in errors or [] if isinstance(e, dict)]
            if not any(p == pointer or p.startswith(pointer + "/") for p in pointers):
                problems.append(f"no field error points at {pointer!r} (pointers: {pointers})")
        self.results.expect(check, label, not problems, "; ".join(problems), exchange.curl)

    def check_problem_details(self) -> None:
        """Field errors are 400 problem+json naming the field with an RFC 6901 pointer."""
        label = self.list_op.operation_id
        missing = self.client.send(self.list_op, {self.ids_field: self.unknown_ids(1)})
        self.results.expect(
            "problem_details",
            label,
            missing.status == 400,
            f"a missing {self.enterprise_field} must be a 400: {missing.describe()}",
            missing.curl,
        )
        self._problem(missing, label, "/" + self.enterprise_field)
        malformed = self.list_ids(self.unknown_ids(1), **{self.enterprise_field: "not-a-uuid"})
        self.results.expect(
            "problem_details",
            label,
            malformed.status == 400,
            f"a malformed {self.enterprise_field} must be a 400: {malformed.describe()}",
            malformed.curl,
        )
        self._problem(malformed, label, "/" + self.enterprise_field)
        too_long = self.list_ids([*self.unknown_ids(1), "x" * (self.max_id_length + 1)])
        self.results.expect(
            "problem_details",
            label,
            too_long.status == 400,
            f"an id longer than {self.max_id_length} must be a 400: {too_long.describe()}",
            too_long.curl,
        )
        self._problem(too_long, label, f"/{self.ids_field}/1")

    def link_roles(self) -> dict[str, str]:
        """The link request's required properties by role: enterprise, linked, customer, membership."""
        schema = catalog("reverse").schema(self.link_op.request_schema)
        roles: dict[str, str] = {}
        for name, sub in S.properties(catalog("reverse").document, schema).items():
            if name not in schema.get("required", ()):
                continue
            resolved = S.non_null(catalog("reverse").document, sub)
            if name == self.enterprise_field:
                roles[name] = "enterprise"
            elif "boolean" in S.types(resolved):
                roles[name] = "linked"
            elif resolved.get("format") == "uuid":
                roles[name] = "customer"
            else:
                roles[name] = "membership"
        return roles

    def link_body(self, membership_id: str, linked: bool) -> dict[str, Any]:
        values = {
            "enterprise": self.enterprise_id,
            "linked": linked,
            "customer": self.customer_id,
            "membership": membership_id,
        }
        return {name: values[role] for name, role in self.link_roles().items()}

    def confine_write(self, op: Operation, body: dict[str, Any]) -> None:
        """Confine a generated write to what the run may touch.

        A link request goes to a linkable membership (named, else the test member; with neither, an
        id the provider cannot know, which it may refuse with 422) and the named customer. An
        enrolment whose body is valid (whatever the case's mode: one invalid only in a header enrols
        too) enrols a new test customer (its identity replaced, the properties the case made up
        kept) in the run's enterprise, within the budget; past it, it goes out as an empty body,
        which enrols nobody. A value that is itself the invalid part of a case (too long, not a
        string, not a UUID) is left alone, and so is an invalid enrolment: a provider must refuse it."""
        if op.effect == "create":
            self._confine_enrolment(op, body)
            return
        if op.operation_id != self.link_op.operation_id:
            return
        targets = self.linkable() or self.unknown_ids(1)
        self._confined += 1
        values = {
            "enterprise": self.enterprise_id,
            "customer": self.customer_id,
            "membership": targets[self._confined % len(targets)],
        }
        for name, role in self.link_roles().items():
            value = body.get(name)
            if role in values and isinstance(value, str) and self._valid_as(role, value):
                body[name] = values[role]

    def _confine_enrolment(self, op: Operation, body: dict[str, Any]) -> None:
        if not _valid_request(op, body):
            return
        ops = member_operations()
        customer = self.customers.new()
        if ops is None or ops.enrol is None or ops.customer_field is None or customer is None:
            body.clear()
            return
        generated = body.get(ops.customer_field)
        body[ops.customer_field] = (generated if isinstance(generated, dict) else {}) | {
            name: customer[name] for name in IDENTITY
        }
        body[self.members.enterprise_field(op)] = self.enterprise_id

    def _valid_as(self, role: str, value: str) -> bool:
        if role == "membership":
            return len(value) <= self.max_id_length
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return True

    def linkable(self) -> list[str]:
        """The memberships a link may be asked for: the named ones enrolled or pending (read once),
        else the test member this run enrolled, else none."""
        if self._linkable is None:
            self._linkable = []
            if self.membership_ids:
                listed = self.list_ids(list(self.membership_ids))
                self._linkable = [
                    str(e.get("providerMembershipId"))
                    for e in listed.items("data")
                    if e.get("status") in LINKABLE and e.get("providerMembershipId") in self.membership_ids
                ]
        test_member = self.members.membership_id
        return self._linkable or ([test_member] if test_member is not None else [])

    def observe_fuzzed(self, op: Operation, status: int, request: Any, content: bytes) -> None:
        """An answer to one of schemathesis' cases: judged for advice, and its writes noted."""
        self.advice.answer(op, status, content)
        if op.effect == "create" and status == 200:
            membership_id = membership_id_of(server_json(content))
            if membership_id is not None:
                self.results.enrolled_member(membership_id)
        self.observe_write(op, status, request, content)

    def observe_write(self, op: Operation, status: int, request: Any, content: bytes) -> None:
        """Note which membership a link request may have left linked to the customer: any link not
        refused (4xx) may have happened; only an unlink answered 200 surely did."""
        if op.operation_id != self.link_op.operation_id or not isinstance(request, dict):
            return
        roles = {role: name for name, role in self.link_roles().items()}
        membership, linked = request.get(roles.get("membership", "")), request.get(roles.get("linked", ""))
        if not isinstance(membership, str) or not isinstance(linked, bool):
            return
        if linked and not 400 <= status < 500:
            self._linked[membership] = True
        elif not linked and status == 200:
            self._linked[membership] = False

    def restore(self) -> None:
        """Unlink every pair the run left linked (each started unlinked: the suite links only the
        customer the user named, or one made up)."""
        for membership_id in [m for m, linked in self._linked.items() if linked]:
            try:
                exchange = self.client.send(self.link_op, self.link_body(membership_id, False))
                answer = exchange.describe()
            except ScenarioError as error:
                answer = error.message
            else:
                self.observe_write(self.link_op, exchange.status, exchange.body, b"")
            if self._linked[membership_id]:
                self.results.leftovers.append(
                    f"membership {membership_id} may still be linked to customer {self.customer_id}: {answer}"
                )

    def check_link_unlink(self) -> None:
        """Link a known membership (or the test member) to a customer, list it, unlink it again."""
        label = self.link_op.operation_id
        if not self.allow_writes:
            self.results.skip("link_unlink", "needs --allow-writes (linking changes the provider's data)")
            return
        linkable = self.linkable()
        if not linkable:
            self.results.skip(
                "link_unlink",
                "needs a linkable membership: an enrolled or pending --membership-id, or a test member "
                "this run enrolled (none was)",
            )
            return
        membership_id = linkable[0]
        if membership_id == self.members.membership_id:
            self.results.notes.append(
                f"link_unlink: no linkable --membership-id, linked the test member {membership_id}"
            )
        self._linked[membership_id] = True  # until an unlink is answered 200
        linked = self.client.send(self.link_op, self.link_body(membership_id, True))
        self.results.expect(
            "link_unlink",
            label,
            linked.status == 200 and linked.get("success") is not False,
            f"linking enrolled membership {membership_id!r} must succeed: {linked.describe()}",
            linked.curl,
        )
        again = self.list_ids([membership_id])
        self.results.expect(
            "link_unlink",
            self.list_op.operation_id,
            again.status == 200
            and [e.get("providerMembershipId") for e in again.items("data")] == [membership_id],
            f"the linked membership must still be listed: {again.describe()}",
            again.curl,
        )
        unlinked = self.client.send(self.link_op, self.link_body(membership_id, False))
        self.observe_write(self.link_op, unlinked.status, unlinked.body, b"")
        self.results.expect(
            "link_unlink",
            label,
            unlinked.status == 200 and unlinked.get("success") is not False,
            f"unlinking must succeed: {unlinked.describe()}",
            unlinked.curl,
        )

    def check_link_unknown(self) -> None:
        """Linking a membership the provider does not know is not answered as a success (Mews would
        show the customer linked to nothing): a 4xx (the spec's 422) or ``success: false``."""
        label = self.link_op.operation_id
        if not self.allow_writes:
            self.results.skip("link_unknown", "needs --allow-writes (a link request is a write)")
            return
        membership_id = self.unknown_ids(1)[0]
        exchange = self.client.send(self.link_op, self.link_body(membership_id, True))
        claimed = 200 <= exchange.status < 300 and exchange.get("success") is not False
        if claimed:
            self._linked[membership_id] = True  # whatever it did, the clean-up unlinks it
        self.results.expect(
            "link_unknown",
            label,
            not claimed,
            f"linking {membership_id!r}, a membership the provider does not know, must not be answered "
            f"as a success (expected the spec's 422, or success false): {exchange.describe()}",
            exchange.curl,
        )

    def check_token_rotation(self) -> None:
        """During a rotation both tokens work; a wrong or missing token is a 401 problem."""
        label = self.list_op.operation_id
        body = {self.enterprise_field: self.enterprise_id, self.ids_field: self.unknown_ids(1)}
        if len(self.tokens) < 2:
            self.results.notes.append(
                "token_rotation: one token given; both-tokens part needs a second --token"
            )
        for index, accepted in enumerate(self.tokens, start=1):
            exchange = self.client.send(self.list_op, body, bearer=accepted)
            self.results.expect(
                "token_rotation",
                label,
                exchange.status == 200,
                f"token #{index} must be accepted: {exchange.describe()}",
                exchange.curl,
            )
        wrong: tuple[tuple[str, str | None], ...] = (("a wrong", WRONG_TOKEN), ("no", None))
        for name, token in wrong:
            exchange = self.client.send(self.list_op, body, bearer=token)
            self.results.expect(
                "token_rotation",
                label,
                exchange.status == 401,
                f"{name} token must get 401: {exchange.describe()}",
                exchange.curl,
            )
            self._problem(exchange, label, None, check="token_rotation")
