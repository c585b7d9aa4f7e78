"""`mamltheory audit` (symbolic audit of the paper's arithmetic) and `mamltheory verify` (all checks)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mamltheory.bounds.theory import THEORIES


def add_audit_parser(sub: Any) -> None:
    """Register `audit`."""
    p = sub.add_parser("audit", help="re-derive the paper's constants and check every bound's units",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    p.add_argument("--only", choices=("constant", "scaling", "proof"), default=None,
                   help="only one kind of finding")
    p.add_argument("--chain", default=None, metavar="RESULT",
                   help="a result by its label (H.1, 4.21, Theorem 4.21, Lemma 4.11, ...): its statements, its proof "
                        "chain step by step (theorems), and its checks in the stored verification record")
    p.add_argument("--theory", choices=THEORIES, default="paper",
                   help="with --chain: the paper's proof, the repaired one or the sharp one (default paper)")
    p.add_argument("--store", default=None,
                   help="with --chain: the result store holding the verification record, read only "
                        "(default mamltheory-results.sqlite)")
    p.add_argument("--limit", nargs="?", const=str(DEFAULT_LIMIT_N), default=None, metavar="N",
                   help="each theorem's iteration constant M against the exact worst case of gradient descent in the "
                        "deterministic limit (α → 0, batches → ∞), by a PEP over N steps (default "
                        f"{DEFAULT_LIMIT_N}; needs the extra `pep`, else the classical bound); docs/limit-worst-case.md")
    p.set_defaults(run=run_audit)


# `audit --limit N`: the PEP's horizon; its final-gap value does not depend on N, and a solve grows fast with it
# (0.3 s at 10, 15 s at 40), so N stays small.
DEFAULT_LIMIT_N, MAX_LIMIT_N = 10, 40


def run_audit(args: argparse.Namespace) -> int:
    """Print the audit findings (a table, or JSON with --json), or one proof chain with --chain."""
    if args.limit is not None:
        return run_limit(args)
    if args.chain is not None:
        return run_chain(args)
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
    from rich.markup import escape  # sources such as "eq. (145) [spread]" are not markup
    from rich.table import Table

    table = Table(title="mamltheory audit: the paper's constants, units and proof steps", show_lines=True)
    for col in ("source", "kind", "verdict", "evidence"):
        table.add_column(col, overflow="fold")
    style = {"holds": "green", "holds with slack": "cyan", "fails": "bold red"}
    for f in found:
        table.add_row(escape(f.source), f.kind, f"[{style[f.verdict]}]{f.verdict}[/]", escape(f.evidence))
    console = Console()
    console.print(table)
    counts = {v: sum(f.verdict == v for f in found) for v in style}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0


def run_limit(args: argparse.Namespace) -> int:
    """`audit --limit [N]`: every theorem's M against the worst case W of gradient descent at its limit step."""
    from mamltheory.bounds.limit_worst_case import INSTALL_HINT, limit_evidence, pep_available
    from mamltheory.bounds.theorems import all_theorems
    from mamltheory.errors import InputError
    from mamltheory.parsing import integer

    n = integer("--limit", args.limit, 1, MAX_LIMIT_N, context=" (the PEP's number of steps)")
    for flag, given in (("--chain", args.chain is not None), ("--only", args.only is not None),
                        ("--store", args.store is not None)):
        if given:
            raise InputError(f"{flag}: cannot be combined with --limit", field=flag[2:])
    rows = [limit_evidence(t, n) for t in all_theorems()]
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    exact = pep_available()
    print("Deterministic limit (α → 0, every batch → ∞): gradient descent with γL = 1/(4c); each theorem claims")
    print("T = ⌊M·LΔ/ε²⌋ + 1. The worst n·min_k ‖∇F(x_k)‖²/(LΔ) over L-smooth F tends, as n → ∞, to a value in")
    print("[4c, W]: M >= W suffices (M/W is the proof's slack), M < 4c contradicts the theorem." + (
        f" W: PEPit, {n} steps." if exact else ""))
    if not exact:
        print("PEPit is not installed: C >= W is the classical bound, so M >= C suffices, M/C is a lower bound on the")
        print("slack, and M < C alone proves nothing.")
    head = ("theorem", "c", "γL", "M", "W", "M/W", "verdict") if exact else (
        "theorem", "c", "γL", "M", "C", "M/C <= M/W", "verdict")
    print(f"{head[0]:<22} {head[1]:>3} {head[2]:>6} {head[3]:>5} {head[4]:>9} {head[5]:>11}  {head[6]}")
    for r in rows:
        bound, ratio = (r["W"], r["slack"]) if exact else (r["classical"], r["slack_lower"])
        print(f"{r['name']:<22} {r['step_divisor']:>3} {r['gamma_L']:>6} {r['M']:>5} {bound:>9.4f} {ratio:>11.2f}  "
              f"{r['verdict']}")
    if not exact:
        print(INSTALL_HINT)
    return 0 if all(r["verdict"] != "contradicted" for r in rows) else 1


