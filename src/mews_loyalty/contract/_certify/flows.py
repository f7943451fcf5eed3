"""Mews' self-test flows, walked in the order Mews' workflows run them, each judged on what it sent.

    walk = Walk(client, tokens, enterprise_id, customer_id, run_id)
    for flow in FLOWS:
        walk.run(flow)                                 # walk.records: FlowRecord, judgements and exchanges

Mews' getting-started page asks a provider to self-test member search, enrolment, list and refresh,
link and unlink, and checkout events where they apply; its authentication guide asks that both tokens
of a rotation work at once. The walk follows a receptionist's day: a new customer is searched for and
nobody is found, the customer is enrolled (and enrolled again: Mews' rule is the same membership), the
member is found by each filter combination the spec publishes, the membership is listed and refreshed
beside an id nobody knows, linked to a Mews customer and unlinked, and both tokens are tried.

Every request body comes from the operation catalog through the suite's own builders (``ReverseScenarios``
and ``MemberScenarios``), every answer is checked against the spec by the suite's client, and every
exchange is kept, masked, as evidence. A flow passes when every judgement holds, fails when one does not,
and is not run when it cannot be (with the reason): checkout events have no published operation, token
rotation needs a second token, the flows after enrolment need the member it makes.

The walk writes by design: one fresh test customer per run, named so it reads as a test
(the suite's ``test_customer``); the API cannot delete a member, so the page lists it for the provider to remove.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mews_loyalty.contract._exchange.api_client import NOT_JSON, ApiClient, Exchange, server_json
from mews_loyalty.contract._report.results import NotRunnable, Results, ScenarioError
from mews_loyalty.contract._report.text import printable
from mews_loyalty.contract._scenarios.reverse import NOT_FOUND, WRONG_TOKEN, ReverseScenarios
from mews_loyalty.contract._scenarios.reverse_members import (
    MEMBERSHIP_ID,
    MemberOperations,
    MemberScenarios,
    _find,
    member_operations,
    membership_id_of,
    test_customer,
)

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
ANSWER_CHARACTERS = 1200  # of each answer kept as evidence

# Mews' self-test list (getting-started, "Implement & self-test"), in its order.
SELF_TEST = ("Member search", "Enroll", "List & refresh", "Link & unlink", "Checkout event handling")
AUTHENTICATION = "Authentication: token rotation"  # from Mews' authentication guide, not the list


@dataclass(frozen=True)
class Judgement:
    """One thing a flow expects; ``ok`` None is a note (nothing to judge)."""

    ok: bool | None
    expected: str
    got: str = ""  # on failure: what came instead (masked)


@dataclass(frozen=True)
class Evidence:
    """One exchange of a flow, masked: the request, the start of its answer, its time."""

    operation: str
    method: str
    path: str
    status: int | None  # None: no answer came
    seconds: float | None
    request: str
    answer: str
    curl: str


@dataclass(frozen=True)
class Flow:
    key: str
    title: str
    mews: str  # the item of Mews' self-test list it rehearses
    workflow: str  # what Mews Operations does when it runs this flow
    step: Callable[[Walk], None]


@dataclass
class FlowRecord:
    flow: Flow
    judgements: list[Judgement] = field(default_factory=list)
    exchanges: list[Evidence] = field(default_factory=list)
    not_run: str | None = None  # why the flow (or what is left of it) could not run
    fault: str | None = None  # a bug of the rehearsal itself, one line
    trace: str = field(default="", repr=False)

    @property
    def state(self) -> str:
        if any(j.ok is False for j in self.judgements):
            return FAILED
        if self.not_run is not None or self.fault is not None:
            return NOT_RUN
        return PASSED

    @property
    def reason(self) -> str:
        """One line for the summary: the first failure, or why it did not run."""
        failed = next((j for j in self.judgements if j.ok is False), None)
        if failed is not None:
            return f"{failed.expected}: {failed.got}" if failed.got else failed.expected
        if self.fault is not None:
            return f"the rehearsal itself failed (a bug): {self.fault}"
        return self.not_run or ""


def _answers(count: int) -> str:
    return "the answer conforms to" if count == 1 else f"all {count} answers conform to"


def _shown(exchange: Exchange) -> str:
    """The start of an answer as evidence: JSON indented to read, anything else as it came."""
    value = server_json(exchange.response.content)
    if value is NOT_JSON:
        return exchange.text(ANSWER_CHARACTERS)
    text = json.dumps(value, indent=1, ensure_ascii=False)
    return text if len(text) <= ANSWER_CHARACTERS else text[:ANSWER_CHARACTERS] + "..."


class Walk:
    """The flows' shared state: the suite's request builders, the test customer, what enrolment made."""

    def __init__(
        self,
        client: ApiClient,
        tokens: list[str],
        enterprise_id: str,
        customer_id: str,
        run_id: str,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.customer_id = customer_id
        self.memberships = ReverseScenarios(
            client, client.results, tokens, enterprise_id, (), customer_id, allow_writes=True
        )
        self.members = MemberScenarios(
            client,
            client.results,
            tokens,
            enterprise_id,
            (),
            self.memberships.list_ids,
            self.memberships._problem,
        )
        self.customer = test_customer(run_id)  # a test by its name, undeliverable by its e-mail's domain
        self.member: dict[str, Any] | None = None  # the enrolment's answer
        self.enrolled: list[str] = []  # membership ids the run created
        self.linked: str | None = None  # a membership the run may have left linked
        self.records: list[FlowRecord] = []  # each flow run, in order (the one interrupted too)
        self.current: FlowRecord | None = None
        client.observers.append(self._observe)

    # --- running a flow ----------------------------------------------------------------------

    def run(self, flow: Flow) -> FlowRecord:
        """One flow, its answers checked against the spec into a ``Results`` of its own; whatever the
        provider answers is a judgement, a bug of the rehearsal a fault (the next flow still runs)."""
        record = FlowRecord(flow)
        self.records.append(record)
        results = Results("reverse", self.client.base_url)
        self.client.results = self.client.checks.results = results
        self.current = record
        try:
            flow.step(self)
        except KeyboardInterrupt:  # a signal: the flow stops here, the run ends
            record.not_run = "the run was interrupted during this flow (what it sent is below)"
            raise
        except NotRunnable as error:
            record.not_run = error.reason
        except ScenarioError as error:  # no answer: the flow cannot go on
            record.judgements.append(Judgement(False, f"an answer from {error.operation}", error.message))
            record.exchanges.append(Evidence(error.operation, "", "", None, None, "", "", error.curl))
        except Exception as error:
            record.fault = f"{type(error).__name__}: {error}"
            record.trace = "".join(traceback.format_exception(error))
        finally:
            self.current = None
        self._conformance(record, results)
        return record

    def _conformance(self, record: FlowRecord, results: Results) -> None:
        """The spec's checks on every answer of the flow (status, media type, headers, body schema)."""
        for failure in results.failures:
            record.judgements.append(
                Judgement(
                    False,
                    f"{failure.operation}'s answer conforms to the spec ({failure.check})",
                    failure.message,
                )
            )
        answered = [e for e in record.exchanges if e.status is not None]
        if answered and not results.failures:
            record.judgements.append(
                Judgement(True, f"{_answers(len(answered))} the spec: status, media type, headers, body")
            )

    def _observe(self, exchange: Exchange) -> None:
        if self.current is None:
            return
        body = exchange.body
        sent = body.decode("utf-8", "replace") if isinstance(body, bytes) else json.dumps(body, indent=1)
        try:
            seconds: float | None = exchange.response.elapsed.total_seconds()
        except RuntimeError:  # an answer httpx did not time
            seconds = None
        mask = self.client.secrets.mask
        self.current.exchanges.append(
            Evidence(
                operation=exchange.operation.operation_id,
                method=exchange.operation.method.upper(),
                path=exchange.operation.path,
                status=exchange.status,
                seconds=seconds,
                request=mask(printable(sent)),
                answer=mask(printable(_shown(exchange))),
                curl=str(exchange.curl),
            )
        )

    def judge(self, ok: bool, expected: str, exchange: Exchange) -> None:
        assert self.current is not None
        got = "" if ok else self.client.secrets.mask(printable(f"got {exchange.describe()}"))
        self.current.judgements.append(Judgement(ok, expected, got))

    def note(self, text: str) -> None:
        assert self.current is not None
        self.current.judgements.append(Judgement(None, text))

    def ops(self) -> MemberOperations:
        ops = member_operations()
        if ops is None:
            raise NotRunnable("the spec has no member search operation")
        return ops

    def enrolled_id(self) -> str:
        if self.member is None or (membership_id := membership_id_of(self.member)) is None:
            raise NotRunnable("needs the member the Enroll flow makes (it enrolled none)")
        return membership_id

    def full_filter(self, ops: MemberOperations) -> dict[str, Any]:
        """Everything Mews knows of the test customer that the search filter holds (Mews sends all it knows)."""
        return MemberScenarios.known_filter(ops, self.customer)

    def list_body(self, ids: list[str]) -> dict[str, Any]:
        return {
            self.memberships.enterprise_field: self.members.enterprise_id,
            self.memberships.ids_field: ids,
        }

    def listed(self, exchange: Exchange) -> dict[str, Mapping[str, Any]]:
        items = exchange.items(self.memberships.list_op.result_items or "data")
        return {str(entry.get(MEMBERSHIP_ID)): entry for entry in items}

    # --- the flows -----------------------------------------------------------------------------

    def search_nobody(self) -> None:
        ops = self.ops()
        member_filter = self.full_filter(ops)
        exchange = self.members.search(ops, member_filter)
        self.judge(
            exchange.status == 200 and not exchange.items(ops.results_field),
            f"a search for a customer nobody enrolled yet (by {', '.join(member_filter)}) answers 200 and no member",
            exchange,
        )

    def enrol(self) -> None:
        ops = self.ops()
        if ops.enrol is None or ops.customer_field is None:
            raise NotRunnable("the spec has no enrolment operation")
        first = self.members.enrol(ops, self.customer)
        membership_id = membership_id_of(first.json())
        self.judge(
            first.status == 200 and membership_id is not None,
            f"enrolling {self.customer['email']} answers 200 with a member and its membership",
            first,
        )
        if membership_id is None:
            return
        self.member = first.object()
        self.enrolled.append(membership_id)
        second = self.members.enrol(ops, self.customer)
        again = membership_id_of(second.json())
        if again is not None and again not in self.enrolled:
            self.enrolled.append(again)
        self.judge(
            second.status == 200 and again == membership_id,
            f"enrolling the same customer again answers the same membership {membership_id} "
            "(Mews: 200 with the existing membership)",
            second,
        )

    def search_member(self) -> None:
        ops, membership_id = self.ops(), self.enrolled_id()
        for combo in ops.combinations:
            values = {name: _find(self.member, name) or _find(self.customer, name) for name in combo}
            if any(value is None for value in values.values()):
                self.note(f"no value to search by {' + '.join(combo)}: the enrolment answered none")
                continue
            exchange = self.members.search(ops, values)
            self.judge(
                exchange.status == 200 and membership_id in self.members.found(ops, exchange),
                f"a search by {' + '.join(combo)} finds membership {membership_id}",
                exchange,
            )

    def list_refresh(self) -> None:
        membership_id = self.enrolled_id()
        exchange = self.client.send(self.memberships.list_op, self.list_body([membership_id]))
        entry = self.listed(exchange).get(membership_id, {})
        self.judge(
            exchange.status == 200
            and len(exchange.items(self.memberships.list_op.result_items or "data")) == 1
            and entry.get("status") not in (None, NOT_FOUND),
            f"listing membership {membership_id} answers its one entry, not {NOT_FOUND} (Refresh on a profile)",
            exchange,
        )
        unknown = self.memberships.unknown_ids(1)[0]
        refresh = self.client.send(self.memberships.list_op, self.list_body([membership_id, unknown]))
        entries = self.listed(refresh)
        self.judge(
            refresh.status == 200
            and set(entries) == {membership_id, unknown}
            and entries[membership_id].get("status") not in (None, NOT_FOUND)
            and entries[unknown].get("status") == NOT_FOUND,
            f"refreshing it beside an id nobody knows answers both, the unknown one {NOT_FOUND} (the daily sync)",
            refresh,
        )

    def link(self) -> None:
        membership_id = self.enrolled_id()
        self.linked = membership_id  # until an unlink is answered
        exchange = self.client.send(self.memberships.link_op, self.memberships.link_body(membership_id, True))
        self.judge(
            exchange.status == 200 and exchange.get("success") is True,
            f"linking membership {membership_id} to customer {self.customer_id} answers 200, success true",
            exchange,
        )

    def unlink(self) -> None:
        membership_id = self.enrolled_id()
        exchange = self.unlink_request(membership_id)
        self.judge(
            exchange.status == 200 and exchange.get("success") is True,
            f"unlinking membership {membership_id} from customer {self.customer_id} answers 200, success true",
            exchange,
        )

    def unlink_request(self, membership_id: str) -> Exchange:
        exchange = self.client.send(
            self.memberships.link_op, self.memberships.link_body(membership_id, False)
        )
        if exchange.status == 200 and exchange.get("success") is True:
            self.linked = None
        return exchange

    def token_rotation(self) -> None:
        if len(self.tokens) < 2:
            raise NotRunnable(
                "needs a second --token: during a rotation Mews' authentication guide asks the provider "
                "to accept the current and the new token at once"
            )
        ops = self.ops()
        body = self.list_body(self.memberships.unknown_ids(1))
        for index, token in enumerate(self.tokens, start=1):
            listed = self.client.send(self.memberships.list_op, body, bearer=token)
            self.judge(listed.status == 200, f"token #{index} is accepted by the membership list", listed)
            found = self.members.search(ops, self.full_filter(ops), bearer=token)
            self.judge(found.status == 200, f"token #{index} is accepted by the member search", found)
        wrong: tuple[tuple[str, str | None], ...] = (
            ("a token nobody issued", WRONG_TOKEN),
            ("no token", None),
        )
        for name, bearer in wrong:
            refused = self.client.send(self.memberships.list_op, body, bearer=bearer)
            self.judge(refused.status == 401, f"{name} is refused with 401", refused)

    def checkout(self) -> None:
        raise NotRunnable(
            "Mews publishes no operation for checkout events: nothing to call yet; agree in the joint "
            "review whether they apply to you"
        )


