"""The generated typed resources must agree with the runtime they delegate to, and stay generic.

The typed methods are what integrators see; if a keyword there were not the runtime's name for the
field, a correctly typed call would fail at run time. And an operation added to a spec must get its
typed method from regeneration alone, with no handwritten code.
"""

from __future__ import annotations

import copy
import inspect
import re
import sys
from pathlib import Path

import pytest

from codegen import resources
from codegen.apis import ROOT, Api
from mews_loyalty._generated.connector.resources import ASYNC_RESOURCE_CLASSES as ASYNC_CONNECTOR_CLASSES
from mews_loyalty._generated.connector.resources import RESOURCE_CLASSES as CONNECTOR_CLASSES
from mews_loyalty._generated.reverse.resources import ASYNC_RESOURCE_CLASSES as ASYNC_REVERSE_CLASSES
from mews_loyalty._generated.reverse.resources import RESOURCE_CLASSES as REVERSE_CLASSES
from mews_loyalty._spec import catalog as _spec
from mews_loyalty._wire.encode import parameter_names

GENERATED_CLASSES = {"connector": CONNECTOR_CLASSES, "reverse": REVERSE_CLASSES}
ASYNC_CLASSES = {"connector": ASYNC_CONNECTOR_CLASSES, "reverse": ASYNC_REVERSE_CLASSES}
PAGING_KEYWORDS = {"page_size", "cursor"}
CALL_KEYWORDS = {"timeout", "max_retries"}  # every method's, passed through to the runtime


@pytest.mark.parametrize("api", _spec.API_NAMES)
def test_every_operation_has_a_typed_method_with_the_runtime_keywords(api):
    for resource, operations in _spec.catalog(api).resources().items():
        typed = GENERATED_CLASSES[api][resource]
        for action, op in operations.items():
            method = inspect.signature(getattr(typed, action))
            keywords = {
                name: parameter
                for name, parameter in method.parameters.items()
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY
            }
            expected = set(parameter_names(op)) | (PAGING_KEYWORDS if op.is_paged else set()) | CALL_KEYWORDS
            assert set(keywords) == expected, f"{api} {resource}.{action}"
            # Its with_raw_response twin (each operation is one request) takes the very same keywords.
            raw = getattr(sys.modules[typed.__module__], typed.__name__ + "WithRawResponse")
            assert inspect.signature(getattr(raw, action)).parameters == method.parameters
            required = {name for name, parameter in keywords.items() if parameter.default is inspect._empty}
            assert required == {
                snake for snake, wire in parameter_names(op).items() if wire in op.required
            }, f"{api} {resource}.{action}"
            if op.is_paged:
                every = inspect.signature(getattr(typed, "iter_" + action.removeprefix("get_")))
                assert "resume_from" in every.parameters
                assert not hasattr(raw, "iter_" + action.removeprefix("get_"))  # many requests: no raw


@pytest.mark.parametrize("api", _spec.API_NAMES)
def test_every_typed_method_names_its_endpoint_and_operation_id(api):
    # A reader of the typed method finds the operation in the spec and in Mews' documentation.
    for resource, operations in _spec.catalog(api).resources().items():
        for async_ in (False, True):
            typed = (ASYNC_CLASSES if async_ else GENERATED_CLASSES)[api][resource]
            for action, op in operations.items():
                names = [action] + (["iter_" + action.removeprefix("get_")] if op.is_paged else [])
                for name in names:
                    doc = inspect.getdoc(getattr(typed, name)) or ""
                    assert f"``{op.method} {op.path}`` (operationId ``{op.operation_id}``)" in doc, name


@pytest.mark.parametrize("api", _spec.API_NAMES)
def test_each_resource_has_its_own_module(api):
    # One module per resource, named by its accessor, so the tree shows the API's resources.
    for resource in _spec.catalog(api).resources():
        for classes in (GENERATED_CLASSES, ASYNC_CLASSES):
            assert classes[api][resource].__module__ == f"mews_loyalty._generated.{api}.resources.{resource}"


INTERVAL_ARGUMENT = "tuple[datetime.datetime, datetime.datetime]"


def _typed_intervals(module: resources.Module) -> set[tuple[str, str]]:
    return {
        (method.name, parameter.wire)
        for resource in module.resources
        for method in resource.methods
        if method.mode != "iterate"
        for parameter in method.parameters
        if INTERVAL_ARGUMENT in parameter.annotation
    }


def _renamed_interval_document() -> dict[str, object]:
    document = copy.deepcopy(dict(_spec.load_document("connector")))
    interval = document["components"]["schemas"]["TimeFilterInterval"]
    interval["properties"] = {
        "Since": interval["properties"]["StartUtc"],
        "Until": interval["properties"]["EndUtc"],
    }
    interval["required"] = ["Until", "Since"]
    interval["x-interval"] = {"start": "Since", "end": "Until"}
    return document


