"""A loyalty provider on the kit. Run: PROVIDER_TOKENS=secret PORT=8081 python examples/provider_minimal.py"""

import os
import uuid
from typing import Any

from mews_loyalty import provider as kit

MEMBERS: dict[str, dict[str, object]] = {
    "A-1": {"providerMembershipId": "A-1", "membershipNumber": "1001", "status": "enrolled", "points": 420},
    "A-2": {"providerMembershipId": "A-2", "membershipNumber": "A-2", "status": "pending"},
}
PEOPLE: dict[str, dict[str, Any]] = {"A-1": {"firstName": "Ada", "lastName": "Lovelace"}, "A-2": {}}
ENROLLED: dict[tuple[object, object], str] = {}  # (Mews enterprise, email or names) -> membership id
LINKS: dict[str, object] = {}  # membership id -> linked Mews customer id (None once unlinked)
COMBOS = [
    "email",
    "membershipNumber",
    "providerMembershipId",
    "firstName lastName",
    "lastName city countryCode",
]
KEPT: Any = {"email": True, "first_name": True, "last_name": True, "address": {"city", "country_code"}}


def flat(i: str) -> dict[str, object]:  # what a search compares: names, email, address, membership
    return fold({**PEOPLE[i], **PEOPLE[i].get("address", {}), **MEMBERS[i]})


def fold(d: dict[str, Any]) -> dict[str, Any]:  # guests type their e-mail in any letter case
    return {k: v.casefold() if k == "email" and isinstance(v, str) else v for k, v in d.items()}


class Backend:  # any object with these four methods; each may be def or async def
    def search_members(self, request: kit.SearchMembersRequest) -> list[dict[str, object]]:
        wanted = fold(request.member_filter.model_dump(by_alias=True, exclude_unset=True))  # valid
        matches = [
            i
            for i in MEMBERS
            for f in map(str.split, COMBOS)
            if wanted.keys() >= set(f) and all(flat(i).get(k) == wanted[k] for k in f)
        ]
        return [{**PEOPLE[i], "membership": MEMBERS[i]} for i in dict.fromkeys(matches)]

    def enroll_member(self, request: kit.EnrollMemberRequest) -> dict[str, object]:
        person = request.customer.model_dump(by_alias=True, include=KEPT, exclude_unset=True)
        who = person.get("email") or (person.get("firstName"), person.get("lastName"))
        key = (request.mews_enterprise_id, who)
        if key not in ENROLLED:  # a customer enrolled before gets the same member again (Mews' rule)
            ENROLLED[key] = new = uuid.uuid4().hex[:12]
            MEMBERS[new] = {"providerMembershipId": new, "membershipNumber": new, "status": "enrolled"}
            PEOPLE[new] = person
        return {**PEOPLE[ENROLLED[key]], "membership": MEMBERS[ENROLLED[key]]}

    def list_memberships(self, request: kit.ListMembershipsRequest) -> list[dict[str, object]]:
        return [MEMBERS[i.root] for i in request.provider_membership_ids if i.root in MEMBERS]

    async def link_membership(self, request: kit.LinkMembershipRequest) -> bool:
        known = MEMBERS.get(request.provider_membership_id)
        if request.is_linked and known is not None and known["status"] != "enrolled":
            raise kit.BusinessRuleViolation("Only an enrolled membership can be linked.")  # a 422 problem
        if known is not None:
            LINKS[request.provider_membership_id] = request.mews_customer_id if request.is_linked else None
        return known is not None or not request.is_linked  # an unknown membership cannot be linked


app = kit.create_provider_app(Backend(), tokens=os.environ["PROVIDER_TOKENS"].split(","))
if __name__ == "__main__":
    kit.serve(app, port=int(os.environ.get("PORT", "8081")))
