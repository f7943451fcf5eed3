"""The Reverse API watch: Mews publishes the Loyalty Partner API only as fragments in its GitBook pages,
and half of ours is reconstructed from its guides. The watch must read those pages, stay quiet where
the published fragments and ours agree, and say loudly when Mews publishes an operation we guessed.

Fixtures in tests/data/upstream/reverse/: memberships-page.md is the seed's Memberships page (two
fragments, verbatim); search-members-drifted.md is hand-made: the Search members section as Mews
would publish it, with the published memberFilter and four differences from ours (marked DRIFT).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from codegen._openapi_normalise import extract_operations
from codegen.apis import ROOT
from codegen.upstream import (
    REVERSE_KNOWN,
    REVERSE_OURS,
    UpstreamError,
    build_reverse_report,
    embedded_documents,
    load_known,
    main,
)

DATA = Path(__file__).parent.parent / "data" / "upstream" / "reverse"
MEMBERSHIPS_PAGE = DATA / "memberships-page.md"
SEARCH_DRIFTED = DATA / "search-members-drifted.md"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_published_fragments_leave_nothing_to_report(capsys):
    # The seed's two fragments are what our list and link were written from: no difference at all.
    status, out, _ = run(capsys, "--reverse-spec", str(MEMBERSHIPS_PAGE))
    assert status == 0
    assert "0 differences: 0 breaking, 0 non-breaking" in out
    # What the page does not hold is named, with the page each reconstruction comes from.
    assert "Not compared: POST /members/search: reconstructed from https://docs.mews.com/" in out
    assert "Not compared: POST /members: reconstructed from" in out


def test_both_fragments_of_the_page_are_read():
    report = build_reverse_report([str(MEMBERSHIPS_PAGE)])
    assert [len(embedded_documents(MEMBERSHIPS_PAGE.read_text()))] == [2]
    assert report.differences == ()
    assert {endpoint for endpoint, _ in report.not_compared} == {"POST /members/search", "POST /members"}


def test_a_differing_search_fragment_is_reported_rule_by_rule(capsys):
    # The day Mews publishes search: every way it differs from our reconstruction, classed.
    report = build_reverse_report([str(MEMBERSHIPS_PAGE), str(SEARCH_DRIFTED)])
    found = {(d.location, d.property_path, d.kind, d.keyword): d.classification for d in report.unexplained}
    assert found == {
        # DRIFT 1: the filter accepts a birthday; accepting more of what we send breaks nothing.
        ("request", "memberFilter.birthday", "property-added", None): "non-breaking",
        # DRIFT 2: at most 20 matches; sending less than our models accept breaks nothing.
        ("response 200", "data", "constraint-changed", "maxItems"): "non-breaking",
        # DRIFT 3: a property our closed member model would reject.
        ("response 200", "data[].programName", "property-added", None): "breaking",
        # DRIFT 4: an error status we do not declare.
        ("response 404", "", "status-added", None): "non-breaking",
    }
    assert report.exit_status == 1
    assert any("Published now: POST /members/search" in note for note in report.notes)
    # The published memberFilter writes its five combinations as anyOf, ours as not-not-anyOf:
    # the same rule, so no variants or combination difference may surface.
    assert not [d for d in report.differences if d.property_path == "memberFilter"]
    status, out, _ = run(
        capsys,
        "--reverse-spec",
        str(MEMBERSHIPS_PAGE),
        "--reverse-spec",
        str(SEARCH_DRIFTED),
        "--format",
        "json",
    )
    assert status == 1
    assert json.loads(out)["summary"] == {"breaking": 1, "non_breaking": 3, "known": 0}


def test_the_combination_rule_is_compared(tmp_path):
    # Dropping a filter combination is a real change; it must not hide behind the normalisation.
    page = SEARCH_DRIFTED.read_text()
    changed = page.replace(',{"title":"Location filter","required":["lastName","city","countryCode"]}', "")
    assert changed != page
    (tmp_path / "page.md").write_text(changed)
    report = build_reverse_report([str(tmp_path / "page.md")])
    assert [
        (d.property_path, d.kind, d.keyword) for d in report.differences if d.property_path == "memberFilter"
    ] == [("memberFilter", "constraint-changed", "required-combinations")]


def test_a_whole_document_without_an_operation_reports_it_removed(tmp_path):
    # A whole published spec (not fragments) lacking one of our published operations means it is gone.
    document = yaml.safe_load(REVERSE_OURS.read_text())
    del document["paths"]["/memberships/link"]
    del document["paths"]["/members"]
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(document))
    report = build_reverse_report([str(path)])
    assert [(d.endpoint, d.kind, d.breaking) for d in report.unexplained] == [
        ("PUT /memberships/link", "operation-removed", True)
    ]
    # Our reconstructed enrolment is missing from it: listed, not called a removal.
    assert [endpoint for endpoint, _ in report.not_compared] == ["POST /members"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Members\n\nNo fragment on this page.\n", "neither an OpenAPI document nor a page"),
        ('cut off: {"openapi":"3.1.1","info":{"title":"Mews', "neither an OpenAPI document nor a page"),
    ],
    ids=["no-fragment", "truncated-fragment"],
)
def test_a_page_without_a_complete_fragment_is_a_usage_error(capsys, tmp_path, text, message):
    page = tmp_path / "page.md"
    page.write_text(text)
    status, _, err = run(capsys, "--reverse-spec", str(page))
    assert status == 2
    assert message in err


def test_conflicting_fragments_are_refused(tmp_path):
    # Two pages of one spec must agree on a shared component; if not, the comparison would be a guess.
    page = MEMBERSHIPS_PAGE.read_text()
    (tmp_path / "other.md").write_text(page.replace('"maxLength":50', '"maxLength":60', 1))
    with pytest.raises(UpstreamError, match="differently"):
        build_reverse_report([str(MEMBERSHIPS_PAGE), str(tmp_path / "other.md")])


def test_the_watch_and_the_connector_options_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--reverse-spec", str(MEMBERSHIPS_PAGE), "--connector-spec", "x.yaml"])
    assert raised.value.code == 2


def test_every_recorded_reverse_deviation_quotes_specs_readme():
    readme = (ROOT / "specs" / "README.md").read_text()
    for entry in load_known(REVERSE_KNOWN):
        assert entry.readme in readme, entry.id


def test_our_reconstructions_carry_their_source_page():
    # specs/README.md promises a marker on every reconstructed part; the watch relies on it.
    document = yaml.safe_load(REVERSE_OURS.read_text())
    markers = re.findall(r"x-reconstructed-from: (\S+)", REVERSE_OURS.read_text())
    assert markers
    assert all(m.startswith("https://docs.mews.com/loyalty-partner/") for m in markers)
    assert "x-reconstructed-from" in document["paths"]["/members"]["post"]
    assert set(extract_operations(document, "/")) == {
        ("post", "/members/search"),
        ("post", "/members"),
        ("post", "/memberships/list"),
        ("put", "/memberships/link"),
    }
