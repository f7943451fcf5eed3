"""The ``mews-loyalty`` command: a thin dispatcher to the subcommands' own ``main(argv)``.

    mews-loyalty mock connector [--port 8080] ...   # stateful Connector API mock   (extra: mock)
    mews-loyalty mock reverse --token T ...         # reference loyalty provider    (extra: mock)
    mews-loyalty contract connector --base-url ...  # contract verification         (extra: contract)
    mews-loyalty contract reverse --base-url ...    # contract verification         (extra: contract)
    mews-loyalty contract replay DIR FINDING-ID     # send a finding's request again (extra: contract)
    mews-loyalty contract diff RUN_A RUN_B          # causes new, gone or changed   (extra: contract)
    mews-loyalty proxy connector|reverse --upstream URL --port P   # validating proxy  (extra: contract)
    mews-loyalty certify reverse --base-url URL --token T [--token T2]   # certification rehearsal (contract)

Each subcommand lives in its own module and parses its own options; importing one that needs an
extra the installation lacks prints which extra to install (exit 2).
"""

from __future__ import annotations

import sys

from mews_loyalty._entry import USAGE_ERROR, load_entry, run_entry
from mews_loyalty._version import __version__

PROXY = "mews_loyalty.contract._proxy.watch"
CERTIFY = "mews_loyalty.contract._certify.command"
# (group, name) -> (module, extra it needs, one-line help)
COMMANDS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("mock", "connector"): ("mews_loyalty.mock.connector", "mock", "serve the stateful Connector API mock"),
    ("mock", "reverse"): ("mews_loyalty.mock.reverse", "mock", "serve the reference Reverse API provider"),
    ("contract", "connector"): ("mews_loyalty.contract.cli", "contract", "verify a Connector API server"),
    ("contract", "reverse"): ("mews_loyalty.contract.cli", "contract", "verify a Reverse API provider"),
    ("contract", "replay"): ("mews_loyalty.contract.cli", "contract", "send a finding's request again"),
    ("contract", "diff"): ("mews_loyalty.contract.cli", "contract", "compare two runs' causes"),
    ("proxy", "connector"): (PROXY, "contract", "forward to a Connector API server, report what breaks"),
    ("proxy", "reverse"): (PROXY, "contract", "forward to a Reverse API provider, report what breaks"),
    ("certify", "reverse"): (CERTIFY, "contract", "rehearse Mews' certification of a loyalty provider"),
}


def _usage() -> str:
    lines = [f"usage: mews-loyalty <group> <command> [options]   (version {__version__})", "", "commands:"]
    lines += [f"  {group + ' ' + name:<20} {text}" for (group, name), (_, _, text) in COMMANDS.items()]
    lines += ["", "Run a command with --help for its options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else USAGE_ERROR
    if args[0] == "--version":
        print(__version__)
        return 0
    key = (args[0], args[1] if len(args) > 1 else "")
    if key not in COMMANDS:
        print(_usage(), file=sys.stderr)
        return USAGE_ERROR
    module, extra, _ = COMMANDS[key]
    return run_entry(lambda: load_entry(module, extra, f"{key[1]}_main", "main"), args[2:])


if __name__ == "__main__":
    sys.exit(main())
