"""What the specs say: facts read from a spec as a plain dict (``marks``: no third-party imports, so
codegen reads the spec with the very same rules) and the operation catalog built on them (``catalog``)."""
