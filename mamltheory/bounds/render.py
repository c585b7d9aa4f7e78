"""Rich tables for plans: one column per algorithm, one row per number, with where it comes from."""

from __future__ import annotations

from typing import Any, Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.planner import Plan


def _int(x: int | None) -> str:
    return "—" if x is None else f"{x:,}"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def _arith(p: Plan) -> str:
    a = p.arithmetic_per_iteration
    if not a:
        return "—"
    return f"{a['d']:,}·d" + (f" + {a['d^2']:,}·d²" if a["d^2"] else "")


ROWS: list[tuple[str, Callable[[Plan], str], str]] = [
    ("theorem", lambda p: p.theorem, "Apps. F, G, H"),
    ("α (inner step)", lambda p: _num(p.alpha), "theorem's range"),
    ("B (tasks)", lambda p: _int(p.batch.get("B")), "B≥B_min, bound"),
    ("D_in (inner batch)", lambda p: _int(p.batch.get("D_in")), "bound"),
    ("D_o (outer batch)", lambda p: _int(p.batch.get("D_o")), "bound"),
    ("D_h (Hessian batch)", lambda p: _int(p.batch.get("D_h")), "D_h condition"),
    ("B' (step tasks)", lambda p: _int(p.batch.get("B_prime")), "(27)"),
    ("D_β (step batch)", lambda p: _int(p.batch.get("D_beta")), "(27)"),
    ("step size β_k", lambda p: f"β̃(w_k)/{p.step_divisor}", "(26)"),
    ("δ (HF-MAML)", lambda p: _num(p.delta) if p.delta is not None else "—", "(142) / (δ′)"),
    ("E‖∇F(w)‖ ≤", lambda p: _num(p.accuracy_bound) if p.floor is None else f"floor {p.floor:.4g}",
     "(86)/(113)/(131)"),
    ("iterations T", lambda p: _int(p.iterations), "(112) & analogues"),
    ("samples / iteration", lambda p: _int(p.samples_per_iteration), "cost model"),
    ("arithmetic / iter.", _arith, "cost model"),
    ("total samples", lambda p: _int(p.total_samples), "T × samples"),
]


def print_plans(plans: list[Plan], constants: ProblemConstants, opts: dict[str, Any], example: bool,
                console: Console | None = None) -> None:
    """Print the side-by-side plan table, then reasons and notes."""
    console = console or Console()
    c = constants
    given = (f"L = {c.L:g}, ρ = {c.rho:g}, σ = {c.sigma:g}, σ̃ = {c.sigma_tilde:g}, σ_H = {c.sigma_H:g}"
             + (f", ε = {opts['eps']:g}" if opts.get("eps") is not None else "")
             + (f", Δ = {opts['initial_gap']:g}" if opts.get("initial_gap") is not None else ""))
    mode = {"plan": "cheapest batches for the target ε", "evaluate": "the theorem at the given batches",
            "k-shot": "K-shot: D_in = D_o = K"}[plans[0].mode]
    theory = {"repaired": "repaired theory: theorems whose every proof step holds (docs/repaired-theorems.md)",
              "sharp": "sharp theory: the sharpest valid proof steps, its free choices chosen for this plan "
                       "(docs/sharp-theorems.md)",
              "paper": "the paper's theorems as stated (--theory paper)"}[plans[0].theory]
    title = (f"mamltheory plan: {mode}\n{given}\n{theory}"
             + ("\n(built-in example constants)" if example else ""))
    table = Table(title=title, show_lines=False)
    table.add_column("", style="bold")
    for p in plans:
        mark = " ★ cheapest" if p.cheapest else ""
        status = ("" if p.feasible else " (not feasible)") + ("" if p.guaranteed else " (not guaranteed)")
        table.add_column(f"{p.algorithm}{mark}{status}", justify="right")
    table.add_column("from", style="dim")
    for label, fmt, source in ROWS:
        table.add_row(label, *(fmt(p) for p in plans), source)
    if plans[0].mode == "k-shot":
        table.add_row("best accuracy (B → ∞)", *(_num(p.best_accuracy) for p in plans), "accuracy bound, B → ∞")
    console.print(table)
    for p in plans:
        if not p.guaranteed:
            console.print(f"[red]{p.algorithm}: not guaranteed: {p.theorem}'s proof fails at "
                          f"{', '.join(p.failing_steps)} (`mamltheory audit --chain`); never marked cheapest[/red]")
        if p.alpha_rule != "given" and p.alpha is not None:
            console.print(f"[dim]{p.algorithm}: α = {p.alpha_rule}[/dim]")
        if p.reason:
            console.print(f"[yellow]{p.algorithm}: {p.reason}[/yellow]")
        if p.delta_rule and p.feasible:
            console.print(f"{p.algorithm}: {p.delta_rule}")
        if p.choices and p.feasible:
            console.print(f"{p.algorithm}: {escape(choices_line(p.choices))}")
        if p.limit and p.feasible:
            console.print(f"[dim]{p.algorithm}: {escape(limit_line(p.limit))}[/dim]")
        if p.minimality:
            m = p.minimality
            console.print(f"[dim]{p.algorithm}: minimal over integers ({m['method']}; "
                          f"{m['candidates']:,} candidate points checked)[/dim]")
        for note in p.notes:
            console.print(f"[dim]{p.algorithm}: {note}[/dim]")
        for pre in p.preconditions:
            if not pre["holds"]:
                console.print(f"[red]{p.algorithm}: fails {pre['condition']} ({pre['source']})[/red]")


def choices_line(choices: dict[str, Any]) -> str:
    """One line: the sharp proof's free choices a plan chose, against the paper's, and the certified constants."""
    ch, k = choices["chosen"], choices["constants"]

    def show(c: dict[str, Any]) -> str:
        return f"αL <= {c['alpha_L_max']}, c = {c['step_divisor']}, Young w = {c['young']}, B >= {c['B_min']}"
    searched = (f" (the paper's: {show(choices['paper_choices'])}; {choices['candidates']} candidates, each chain "
                "exact)" if "paper_choices" in choices else "")
    return f"proof's free choices {show(ch)}{searched}; certified K = {k['K']}, M = {k['M']}"


def limit_line(e: dict[str, Any]) -> str:
    """One line: the plan's M against gradient descent's worst case at its step in the deterministic limit."""
    if e["W"] is not None:
        worst = f"the exact worst case {e['W']:.4g} ({e['W_source']}): M/W = {e['slack']:.3g}"
    else:
        worst = (f"the classical bound {e['classical']:.4g} on the worst case: M/W >= {e['slack_lower']:.3g} "
                 "(pip install 'mamltheory[pep]' for the exact value)")
    return (f"deterministic limit (α → 0, batches → ∞): T = M·LΔ/ε² with M = {e['M']} at the step γL = {e['gamma_L']}; "
            f"gradient descent needs n·min‖∇F‖²/(LΔ) up to {worst}; {e['verdict']} (docs/limit-worst-case.md)")
