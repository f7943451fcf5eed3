"""``python -m bench._server_variant PROTOCOL ARGS...``: ``mews-loyalty ARGS`` served with another HTTP
protocol, for the mock_server section's before/after rows.

PROTOCOL is ``guarded`` (what ships: httptools held to the server limits), ``httptools`` (the same
parser without them: the servers before the limits) or ``h11`` (uvicorn's pure-Python parser, which
caps the request head itself but nothing else).
"""

from __future__ import annotations

import sys
from typing import Any

from mews_loyalty import _asgi
from mews_loyalty._cli import main

PROTOCOLS = ("guarded", "httptools", "h11")


def _unguarded(name: str) -> Any:
    if name == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return HttpToolsProtocol


def run(argv: list[str]) -> int:
    name, *args = argv
    if name not in PROTOCOLS:
        raise SystemExit(f"PROTOCOL is one of {', '.join(PROTOCOLS)}, not {name!r}")
    if name != "guarded":
        protocol = _unguarded(name)
        _asgi.guarded = lambda limits, cap: protocol
    return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
