"""An installation must say which SDK version it is and which spec versions its code was generated from.

Support questions start with "which version?": a user on an old wheel and a Mews release that
changed the Connector spec are told apart only by these numbers, so they must come from the shipped
artefacts, not from someone remembering to update a constant.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import mews_loyalty
from codegen.apis import GENERATED, ROOT
from mews_loyalty import _version
from mews_loyalty._spec.catalog import API_NAMES
from mews_loyalty._version import spec_versions


def test_spec_versions_are_those_the_code_was_generated_from():
    # PROVENANCE.json is written by the generator from the specs it read; the versions the SDK reports
    # must be the same, or a user would be told the wrong API version.
    provenance = json.loads((GENERATED / "PROVENANCE.json").read_text())
    assert dict(spec_versions()) == {api: provenance["specs"][api]["info_version"] for api in API_NAMES}


def test_every_api_has_a_non_empty_spec_version():
    # A missing or blank version would print as nothing in a bug report.
    assert set(spec_versions()) == set(API_NAMES)
    assert all(version.strip() for version in spec_versions().values())


def test_spec_versions_cannot_be_changed_by_a_caller():
    # The mapping is cached for the process; a caller mutating it would change what everyone else reads.
    with pytest.raises(TypeError):
        spec_versions()["connector"] = "tampered"  # type: ignore[index]
    assert spec_versions()["connector"] != "tampered"


def test_package_version_is_written_once():
    # The build reads the version from _version.py (pyproject.toml writes none of its own), and the
    # installed metadata is what pip reports: if it and __version__ (what `mews-loyalty --version`
    # prints) disagreed, users and pip would report different versions of the same install.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    source = ROOT / pyproject["tool"]["hatch"]["version"]["path"]
    assert source.resolve() == Path(_version.__file__).resolve()
    assert mews_loyalty.__version__ == _version.__version__ == metadata.version("mews-loyalty")


def test_package_exposes_the_spec_versions():
    # Users and bug reports quote `mews_loyalty.__spec_versions__`; it must be the shipped specs' versions.
    import mews_loyalty
    from mews_loyalty._version import spec_versions

    assert mews_loyalty.__spec_versions__ == spec_versions()


def test_the_version_module_reads_no_spec_until_asked():
    # __version__ is read by the build and printed by `--version`: loading _version.py on its own must
    # not load the catalog (and with it YAML and the generated models); spec_versions() does, on first use.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('standalone_version', {_version.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(module.__version__, 'mews_loyalty._spec.catalog' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [_version.__version__, "False"]
