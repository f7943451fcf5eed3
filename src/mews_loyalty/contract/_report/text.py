"""Server text made safe to show and to store: no control character reaches a terminal or a report.

    printable("Bad\x1b[2J body\x00")   # -> 'Bad\\x1b[2J body\\x00'

A server's answer ends up in the summary on the terminal, in ``report.html``, ``junit.xml`` (XML 1.0
cannot hold most control characters at all: one NUL makes the file unreadable to Jenkins or GitLab),
``failures.txt`` and ``results.json``. Every report writer passes what it writes through
``printable``: each control character (C0 but tab and newline, DEL, C1), each lone surrogate and the
two non-characters XML refuses become a visible ``\\xHH`` or ``\\uHHHH`` escape, so the reader sees
that the server sent it and nothing acts on it.
"""

from __future__ import annotations

import re

# What a terminal or an XML parser would act on or choke on; tab and newline are kept.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as a visible escape (tab and newline kept)."""
    return CONTROL.sub(_escape, text)


__all__ = ["CONTROL", "printable"]
