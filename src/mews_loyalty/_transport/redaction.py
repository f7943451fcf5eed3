"""Credentials that never show themselves, and scrubbing of text that might echo them.

token = Secret("C66EF7B2...")      # repr/str/format print a placeholder; .reveal() gives the value
Redactor((token,)).text(message)   # every occurrence of the value replaced by the placeholder
Secret("C66EF7B2...", "MEWS_ACCESS_TOKEN")  # masked as $MEWS_ACCESS_TOKEN: a shell expands it back

The SDK's errors and logs use unnamed secrets (``[REDACTED]``); the contract suite names each token
after the environment variable a QA engineer exports, so a masked curl line can be pasted and run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

PLACEHOLDER = "[REDACTED]"
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Secret:
    """A token kept out of every repr, str, log line, exception message and pickle."""

    __slots__ = ("_name", "_value")

    def __init__(self, value: str, name: str | None = None) -> None:
        if name is not None and not _SHELL_NAME.fullmatch(name):
            raise ValueError(f"a secret's name must be a shell variable name, got {name!r}")
        self._value = value
        self._name = name

    @property
    def name(self) -> str | None:
        """The shell variable that masked text refers to (``MEWS_ACCESS_TOKEN``), if any."""
        return self._name

    @property
    def placeholder(self) -> str:
        """What masked text shows instead of the value: ``$NAME``, or ``[REDACTED]`` without a name."""
        return PLACEHOLDER if self._name is None else f"${self._name}"

    def reveal(self) -> str:
        """The value itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.placeholder!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value somewhere nobody looks after it.
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """Replaces the values of some secrets, by their placeholders, in text, bytes and JSON-like data.

    One pass over the text, longest value first: a token that contains another is replaced whole, and
    nothing already replaced is looked at again.
    """

    __slots__ = ("_by_value", "_bytes", "_secrets", "_text")

    def __init__(self, secrets: Iterable[Secret], *, min_length: int = 1) -> None:
        # Values shorter than min_length are left alone (as substrings they would mangle other text);
        # of two secrets with one value, the first given names it.
        by_value: dict[str, Secret] = {}
        for secret in secrets:
            if len(secret.reveal()) >= max(min_length, 1):
                by_value.setdefault(secret.reveal(), secret)
        self._secrets = tuple(sorted(by_value.values(), key=lambda s: len(s.reveal()), reverse=True))
        self._by_value = by_value
        values = [secret.reveal() for secret in self._secrets]
        self._text = re.compile("|".join(map(re.escape, values))) if values else None
        self._bytes = re.compile(b"|".join(re.escape(v.encode()) for v in values)) if values else None

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __iter__(self) -> Iterator[Secret]:
        """The secrets, longest value first."""
        return iter(self._secrets)

    def text(self, value: str) -> str:
        if self._text is None:
            return value
        return self._text.sub(lambda match: self._by_value[match.group()].placeholder, value)

    def binary(self, value: bytes) -> bytes:
        if self._bytes is None:
            return value
        return self._bytes.sub(
            lambda match: self._by_value[match.group().decode()].placeholder.encode(), value
        )

    def pieces(self, value: str) -> Iterator[str | Secret]:
        """``value`` cut into its plain runs (str) and the secrets that stand in it, in order."""
        position = 0
        for match in self._text.finditer(value) if self._text is not None else ():
            if match.start() > position:
                yield value[position : match.start()]
            yield self._by_value[match.group()]
            position = match.end()
        if position < len(value):
            yield value[position:]

    def data(self, value: Any) -> Any:
        """Scrub every string in a JSON-like structure (dicts, lists, scalars)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value
