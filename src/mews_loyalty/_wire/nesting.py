"""How deep a JSON text nests its arrays and objects, read from the bytes before anything decodes them.

    check_nesting(body)           # raises NestedTooDeep past MAX_DEPTH levels ([] is one, {"a": []} two)

Every server the package runs reads request bodies with walkers that recurse (format checks, property
combinations, the Connector mock's reconciling copy), and a body nested a thousand deep made them
raise ``RecursionError``: a 500 where a 400 belongs. So each server refuses a body deeper than
``MAX_DEPTH`` before decoding it, in its own API's 400 shape (the Connector mock's error body, the
provider kit's problem); the validating proxy judges requests with the same two validators. No
request any spec documents comes near the limit: the deepest schema nests a handful of levels.

Counted on the bytes, in passes that run in C: escaped backslashes and quotes are dropped, the text is
cut at its quotes (every other piece is inside a string, where a bracket is text), only the brackets
of the pieces outside are kept, and the innermost pairs are removed, one level a pass. A run of more
opening brackets than the levels left ends the count early, so a hostile body costs a few passes.
A text that is not valid JSON may count differently (its brackets need not pair up); it is a 400
either way.
"""

from __future__ import annotations

MAX_DEPTH = 64
"""Levels of arrays and objects a request body may nest."""

# "{}" read as "[]" (the kind of a bracket does not change the depth), every other byte deleted
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


class NestedTooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than the limit (each server answers its own 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON nests arrays and objects deeper than {limit} levels")
        self.limit = limit


def _brackets(text: bytes) -> bytes:
    """The brackets of ``text`` outside its strings, all written ``[`` and ``]``."""
    unescaped = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    return outside_strings.translate(_AS_SQUARE, _NOT_BRACKETS)


def _deeper_than(brackets: bytes, limit: int) -> bool:
    removed = 0  # levels taken off so far: what is left nests ``removed`` less than the text
    while brackets:
        if b"[" * (limit - removed + 1) in brackets:
            return True
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return False  # brackets that do not pair up: not JSON, for the decoder to refuse
        brackets, removed = inner, removed + 1
    return False


def check_nesting(text: bytes, limit: int = MAX_DEPTH) -> None:
    """Raise ``NestedTooDeep`` when ``text`` nests arrays and objects deeper than ``limit`` levels."""
    if text.count(b"[") + text.count(b"{") > limit and _deeper_than(_brackets(text), limit):
        raise NestedTooDeep(limit)
