"""Task runner: `nox -l` lists the sessions; `nox` runs the checks CI runs.

Every session installs from uv.lock (`uv sync --frozen`) into its own virtualenv, so CI and laptops
run the same versions; Python versions come from pyproject.toml's classifiers. The checks and the
whole suite run on the oldest; the newer ones run the suite's runtime, mock, provider and spec
tests (`nox -s tests-3.13 -- tests` runs all of it there).
"""

from __future__ import annotations

import os

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
# Each session's environment is kept between runs: `uv sync --frozen` (exact: it also removes what the
# lock does not list) brings it to the lock in a fraction of a second, where recreating it costs
# 2-3 s a session (reinstalling and recompiling every package).
nox.options.reuse_venv = "yes"
# In CI every claimed Python must be there; a laptop with only the oldest skips the newer ones.
nox.options.error_on_missing_interpreters = "CI" in os.environ
# Interpreters come from the machine (pyenv here, see .ci/run): uv's downloads are not reachable.
nox.options.download_python = "never"

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)
PYTHON = PYTHONS[0]
# What the newer Pythons run: everything that executes the package, not codegen, the release build
# or the contract suite's long runs, which the oldest covers.
NEWER_PYTHON_TESTS = ["tests/runtime", "tests/mock", "tests/provider", "tests/specs"]
# Two workers, one a core: most of the suite's time is spent in servers and child processes, and a
# worker waiting on them leaves its core to the other. Tests that share an expensive module fixture
# (a release build, Prism) and the signal tests, which must not race each other for the machine,
# keep to one worker each: their modules carry an `xdist_group` mark, which loadgroup honours.
WORKERS = ["--numprocesses", "2", "--dist", "loadgroup"]
# pytest rewrites the asserts of every module of a distribution that registers a pytest plugin (this
# package, schemathesis, hypothesis, anyio: ~600 modules, ~6 s of CPU per pytest process) and caches
# the result as bytecode, which PYTHONDONTWRITEBYTECODE (set on these machines) forbids. Allowed for
# the tests: each pytest process after the first (the workers, the plugin tests' own pytest runs, the
# next session) reads the rewritten modules instead of parsing them again.
REWRITE_CACHE = {"PYTHONDONTWRITEBYTECODE": ""}
HANDWRITTEN = [
    "src",
    "codegen",
    "tests",
    "contract_tests",
    "examples",
    "bench",
    "noxfile.py",
    "hatch_build.py",
]


def sync(session: nox.Session, *groups: str, extras: bool = False) -> None:
    """Install the project and the given dependency groups from the lock file.

    Bytecode is compiled at install, the project's own (editable) sources too: with
    PYTHONDONTWRITEBYTECODE set (as on these machines) Python never writes .pyc files, so every
    process (each mock the tests start, each contract run) would compile schemathesis, hypothesis,
    pydantic and the generated packages from source again, ~1 s a process.
    """
    args = [
        "uv",
        "sync",
        "--frozen",
        "--compile-bytecode",
        "--no-default-groups",
        *(f"--group={group}" for group in groups),
    ]
    if extras:
        args.append("--all-extras")
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})
    session.run_install("python", "-m", "compileall", "-q", "src", "generated", silent=True)


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
    """mypy --strict on the generated packages, the runtime, the contract suite, examples and typing tests."""
    sync(session, "typecheck", "bench", "codegen", extras=True)
    session.run(
        "mypy",
        "generated",
        "src",
        "codegen",
        "examples",
        "bench",
        "tests/typing_cases",
        *session.posargs,
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (real servers on 127.0.0.1, fuzzing with fixed seeds) on every claimed Python.

    Without arguments the suite runs on two pytest-xdist workers (``WORKERS``); arguments replace
    both the paths and the workers (`nox -s tests-3.11 -- tests/mock -x` runs in one process).
    """
    sync(session, "dev", extras=True)
    default = [*WORKERS, *([] if session.python == PYTHON else NEWER_PYTHON_TESTS)]
    session.run("pytest", *(session.posargs or default), env=REWRITE_CACHE)


@nox.session(python=PYTHON, default=False)
def contract(session: nox.Session) -> None:
    """Contract verification; no arguments: against both embedded mocks started on loopback."""
    sync(session, extras=True)
    # A Ctrl-C reaches the run too: nox's default 0.3 s before SIGTERM (then SIGKILL 0.2 s later) would
    # cut its clean-up (5 s at most) and its reports short.
    session.run(
        "python",
        "-m",
        "mews_loyalty.contract",
        *session.posargs,
        interrupt_timeout=30,
        terminate_timeout=5,
    )


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
