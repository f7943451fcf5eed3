"""The provider kit stands alone: the mock's reference provider is built on it, never the other way."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.util import resolve_name
from pathlib import Path

import mews_loyalty.provider

KIT = Path(mews_loyalty.provider.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at the top or inside a function (relative ones resolved)."""
    package = ".".join(("mews_loyalty", *path.relative_to(KIT.parent).parent.parts))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(resolve_name("." * node.level + (node.module or ""), package))
    return found


def test_no_module_of_the_kit_imports_the_mock():
    for path in sorted(KIT.rglob("*.py")):
        mock = sorted(name for name in imported_modules(path) if name.startswith("mews_loyalty.mock"))
        assert mock == [], f"{path.name} imports {mock}"


def test_loading_the_kit_loads_nothing_of_the_mock():
    # What the kit imports indirectly counts too: it may share the ASGI server module, nothing else.
    code = "import sys, mews_loyalty.provider; print(' '.join(m for m in sys.modules if m.startswith('mews_loyalty.mock')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
