"""The report folder is the run's own: what a run claims, what it refuses, what it replaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mews_loyalty.contract._report.folder import MARKER, ReportFolderRefused, claim


def test_a_new_or_empty_folder_is_claimed_and_marked(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for root in (tmp_path / "new" / "reports", tmp_path / "empty"):
        folder = claim(root, "connector")
        assert folder == root / "connector"
        assert [p.name for p in folder.iterdir()] == [MARKER]


def test_the_other_apis_folder_is_left_to_its_own_run(tmp_path: Path) -> None:
    # python -m mews_loyalty.contract runs both APIs into one folder, side by side.
    reverse = claim(tmp_path, "reverse")
    (reverse / "summary.txt").write_text("the reverse run's")
    connector = claim(tmp_path, "connector")
    (connector / "summary.txt").write_text("the connector run's")
    claim(tmp_path, "connector")
    assert (reverse / "summary.txt").read_text() == "the reverse run's"
    assert not (connector / "summary.txt").exists()


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda root: (root / "notes.txt").write_text("mine"), "notes.txt"),
        (
            lambda root: (root / "connector").mkdir() or (root / "connector" / "a.py").write_text(""),
            "connector/",
        ),
        (lambda root: (root / "reverse").symlink_to(root.parent), "the link reverse"),
        (
            lambda root: (
                (root / "connector").mkdir() or (root / "connector" / MARKER).symlink_to(root.parent)
            ),
            "connector/",
        ),
    ],
    ids=["a file of the user's", "an unmarked folder of an API's name", "a link", "a marker that is a link"],
)
def test_a_folder_holding_anything_else_is_refused_untouched(
    tmp_path: Path, make: Callable[[Path], object], named: str
) -> None:
    root = tmp_path / "reports"
    root.mkdir()
    make(root)
    before = sorted(str(p) for p in root.rglob("*"))
    with pytest.raises(ReportFolderRefused, match=f"holds what this suite did not write \\({named}"):
        claim(root, "connector")
    assert sorted(str(p) for p in root.rglob("*")) == before


def test_a_file_given_as_the_folder_is_refused(tmp_path: Path) -> None:
    given = tmp_path / "reports"
    given.write_text("not a folder")
    with pytest.raises(ReportFolderRefused, match="not a folder"):
        claim(given, "connector")
