"""Hatchling metadata hook: the summary names the spec versions the generated code comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface


class SpecVersionsMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        provenance = json.loads(Path(self.root, "generated", "PROVENANCE.json").read_text(encoding="utf-8"))
        specs = ", ".join(
            f"{api} {entry['info_version']}" for api, entry in sorted(provenance["specs"].items())
        )
        metadata["description"] = f"{self.config['summary']} (specs: {specs})"
