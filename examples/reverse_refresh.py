"""Call a loyalty provider's Reverse API the way Mews does: refresh memberships, then link and unlink one.

    MEWS_REVERSE_BASE_URL=https://provider.example/mews MEWS_REVERSE_TOKEN=... \\
    python examples/reverse_refresh.py --enterprise 0d4c8ba1-2f4d-4bf5-8d2b-6f2e1c1f3a11 \\
        --customer 5b1f0f4e-... M-1 M-2 M-3

(``--base-url`` and ``--token`` beat the variables.)

A QA harness's smoke test: every id comes back (unknown ones as ``notFound``), problem details are
shown with their JSON pointers, and the exit code says whether the provider behaved.
"""

from __future__ import annotations

import argparse
import sys

from mews_loyalty import MewsConnectionError, ProblemDetailError, ReverseClient
from mews_loyalty.reverse import Membership


def refresh(client: ReverseClient, enterprise: str, ids: list[str]) -> list[Membership]:
    memberships = client.list_memberships(ids, enterprise_id=enterprise)  # split per 100 ids, merged in order
    for membership in memberships:
        print(
            f"{membership.provider_membership_id:<20} {membership.status:<10} {membership.membership_number}"
        )
    missing = set(ids) - {m.provider_membership_id for m in memberships}
    if missing:
        print(f"not answered (Mews asks again later): {', '.join(sorted(missing))}")
    return memberships


def main() -> int:
    parser = argparse.ArgumentParser(description="Refresh memberships from a loyalty provider.")
    parser.add_argument("--base-url", help="the provider's Reverse API root (or MEWS_REVERSE_BASE_URL)")
    parser.add_argument("--token", help="the bearer token the provider issued (or MEWS_REVERSE_TOKEN)")
    parser.add_argument("--enterprise", required=True, help="Mews enterprise id (UUID)")
    parser.add_argument(
        "--customer", help="a Mews customer id to link to the first membership and unlink again"
    )
    parser.add_argument("ids", nargs="+", help="provider membership ids")
    args = parser.parse_args()
    with ReverseClient(base_url=args.base_url, token=args.token) as provider:
        try:
            memberships = refresh(provider, args.enterprise, args.ids)
            if args.customer and memberships:
                first = memberships[0].provider_membership_id
                print("link:", provider.link(args.enterprise, first, args.customer).success)
                print("unlink:", provider.unlink(args.enterprise, first, args.customer).success)
        except ProblemDetailError as problem:
            print(f"{problem.status} {problem.title}: {problem.detail} ({problem.type})", file=sys.stderr)
            for field in problem.errors:
                print(f"  {field.pointer}: {field.detail}", file=sys.stderr)
            return 1
        except MewsConnectionError as error:
            print(f"provider unreachable: {error}", file=sys.stderr)
            return 1
        except ValueError as error:  # refused before sending
            print(f"not sent: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
