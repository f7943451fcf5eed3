"""Corruptions: what a broken server, gateway or network does to an answer, each a function of it.

    Corruption("ids_as_numbers", ids_as_numbers)                      # every answer
    Corruption("add_without_ids", drop_ids, actions=("add",))         # only the answers of adds
    with serve_in_thread(MutatingProxy(upstream, corruption.mutation("connector"))) as url: ...

Nothing here knows an operation or a field by name: JSON answers are rewritten by walking their
values (keys ending in ``Id`` are identifiers), the rest work on status, headers and bytes, so every
corruption applies to both APIs and to operations added to the specs later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mews_loyalty._spec.catalog import ApiName, Operation
from tests.contract._proxy import Answer, Flow, Mutation

Corrupt = Callable[[Answer], Answer]
# The client timeout the corruption tests run with, and how late a "timeout" answer arrives.
CLIENT_TIMEOUT = 1.0
LATE_BY = 1.6
LARGE_BYTES = 2 * 1024 * 1024


def _rewrite_json(change: Callable[[Any], Any]) -> Corrupt:
    """A corruption that rewrites a JSON body's value (other bodies pass through)."""

    def corrupt(answer: Answer) -> Answer:
        try:
            value = json.loads(answer.body)
        except ValueError:
            return answer
        return replace(answer, body=json.dumps(change(value)).encode())

    return corrupt


def _walk(value: Any, leaf: Callable[[str, Any], Any], key: str = "") -> Any:
    """``value`` with ``leaf(key, v)`` applied to every scalar, and to every list as a whole."""
    if isinstance(value, dict):
        return {k: _walk(v, leaf, k) for k, v in value.items()}
    if isinstance(value, list):
        listed = leaf(key, value)
        return [_walk(v, leaf, key) for v in listed] if isinstance(listed, list) else listed
    return leaf(key, value)


def _is_id(key: str) -> bool:
    return key.endswith("Id")


def _drop_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_ids(v) for k, v in value.items() if not _is_id(k)}
    if isinstance(value, list):
        return [_drop_ids(v) for v in value]
    return value


def _nulls(key: str, value: Any) -> Any:
    return value if isinstance(value, list) else None


def _ids_as_numbers(key: str, value: Any) -> Any:
    return 12345 if _is_id(key) and isinstance(value, str) else value


def _lists_as_null(key: str, value: Any) -> Any:
    return None if isinstance(value, list) else value


def _strings_as_numbers(key: str, value: Any) -> Any:
    return 42 if isinstance(value, str) else value


def _body(body: bytes, media: str | None = None) -> Corrupt:
    def corrupt(answer: Answer) -> Answer:
        headers = dict(answer.headers)
        if media is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["content-type"] = media
        return replace(answer, headers=headers, body=body)

    return corrupt


def _truncated(answer: Answer) -> Answer:
    return replace(answer, body=answer.body[: max(1, len(answer.body) // 2)])


def _gateway_page(answer: Answer) -> Answer:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    return Answer(502, {"content-type": "text/html"}, page)


def _status(status: int) -> Corrupt:
    return lambda answer: replace(answer, status=status)


def _empty_200(answer: Answer) -> Answer:
    return replace(answer, status=200, body=b"")


def _redirect(answer: Answer) -> Answer:
    return Answer(307, {"location": "http://127.0.0.1:9/moved", "content-type": "text/plain"}, b"")


def _late(answer: Answer) -> Answer:
    return replace(answer, delay=LATE_BY)


def _dropped(answer: Answer) -> Answer:
    return replace(answer, drop=True)


def _short(answer: Answer) -> Answer:
    return replace(answer, declared_length=len(answer.body) + 100)


@dataclass(frozen=True)
class Corruption:
    name: str
    corrupt: Corrupt
    actions: tuple[str, ...] = ()  # catalog actions whose answers it corrupts; empty: every answer
    apis: tuple[ApiName, ...] = ("connector", "reverse")

    def mutation(self, api: ApiName) -> Mutation:
        def on_response(flow: Flow, op: Operation | None, answer: Answer) -> Answer:
            if op is None or (self.actions and op.action not in self.actions):
                return answer
            return self.corrupt(answer)

        return Mutation(self.name, api, frozenset(), on_response=on_response)


CORRUPTIONS = [
    Corruption("missing_ids", _rewrite_json(_drop_ids)),
    Corruption("add_without_ids", _rewrite_json(_drop_ids), actions=("add",), apis=("connector",)),
    Corruption("null_fields", _rewrite_json(lambda v: _walk(v, _nulls))),
    Corruption("ids_as_numbers", _rewrite_json(lambda v: _walk(v, _ids_as_numbers))),
    Corruption("lists_as_null", _rewrite_json(lambda v: _walk(v, _lists_as_null))),
    Corruption("strings_as_numbers", _rewrite_json(lambda v: _walk(v, _strings_as_numbers))),
    Corruption("array_instead_of_object", _body(b'["unexpected", "array"]')),
    Corruption("truncated_json", _truncated),
    Corruption("not_json", _body(b"OK")),
    Corruption("binary_garbage", _body(bytes(range(256)) * 4)),
    Corruption("deeply_nested_json", _body(b"[" * 100_000 + b"]" * 100_000)),
    Corruption("very_large_body", _body(json.dumps("x" * LARGE_BYTES).encode())),
    Corruption("gateway_502_html", _gateway_page),
    Corruption("undocumented_status", _status(418)),
    Corruption("empty_200", _empty_200),
    Corruption("redirect", _redirect),
    Corruption("timeout", _late),
    Corruption("connection_dropped", _dropped),
    Corruption("short_body", _short),
]
IDENTITY = Corruption("identity", lambda answer: answer)
