"""Turns the OpenAPI documents in ``specs/`` into the typed code in ``generated/``.

    python -m codegen            # rewrite generated/ from specs/
    python -m codegen --check    # regenerate into a temporary folder and diff; writes nothing

The generators' versions are pinned in ``pyproject.toml`` (group ``codegen``) and ``uv.lock``;
``nox -s regen`` and ``nox -s drift`` run this module with exactly those versions.
"""
