"""`mamltheory store check FILE` and `mamltheory store repair FILE`: argument parsing and printing only."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register `store` with its two actions."""
    p = sub.add_parser("store", help="check or repair a result store",
                       description="check: exit 0 when FILE is intact, 2 when it is damaged (one line). "
                                   "repair: copy every result whose checksum verifies into a fresh FILE; the "
                                   "damaged original is kept as FILE.damaged-<timestamp>.")
    p.add_argument("action", choices=("check", "repair"))
    p.add_argument("file", help="the store file (e.g. mamltheory-results.sqlite)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one line; 0 intact or repaired, 2 damaged (check) or unusable."""
    from mamltheory.errors import StoreError
    from mamltheory.store import ResultStore, repair

    if args.action == "check":
        with ResultStore(args.file, readonly=True, quick_check=False) as store:
            found = store.check()
        (sys.stdout if found.intact else sys.stderr).write(found.line() + "\n")
        return 0 if found.intact else 2
    try:
        with ResultStore(args.file, readonly=True, quick_check=False) as store:
            found = store.check()
    except StoreError:
        found = None
    if found is not None and found.intact:
        print(f"{found.line()}; nothing to repair")
        return 0
    print(repair(args.file).line())
    return 0