@pytest.mark.parametrize(
    ("api", "document"),
    [(api, None) for api in _spec.API_NAMES] + [("connector", _renamed_interval_document())],
    ids=[*_spec.API_NAMES, "renamed-ends"],
)
def test_codegen_types_as_intervals_exactly_the_catalog_s_intervals(api, document):
    # The (start, end) argument is typed where the runtime takes it: both read `x-interval` by one rule.
    document = document or _spec.load_document(api)
    typed = _typed_intervals(resources.build_module(Api(api), document))
    catalog = _spec.build_catalog(api, document)
    expected = {(op.action, name) for op in catalog.operations for name in op.intervals}
    assert typed == expected
    assert bool(expected) == (api == "connector")


@pytest.mark.parametrize(
    ("document", "heading", "case"),
    [
        ("README.md", "## For integrators", "readme_integrator.py"),
        ("docs/sdk.md", "## Per-call options", "docs_call_options.py"),
    ],
)
def test_a_documented_example_is_a_typing_case_verbatim(document: str, heading: str, case: str):
    # The README and the docs are what a new user copies; their examples must type-check as printed.
    section = (ROOT / document).read_text().split(heading, 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None
    assert (ROOT / "tests" / "typing_cases" / case).read_text().endswith(block.group(1))


def spec_with(extra_paths: dict[str, object]) -> dict[str, object]:
    """A minimal Reverse-style spec: one existing schema set plus the operations a test adds."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Test API", "version": "1"},
        "tags": [{"name": "Members", "description": "Members of a program."}],
        "paths": extra_paths,
        "components": {
            "schemas": {
                "searchRequest": {
                    "type": "object",
                    "required": ["mewsEnterpriseId"],
                    "properties": {
                        "mewsEnterpriseId": {"type": "string", "format": "uuid", "description": "The hotel."},
                        "lastName": {"type": "string", "description": "Family name."},
                        "status": {"$ref": "#/components/schemas/memberStatus"},
                    },
                },
                "memberStatus": {"type": "string", "enum": ["active", "lapsed"]},
                "searchResponse": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/member"}}
                    },
                },
                "member": {"type": "object", "properties": {"id": {"type": "string"}}},
            }
        },
    }


def test_a_new_operation_gets_a_typed_method_from_the_spec_alone(tmp_path: Path):
    # Issue 12 adds Reverse operations; they must come out typed with no change to codegen.
    document = spec_with(
        {
            "/members/search": {
                "post": {
                    "operationId": "searchMembers",
                    "tags": ["Members"],
                    "summary": "Search members",
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/searchRequest"}}
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/searchResponse"}
                                }
                            },
                        }
                    },
                }
            },
            "/members": {
                "post": {
                    "operationId": "createMember",
                    "tags": ["Members"],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/searchRequest"}}
                        }
                    },
                    "responses": {
                        201: {
                            "description": "created",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/member"}}
                            },
                        }
                    },
                }
            },
        }
    )
    files = resources.render(resources.build_module(Api("reverse"), document))
    for name, text in files.items():
        compile(text, name, "exec")
    assert sorted(files) == ["__init__.py", "inputs.py", "members.py"]
    source = files["members.py"]
    assert "class MembersResource(TypedResource):" in source
    assert "class AsyncMembersResource(AsyncTypedResource):" in source
    assert "``POST /members/search`` (operationId ``searchMembers``)." in source
    assert 'MemberStatusLiteral = Literal["active", "lapsed"]' in files["inputs.py"]
    assert "MemberStatusLiteral" in source.split("class MembersResource", 1)[0]  # imported from inputs
    signature = re.search(r"def search_members\((.*?)\) -> (.*?):", source, re.DOTALL)
    assert signature is not None
    assert "mews_enterprise_id: UUID | str," in signature.group(1)
    assert "last_name: str | None = None," in signature.group(1)
    assert "status: MemberStatus | MemberStatusLiteral | None = None," in signature.group(1)
    assert signature.group(2) == "SearchResponse"
    assert re.search(r"def create_member\(.*?\) -> Member:", source, re.DOTALL)  # a 201-only operation


@pytest.mark.parametrize("field", ["timeout", "maxRetries", "resume_from"])
def test_a_spec_field_named_like_a_keyword_the_sdk_adds_fails_generation(field: str):
    document = spec_with(
        {
            "/members/search": {
                "post": {
                    "operationId": "searchMembers",
                    "tags": ["Members"],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/searchRequest"}}
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    document["components"]["schemas"]["searchRequest"]["properties"][field] = {"type": "integer"}  # type: ignore[index]
    with pytest.raises(
        resources.ResourceSpecError, match=rf"searchMembers: request field '{field}' would be"
    ):
        resources.build_module(Api("reverse"), document)
