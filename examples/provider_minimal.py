"""A loyalty provider on the kit. Run: PROVIDER_TOKENS=secret PORT=8081 python examples/provider_minimal.py"""

import os

from mews_loyalty import provider as kit

MEMBERS: dict[str, dict[str, object]] = {
    "A-1": {"providerMembershipId": "A-1", "membershipNumber": "1001", "status": "enrolled", "points": 420},
    "A-2": {"providerMembershipId": "A-2", "membershipNumber": "A-2", "status": "pending"},
}
LINKS: dict[str, object] = {}  # membership id -> linked Mews customer id (None once unlinked)


class Backend:  # any object with these two methods; each may be def or async def
    def list_memberships(self, request: kit.ListMembershipsRequest) -> list[dict[str, object]]:
        return [MEMBERS[i.root] for i in request.provider_membership_ids if i.root in MEMBERS]

    async def link_membership(self, request: kit.LinkMembershipRequest) -> bool:
        member = MEMBERS.get(request.provider_membership_id)
        if request.is_linked and member is not None and member["status"] != "enrolled":
            raise kit.BusinessRuleViolation("Only an enrolled membership can be linked.")  # a 422 problem
        if member is not None:
            LINKS[request.provider_membership_id] = request.mews_customer_id if request.is_linked else None
        return member is not None or not request.is_linked  # an unknown membership cannot be linked


app = kit.create_provider_app(Backend(), tokens=os.environ["PROVIDER_TOKENS"].split(","))
if __name__ == "__main__":
    kit.serve(app, port=int(os.environ.get("PORT", "8081")))
