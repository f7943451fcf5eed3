"""The string formats of JSON Schema, checked as the specs mean them (RFC 3339, 3986, 4122, 5321).

    FORMATS["uuid"]("3fa85f64-5717-4562-b3fc-2c963f66afa6")   # True
    is_uri("https://rewards.example.com/m/1")                 # True

pydantic reads these more leniently (braced or bare-hex UUIDs, date-times without seconds, IRIs), so
the mock and the provider kit check request values against these grammars as well. Value ranges are
the models' business.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"  # scheme
    r"(?:"
    r"//(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"  # "//" userinfo "@"
    r"(?:\[(?P<literal>[^\]]*)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"  # host
    r"(?::[0-9]*)?"  # port
    rf"(?:/{_PCHAR}*)*"  # path-abempty
    rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute, path-rootless or empty
    r")"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?"  # query
    rf"(?:#(?:{_PCHAR}|[/?])*)?"  # fragment
)
# RFC 5321 Mailbox: a dot-atom or quoted local part, "@", a host name or an address literal (ASCII;
# internationalised addresses are the separate "idn-email" format).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_EMAIL = re.compile(
    rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")'
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[^\[\]\\]+\])"
)
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def is_uri(text: str) -> bool:
    match = _URI.fullmatch(text)
    if match is None:
        return False
    literal = match.group("literal")
    if literal is None or _IP_FUTURE.fullmatch(literal):
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return "%" not in literal  # RFC 3986 has no zone identifiers


FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda text: _UUID.fullmatch(text) is not None,
    "date": lambda text: _DATE.fullmatch(text) is not None,
    "date-time": lambda text: _DATE_TIME.fullmatch(text) is not None,
    "uri": is_uri,
    "email": lambda text: _EMAIL.fullmatch(text) is not None,  # lengths are the schema's business
}
