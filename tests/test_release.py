"""What we publish must install and work on its own: build the sdist and wheel, install the wheel in a
fresh virtualenv without extras, and use it from there.

Slow (about 30-60 s: a real `uv build` and a real install, from uv's cache when warm) but part of the
normal suite: an editable checkout hides every packaging mistake this catches (a package left out
of the wheel, a missing `py.typed`, a spec copy not shipped, a runtime import that only the dev
environment satisfies, an extra's dependency leaking into a plain install).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from codegen.apis import GENERATED, ROOT
from mews_loyalty._version import __version__

# One worker builds the release once for the whole module (see WORKERS in noxfile.py).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("release")]

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
WHEEL = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
SPEC_COPIES = (
    "mews_loyalty/_generated/connector/models/openapi.yaml",
    "mews_loyalty/_generated/reverse/models/openapi.yaml",
)
PROVENANCE = json.loads((GENERATED / "PROVENANCE.json").read_text())
BIN = "Scripts" if sys.platform == "win32" else "bin"


@dataclass(frozen=True)
class Release:
    wheel: Path
    sdist: Path
    venv: Path
    workdir: Path  # outside the checkout, so nothing imports from the source tree by accident

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
        return subprocess.run(
            [str(self.venv / BIN / args[0]), *args[1:]],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run("python", "-c", code)


def uv(*args: str, cwd: Path) -> None:
    uv_binary = shutil.which("uv")
    assert uv_binary, "uv is needed to build and install the release"
    done = subprocess.run([uv_binary, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    base = tmp_path_factory.mktemp("release")
    dist, venv, workdir = base / "dist", base / "venv", base / "work"
    workdir.mkdir()
    # uv builds the sdist, then the wheel from the unpacked sdist: what PyPI users get either way.
    uv("build", "--out-dir", str(dist), cwd=ROOT)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    uv("venv", "--python", sys.executable, str(venv), cwd=workdir)
    uv("pip", "install", "--python", str(venv / BIN / "python"), str(wheel), cwd=workdir)
    return Release(wheel, sdist, venv, workdir)


def wheel_names(release: Release) -> list[str]:
    with zipfile.ZipFile(release.wheel) as wheel:
        return wheel.namelist()


def wheel_metadata(release: Release) -> dict[str, list[str]]:
    with zipfile.ZipFile(release.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(wheel.read(name).decode())
    return {key: message.get_all(key) or [] for key in set(message.keys())}


def test_the_wheel_holds_exactly_one_top_level_package(release):
    # The handwritten runtime and the generated code are one package for users: `unzip -l` shows
    # mews_loyalty/ and its dist-info, nothing else beside them.
    top_level = {name.split("/", 1)[0] for name in wheel_names(release) if "/" in name}
    assert sorted(name for name in top_level if not name.endswith(".dist-info")) == ["mews_loyalty"]
    assert not [name for name in wheel_names(release) if "/" not in name]


def test_every_included_folder_is_in_the_wheel(release):
    # Hatchling skips an included folder it cannot find, and the sdist only carries what its `include`
    # names; a part missing here fails at import on users' machines only.
    names = set(wheel_names(release))
    for included in WHEEL["only-include"]:
        source = next(s for s in WHEEL["sources"] if included.startswith(s + "/"))
        package = included.removeprefix(source + "/")
        shipped = {n for n in names if n.startswith(package + "/")}
        expected = {
            (package + "/" + p.relative_to(ROOT / included).as_posix())
            for p in (ROOT / included).rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert expected - shipped == set(), included


def test_every_top_level_package_carries_the_project_name(release):
    # A generic top-level name (the repository once shipped `contract_tests`) shadows, or is shadowed
    # by, a folder of the same name in a user's own project; the contract suite lives in mews_loyalty.
    names = set(wheel_names(release))
    top_level = {name.split("/", 1)[0] for name in names if "/" in name and ".dist-info" not in name}
    assert sorted(p for p in top_level if not p.startswith("mews_")) == []
    assert "mews_loyalty/contract/cli.py" in names


def test_the_package_in_the_wheel_is_marked_typed(release):
    # Without py.typed, mypy treats the installed package as untyped and users lose every annotation.
    assert "mews_loyalty/py.typed" in set(wheel_names(release))


def test_the_specs_ship_inside_the_models_packages(release):
    # The runtime reads its operation catalog from these copies; they must be the generated-from specs.
    with zipfile.ZipFile(release.wheel) as wheel:
        for name in SPEC_COPIES:
            assert wheel.read(name) == (GENERATED / name).read_bytes(), name


def test_the_sdist_carries_what_rebuilding_needs(release):
    # The wheel is built from the sdist; downstream packagers rebuild from it too.
    with tarfile.open(release.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    needed = [
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "generated/PROVENANCE.json",
        *(f"specs/{api}/openapi.yaml" for api in PROVENANCE["specs"]),
    ]
    sources = [Path(p).as_posix() for p in WHEEL["only-include"]]
    missing = [n for n in needed if n not in names] + [
        s for s in sources if not any(n.startswith(f"{s}/") and n.endswith("/__init__.py") for n in names)
    ]
    assert missing == []


def test_the_plain_install_imports_every_package(release):
    # The SDK's import graph must be satisfied by its declared dependencies alone.
    done = release.python(
        "import mews_loyalty, mews_loyalty.connector, mews_loyalty.reverse, "
        "mews_loyalty._generated.connector.models, mews_loyalty._generated.reverse.models"
    )
    assert done.returncode == 0, done.stderr


def test_the_plain_install_reads_its_operation_catalog(release):
    # Every SDK call goes through the catalog parsed from the shipped spec copy; it must load with
    # nothing but the declared dependencies installed.
    done = release.python(
        "from mews_loyalty._spec.catalog import catalog; print(len(catalog('connector').operations), len(catalog('reverse').operations))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["12", "4"]


def test_the_plain_install_reports_its_versions(release):
    # Bug reports quote these; they must come from the installed artefacts.
    done = release.python(
        "import json, importlib.metadata as m, mews_loyalty; from mews_loyalty._version import spec_versions; "
        "print(json.dumps([mews_loyalty.__version__, m.version('mews-loyalty'), dict(spec_versions())]))"
    )
    assert done.returncode == 0, done.stderr
    package, installed, specs = json.loads(done.stdout)
    assert package == installed == __version__  # the checkout's version, built into the wheel's metadata
    assert specs == {api: entry["info_version"] for api, entry in PROVENANCE["specs"].items()}


def test_the_spec_versions_are_in_the_package_metadata(release):
    # `pip show mews-loyalty` must tell which API versions the SDK speaks without importing it.
    (summary,) = wheel_metadata(release)["Summary"]
    for api, entry in PROVENANCE["specs"].items():
        assert f"{api} {entry['info_version']}" in summary


def test_the_command_line_entry_point_works(release):
    # `mews-loyalty` is the documented way in; a broken console script is the first thing users see.
    done = release.run("mews-loyalty", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: mews-loyalty" in done.stdout


def test_a_plain_install_pulls_in_no_server_or_test_dependencies(release):
    # SDK users must not get web servers and test frameworks: those belong to the `mock` and `contract`
    # extras. The names come from pyproject.toml, so adding an extra dependency keeps this honest.
    extras = PYPROJECT["project"]["optional-dependencies"]
    extra_only = {canonicalize_name(Requirement(r).name) for group in extras.values() for r in group}
    runtime = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    extra_only -= runtime | {canonicalize_name(PYPROJECT["project"]["name"])}
    assert {"starlette", "uvicorn", "schemathesis"} <= extra_only
    done = release.python(
        "import json, importlib.metadata as m; print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"
    )
    installed = {canonicalize_name(name) for name in json.loads(done.stdout)}
    assert sorted(installed & extra_only) == []
    assert runtime <= installed


def test_a_command_needing_an_extra_says_which_one(release):
    # Without the `mock` extra, `mews-loyalty mock connector` must say what to install, not show a traceback.
    done = release.run("mews-loyalty", "mock", "connector")
    assert done.returncode == 2
    assert "pip install 'mews-loyalty[mock]'" in done.stderr
    assert "Traceback" not in done.stderr


PYRIGHT = "pyright@1.1.407"
TYPING_CASE = ROOT / "tests" / "typing_cases" / "sdk_parity.py"


def test_pyright_sees_the_typed_sdk_from_the_wheel(release):
    # In an editable checkout pyright cannot join src/ and generated/ (pkgutil.extend_path); the wheel
    # is one package, which is what users' pyright sees. The script is mypy's typing case, unchanged.
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip(f"npx is not installed, so {PYRIGHT} cannot run")
    shutil.copy(TYPING_CASE, release.workdir / TYPING_CASE.name)
    config = {"pythonVersion": "3.11", "typeCheckingMode": "strict", "include": [TYPING_CASE.name]}
    (release.workdir / "pyrightconfig.json").write_text(json.dumps(config))
    python = release.venv / BIN / "python"
    done = subprocess.run(
        [npx, "--yes", PYRIGHT, "--outputjson", "--pythonpath", str(python)],
        cwd=release.workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"{PYRIGHT} could not be had through npx: {(done.stdout + done.stderr)[-500:]}")
    problems = [
        f"{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert problems == []
    assert report["summary"]["filesAnalyzed"] == 1
