"""Hypothesis (the engine under schemathesis) as a run needs it: cases from the seed alone, and its
files under the report folder.

Hypothesis draws about one value in twenty from the constants written in the source of "local"
modules: any module outside site-packages and the standard library, parsed with ``ast`` the first
time a test draws and whenever ``sys.modules`` grows. For an HTTP fuzzer that means:

- the same ``--seed`` makes other cases depending on where the suite is installed (an editable
  checkout's modules are local, a wheel's are not) and on what the current directory holds, so a
  failure found in CI may not come back on a laptop;
- a ``.hypothesis/`` folder (those constants, a Unicode table) appears in the current directory.

And with ``--workers`` above 1, several threads call ``ast.parse`` at once (Hypothesis describes a
strategy by parsing the source of its lambdas, schemathesis' 100 KB strategy module among them),
which CPython 3.11 does not survive: the AST builder's recursion counter is shared by all threads,
so a case fails with ``SystemError: AST constructor recursion depth mismatch``, Hypothesis reports
"inconsistent results" and the run ends in an error (1 run in 3 with two workers, on both mocks).

``for_run(storage, threads)`` turns the local constants off for the run (Hypothesis' own constants,
such as boundary integers and tricky strings, stay), keeps Hypothesis' files in ``storage`` unless
``HYPOTHESIS_STORAGE_DIRECTORY`` says otherwise, and with more than one thread lets one
``ast.parse`` run at a time. No public API of Hypothesis turns the constants off, so one private
function is replaced while the run lasts; a Hypothesis without it has no such feature, and nothing
is replaced.
"""

from __future__ import annotations

import ast
import importlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROVIDERS = "hypothesis.internal.conjecture.providers"
LOCAL_CONSTANTS = "_get_local_constants"
CONSTANTS = "hypothesis.internal.constants_ast"
STORAGE_VARIABLE = "HYPOTHESIS_STORAGE_DIRECTORY"


def _no_local_constants() -> Any:
    return importlib.import_module(CONSTANTS).Constants()


@contextmanager
def _without_local_constants() -> Iterator[bool]:
    try:
        providers = importlib.import_module(PROVIDERS)
        original = getattr(providers, LOCAL_CONSTANTS)
        importlib.import_module(CONSTANTS).Constants  # noqa: B018  (the replacement needs it)
    except (ImportError, AttributeError):
        yield False
        return
    # One run at a time per process (schemathesis' hooks are global too): replaced before the run's
    # threads start, restored after they end.
    setattr(providers, LOCAL_CONSTANTS, _no_local_constants)
    try:
        yield True
    finally:
        setattr(providers, LOCAL_CONSTANTS, original)


@contextmanager
def _stored_in(storage: Path) -> Iterator[None]:
    if os.environ.get(STORAGE_VARIABLE):
        yield
        return
    try:  # a Hypothesis whose configuration differs keeps its files where it likes: not worth a failed run
        configuration = importlib.import_module("hypothesis.configuration")
        previous = configuration.storage_directory(intent_to_write=False).home_directory
        move = configuration.set_hypothesis_home_dir
    except (ImportError, AttributeError, TypeError):
        yield
        return
    move(storage)
    try:
        yield
    finally:
        move(previous)


@contextmanager
def _one_parse_at_a_time() -> Iterator[None]:
    original = ast.parse
    lock = threading.Lock()

    def parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(*args, **kwargs)

    ast.parse = parse
    try:
        yield
    finally:
        ast.parse = original


@contextmanager
def for_run(storage: Path, threads: int = 1) -> Iterator[bool]:
    """While active: no constants from local modules, Hypothesis' files in ``storage``, and with more
    than one of the run's ``threads`` one ``ast.parse`` at a time. Yields whether the constants had to
    be turned off (False: this Hypothesis does not draw them)."""
    with _stored_in(storage), _without_local_constants() as replaced:
        if threads > 1:
            with _one_parse_at_a_time():
                yield replaced
        else:
            yield replaced