def run_chain(args: argparse.Namespace) -> int:
    """`audit --chain LABEL`: the result `by_label` names, its statements, its proof chain under --theory (theorems
    F.1, G.1, H.1) and its checks in the stored verification record; with --json, the chain (a result without one:
    its statements and checks)."""
    from mamltheory.bounds.theorems import by_label
    from mamltheory.errors import InputError
    from mamltheory.store import DEFAULT_STORE
    from mamltheory.verify.run import stored_record

    if args.only is not None:
        raise InputError("--only: cannot be combined with --chain", field="only")
    try:
        result = by_label(args.chain)
    except InputError as err:
        raise InputError(f"--chain: {err}", field="chain") from None
    chain = result.chain(args.theory).result if result.statements else None
    statements = ([(t.name, t.accuracy.source) for t in result.statements.values()] if result.statements
                  else [(b.name, b.source) for b in result.bounds])
    store = args.store or DEFAULT_STORE
    record = stored_record(store)
    if args.json:
        doc = chain.to_json() if chain is not None else {
            "result": result.label, "statements": [{"name": n, "source": s} for n, s in statements],
            "checks": None if record is None else result.checks(record)}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(escape(f"{result.label}" + (f" ({', '.join(result.aliases)})" if result.aliases else "")),
                  soft_wrap=True)
    for name, source in statements:
        console.print(escape(f"  {name}: {source}"), soft_wrap=True)
    if chain is not None:
        print_chain(chain, f"Theorem {result.label} ({args.theory}): the proof step by step", console)
    else:
        console.print(escape(f"{result.label} has no proof chain of its own: its bounds are checked directly"),
                      soft_wrap=True)
    print_result_checks(result, record, store, console)
    return 0


def print_chain(chain: Any, title: str, console: Any) -> None:
    """A proof chain's steps (label, quantity, claimed, exact sup/inf, verdict, slack, uses), its final constants
    and its failing steps."""
    import sympy as sp
    from rich.markup import escape
    from rich.table import Table

    def num(x: Any) -> str:
        if x is None:
            return "—"
        text = sp.sstr(x)
        return text if x.is_Integer or not x.is_number or len(text) <= 12 else f"{float(x):.6g}"

    table = Table(title=title, show_lines=False)
    for col in ("step", "quantity", "claimed", "sup / inf", "verdict", "slack", "uses"):
        table.add_column(col, overflow="fold")
    style = {"holds": "green", "holds with slack": "cyan", "fails": "bold red"}
    for r in chain.steps:
        s = r.step
        claimed = "exact" if s.claimed is None else num(r.carried)  # a rounded-up final constant shows its value
        worst = ("sup " if s.sense == "upper" else "inf ") + num(r.worst) if r.worst is not None else r.reason
        slack = "" if r.margin is None or r.margin == 0 else f"{float(r.margin):+.4g}"
        label = s.key + (f" (repairs {s.repairs})" if s.repairs else "")
        table.add_row(*(escape(x) for x in (label, s.quantity, claimed, worst)),
                      f"[{style[r.verdict]}]{r.verdict}[/]", slack, escape(", ".join(s.uses)))
    console.print(table)
    consts = ", ".join(f"{k} = {sp.sstr(v)}" + ("" if v.is_Integer else f" ≈ {float(v):.6g}")
                       for k, v in chain.constants.items())
    console.print(f"final constants: {consts}")
    failing = ", ".join(r.key for r in chain.failing)
    console.print(f"failing steps: {failing}" if failing else "every step holds")


