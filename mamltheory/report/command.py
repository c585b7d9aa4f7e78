"""`mamltheory report`: run (or reuse) the verification and write the Markdown report with its plots."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
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
    p.add_argument("--verbose", action="store_true",
                   help="also print every check's verdict here (the tables of `mamltheory verify`), not just the summary")
    p.add_argument("--sweep", default=None, metavar="NAME",
                   help="instead: the report of sweep NAME from the store (reports/sweep-NAME.md)")
    p.set_defaults(run=run)


@contextlib.contextmanager
def output_errors(out: str) -> Iterator[None]:
    """A write into the output folder that fails (disk full, ...) becomes one line naming --out."""
    from mamltheory.errors import InputError

    try:
        yield
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        raise InputError(f"--out: cannot write the report in {out!r}:{where} {err.strerror or err}",
                         field="out") from None


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
    out = args.out if args.out is not None else ("reports" if args.full else "reports/quick")
    writable_dir("--out", out)  # before the checks, not after them (an empty --out is refused)
    console = Console()
    store = args.store or DEFAULT_STORE
    record = record_with_status(not args.full, seed_value, store, SECTIONS, console)
    command = "mamltheory report" + (" --full" if args.full else "") + (f" --seed {seed_value}" if seed_value else "")
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    with console.status("report: rendering"), output_errors(out):
        path = build(record, store, out, command)
    if args.verbose:
        print_checks(record, console)
    print_summary(record, path, console)
    sys.stdout.flush()
    return exit_status(record, strict=False)  # as `verify`: 3 only when a check crashed (error)


def print_summary(record: dict[str, Any], path: Path, console: Any) -> None:
    """A screen, not the tables: the verdict counts, the paper's defects one line each, what no defect explains,
    the checks that crashed, and where the report and its appendices are."""
    from rich.markup import escape

    from mamltheory.verify.check import ERROR, summary_counts, summary_line
    from mamltheory.verify.defects import lead_line

    def say(line: str) -> None:  # one line each, however narrow the terminal or log
        console.print(line, soft_wrap=True)

    counts, prov = summary_counts(record["checks"]), record["provenance"]
    say(f"[bold]{counts['checks']} checks:[/bold] {summary_line(counts)}  "
        f"({prov['mode']}, seed {prov['seed']}, {prov['wall_seconds']} s of checks)")
    say(f"[bold]{lead_line(record['defects'])}:[/bold]")
    for d in record["defects"]:
        n = len(d["checks"])
        say(f"  {escape(d['id'])}: {escape(d['source'])} ({d['severity']}; {n} check{'' if n == 1 else 's'})")
    unexplained = record.get("unexplained") or []
    if unexplained:
        say(f"[yellow]{len(unexplained)} failing checks no defect explains:[/yellow] "
            + escape("; ".join(u["name"] + (f" ({u['why']})" if u.get("why") else "") for u in unexplained[:5]))
            + (f"; and {len(unexplained) - 5} more" if len(unexplained) > 5 else ""))
    crashed = [c["name"] for c in record["checks"] if c["verdict"] == ERROR]
    if crashed:
        say(f"[bold magenta]{len(crashed)} checks crashed:[/bold magenta] " + escape("; ".join(crashed[:5])))
    say(f"report written to {path} (appendices and plots beside it; `--verbose` prints every check here)")


def _sweep_report(args: argparse.Namespace) -> int:
    """`report --sweep NAME`: render a sweep's stored results (mamltheory/report/sweep.py); no verification."""
    from mamltheory.errors import InputError
    from mamltheory.parsing import writable_dir
    from mamltheory.report.sweep import build as build_sweep
    from mamltheory.report.sweep import load
    from mamltheory.store import DEFAULT_STORE

    store = args.store or DEFAULT_STORE
    out = args.out if args.out is not None else "reports"
    missing = [d for d in (Path(out), *Path(out).parents) if not d.exists()]  # deepest first
    writable_dir("--out", out)
    try:
        sweep = load(store, args.sweep)
    except InputError:  # an unknown sweep or store: leave no output folder behind
        for d in missing:
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    command = f"mamltheory report --sweep {shlex.quote(args.sweep)}"
    if args.store:
        command += f" --store {shlex.quote(args.store)}"
    if args.out is not None:
        command += f" --out {shlex.quote(args.out)}"
    with output_errors(out):
        path = build_sweep(store, args.sweep, out, command, sweep)
    print(f"report written to {path}")
    return 0
