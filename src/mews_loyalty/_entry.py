"""Running a command's entry point: loading it (a missing extra is one line, not a traceback), the exit
code of a usage error, and a ``SystemExit`` with a message printed as one line.

Shared by the ``mews-loyalty`` dispatcher, ``python -m mews_loyalty.contract`` and the servers' own
commands (``mews_loyalty._asgi``), so none of them imports another's module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

USAGE_ERROR = 2  # bad arguments, a missing extra, a port in use: one line on stderr


def load_entry(module: str, extra: str, *names: str) -> Callable[[list[str]], int]:
    """The first of ``names`` that ``module`` defines, its entry point; a missing extra or an unusable
    dependency becomes a one-line ``SystemExit``."""
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and not error.name.startswith("mews_loyalty"):
            raise SystemExit(
                f"mews-loyalty: this command needs the '{extra}' extra "
                f"(missing module {error.name!r}): pip install 'mews-loyalty[{extra}]'"
            ) from None
        raise
    except ImportError as error:  # a dependency of a version the command cannot use
        raise SystemExit(f"mews-loyalty: {error}") from None
    entry = next(getattr(loaded, name) for name in names if hasattr(loaded, name))
    return entry  # type: ignore[no-any-return]


def run_entry(load: Callable[[], Callable[[list[str]], int]], argv: list[str]) -> int:
    """Load an entry point and run it; a ``SystemExit`` with a message is one line and exit 2."""
    try:
        return load()(argv)
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            return USAGE_ERROR
        return int(exit_.code or 0)
