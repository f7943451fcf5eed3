"""Schemathesis hooks for fuzzing the Connector mock with tokens it accepts.

    SCHEMATHESIS_HOOKS=tests.mock.schemathesis_hooks st run specs/connector/openapi.yaml \
        --url http://127.0.0.1:PORT --checks all --seed 1 --max-examples 50

The Connector API carries its credentials in the body, so generated bodies would never pass
authentication and fuzzing would only ever see 401. ``map_body`` swaps every well-formed token for
a demo token; a token the generator deliberately broke (missing, empty, not a string) stays broken,
so negative cases stay negative. Against a mock started with ``--seed-data`` it also points the
references of writes (program, tier, membership to update) at records of the data set, so adds
and updates get past the existence checks and their 200 answers are checked too; deletes keep
their random ids, so the data set survives the run.

``body_tokens_are_checked`` is the body-token counterpart of schemathesis' ``ignored_auth`` (which
only knows header, query and cookie credentials): whenever a request succeeds, it replays it with
each token missing, empty and wrong and expects a 401 every time.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import schemathesis

DEMO_TOKENS = {
    "ClientToken": "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
    "AccessToken": "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
}
WRONG = "00000000000000000000000000000000-000000000000000000000000000000"
UNAUTHORIZED = 401
# Records of the mock's --seed-data set (the ids Mews' examples use); the tier is in the program.
SEEDED_REFERENCES = {
    "LoyaltyProgramId": "f701dafb-5765-4cf4-b1dd-1f602a740ae5",
    "LoyaltyTierId": "69eedfd2-6f25-42fc-b3c8-39df70f85e37",
    "LoyaltyMembershipId": "905a4489-0960-4ac9-96ec-793f47365c92",
}
# Only a well-formed id is replaced: a deliberately malformed one must reach the server as it is.
WELL_FORMED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_uuid_text(value: Any) -> bool:
    return isinstance(value, str) and WELL_FORMED_UUID.fullmatch(value) is not None


def _point_at_seeded_records(item: Any) -> None:
    if not isinstance(item, dict):
        return
    for name, seeded in SEEDED_REFERENCES.items():
        value = item.get(name)
        if _is_uuid_text(value):
            item[name] = seeded
        elif isinstance(value, dict) and _is_uuid_text(value.get("Value")):
            value["Value"] = seeded


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    for name, token in DEMO_TOKENS.items():
        if isinstance(body.get(name), str) and body[name]:
            body[name] = token
    for name in (
        "LoyaltyMemberships",
        "LoyaltyMembershipUpdates",
        "LoyaltyTiers",
        "LoyaltyTierUpdates",
        "LoyaltyProgramUpdates",
    ):
        if isinstance(body.get(name), list):
            for item in body[name]:
                _point_at_seeded_records(item)
    return body


def _tampered(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    variants = []
    for name in DEMO_TOKENS:
        variants.append((f"{name} missing", {key: value for key, value in body.items() if key != name}))
        variants.append((f"{name} empty", {**body, name: ""}))
        variants.append((f"{name} wrong", {**body, name: WRONG}))
    return variants


@schemathesis.check
def body_tokens_are_checked(ctx: Any, response: Any, case: Any) -> bool | None:
    if not 200 <= response.status_code < 300 or not isinstance(case.body, dict):
        return None
    url = response.request.url
    for label, body in _tampered(case.body):
        replay = httpx.post(url, json=body, timeout=10)
        if replay.status_code != UNAUTHORIZED:
            raise AssertionError(f"{label}: expected 401, got {replay.status_code}")
        if not replay.headers.get("Request-Id"):
            raise AssertionError(f"{label}: the 401 has no Request-Id")
    return None
