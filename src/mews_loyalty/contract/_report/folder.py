"""The report folder is the run's own: it writes there only when nothing else lives there.

    folder = claim(Path("reports/contract"), "connector")   # <report-dir>/connector/, cleared, marked
    ...                                                      # the run writes its reports into it
    secrets.scrub_files(written(folder))                     # the files the run wrote, links never followed

The folder given (``--report-dir``) may be absent, empty, or hold only the suite's own folders, one per
API (``connector/``, ``reverse/``), each a real folder (not a link) that is empty or carries ``MARKER``,
the file a run writes into its folder before anything else. Everything in a marked folder is an
earlier run's reports: the run deletes them (never following a link) and writes afresh. Anything else
(a user's file, a link, a folder the suite did not mark) and the run refuses to start, with one line,
before it writes or sends anything: ``ReportFolderRefused``, exit 2, the one ending without reports.

The two runs of ``python -m mews_loyalty.contract`` claim their folders side by side: each looks into
the other's folder only for its marker, which a run writes first, right after making the folder.
``claim_own`` holds a folder given for one run's reports alone (``certify reverse``) to the same rule.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

MARKER = ".mews-loyalty-contract-reports"
MARKER_TEXT = (
    "This folder holds the reports of one run of `mews-loyalty contract` (or `certify`). The next run\n"
    "into the same --report-dir deletes them and writes its own; a run refuses a folder holding anything\n"
    "it did not write.\n"
)
APIS = ("connector", "reverse")  # the folders a report folder may hold


class ReportFolderRefused(Exception):
    """The folder given holds something the suite did not write: the run writes nothing (exit 2)."""


def claim(root: Path, name: str, siblings: tuple[str, ...] = APIS) -> Path:
    """Make ``root/name`` the run's folder: refuse a ``root`` holding anything but the suite's own
    folders (named ``siblings``), delete the earlier run's reports from ``root/name``, mark it."""
    foreign = _foreign(root, siblings)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ReportFolderRefused(
            f"--report-dir {root} holds what this suite did not write ({shown}); give an empty or new "
            "folder, or one an earlier run wrote. Nothing was written, no request was sent"
        )
    return _take(root / name)


def claim_own(folder: Path) -> Path:
    """Make ``folder`` itself the run's, for a command that writes one folder of reports (not one per
    API, as ``claim``): it may be absent, empty or marked by an earlier run, which is then cleared;
    anything else is refused, nothing written."""
    foreign = [] if not folder.exists() and not folder.is_symlink() else _foreign_in_own(folder)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ReportFolderRefused(
            f"--report-dir {folder} holds what this suite did not write ({shown}); give an empty or new "
            "folder, or one an earlier run wrote. Nothing was written, no request was sent"
        )
    return _take(folder)


def _foreign_in_own(folder: Path) -> list[str]:
    if folder.is_symlink() or not folder.is_dir():
        return [f"{folder} itself, which is not a folder"]
    if _marked_or_empty(folder):
        return []
    return sorted(_describe(entry) for entry in folder.iterdir())


def _take(folder: Path) -> Path:
    """Make ``folder``, mark it, delete what an earlier run wrote there."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.is_file():
        marker.write_text(MARKER_TEXT, encoding="utf-8")
    for entry in folder.iterdir():
        if entry.name != MARKER:
            _delete(entry)
    return folder


def _foreign(root: Path, siblings: tuple[str, ...]) -> list[str]:
    """What in ``root`` is not the suite's: entries by name, a link or a file shown as such."""
    if not root.exists() and not root.is_symlink():
        return []
    if not root.is_dir():
        return [f"{root} itself, which is not a folder"]
    return sorted(_describe(entry) for entry in root.iterdir() if not _ours(entry, siblings))


def _ours(entry: Path, siblings: tuple[str, ...]) -> bool:
    if entry.name not in siblings or entry.is_symlink() or not entry.is_dir():
        return False
    return _marked_or_empty(entry)


def _marked_or_empty(folder: Path) -> bool:
    marker = folder / MARKER
    if marker.is_symlink():
        return False
    return marker.is_file() or not any(folder.iterdir())


def _describe(entry: Path) -> str:
    if entry.is_symlink():
        return f"the link {entry.name}"
    return f"{entry.name}/" if entry.is_dir() else entry.name


def _delete(entry: Path) -> None:
    """Delete an earlier run's file or folder; a link is removed, never followed."""
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink()
    else:
        shutil.rmtree(entry)  # removes links inside as links (never their targets)


def written(folder: Path) -> list[Path]:
    """The regular files under ``folder`` (the run's own, since it claimed the folder), found without
    following a link, and not the marker."""
    files: list[Path] = []
    for directory, _, names in os.walk(folder, followlinks=False):
        for name in names:
            path = Path(directory) / name
            if name != MARKER and stat.S_ISREG(path.lstat().st_mode):
                files.append(path)
    return sorted(files)


__all__ = ["APIS", "MARKER", "ReportFolderRefused", "claim", "claim_own", "written"]
