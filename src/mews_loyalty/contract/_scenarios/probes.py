"""Run-level probes of a Connector server: body credentials and the rate limit.

``ignored_body_auth``: a request with a body token wrong must get 401, and one with it missing or
empty 401 or 400 (Mews' guides put a malformed request under 400, bad tokens under 401); fuzzing
probes the operations it reached with a 2xx (``probe_body_auth`` is its hook), and
``probe_remaining_auth`` the others. ``rate_limit`` (only with ``--probe-rate-limit``) bursts past
the limit on purpose and expects a 429 with a usable ``Retry-After``, then success after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mews_loyalty._spec.catalog import PAGING_FIELD, Operation, catalog
from mews_loyalty._spec.graph import LinkedResource
from mews_loyalty._wire.encode import PAGE_SIZE_FIELD
from mews_loyalty.contract._exchange.api_client import Exchange
from mews_loyalty.contract._exchange.throttle import parse_retry_after
from mews_loyalty.contract._report.results import NotRunnable, ScenarioError
from mews_loyalty.contract._scenarios.links import ID, require_update_key, resources
from mews_loyalty.contract._scenarios.records import ConnectorRecords

# A token of the right shape that no server issued.
WRONG_TOKEN = "0123456789ABCDEF0123456789ABCDEF-0123456789ABCDEF0123456789ABCDE"
# What each probe may be answered: a wrong token is a bad token (401); a missing or empty one is
# also a malformed request, which Mews' guides answer 400, so either refusal conforms.
REFUSALS = {"wrong": (401,), "missing": (400, 401), "empty": (400, 401)}
BURST_CONNECTIONS = 4


def probe_body_auth(records: ConnectorRecords, op: Operation, body: Mapping[str, Any]) -> list[str]:
    """Send ``body`` with each token wrong, missing and empty; every answer must refuse it (``REFUSALS``).

    Each probe of an add counts against the write budget (a server that ignores the tokens would
    create the record): ``NotRunnable`` once the budget is spent."""
    problems: list[str] = []
    for name in ("ClientToken", "AccessToken"):
        for variant in ("wrong", "missing", "empty"):
            probe = dict(body)
            records.credentials.apply(probe)
            if variant == "wrong":
                probe[name] = WRONG_TOKEN
            elif variant == "missing":
                del probe[name]
            else:
                probe[name] = ""
            exchange = records.client.send(op, probe)
            ok = exchange.status in REFUSALS[variant]
            expected = " or ".join(str(status) for status in REFUSALS[variant])
            message = f"{variant} {name} must get {expected}, got {exchange.describe()}"
            records.results.expect("ignored_body_auth", op.operation_id, ok, message, exchange.curl)
            if not ok:
                problems.append(message)
    return problems


def probe_remaining_auth(records: ConnectorRecords, probed: set[str]) -> None:
    """Body-token probes for operations no fuzzed request reached with a 2xx."""
    for resource in resources():
        for op in (resource.get_all, resource.add, resource.update, resource.delete):
            if op is None or op.operation_id in probed:
                continue
            try:
                body = _valid_body(records, resource, op)
                if body is None:
                    continue
                probe_body_auth(records, op, body)
            except ScenarioError as error:
                records.results.failed("ignored_body_auth", op.operation_id, error.message, error.curl)
                continue
            except NotRunnable as error:  # the write budget is spent: the other operations still can be
                records.results.skip("ignored_body_auth", error.reason)
                continue
            probed.add(op.operation_id)
    skipped = sorted(
        op.operation_id for op in catalog("connector").operations if op.operation_id not in probed
    )
    if skipped:
        records.results.notes.append(
            f"ignored_body_auth: not probed (writes not allowed, or no record to probe with): {', '.join(skipped)}"
        )


def _valid_body(records: ConnectorRecords, resource: LinkedResource, op: Operation) -> dict[str, Any] | None:
    if op is resource.get_all:
        return {**records.list_body(resource), PAGING_FIELD: {PAGE_SIZE_FIELD: 1}}
    if not records.allow_writes:
        return None  # a server that ignores tokens would act on the probe
    if op is resource.add and op.batch_field:
        return {op.batch_field: [records.add_item_fields(resource, {}, records.next_variant())]}
    record = records.create(resource)
    if op is resource.update and op.batch_field:
        return {op.batch_field: [{require_update_key(resource): record[ID]}]}
    if op is resource.delete and op.batch_field:
        return {op.batch_field: [record[ID]]}
    return None


def check_rate_limit(records: ConnectorRecords, rate: tuple[int, float]) -> None:
    """Burst past the limit on purpose: a 429 with a usable Retry-After, then success after it."""
    resource = next((r for r in resources() if not r.required_filters), resources()[0])
    op = resource.get_all
    label = op.operation_id
    body = records.body(**records.list_body(resource), **{PAGING_FIELD: {PAGE_SIZE_FIELD: 1}})
    limit, seconds = rate
    # The run's clock: the burst must land inside one window of the server's, which on a real clock
    # depends on the machine's speed; tests give server and run one virtual clock.
    pacer = records.client.pacer
    # The server's window is anchored at the first request of a burst: one the run's earlier requests
    # opened may still be running, and a burst straddling its end is split between two windows and
    # never passes the limit in either (on a busy machine, where the burst is slower, a false
    # finding). After a quiet window the burst opens a window of its own.
    pacer.pause(seconds + 0.05)
    started = pacer.now()
    hits: list[Exchange] = []
    planned = min(limit + 5, 1100)
    numbers = itertools.count(1)
    sent = 0

    def burst() -> None:
        nonlocal sent
        while not hits and (number := next(numbers)) <= planned:
            sent = max(sent, number)
            exchange = records.client.send(op, body, burst=True)
            if exchange.status == 429:
                hits.append(exchange)

    # A few connections at once, so that a busy machine still outpaces the window.
    with ThreadPoolExecutor(BURST_CONNECTIONS) as pool:
        for future in [pool.submit(burst) for _ in range(BURST_CONNECTIONS)]:
            future.result()
    hit = hits[0] if hits else None
    elapsed = pacer.now() - started
    if hit is None:
        if elapsed < seconds:
            records.results.failed(
                "rate_limit",
                label,
                f"{sent} requests within {elapsed:.1f} s (limit {limit}/{seconds:g} s) got no 429",
            )
        else:
            records.results.skip(
                "rate_limit",
                f"{sent} requests took {elapsed:.1f} s, longer than the {seconds:g} s window",
            )
        return
    wait = parse_retry_after(hit.response.headers.get("Retry-After"))
    records.results.expect(
        "rate_limit",
        label,
        wait is not None,
        f"the 429 must carry a usable Retry-After, got {hit.response.headers.get('Retry-After')!r}",
        hit.curl,
    )
    pacer.pause(min(wait if wait is not None else seconds, 60.0) + 0.05)
    after = records.client.send(op, body)
    records.results.expect(
        "rate_limit",
        label,
        after.status == 200,
        f"after waiting Retry-After the request must succeed, got {after.describe()}",
        after.curl,
    )
