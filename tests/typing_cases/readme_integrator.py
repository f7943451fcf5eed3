"""The README's integrator example, type-checked as written (tests/codegen/test_resources.py keeps it
verbatim). Only the two names the README leaves to the reader are declared first."""

from uuid import UUID

from mews_loyalty.connector import LoyaltyMembershipAddParametersDict

rows: list[LoyaltyMembershipAddParametersDict] = []
program_id = UUID(int=1)

# --- README "For integrators" block, verbatim, from here to the end of the file ---
from mews_loyalty import ConnectorClient, ForbiddenError

# Arguments beat variables: tokens from MEWS_CLIENT_TOKEN / MEWS_ACCESS_TOKEN, the server from
# MEWS_BASE_URL (a local mock) or MEWS_ENVIRONMENT (demo, the default, or production).
with ConnectorClient(client="MyApp 1.0") as mews:
    for membership in mews.loyalty_memberships.iter_all(activity_states=["Active"]):  # every page
        print(membership.id, membership.state, membership.membership_number)
    added = mews.loyalty_memberships.add(rows)  # dicts as in Mews' docs or models; 1000 per request
    mews.loyalty_memberships.update([{"LoyaltyMembershipId": added[0].id, "Points": {"Value": 120}}])
    page = mews.with_options(max_retries=0).loyalty_programs.get_all(timeout=5.0)  # a copy; per call
    print(page.request_id, page.has_next_page())  # and get_next_page(), iter_pages(), with_raw_response
    try:
        mews.loyalty_programs.delete([program_id])
    except ForbiddenError as error:  # typed errors carry status, message and request_id
        print(error.message, error.request_id)
