"""Contract verification of servers that speak Mews' loyalty APIs.

    mews-loyalty contract connector --base-url URL --client-token X --access-token Y [--allow-writes]
    mews-loyalty contract reverse --base-url URL --token T [--token T2]
    python -m mews_loyalty.contract            # both embedded mocks, started on loopback, verified

Schemathesis drives the schema-based phases (examples, coverage, fuzzing, stateful, every built-in
check plus ``ignored_body_auth`` and ``request_id_header``); scenario checks cover what a schema
cannot say (paging, update values, soft delete, interval and rate limits, the Reverse API's list and
link rules). Exit status: 0 the server conforms, 1 it does not, 2 it could not run (or a usage
error, a report folder refused, a fault of the suite), 128 + N when signal N interrupted it.
"""
