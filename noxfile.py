"""Task runner: `nox -l` lists the sessions; `nox` runs the checks CI runs.

Every session installs from uv.lock (`uv sync --frozen`) into its own virtualenv, so CI and laptops
run the same versions; Python versions come from pyproject.toml.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = nox.project.python_versions(PYPROJECT)[0]
HANDWRITTEN = [
    "src",
    "codegen",
    "contract_tests",
    "tests",
    "examples",
    "bench",
    "noxfile.py",
    "hatch_build.py",
]


def sync(session: nox.Session, *groups: str, extras: bool = False) -> None:
    """Install the project and the given dependency groups from the lock file."""
    args = ["uv", "sync", "--frozen", "--no-default-groups", *(f"--group={group}" for group in groups)]
    if extras:
        args.append("--all-extras")
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


@nox.session(python=PYTHON, default=False)
def regen(session: nox.Session) -> None:
    """Regenerate generated/ from specs/ with the pinned generators."""
    sync(session, "codegen")
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(python=PYTHON)
def drift(session: nox.Session) -> None:
    """Fail with a diff when generated/ is stale against specs/ or codegen/ (writes nothing)."""
    sync(session, "codegen")
    session.run("python", "-m", "codegen", "--check", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff on the handwritten code (generated code is checked by drift and typecheck only)."""
    sync(session, "lint")
    session.run("ruff", "check", *HANDWRITTEN, *session.posargs)
    session.run("ruff", "format", "--check", *HANDWRITTEN)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the generated packages, the runtime, the contract suite and the examples."""
    sync(session, "typecheck", "bench", extras=True)
    session.run(
        "mypy", "generated", "src", "contract_tests", "codegen", "examples", "bench", *session.posargs
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (real servers on 127.0.0.1, fuzzing with fixed seeds)."""
    sync(session, "dev", extras=True)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, default=False)
def contract(session: nox.Session) -> None:
    """Contract verification; no arguments: against both embedded mocks started on loopback."""
    sync(session, extras=True)
    session.run("python", "-m", "contract_tests", *session.posargs)


@nox.session(python=PYTHON, default=False)
def upstream(session: nox.Session) -> None:
    """Compare Mews' published specs with ours: -- --connector-spec PATH_OR_URL / --reverse-spec PATH_OR_URL."""
    sync(session, "codegen")
    session.run("python", "-m", "codegen.upstream", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks as ratios to same-run baselines; writes bench/results.json and bench/results.png."""
    sync(session, "codegen", "bench", extras=True)
    session.run("python", "-m", "bench", *session.posargs)
