"""The APIs we generate code for: one spec each, and for each, inside the one package the wheel ships
(``mews_loyalty._generated.<api>``), an attrs client, a pydantic models package and the typed SDK
resources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GENERATED = ROOT / "generated"
CODEGEN = ROOT / "codegen"
# Where generated code lives inside the installed package: generated/mews_loyalty/_generated/ here, merged
# into src/mews_loyalty/ by the wheel (pyproject's `sources`) and by `pkgutil.extend_path` in an
# editable install.
PACKAGE = "mews_loyalty._generated"


@dataclass(frozen=True)
class Api:
    name: str

    @property
    def spec(self) -> Path:
        return SPECS / self.name / "openapi.yaml"

    @property
    def package(self) -> str:
        return f"{PACKAGE}.{self.name}"

    @property
    def client_package(self) -> str:
        return f"{self.package}.client"

    @property
    def models_package(self) -> str:
        return f"{self.package}.models"

    @property
    def resources_package(self) -> str:
        return f"{self.package}.resources"

    @property
    def client_config(self) -> Path:
        return CODEGEN / "config" / f"{self.name}-client.yaml"


def folder(root: Path, package: str) -> Path:
    """The folder of a dotted package name below ``root`` (a generated tree)."""
    return root.joinpath(*package.split("."))


APIS = (Api("connector"), Api("reverse"))
