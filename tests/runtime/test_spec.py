"""The catalog's own machinery: a broken spec must fail with a clear error, never hang the SDK."""

from __future__ import annotations

import pytest

from mews_loyalty._spec.catalog import RefCycleError, resolve


def schemas(**named: object) -> dict[str, object]:
    return {"components": {"schemas": named}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_a_ref_chain_resolves_to_the_schema_at_its_end():
    document = schemas(A=ref("B"), B=ref("C"), C={"type": "string"})
    assert resolve(document, ref("A")) == {"type": "string"}


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("document", "chain"),
    [
        (schemas(A=ref("A")), "A -> A"),
        (schemas(A=ref("B"), B=ref("C"), C=ref("A")), "A -> B -> C -> A"),
    ],
    ids=["self", "three"],
)
def test_a_ref_cycle_is_reported_instead_of_followed_for_ever(document, chain):
    # A spec edited by hand can point a component back at itself; loading it must say where.
    expected = " -> ".join(f"#/components/schemas/{name}" for name in chain.split(" -> "))
    with pytest.raises(RefCycleError, match=f"cycle: {expected}$"):
        resolve(document, ref("A"))
