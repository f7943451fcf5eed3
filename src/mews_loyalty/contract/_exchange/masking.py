"""Keeping tokens out of everything the suite prints or writes.

Every token the run is given is a ``mews_loyalty._transport.redaction.Secret`` named after a shell variable.
Text that leaves the process (summary, failure messages, curl lines, every report file) goes through
``mask`` (the SDK's ``Redactor``), which replaces each token with ``$NAME``; curl lines use the same
names as real shell expansions, so a QA engineer can ``export MEWS_ACCESS_TOKEN=...`` and paste the line
(control characters a body holds are written as bash ``$'\\x1b'`` escapes, so pasting it is safe).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from mews_loyalty._transport.redaction import Redactor, Secret
from mews_loyalty.contract._report.text import CONTROL

# Tokens shorter than this are not masked as substrings (they would mangle unrelated text); the CLI
# refuses them anyway.
MIN_SECRET_LENGTH = 8


class Secrets(Redactor):
    """The run's tokens, and the masking of any text or bytes that might contain them."""

    __slots__ = ()

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        super().__init__(secrets, min_length=MIN_SECRET_LENGTH)

    def mask(self, text: str) -> str:
        return self.text(text)

    def mask_bytes(self, data: bytes) -> bytes:
        return self.binary(data)

    def forms(self) -> Iterable[bytes]:
        """Every encoding of a token a report could carry: plain and base64 (at each alignment)."""
        for secret in self:
            raw = secret.reveal().encode()
            yield raw
            for shift in range(3):
                encoded = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0 :]
                # Drop the characters that depend on the neighbouring bytes at both ends.
                yield encoded[2:-4]

    def scrub_files(self, paths: Iterable[Path]) -> list[Path]:
        """Mask tokens in each of ``paths`` (the files the run wrote: ``_report.folder.written``);
        returns the files that had to be changed. A link is never followed, neither read nor written.

        The runner masks data before any report writer sees it, so this is the safety net that
        proves it: tests assert it changes nothing.
        """
        changed: list[Path] = []
        for path in paths:
            data = _read_no_follow(path)
            masked = self.mask_bytes(data)
            leaked = any(form in masked for form in self.forms())
            if masked != data or leaked:
                if leaked:  # an encoded token we cannot mask in place: the file must not stay
                    masked = b"removed: it contained an encoded token\n"
                _write_no_follow(path, masked)
                changed.append(path)
        return changed

    def shell_word(self, text: str) -> str:
        """One shell word for ``text``, with each token written as ``"$NAME"`` instead of its value."""
        words = [
            _quoted(piece) if isinstance(piece, str) else _expansion(piece) for piece in self.pieces(text)
        ]
        return "".join(words) or shlex.quote("")


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _read_no_follow(path: Path) -> bytes:
    descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    with os.fdopen(descriptor, "rb") as file:
        return file.read()


def _write_no_follow(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC | _NO_FOLLOW)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


# Control characters a shell line must not carry raw (tab and newline too: they would split the line).
_CONTROL = re.compile(f"[\t\n]|{CONTROL.pattern}")


def _quoted(text: str) -> str:
    """One shell word for ``text``: POSIX quoting, or bash's ``$'...'`` when it holds control
    characters, written as escapes (a pasted line then neither drives the terminal nor loses them)."""
    if not _CONTROL.search(text):
        return shlex.quote(text)
    return "$'" + "".join(_ansi_c(char) for char in text) + "'"


def _ansi_c(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    if _CONTROL.match(char):
        return f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}"
    return char


def _expansion(secret: Secret) -> str:
    # A secret without a name cannot be expanded: its placeholder, quoted, still never leaks the value.
    return f'"{secret.placeholder}"' if secret.name is not None else shlex.quote(secret.placeholder)


def curl_line(
    secrets: Secrets,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> str:
    """A curl command that repeats a request, with tokens as shell variables."""
    words = ["curl", "-sS", "-i", "-X", method.upper(), secrets.shell_word(url)]
    skip = {"content-length", "host", "user-agent", "accept-encoding", "connection", "accept"}
    for name, value in headers.items():
        if name.lower() not in skip:
            words += ["-H", secrets.shell_word(f"{name}: {value}")]
    if body:
        words += ["--data-raw", secrets.shell_word(body.decode("utf-8", errors="replace"))]
    return " ".join(words)


class MaskedTextFile(io.TextIOBase):
    """A text file that masks tokens before anything reaches the disk.

    Writers may split a token across ``write`` calls, so text is held back until a line is complete
    (tokens never contain a newline) and masked line by line.
    """

    def __init__(self, path: Path, secrets: Secrets) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._secrets = secrets
        self._pending: list[str] = []  # text since the last newline, in pieces

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        # Writers call this once per character of a long value (the VCR writer does): collect pieces
        # and join them once per line, not once per call.
        if "\n" not in text:
            self._pending.append(text)
            return len(text)
        complete, _, rest = text.rpartition("\n")
        self._pending.append(complete)
        self._file.write(self._secrets.mask("".join(self._pending) + "\n"))
        self._pending = [rest] if rest else []
        return len(text)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self.closed:
            self._file.write(self._secrets.mask("".join(self._pending)))
            self._pending = []
            super().close()
            self._file.close()


__all__ = ["MIN_SECRET_LENGTH", "MaskedTextFile", "Secret", "Secrets", "curl_line"]
