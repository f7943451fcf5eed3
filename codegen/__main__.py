"""``python -m codegen [--check]``: regenerate generated/, or fail with a readable diff when it is stale."""

from __future__ import annotations

import argparse
import sys
import time

from codegen.apis import GENERATED
from codegen.drift import check
from codegen.generate import GenerationError, regenerate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with generated/ and write nothing")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.check:
            report = check()
            print(report.render())
            status = 0 if report.clean else 1
        else:
            regenerate(GENERATED)
            print(f"regenerated {GENERATED.name}/ from specs/")
            status = 0
    except GenerationError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"took {time.perf_counter() - started:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
