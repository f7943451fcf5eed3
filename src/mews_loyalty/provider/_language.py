"""Choosing the language of problem texts from ``Accept-Language`` (RFC 9110, section 12.5.4).

    negotiate("de-AT, en;q=0.5")        # "de"
    negotiate("fr") / negotiate(None)  # "en": English when nothing offered is acceptable
    translate("field.required", "cs")  # "Toto pole je povinné."

Ranges match on the primary subtag (``de-AT`` matches ``de``); ``*`` accepts the default; ``q=0``
refuses a language. Unparseable parts of the header are ignored rather than rejected: the header is
optional and a bad one must not fail the request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mews_loyalty.provider._messages import ENGLISH, LANGUAGES, MESSAGES

_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")
_MAX_HEADER_LENGTH = 1024


def _weighted_ranges(header: str) -> list[tuple[float, int, str]]:
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:_MAX_HEADER_LENGTH].split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not _RANGE.match(tag):
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.match(value) else 0.0
        if weight > 0:
            ranges.append((weight, position, tag.lower()))
    # Highest weight first; equal weights keep the order the client sent them in.
    ranges.sort(key=lambda item: (-item[0], item[1]))
    return ranges


def negotiate(header: str | None, offered: tuple[str, ...] = LANGUAGES, default: str = ENGLISH) -> str:
    """The offered language the client prefers most, or ``default``."""
    if not header:
        return default
    for _, _, tag in _weighted_ranges(header):
        if tag == "*":
            return default
        primary = tag.split("-", 1)[0]
        if primary in offered:
            return primary
    return default


def pick(texts: Mapping[str, str], language: str) -> str:
    """The text in ``language``, else English, else the first one given."""
    for candidate in (language, ENGLISH):
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()))


def translate(key: str, language: str, **params: object) -> str:
    return pick(MESSAGES[key], language).format(**params)
