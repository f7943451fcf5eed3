"""The tree keeps the architecture ARCHITECTURE.md draws: its may-import table is read here and every
import of the package and of codegen is held to it; module names say one job each; folders stay small.

The table is the one copy of the rules: a row added there is checked here with no edit to this file.
"""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
# Where each top-level name's modules are: the handwritten and the generated halves of one package.
SOURCES = (ROOT / "src", ROOT / "generated", ROOT)
PACKAGES = ("mews_loyalty", "codegen")
RUNTIME = "runtime"  # the table's word for every room above the provider kit
# Names that may repeat: each API's part of a room, and Python's own.
PER_API_OR_DUNDER = {"connector.py", "reverse.py", "__init__.py", "__main__.py"}
MAX_MODULES_PER_FOLDER = 12


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or package)
    line: int


def table() -> dict[str, list[str]]:
    """ARCHITECTURE.md's layer table: room -> what it may import (backticked names, or ``runtime``)."""
    rooms: dict[str, list[str]] = {}
    for row in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        allowed = re.findall(r"`([\w.]+)`", cells[2])
        if re.search(rf"\b{RUNTIME}\b", cells[2].replace("`", " `")):
            allowed.append(RUNTIME)
        rooms[cells[0].strip("`")] = allowed
    return rooms


ROOMS = table()
RUNTIME_ROOMS = {
    room
    for room in ROOMS
    if room.startswith("mews_loyalty")
    and room.split(".")[1:2] not in (["provider"], ["mock"], ["contract"], ["_cli"], ["_entry"], ["_asgi"])
}


def room_of(module: str) -> str | None:
    candidates = [room for room in ROOMS if module == room or module.startswith(room + ".")]
    return max(candidates, key=len) if candidates else None


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in SOURCES:
        for package in PACKAGES:
            for path in sorted((base / package).rglob("*.py")) if (base / package).is_dir() else []:
                if "__pycache__" in path.parts:
                    continue
                name = ".".join(path.relative_to(base).with_suffix("").parts).removesuffix(".__init__")
                found.setdefault(name, path)
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return skipped


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from package import module` imports that module: judge it by the module's own room
            found += [
                Import(
                    module,
                    f"{target}.{alias.name}" if f"{target}.{alias.name}" in ALL_NAMES else target,
                    node.lineno,
                )
                for alias in node.names
            ]
    return [found_ for found_ in found if found_.target.split(".")[0] in PACKAGES]


def allows(room: str, target: str) -> bool:
    target_room = room_of(target)
    if target_room is not None and (target_room + ".").startswith(room + "."):
        return True  # its own room, or a room nested inside it
    for entry in ROOMS[room]:
        if entry == RUNTIME and target_room in RUNTIME_ROOMS:
            return True
        if entry in ROOMS and target_room is not None and (target_room + ".").startswith(entry + "."):
            return True  # the room named, or a room inside it
        if entry not in ROOMS and (target == entry or target.startswith(entry + ".")):
            return True
    return False


ALL_MODULES = modules()
ALL_NAMES = frozenset(ALL_MODULES)


def test_the_table_names_rooms_that_exist():
    assert len(ROOMS) >= 10, "ARCHITECTURE.md's layer table was not found"
    for room in ROOMS:
        assert any(name == room or name.startswith(room + ".") for name in ALL_MODULES), room


def test_every_module_belongs_to_a_room():
    assert sorted(name for name in ALL_MODULES if room_of(name) is None) == []


def test_nothing_imports_what_its_room_may_not():
    wrong = [
        f"{found.module}:{found.line} imports {found.target} ({room_of(found.module)} may not)"
        for name, path in ALL_MODULES.items()
        for found in imports_of(name, path)
        if not allows(room_of(name) or "", found.target)
    ]
    assert wrong == []


def test_no_two_rooms_import_each_other():
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in ALL_MODULES.items():
        for found in imports_of(name, path):
            source, target = room_of(name), room_of(found.target)
            if source and target and source != target:
                edges[source].add(target)
    mutual = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, set())})
    assert mutual == []


def test_the_provider_kit_shares_only_the_asgi_module_with_the_mock():
    kit = [
        f"{found.module} imports {found.target}"
        for name, path in ALL_MODULES.items()
        if name.startswith("mews_loyalty.provider")
        for found in imports_of(name, path)
        if found.target.startswith("mews_loyalty.mock")
    ]
    assert kit == []


def handwritten_files() -> list[Path]:
    return [
        path
        for base in (ROOT / "src" / "mews_loyalty", ROOT / "codegen")
        for path in base.rglob("*.py")
        if "__pycache__" not in path.parts
    ]


def test_no_two_modules_share_a_name_unless_each_is_one_apis_part():
    counts = Counter(path.name for path in handwritten_files() if path.name not in PER_API_OR_DUNDER)
    assert sorted(name for name, count in counts.items() if count > 1) == []


@pytest.mark.parametrize("folder", sorted({path.parent for path in handwritten_files()}), ids=str)
def test_no_folder_holds_more_than_a_dozen_modules(folder: Path):
    modules_here = [path for path in folder.glob("*.py") if path.name != "__init__.py"]
    assert len(modules_here) <= MAX_MODULES_PER_FOLDER, folder
