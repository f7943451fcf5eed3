"""The APIs we generate code for: one spec each, one attrs client, one pydantic models package and
one package of typed SDK resources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GENERATED = ROOT / "generated"
CODEGEN = ROOT / "codegen"


@dataclass(frozen=True)
class Api:
    name: str

    @property
    def spec(self) -> Path:
        return SPECS / self.name / "openapi.yaml"

    @property
    def client_package(self) -> str:
        return f"mews_{self.name}_client"

    @property
    def models_package(self) -> str:
        return f"mews_{self.name}_models"

    @property
    def resources_package(self) -> str:
        return f"mews_{self.name}_resources"

    @property
    def client_config(self) -> Path:
        return CODEGEN / "config" / f"{self.name}-client.yaml"


APIS = (Api("connector"), Api("reverse"))
