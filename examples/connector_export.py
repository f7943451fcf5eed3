"""Export loyalty memberships changed in the last N days as JSON lines.

    MEWS_CLIENT_TOKEN=... MEWS_ACCESS_TOKEN=... python examples/connector_export.py --days 30 > out.jsonl

Where it sends: ``--environment`` if given, else ``MEWS_BASE_URL`` (a local mock, for instance), else
``MEWS_ENVIRONMENT``, else demo (arguments beat environment variables).

Pages through every match (1000 per request), paced under the access token's rate limit; Mews allows
at most 3 months per time filter, which the SDK checks before sending.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Literal

from mews_loyalty import ConnectorClient, MewsApiError, MewsConnectionError
from mews_loyalty.connector import LoyaltyMembership


def export(days: int, environment: Literal["demo", "production"] | None) -> int:
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    count = 0
    with ConnectorClient(
        client="mews-loyalty export example 1.0",
        environment=environment,  # None: MEWS_BASE_URL or MEWS_ENVIRONMENT decide
    ) as mews:
        memberships = mews.loyalty_memberships.iter_all(
            updated_utc=(start, end), activity_states=["Active", "Deleted"]
        )
        for membership in memberships:
            item: LoyaltyMembership = membership
            print(json.dumps(item.to_dict(), sort_keys=True))
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=30, help="how far back to look (at most about 90)")
    parser.add_argument("--environment", choices=["demo", "production"], default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # shows retries and pacing waits
    try:
        count = export(args.days, args.environment)
    except (ValueError, TypeError) as error:  # refused before sending: a bad argument
        print(f"not sent: {error}", file=sys.stderr)
        return 2
    except MewsApiError as error:
        print(
            f"Mews answered {error.status}: {error.message} (Request-Id {error.request_id})", file=sys.stderr
        )
        return 1
    except MewsConnectionError as error:
        print(f"could not reach Mews: {error}", file=sys.stderr)
        return 1
    print(f"exported {count} memberships", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
