"""Advice on every answer of a Reverse run: what Mews' users would notice, which no document forbids.

Each finding here is a ``warning`` (``_report.causes.ADVISORY``): shown in every report, never failing
the run. Two checks read every answer the run gets, the scenarios' and (problem types only)
schemathesis' cases:

    problem_type    a problem's ``type`` is one Mews defines (the spec's enum beside the custom URI
                    in the problem schema): for any other URI Mews shows its users only a generic
                    message (judged on the statuses the spec documents: those Mews meets)
    latency_budget  the whole exchange took at most ``--latency-budget`` seconds (Mews does not
                    publish the timeout of its calls; a receptionist waits on a member search)

The predefined types are read from the spec, per operation: the ``enum`` members of the ``type``
property of the operation's documented error bodies.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mews_loyalty._spec.catalog import ApiName, Operation, catalog, resolve
from mews_loyalty.contract._exchange.api_client import Exchange, server_json
from mews_loyalty.contract._report.results import Results

PROBLEM_TYPE = "type"  # RFC 9457: the problem's kind, as a URI


def predefined_problem_types(operation: Operation) -> frozenset[str]:
    """The problem types Mews defines for ``operation``'s error answers (empty: the spec names none)."""
    return _predefined(operation.api, operation.operation_id)


@functools.cache
def _predefined(api: ApiName, operation_id: str) -> frozenset[str]:
    operation = catalog(api).by_id[operation_id]
    document = catalog(api).document
    responses = document["paths"][operation.path][operation.method.lower()].get("responses", {})
    found: set[str] = set()
    for status, response in responses.items():
        if str(status).startswith(("4", "5")):
            content = resolve(document, response).get("content", {}).get(operation.error_content_type, {})
            found.update(_enum_members(document, content.get("schema")))
    return frozenset(found)


def _enum_members(document: Mapping[str, Any], schema: Any) -> Iterator[str]:
    """The enum values a problem schema's ``type`` may take (through ``anyOf``/``oneOf``)."""
    if not isinstance(schema, Mapping):
        return
    kind = resolve(document, resolve(document, schema).get("properties", {}).get(PROBLEM_TYPE, {}))
    for option in (kind, *kind.get("anyOf", ()), *kind.get("oneOf", ())):
        yield from (str(value) for value in resolve(document, option).get("enum", ()))


@dataclass
class Advice:
    results: Results
    latency_budget: float  # seconds (``--latency-budget``)

    def exchange(self, exchange: Exchange) -> None:
        """Judge one of the scenarios' exchanges (an ``ApiClient`` observer)."""
        operation = exchange.operation
        seconds = exchange.response.elapsed.total_seconds()
        self.results.expect(
            "latency_budget",
            operation.operation_id,
            seconds <= self.latency_budget,
            f"answered in {seconds:.2f} s, over the --latency-budget of {self.latency_budget:g} s "
            "(Mews' timeout is unpublished: a slow answer may be cut off while a receptionist waits)",
            exchange.curl,
        )
        self.problem_type(operation, exchange.status, exchange.json(), exchange.curl)

    def answer(self, operation: Operation, status: int, content: bytes) -> None:
        """Judge an answer to one of schemathesis' cases (its problem type only)."""
        self.problem_type(operation, status, server_json(content), "")

    def problem_type(self, operation: Operation, status: int, body: Any, curl: str) -> None:
        predefined = predefined_problem_types(operation)
        kind = body.get(PROBLEM_TYPE) if isinstance(body, dict) else None
        if status < 400 or status not in operation.documented_statuses or not predefined:
            return  # no problem, or one Mews never meets (a 405 to a method it does not send)
        if not isinstance(kind, str):
            return  # no type at all: the schema checks judge that
        self.results.expect(
            "problem_type",
            operation.operation_id,
            kind in predefined,
            f"the problem type {kind!r} ({status}) is not one Mews defines: Mews shows its users only "
            "a generic message for it (use the closest predefined type, details in 'detail')",
            curl,
        )
