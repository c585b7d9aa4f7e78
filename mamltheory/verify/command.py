"""`mamltheory audit` (symbolic audit of the paper's arithmetic) and `mamltheory verify` (all checks)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_audit_parser(sub: Any) -> None:
    """Register `audit`."""
    p = sub.add_parser("audit", help="re-derive the paper's constants and check every bound's units",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    p.add_argument("--only", choices=("constant", "scaling", "proof"), default=None,
                   help="only one kind of finding")
    p.set_defaults(run=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    """Print the audit findings (a table, or JSON with --json)."""
    from mamltheory.verify.audit import findings

    found = findings()
    if args.only == "constant":
        found = [f for f in found if f.kind == "constant"]
    elif args.only == "scaling":
        found = [f for f in found if f.kind == "scaling"]
    elif args.only == "proof":
        found = [f for f in found if f.kind in ("proof step", "counterexample")]
    if args.json:
        json.dump([f.to_json() for f in found], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="mamltheory audit: the paper's constants, units and proof steps", show_lines=True)
    for col in ("source", "kind", "verdict", "evidence"):
        table.add_column(col, overflow="fold")
    style = {"holds": "green", "holds with slack": "cyan", "fails": "bold red"}
    for f in found:
        table.add_row(f.source, f.kind, f"[{style[f.verdict]}]{f.verdict}[/]", f.evidence)
    console = Console()
    console.print(table)
    counts = {v: sum(f.verdict == v for f in found) for v in style}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0


def add_verify_parser(sub: Any) -> None:
    """Register `verify`."""
    p = sub.add_parser("verify", help="hold every lemma and theorem against simulation, audit, scaling laws",
                       description="Run all checks and print a verdict per check.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a few minutes on 2 cores (default)")
    mode.add_argument("--full", action="store_true", help="the publication run")
    p.add_argument("--json", action="store_true", help="print the record (provenance and checks) as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when a claim of the paper is contradicted")
    p.add_argument("--seed", default="0", help="seed of every random draw, in [0, 2^32 − 1] (default 0)")
    p.add_argument("--store", default=None, help="result store (default mamltheory-results.sqlite)")
    p.add_argument("--only", default=None, help="comma-separated sections: audit,lemma,theorem,scaling,falsify")
    p.set_defaults(run=run_verify)


def sections_from(text: str | None) -> tuple[str, ...]:
    """Parse --only; one-line error naming the flag for an unknown section."""
    from mamltheory.errors import InputError
    from mamltheory.verify.run import SECTIONS

    if text is None:
        return SECTIONS
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in chosen if s not in SECTIONS]
    if bad or not chosen:
        raise InputError(f"--only: sections must be among {', '.join(SECTIONS)}, got {text!r}")
    return chosen


def record_with_status(quick: bool, seed: int, store: str, sections: tuple[str, ...], console: Any) -> dict[str, Any]:
    """The verification record (stored or computed), with a status line while it is computed."""
    from mamltheory.verify.run import verification_record

    with console.status("verify") as status:
        record, cached = verification_record(quick, seed, store, sections,
                                             progress=lambda msg: status.update(f"verify: {msg}"))
    if cached:
        console.print("[dim]verify: stored record reused (same code, mode, seed)[/dim]")
    return record


def run_verify(args: argparse.Namespace) -> int:
    """Run the checks, print the verdict table (or JSON), return the documented exit status."""
    from rich.console import Console

    from mamltheory.parsing import seed
    from mamltheory.store import DEFAULT_STORE
    from mamltheory.verify.run import exit_status

    seed_value, sections = seed("--seed", args.seed), sections_from(args.only)  # every flag before any work
    console = Console(stderr=args.json)
    record = record_with_status(not args.full, seed_value, args.store or DEFAULT_STORE, sections, console)
    if args.json:
        json.dump(record, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print_checks(record, console)
    return exit_status(record, args.strict)


def print_checks(record: dict[str, Any], console: Any) -> None:
    """One row per check: verdict, observed/bound ratio, power, and the evidence; then the verdict counts."""
    from rich.table import Table

    from mamltheory.verify.check import summary_counts, summary_line

    table = Table(title="mamltheory verify", show_lines=False)
    for col in ("check", "source", "verdict", "ratio", "power", "evidence"):
        table.add_column(col, overflow="fold", ratio={"evidence": 3}.get(col, 1))
    style = {"holds": "green", "vacuous": "dim", "contradicted": "bold red", "inconclusive": "yellow",
             "error": "bold magenta"}

    def num(x: Any) -> str:
        return f"{x:.3g}" if isinstance(x, (int, float)) else ("—" if x is None else str(x))

    for c in record["checks"]:
        if c["kind"].startswith("audit") and c["verdict"] == "holds":
            continue  # the audit's holding constants are in `mamltheory audit`; failures are shown here
        table.add_row(c["name"], c["source"], f"[{style.get(c['verdict'], '')}]{c['verdict']}[/]", num(c.get("ratio")),
                      num(c.get("power")), c["evidence"])
    console.print(table)
    counts = summary_counts(record["checks"])
    p = record["provenance"]
    console.print(f"{counts['checks']} checks: {summary_line(counts)}  ({p['mode']}, seed {p['seed']}, "
                  f"{p['wall_seconds']} s)")
    console.print("[dim]ratio: observed/bound for upper bounds (> 1 violates); power: the smallest violation ratio "
                  "the check would have detected; vacuous checks could not have failed and are not support; audit "
                  "constants that hold are listed by `mamltheory audit`[/dim]")
