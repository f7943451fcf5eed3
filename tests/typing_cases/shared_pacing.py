"""docs/sdk.md's `SharedRateLimit` example (Retries and pacing), type-checked as written; never run (it
would reach the Redis server it names)."""

import redis

from mews_loyalty import ConnectorClient, SharedRateLimit

limit = SharedRateLimit.redis(redis.Redis.from_url("redis://pacing.internal:6379/0"))  # all machines
limit = SharedRateLimit.sqlite("/var/tmp/mews-pacing.sqlite")  # or: every process on this machine
mews = ConnectorClient(client="MyApp 1.0", rate_limit=limit)  # 200 per 30 s for the token, in all