def print_result_checks(result: Any, record: dict[str, Any] | None, store: str, console: Any) -> None:
    """The checks of `result` in a verification record (id, verdict, ratio, defect), or how to get one."""
    from rich.markup import escape
    from rich.table import Table

    from mamltheory.verify.check import summary_counts, summary_line

    if record is None:
        console.print(escape(f"no verification record of this code in {store}: run `mamltheory verify` "
                             f"(with --store {store}) to check {result.label}"), soft_wrap=True)
        return
    checks = result.checks(record)
    where = record.get("provenance", {})
    console.print(escape(f"checks of {result.label} in {store} ({where.get('mode')} mode, seed {where.get('seed')}): "
                         + (summary_line(summary_counts(checks)) if checks else "none")), soft_wrap=True)
    if not checks:
        return
    table = Table(show_lines=False)
    for col in ("check", "verdict", "ratio", "defect"):
        table.add_column(col, overflow="fold")
    for c in checks:
        ratio = c.get("ratio")
        table.add_row(escape(c["id"]), c["verdict"], "" if not isinstance(ratio, (int, float)) else f"{ratio:.4g}",
                      escape(c.get("defect", "")))
    console.print(table)


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
    p.add_argument("--only", default=None, help="comma-separated sections: audit,encoding,plans,conformance,lemma,theorem,scaling,falsify,tightness")
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
    """The verification record (stored or computed), with a progress bar and what runs while it is computed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mamltheory.verify.run import steps, verification_record

    columns = (TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    # off when the output is not a terminal (a log, a pipe): nothing to redraw there
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=steps(sections))
        record, cached = verification_record(quick, seed, store, sections,
                                             progress=lambda msg: bar.update(task, description=msg),
                                             advance=lambda: bar.advance(task))
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


def print_defects(record: dict[str, Any], console: Any) -> None:
    """The lead: 'N defects in the paper (M break a conclusion)', one row per defect, then what none explains."""
    from rich.markup import escape
    from rich.table import Table

    from mamltheory.verify.defects import annotate, lead_line

    if "defects" not in record:
        annotate(record)
    console.print(f"[bold]{lead_line(record['defects'])}[/bold]")
    table = Table(show_lines=False)
    for col in ("defect", "source", "severity", "what is wrong", "checks", "repair"):
        table.add_column(col, overflow="fold", ratio={"what is wrong": 3, "repair": 2}.get(col, 1))
    for d in record["defects"]:  # escape: the paper's E[min{U, V}] would read as rich markup
        table.add_row(*(escape(str(x)) for x in (d["id"], d["source"], d["severity"], d["wrong"], len(d["checks"]),
                                                 d["repair"])))
    console.print(table)
    if record.get("unexplained"):
        console.print("[yellow]failing checks no defect explains: "
                      + escape("; ".join(f"{u['name']}" + (f" ({u['why']})" if u.get("why") else "")
                                         for u in record["unexplained"])) + "[/yellow]")


def print_checks(record: dict[str, Any], console: Any) -> None:
    """The defects first, then one row per check: verdict, observed/bound ratio, power, its defect, the evidence;
    then the verdict counts."""
    from rich.markup import escape
    from rich.table import Table

    from mamltheory.verify.check import summary_counts, summary_line

    print_defects(record, console)
    table = Table(title="mamltheory verify", show_lines=False)
    for col in ("check", "source", "verdict", "ratio", "power", "defect", "evidence"):
        table.add_column(col, overflow="fold", ratio={"evidence": 3}.get(col, 1))
    style = {"holds": "green", "vacuous": "dim", "contradicted": "bold red", "inconclusive": "yellow",
             "error": "bold magenta"}

    def num(x: Any) -> str:
        return f"{x:.3g}" if isinstance(x, (int, float)) else ("—" if x is None else str(x))

    for c in record["checks"]:
        if c["kind"].startswith("audit") and c["verdict"] == "holds":
            continue  # the audit's holding constants are in `mamltheory audit`; failures are shown here
        table.add_row(escape(c["name"]), escape(c["source"]), f"[{style.get(c['verdict'], '')}]{c['verdict']}[/]",
                      num(c.get("ratio")), num(c.get("power")), escape(c.get("defect", "")), escape(c["evidence"]))
    console.print(table)
    counts = summary_counts(record["checks"])
    p = record["provenance"]
    console.print(f"{counts['checks']} checks: {summary_line(counts)}  ({p['mode']}, seed {p['seed']}, "
                  f"{p['wall_seconds']} s)")
    console.print("[dim]ratio: observed/bound for upper bounds (> 1 violates); power: the smallest violation ratio "
                  "the check would have detected; vacuous checks could not have failed and are not support; audit "
                  "constants that hold are listed by `mamltheory audit`[/dim]")
