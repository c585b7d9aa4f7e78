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
    p.add_argument("--seed", type=int, default=0)
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

    from mamltheory.report.markdown import build
    from mamltheory.store import DEFAULT_STORE
    from mamltheory.verify.command import print_checks
    from mamltheory.verify.run import SECTIONS, verification_record

    console = Console()
    store = args.store or DEFAULT_STORE
    with console.status("verify") as status:
        record, cached = verification_record(not args.full, args.seed, store, SECTIONS,
                                             progress=lambda msg: status.update(f"verify: {msg}"))
    if cached:
        console.print("[dim]verify: stored record reused (same code, mode, seed)[/dim]")
    command = "mamltheory report" + (" --full" if args.full else "") + (f" --seed {args.seed}" if args.seed else "")
    out = args.out or ("reports" if args.full else "reports/quick")
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    with console.status("report: rendering"):
        path = build(record, store, out, command)
    print_checks(record, console)
    console.print(f"report written to {path}")
    sys.stdout.flush()
    return 0


def _sweep_report(args: argparse.Namespace) -> int:
    """`report --sweep NAME`: render a sweep's stored results (mamltheory/report/sweep.py); no verification."""
    from mamltheory.report.sweep import build as build_sweep
    from mamltheory.store import DEFAULT_STORE

    store = args.store or DEFAULT_STORE
    command = f"mamltheory report --sweep {shlex.quote(args.sweep)}"
    if args.store:
        command += f" --store {shlex.quote(args.store)}"
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    path = build_sweep(store, args.sweep, args.out or "reports", command)
    print(f"report written to {path}")
    return 0