FLOWS: tuple[Flow, ...] = (
    Flow(
        "search-nobody",
        "Member search finds nobody",
        SELF_TEST[0],
        "A receptionist creates a new customer; Mews searches the provider, which knows nobody like them.",
        Walk.search_nobody,
    ),
    Flow(
        "enrol",
        "Enrol the customer",
        SELF_TEST[1],
        "The receptionist enrols the customer in the programme; enrolling them again answers the same membership.",
        Walk.enrol,
    ),
    Flow(
        "search-member",
        "Member search finds the member by each combination",
        SELF_TEST[0],
        "Mews searches again, by each filter combination it publishes, and must find the member.",
        Walk.search_member,
    ),
    Flow(
        "list-refresh",
        "List and refresh the membership",
        SELF_TEST[2],
        "Refresh on the customer's profile lists the membership; the daily sync lists several at once.",
        Walk.list_refresh,
    ),
    Flow(
        "link",
        "Link the membership to a customer",
        SELF_TEST[3],
        "The receptionist links the membership found to a Mews customer profile.",
        Walk.link,
    ),
    Flow(
        "unlink",
        "Unlink the membership",
        SELF_TEST[3],
        "The receptionist removes the membership from the customer profile.",
        Walk.unlink,
    ),
    Flow(
        "token-rotation",
        "Token rotation: both tokens accepted",
        AUTHENTICATION,
        "While the provider rotates its token, Mews may call with either one; a token nobody issued is refused.",
        Walk.token_rotation,
    ),
    Flow(
        "checkout",
        "Checkout event handling",
        SELF_TEST[4],
        "If it applies to the provider, Mews notifies it of a checkout.",
        Walk.checkout,
    ),
)


__all__ = [
    "FAILED",
    "FLOWS",
    "NOT_RUN",
    "PASSED",
    "Evidence",
    "Flow",
    "FlowRecord",
    "Judgement",
    "Walk",
]
