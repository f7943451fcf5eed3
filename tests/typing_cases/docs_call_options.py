"""docs/sdk.md's example of per-call options, copies, raw responses, pages and resuming, type-checked as
written (tests/codegen/test_resources.py keeps it verbatim). Only the names the docs leave to the reader
are declared first."""

from datetime import UTC, datetime

from mews_loyalty.connector import LoyaltyMembership, LoyaltyProgramAddParametersDict

rows: list[LoyaltyProgramAddParametersDict] = []
year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def save(membership: LoyaltyMembership) -> None: ...


# --- docs/sdk.md "Per-call options" block, verbatim, from here to the end of the file ---
from mews_loyalty import ConnectorClient, MewsError

with ConnectorClient(client="MyApp 1.0") as mews:
    page = mews.loyalty_memberships.get_all(page_size=100, timeout=10.0, max_retries=0)  # this call only
    print(page.request_id)  # the Request-Id to quote to Mews' support
    for each in page.iter_pages():  # this page, then each next one, a request each
        print(len(each), each.request_id, each.has_next_page())

    patient = mews.with_options(timeout=120.0, max_retries=8)  # shares connections and pacing window
    added = patient.loyalty_programs.add(rows)
    print(added.request_ids)  # one per request sent (1000 rows each)

    raw = mews.loyalty_memberships.with_raw_response.get_all(activity_states=["Active"])
    print(raw.status_code, raw.headers["Content-Type"], raw.request_id)
    first = raw.parse()  # the Page that get_all returns

    try:
        for membership in mews.loyalty_memberships.iter_all(created_utc=year):
            save(membership)
    except MewsError as error:  # failed after its retries; error.resume says where it stopped
        for membership in mews.loyalty_memberships.iter_all(created_utc=year, resume_from=error.resume):
            save(membership)  # exactly the items the first walk did not yield
