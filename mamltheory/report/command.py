"""`mamltheory report`: run (or reuse) the verification and write the Markdown report with its plots."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register `report`."""
    p = sub.add_parser("report", help="verification + Markdown report with plots (the main job)",
                       description=__doc__)
    p.add_argument("--full", action="store_true", help="the publication run (default: quick)")
    p.add_argument("--seed", default="0", help="seed of every random draw, in [0, 2^32 − 1] (default 0)")
    p.add_argument("--store", default=None, help="result store (default mamltheory-results.sqlite)")
    p.add_argument("--out", default=None,
                   help="output folder (default reports/ for --full, reports/quick/ otherwise, so a quick run "
                        "never overwrites the reference report)")
    p.add_argument("--sweep", default=None, metavar="NAME",
                   help="instead: the report of sweep NAME from the store (reports/sweep-NAME.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Verify (reusing stored results), render, print where the report is."""
    if args.sweep is not None:
        return _sweep_report(args)
    from rich.console import Console

    from mamltheory.parsing import seed, writable_dir
    from mamltheory.report.markdown import build
    from mamltheory.store import DEFAULT_STORE
    from mamltheory.verify.command import print_checks, record_with_status
    from mamltheory.verify.run import SECTIONS, exit_status

    seed_value = seed("--seed", args.seed)
    out = args.out or ("reports" if args.full else "reports/quick")
    writable_dir("--out", out)  # before the checks, not after them
    console = Console()
    store = args.store or DEFAULT_STORE
    record = record_with_status(not args.full, seed_value, store, SECTIONS, console)
    command = "mamltheory report" + (" --full" if args.full else "") + (f" --seed {seed_value}" if seed_value else "")
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    with console.status("report: rendering"):
        path = build(record, store, out, command)
    print_checks(record, console)
    console.print(f"report written to {path}")
    sys.stdout.flush()
    return exit_status(record, strict=False)  # as `verify`: 3 only when a check crashed (error)


def _sweep_report(args: argparse.Namespace) -> int:
    """`report --sweep NAME`: render a sweep's stored results (mamltheory/report/sweep.py); no verification."""
    from mamltheory.parsing import writable_dir
    from mamltheory.report.sweep import build as build_sweep
    from mamltheory.store import DEFAULT_STORE

    writable_dir("--out", args.out or "reports")

    store = args.store or DEFAULT_STORE
    command = f"mamltheory report --sweep {shlex.quote(args.sweep)}"
    if args.store:
        command += f" --store {shlex.quote(args.store)}"
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    path = build_sweep(store, args.sweep, args.out or "reports", command)
    print(f"report written to {path}")
    return 0
