"""Objects that need one complete combination of properties, a rule the generated models cannot hold.

Mews' ``memberFilter`` is searchable by an email, a membership number, a provider membership id, a
first and last name, or a last name with city and country: JSON Schema says so with ``anyOf`` of
``required`` lists (our spec writes it ``not: {not: {anyOf: ...}}``, the same rule, so the model
generator keeps one class; specs/README.md). pydantic models are generated without the rule, so the
SDK and the provider kit check it here, read from the schema, for any object of any request:

    unmet_combinations(document, {"$ref": "#/components/schemas/searchMembersRequest"}, body)
    # [UnmetCombination(location=("memberFilter",), combinations=(("email",), ...), problem_type=...)]

``x-unmet-combination-problem`` on the object names the problem type to answer (the errors guide's
``loyalty/invalid-member-search-criteria``); without it the answer is a plain bad request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mews_loyalty._spec.catalog import resolve

PROBLEM_TYPE_KEY = "x-unmet-combination-problem"


@dataclass(frozen=True)
class UnmetCombination:
    location: tuple[str | int, ...]  # where the object is in the body
    combinations: tuple[tuple[str, ...], ...]  # each a set of properties that would do
    present: frozenset[str]  # the properties the object has
    problem_type: str | None  # the schema's x-unmet-combination-problem

    def nearest(self) -> tuple[str, ...]:
        """The properties missing from the combination the caller seems to mean.

        The one sharing most properties with the object (``firstName`` alone: the name filter, so
        ``lastName``; ``lastName`` and ``city``: the location filter), then the one with the fewest
        missing, then the first of equals.
        """
        missing = [tuple(name for name in combo if name not in self.present) for combo in self.combinations]
        ranked = sorted(
            zip(missing, self.combinations, strict=True),
            key=lambda pair: (len(pair[0]) - len(pair[1]), len(pair[0])),
        )
        return ranked[0][0]

    def describe(self) -> str:
        return "; ".join(" + ".join(combo) for combo in self.combinations)


def _required_only(document: Mapping[str, Any], branches: Any) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(branches, list) or not branches:
        return None
    combos = []
    for branch in branches:
        branch = resolve(document, branch) if isinstance(branch, Mapping) else None
        if branch is None or set(branch) - {"required", "title", "description"} or not branch.get("required"):
            return None
        combos.append(tuple(str(name) for name in branch["required"]))
    return tuple(combos)


def required_combinations(
    document: Mapping[str, Any], schema: Mapping[str, Any]
) -> tuple[tuple[str, ...], ...] | None:
    """The property combinations of which an object needs one, or None when it needs none.

    Understands ``anyOf`` of ``required``-only branches and its double negation ``not: {not: {anyOf}}``.
    """
    schema = resolve(document, schema)
    combos = _required_only(document, schema.get("anyOf"))
    if combos is not None:
        return combos
    outer = schema.get("not")
    inner = resolve(document, outer).get("not") if isinstance(outer, Mapping) else None
    if isinstance(inner, Mapping):
        return _required_only(document, resolve(document, inner).get("anyOf"))
    return None


def has_combinations(document: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
    """Whether any object ``unmet_combinations`` would look at under ``schema`` needs a combination:
    when none does, no body of that schema can have an unmet one (so a caller may skip the walk)."""
    pending, seen = [schema], set[int]()
    while pending:
        node = resolve(document, pending.pop())
        if id(node) in seen:
            continue  # a recursive schema: this object was looked at already
        seen.add(id(node))
        if required_combinations(document, node) is not None:
            return True
        pending.extend(sub for sub in node.get("properties", {}).values() if isinstance(sub, Mapping))
        if isinstance(node.get("items"), Mapping):
            pending.append(node["items"])
    return False


def unmet_combinations(
    document: Mapping[str, Any], schema: Mapping[str, Any], value: Any, location: Sequence[str | int] = ()
) -> Iterator[UnmetCombination]:
    """Every object in ``value`` that lacks all the property combinations its schema offers."""
    schema = resolve(document, schema)
    if isinstance(value, dict):
        combos = required_combinations(document, schema)
        if combos is not None and not any(all(name in value for name in combo) for combo in combos):
            problem_type = schema.get(PROBLEM_TYPE_KEY)
            yield UnmetCombination(
                tuple(location), combos, frozenset(value), str(problem_type) if problem_type else None
            )
        for name, subschema in schema.get("properties", {}).items():
            if name in value and isinstance(subschema, Mapping):
                yield from unmet_combinations(document, subschema, value[name], (*location, name))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from unmet_combinations(document, schema["items"], item, (*location, index))
