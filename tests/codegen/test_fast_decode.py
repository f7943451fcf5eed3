"""The customised templates (codegen/templates) must decode exactly as upstream's would, only faster.

from_dict no longer copies its input, builds a closure per union property, or calls UUID() and
Enum() directly: it reads straight through, inlines the unions and goes through `parse_uuid` /
`parse_enum` from the generated types module. These tests pin the edge cases where a shortcut could
drift from upstream: null vs absent, bad UUIDs and enums, shared cached values, the positional
call to the attrs constructor, and that the closures are really gone.
"""

from __future__ import annotations

import ast
import copy
import importlib.metadata
import inspect
import pickle
import textwrap
import uuid
from enum import Enum
from types import CodeType, MappingProxyType, ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.apis import CODEGEN
from mews_loyalty._generated.connector.client import models as connector_models
from mews_loyalty._generated.connector.client import types as connector_types
from mews_loyalty._generated.connector.client.models import (
    LoyaltyMembership,
    LoyaltyMembershipResult,
    LoyaltyMembershipState,
    ProfileData,
    ProfileDataDiscriminator,
)
from mews_loyalty._generated.connector.client.types import parse_enum, parse_uuid
from mews_loyalty._generated.reverse.client import models as reverse_models
from mews_loyalty._generated.reverse.client import types as reverse_types
from mews_loyalty._generated.reverse.client.models import PredefinedProblemType, ProblemDetail
from mews_loyalty._wire.encode import to_wire

TIER = "5220432c-8cb7-4afb-bcb7-0236903bcbfd"
MEMBERSHIP: dict[str, Any] = {
    "Id": "a0dc47f5-a9ce-40db-9998-ea6bc60e08c9",
    "ChainId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "AccountId": "543a4ed9-8c53-48fb-a76e-7fbe935f3ee0",
    "LoyaltyProgramId": "f701dafb-5765-4cf4-b1dd-1f602a740ae5",
    "State": "Enrolled",
    "IsPrimary": True,
    "ProviderMembershipId": "PRV-1",
    "Code": None,
    "MembershipNumber": "MBR-1",
    "Points": 3092,
    "ExpirationDate": "2028-01-14T00:00:00Z",
    "Url": "https://rewards.example.com/member/1",
    "LoyaltyTierId": TIER,
    "CreatorProfile": {"Discriminator": "Integration", "EnterpriseProfile": None},
    "UpdaterProfile": None,
}


def membership(**changes: Any) -> dict[str, Any]:
    """The membership above with some fields replaced; a value of ... removes the field."""
    data = copy.deepcopy(MEMBERSHIP)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


def outcome(func: Any, *args: Any) -> tuple[str, Any]:
    """What a call returns, or the type and text of what it raises: the behaviour to compare."""
    try:
        return "returned", func(*args)
    except Exception as error:
        return "raised", (type(error), str(error))


# --- null vs absent -------------------------------------------------------------------------------


def test_an_absent_optional_field_reads_as_none_like_a_null_one():
    # What users read carries no sentinel: absent and null are both None, and the repr says so.
    absent = LoyaltyMembership.from_dict(membership(LoyaltyTierId=..., Code=..., ExpirationDate=...))
    null = LoyaltyMembership.from_dict(membership(LoyaltyTierId=None, Code=None, ExpirationDate=None))
    for decoded in (absent, null):
        assert decoded.loyalty_tier_id is None
        assert decoded.code is None
        assert decoded.expiration_date is None
        assert "Unset" not in repr(decoded)
        assert "LoyaltyTierId" not in decoded.to_dict()  # a None field is not sent
    assert absent == null


def test_no_generated_model_mentions_the_sentinel():
    for package in (connector_models, reverse_models):
        for name in package.__all__:
            source = inspect.getsource(inspect.getmodule(getattr(package, name)))  # type: ignore[arg-type]
            assert "Unset" not in source, name
            assert "UNSET" not in source, name


def test_a_model_sends_only_what_the_caller_gave_and_an_update_wrapper_s_null():
    # Requests keep their way of saying "leave unchanged" (no field) and "clear" ({"Value": null}).
    row = connector_models.LoyaltyMembershipUpdateParameters(
        loyalty_membership_id=uuid.UUID(TIER), points=connector_models.Int32NullableUpdateValue(value=None)
    )
    assert to_wire(row) == {"LoyaltyMembershipId": TIER, "Points": {"Value": None}}


def test_set_values_are_typed():
    decoded = LoyaltyMembership.from_dict(membership())
    assert decoded.loyalty_tier_id == uuid.UUID(TIER)
    assert type(decoded.loyalty_tier_id) is uuid.UUID
    assert decoded.state is LoyaltyMembershipState.ENROLLED
    assert isinstance(decoded.creator_profile, ProfileData)
    assert decoded.creator_profile.discriminator is ProfileDataDiscriminator.INTEGRATION
    assert decoded.creator_profile.enterprise_profile is None
    assert decoded.updater_profile is None
    assert decoded.expiration_date is not None
    assert decoded.expiration_date.utcoffset() is not None


