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
