"""Property: for any body, the answer is the one the spec's own JSON Schema implies, and conforms.

The oracle is the spec, not the kit: a body the request schema accepts must get a 200 (or, for a
link, a 422 business rule), any other body a 400; every answer must be documented and match its
schema. Hypothesis runs derandomized, so the examples are the same on every run.
"""

from __future__ import annotations

import string
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mews_loyalty._asgi import serve_in_thread
from mews_loyalty._spec.catalog import catalog
from mews_loyalty.mock.reverse import SEED_MEMBERSHIPS, create_app
from tests.provider._support import LINK, LIST, TOKEN, assert_conforms
from tests.specs._schema import schema_errors

SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
uuids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
membership_ids = st.sampled_from([m.provider_membership_id for m in SEED_MEMBERSHIPS]) | st.text(max_size=55)
optional_enterprise = {"providerEnterpriseId": st.text(max_size=10)}
list_bodies = st.fixed_dictionaries(
    {"mewsEnterpriseId": uuids, "providerMembershipIds": st.lists(membership_ids, min_size=1, max_size=101)},
    optional=optional_enterprise,
)
link_bodies = st.fixed_dictionaries(
    {
        "mewsEnterpriseId": uuids,
        "providerMembershipId": membership_ids,
        "mewsCustomerId": uuids,
        "isLinked": st.booleans(),
    },
    optional=optional_enterprise,
)
languages = st.text(alphabet=string.ascii_letters + string.digits + "-;=,.* ", max_size=30).map(str.strip)


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A body with one change: a property dropped, replaced by any JSON value, or added."""
    body = draw(bodies)
    key = draw(st.sampled_from(sorted(body)))
    change = draw(st.sampled_from(["drop", "replace", "add"]))
    if change == "drop":
        del body[key]
    elif change == "replace":
        body[key] = draw(json_values | st.text(max_size=60))
    else:
        body[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return body


def requests(path: str, bodies: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(st.just(path), st.one_of(bodies, mutated(bodies), json_values))


def test_any_body_gets_the_answer_the_spec_implies():
    with (
        serve_in_thread(create_app([TOKEN], seed_data=True)) as base_url,
        httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client,
    ):

        @SETTINGS
        @given(
            requests(LIST, list_bodies) | requests(LINK, link_bodies),
            languages,
        )
        def check(request: tuple[str, object], language: str) -> None:
            path, body = request
            method = "POST" if path == LIST else "PUT"
            operation = catalog("reverse").by_path[(method, path)]
            response = client.request(method, path, json=body, headers={"Accept-Language": language})
            answer = assert_conforms(response)
            valid = schema_errors("reverse", operation.request_schema, body) == []
            event(f"{method} {path} {'valid' if valid else 'invalid'} -> {response.status_code}")
            if not valid:
                assert response.status_code == 400, (body, answer)
            elif path == LIST:
                assert response.status_code == 200, (body, answer)
                assert [entry["providerMembershipId"] for entry in answer["data"]] == body[
                    "providerMembershipIds"
                ]
            else:
                assert response.status_code in {200, 422}, (body, answer)

        check()