def test_required_fields_must_be_present_even_when_nullable():
    with pytest.raises(KeyError, match="UpdaterProfile"):
        LoyaltyMembership.from_dict(membership(UpdaterProfile=...))
    with pytest.raises(KeyError, match="ChainId"):
        LoyaltyMembership.from_dict(membership(ChainId=...))


def test_input_is_not_modified_and_mappings_still_work():
    data = membership()
    snapshot = copy.deepcopy(data)
    from_dict = LoyaltyMembership.from_dict(data)
    assert data == snapshot
    assert LoyaltyMembership.from_dict(MappingProxyType(data)) == from_dict


def test_a_non_mapping_fails_as_upstream_did():
    # upstream began with dict(src_dict); inputs that are not exactly a dict still go through it
    assert outcome(LoyaltyMembership.from_dict, "abc")[1] == outcome(dict, "abc")[1]
    assert outcome(LoyaltyMembership.from_dict, 5)[1] == outcome(dict, 5)[1]


# --- bad UUIDs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nope", "", "3fa85f64-5717-4562-b3fc-2c963f66afaZ", "3fa85f64-5717"])
def test_an_invalid_uuid_string_in_a_required_field_raises_as_uuid_does(bad: str):
    decoded = outcome(LoyaltyMembership.from_dict, membership(Id=bad))
    assert decoded == outcome(uuid.UUID, bad)
    assert decoded[1][0] is ValueError


@pytest.mark.parametrize("bad", [123, 1.5, True, ["3fa85f64-5717-4562-b3fc-2c963f66afa6"], {}, None])
def test_a_wrong_type_in_a_required_uuid_field_raises_as_uuid_does(bad: Any):
    assert outcome(LoyaltyMembership.from_dict, membership(ChainId=bad)) == outcome(uuid.UUID, bad)
    assert outcome(LoyaltyMembership.from_dict, membership(ChainId=bad))[0] == "raised"


def test_an_invalid_uuid_in_a_nullable_field_is_kept_raw_as_upstream_does():
    # upstream's union decoding keeps a value no member accepts; the inlined code must too
    assert LoyaltyMembership.from_dict(membership(LoyaltyTierId="nope")).loyalty_tier_id == "nope"
    assert LoyaltyMembership.from_dict(membership(LoyaltyTierId=7)).loyalty_tier_id == 7


def test_a_nested_model_that_does_not_decode_is_kept_raw_as_upstream_does():
    raw = {"Discriminator": 5}  # a string would be a value the spec does not list yet: kept, decoded
    assert LoyaltyMembership.from_dict(membership(CreatorProfile=raw)).creator_profile == raw


# --- bad enums ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [3, None, ["Enrolled"], {"x": 1}, 2.5, True])
def test_a_non_string_enum_value_raises_value_error_as_the_enum_does(bad: Any):
    with pytest.raises(ValueError, match="is not a valid LoyaltyMembershipState"):
        LoyaltyMembership.from_dict(membership(State=bad))
    assert outcome(parse_enum, LoyaltyMembershipState, bad) == outcome(LoyaltyMembershipState, bad)


@pytest.mark.parametrize("unlisted", ["Nope", "enrolled", ""])
def test_a_string_the_enum_does_not_list_is_kept_as_that_string(unlisted: str):
    # Forward-compatible reads: a value the server added since the spec was written.
    assert LoyaltyMembership.from_dict(membership(State=unlisted)).state == unlisted
    assert type(parse_enum(LoyaltyMembershipState, unlisted)) is str


def test_an_enum_or_string_union_keeps_unknown_strings():
    problem = {"type": "https://example.com/other", "title": "t", "status": 400, "detail": "d"}
    assert ProblemDetail.from_dict(problem).type_ == "https://example.com/other"
    problem["type"] = next(iter(PredefinedProblemType)).value
    assert ProblemDetail.from_dict(problem).type_ is next(iter(PredefinedProblemType))


def enums(module: ModuleType) -> list[type[Enum]]:
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and issubclass(obj, Enum)]


@pytest.mark.parametrize("module", [connector_models, reverse_models], ids=["connector", "reverse"])
def test_parse_enum_returns_the_member_itself(module: ModuleType):
    for enum in enums(module):
        for member in enum:
            assert parse_enum(enum, member.value) is member is enum(member.value)


# --- parse_uuid: same as uuid.UUID, cached values equal fresh ones ---------------------------------

ODD_UUIDS = [
    "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
    "3fa85f6457174562b3fc2c963f66afa6",
    "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
    "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "3fa8-5f64-5717-4562-b3fc-2c963f66afa6----",
    "3fa8_f64-5717-4562-b3fc-2c963f66afa6",
    "+fa85f64-5717-4562-b3fc-2c963f66afa6",
    " fa85f64-5717-4562-b3fc-2c963f66afa6",
    "0x a85f64-5717-4562-b3fc-2c963f66afa6",
    "3fa85f64-5717-4562-b3fc-2c963f66afa",
    "3fa85f64-5717-4562-b3fc-2c963f66afa6a",
    "zzzzzzzz-5717-4562-b3fc-2c963f66afa6",
    "",
]


