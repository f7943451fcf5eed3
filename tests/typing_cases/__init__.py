"""Typing tests: files checked by ``mypy --strict`` in ``nox -s typecheck``, never run.

As typeshed's test cases do: positive cases with ``assert_type(expression, Type)``; negative cases end
in ``# type: ignore[code]``, which ``warn_unused_ignores`` (part of ``--strict``) turns into an error
the day mypy stops reporting them. A case that type-checks is a file that passes.
"""
