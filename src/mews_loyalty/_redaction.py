"""Credentials that never show themselves, and scrubbing of text that might echo them.

token = Secret("C66EF7B2...")      # repr/str/format print a placeholder; .reveal() gives the value
Redactor((token,)).text(message)   # every occurrence of the value replaced by the placeholder
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

PLACEHOLDER = "[REDACTED]"


class Secret:
    """A token kept out of every repr, str, log line and exception message."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({PLACEHOLDER!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value somewhere nobody looks after it.
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """Replaces the values of some secrets in text and in JSON-like data."""

    __slots__ = ("_values",)

    def __init__(self, secrets: Iterable[Secret]) -> None:
        # Longest first, so a token that contains another is scrubbed whole.
        values = {secret.reveal() for secret in secrets if secret.reveal()}
        self._values = tuple(sorted(values, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} secrets)"

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, PLACEHOLDER)
        return value

    def data(self, value: Any) -> Any:
        """Scrub every string in a JSON-like structure (dicts, lists, scalars)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value