def same_uuid(left: uuid.UUID, right: uuid.UUID) -> bool:
    return (
        type(left) is type(right) is uuid.UUID
        and left == right
        and hash(left) == hash(right)
        and left.is_safe is right.is_safe
        and str(left) == str(right)
        and left.version == right.version
        and pickle.loads(pickle.dumps(left)) == right
    )


@pytest.mark.parametrize("types_module", [connector_types, reverse_types], ids=["connector", "reverse"])
@pytest.mark.parametrize("text", ODD_UUIDS)
def test_parse_uuid_matches_uuid_on_odd_strings(types_module: ModuleType, text: str):
    for _ in range(2):  # the second call may come from the memo
        fast, plain = outcome(types_module.parse_uuid, text), outcome(uuid.UUID, text)
        assert fast[0] == plain[0]
        assert same_uuid(fast[1], plain[1]) if fast[0] == "returned" else fast == plain


@given(st.text(alphabet="0123456789abcdefABCDEF-{}_ +xurn:id", max_size=45))
def test_parse_uuid_matches_uuid_on_any_short_string(text: str):
    fast, plain = outcome(parse_uuid, text), outcome(uuid.UUID, text)
    assert fast[0] == plain[0]
    assert same_uuid(fast[1], plain[1]) if fast[0] == "returned" else fast == plain


@given(st.uuids())
def test_parse_uuid_matches_uuid_on_any_uuid(value: uuid.UUID):
    for text in (str(value), value.hex, str(value).upper()):
        assert same_uuid(parse_uuid(text), uuid.UUID(text))


def test_cached_uuids_equal_fresh_parses_and_are_shared():
    text = str(uuid.uuid4())
    first, second = parse_uuid(text), parse_uuid(text)
    assert first is second  # one immutable instance per distinct string
    assert same_uuid(second, uuid.UUID(text))
    page = LoyaltyMembershipResult.from_dict({"LoyaltyMemberships": [membership(), membership()]})
    one, two = page.loyalty_memberships
    assert one.chain_id is two.chain_id
    assert same_uuid(one.chain_id, uuid.UUID(MEMBERSHIP["ChainId"]))


def test_the_uuid_memo_is_bounded():
    for _ in range(connector_types._UUID_MEMO_SIZE + 10):
        parse_uuid(str(uuid.uuid4()))
    assert 0 < len(connector_types._uuid_memo) <= connector_types._UUID_MEMO_SIZE


def test_invalid_and_non_string_uuids_are_not_remembered():
    before = dict(connector_types._uuid_memo)
    for bad in ("nope", "{3fa85f64-5717-4562-b3fc-2c963f66afa6}", 5):
        outcome(parse_uuid, bad)
    assert connector_types._uuid_memo.keys() - before.keys() == set()


def test_the_fast_uuid_route_is_active_on_this_python():
    assert connector_types._FAST_UUID
    assert reverse_types._FAST_UUID


# --- the shape of the generated code --------------------------------------------------------------


def models(module: ModuleType) -> list[type]:
    return [obj for obj in vars(module).values() if attrs.has(obj)]


def nested_functions(code: CodeType) -> list[str]:
    return [const.co_name for const in code.co_consts if isinstance(const, CodeType)]


def test_membership_decoding_defines_no_closures():
    for model in (LoyaltyMembership, LoyaltyMembershipResult, ProfileData):
        assert nested_functions(model.from_dict.__func__.__code__) == [], model.__name__


@pytest.mark.parametrize("module", [connector_models, reverse_models], ids=["connector", "reverse"])
def test_from_dict_passes_attributes_in_declaration_order(module: ModuleType):
    """from_dict calls cls(...) positionally; a swapped pair of str fields would pass mypy."""
    for model in models(module):
        source = textwrap.dedent(inspect.getsource(model.from_dict))
        calls = [
            node
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "cls"
        ]
        assert len(calls) == 1, model.__name__
        (call,) = calls
        assert not call.keywords, model.__name__
        passed = [arg.id for arg in call.args if isinstance(arg, ast.Name)]
        assert passed == [field.name for field in attrs.fields(model) if field.init], model.__name__


def test_overrides_name_the_upstream_version_they_were_copied_from():
    """Each override is upstream's template plus marked changes; a generator bump must re-diff them."""
    installed = importlib.metadata.version("openapi-python-client")
    overrides = sorted((CODEGEN / "templates").rglob("*.jinja"))
    assert overrides
    for path in overrides:
        head = path.read_text().splitlines()[:3]
        assert head[0] == "{#", path
        assert f"(openapi-python-client {installed})" in head[1], (
            f"{path.relative_to(CODEGEN)} says it overrides another upstream version than {installed}: "
            "diff it against the new upstream template and update it"
        )
