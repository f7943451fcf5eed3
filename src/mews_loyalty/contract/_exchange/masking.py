"""Keeping tokens out of everything the suite prints or writes.

Every token the run is given is a ``mews_loyalty._transport.redaction.Secret`` named after a shell variable.
Text that leaves the process (summary, failure messages, curl lines, every report file) goes through
``mask`` (the SDK's ``Redactor``), which replaces each token with ``$NAME``; curl lines use the same
names as real shell expansions, so a QA engineer can ``export MEWS_ACCESS_TOKEN=...`` and paste the line
(``export_hint`` says which). A body that is printable text goes on the line itself (control characters
as bash ``$'\\x1b'`` escapes, so pasting it is safe); any other body (a NUL, bytes that are not UTF-8)
cannot be held by a shell word without changing it, so the line sends it from a file,
``--data-binary @bodies/<hash>.bin``, which the report writes beside the curl line
(``_report.findings``). Each curl line is a ``CurlLine``: the text, and the masked request it repeats.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


# Headers a curl line leaves to curl (it sets them itself, or they describe the transport).
CURL_SETS = frozenset({"content-length", "host", "user-agent", "accept-encoding", "connection", "accept"})
BODIES = "bodies"  # the report folder's sub-folder of request bodies curl lines send from a file


@dataclass(frozen=True)
class SentRequest:
    """A request as it was sent, masked: tokens in the URL, headers and body are ``$NAME`` placeholders."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def body_path(self) -> str:
        """Where the report keeps the body, relative to its folder (named after its bytes)."""
        return f"{BODIES}/{hashlib.sha256(self.body).hexdigest()[:16]}.bin"

    @property
    def body_file(self) -> str | None:
        """The body's file when a curl line must send it from there: no shell word holds it unchanged."""
        return None if not self.body or printable_body(self.body) else self.body_path


class CurlLine(str):
    """A curl command (the text), and the masked request it repeats (``request``)."""

    request: SentRequest | None = None


def printable_body(body: bytes) -> bool:
    """Whether ``body`` is text a shell word holds unchanged: UTF-8 with no NUL and no lone surrogate."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def curl_line(
    secrets: Secrets,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> CurlLine:
    """A curl command that repeats a request, with tokens as shell variables and a body that is not
    printable text sent from the report's file of it."""
    words = ["curl", "-sS", "-i", "-X", method.upper(), secrets.shell_word(url)]
    for name, value in headers.items():
        if name.lower() not in CURL_SETS:
            words += ["-H", secrets.shell_word(f"{name}: {value}")]
    sent = SentRequest(
        method.upper(),
        secrets.mask(url),
        tuple((name, secrets.mask(value)) for name, value in headers.items()),
        secrets.mask_bytes(body or b""),
    )
    if sent.body_file is not None:
        words += ["--data-binary", f"@{sent.body_file}"]
    elif body:
        words += ["--data-raw", secrets.shell_word(body.decode("utf-8"))]
    line = CurlLine(" ".join(words))
    line.request = sent
    return line


# A token in a curl line: ``_expansion``'s double-quoted ``"$NAME"`` (literal text is single-quoted).
_EXPANSION = re.compile(r'"\$([A-Za-z_][A-Za-z0-9_]*)"')


def token_variables(lines: Iterable[str]) -> list[str]:
    """The token variables curl ``lines`` expand, sorted."""
    return sorted({name for line in lines for name in _EXPANSION.findall(line)})


def export_hint(lines: Iterable[str]) -> str:
    """What to export before pasting curl ``lines``: the token variables they use, or "" when none."""
    used = token_variables(lines)
    if not used:
        return ""
    return "curl lines read the tokens from the environment: export " + " ".join(f"{n}=..." for n in used)


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


__all__ = [
    "BODIES",
    "MIN_SECRET_LENGTH",
    "CurlLine",
    "MaskedTextFile",
    "Secret",
    "Secrets",
    "SentRequest",
    "curl_line",
    "export_hint",
    "printable_body",
    "token_variables",
]
