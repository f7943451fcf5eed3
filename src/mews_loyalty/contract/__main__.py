"""``python -m mews_loyalty.contract``: both embedded mocks verified (see ``_embedded``); with
arguments, the CLI (``connector ...`` / ``reverse ...``, as ``mews-loyalty contract``)."""

import sys

from mews_loyalty.contract._embedded import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
