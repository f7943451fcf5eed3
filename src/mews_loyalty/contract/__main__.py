"""``python -m mews_loyalty.contract``: both embedded mocks verified (see ``_embedded``); with
arguments, the CLI (``connector ...`` / ``reverse ...``, as ``mews-loyalty contract``)."""

import sys

from mews_loyalty._entry import load_entry, run_entry

if __name__ == "__main__":
    # Loaded like the mews-loyalty command's: an unusable schemathesis is one line, not a traceback.
    sys.exit(
        run_entry(lambda: load_entry("mews_loyalty.contract._run.embedded", "contract", "run"), sys.argv[1:])
    )
