"""What every report of a run must be, whatever the server sent: parseable, and free of control
characters (a terminal would act on them, an XML parser choke on them)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import xmlschema

from mews_loyalty.contract._report.text import CONTROL

# The Jenkins/Ant JUnit shape (see the file's comment), stricter where the suite promises more.
JUNIT_XSD = Path(__file__).with_name("junit.xsd")
TEXT_REPORTS = ("summary.txt", "failures.txt", "report.html", "junit.xml", "results.json")


def assert_reports_parse(folder: Path) -> dict[str, Any]:
    """Every report in ``folder`` (one API's) parses, ours and schemathesis' XML; ours hold no
    control character; ``junit.xml`` validates against ``JUNIT_XSD``. Returns ``results.json``."""
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(folder / "junit.xml"))
    for xml in folder.rglob("*.xml"):
        ET.parse(xml)
    for name in TEXT_REPORTS:
        text = (folder / name).read_text(encoding="utf-8")
        found = CONTROL.search(text)
        assert found is None, f"{name}: control character {found.group()!r}" if found else ""
    data: dict[str, Any] = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return data


def junit_errors(folder: Path) -> list[str]:
    """The messages of the ``<error>`` elements of ``junit.xml``."""
    return [e.get("message", "") for e in ET.parse(folder / "junit.xml").getroot().iter("error")]
