"""What the specs say. Facts read from a spec as a plain dict (``marks``) and the Python names its names
become (``naming``): standard library only, so codegen reads the spec with the very same rules before
any code is generated. The operation catalog built on them, with the generated code (``catalog``)."""
