"""`mamltheory estimate`: sampled estimates of L, ρ, σ, σ̃, σ_H for a problem, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mamltheory.adapters import add_threads_flag, torch_threads
from mamltheory.errors import InputError
from mamltheory.parsing import integer as _int
from mamltheory.parsing import positive as _positive
from mamltheory.parsing import seed as _seed
from mamltheory.parsing import writable_file, write_output

# Upper end of --points and --run-steps: each point and step costs gradient and Hessian-vector work on
# every task, so a million (5e4 times the defaults) is already days of computation; beyond, numpy's
# arrays cannot even be allocated.
MAX_COUNT = 1_000_000


def add_parser(sub: Any) -> None:
    """Register `estimate` and its flags."""
    p = sub.add_parser(
        "estimate",
        help="estimate L, rho, sigma, sigma_tilde, sigma_H of a problem (sampled, not certified)",
        description="Estimate the constants of Assumptions 4.3-4.6 at sampled points around w_0 and along a short "
                    "MAML run. Each estimate is a sampled lower estimate of a supremum, not a certificate. "
                    "Plan from the result with `mamltheory plan --from-estimate FILE`.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--problem",
                       help="tanh-regression, nonconvex-logistic, quadratic, sinusoid, or FILE.py:factory / "
                            "module:factory returning a problem of mamltheory.simulate.protocol")
    which.add_argument("--torch", metavar="FILE.py:factory",
                       help="FILE.py:factory or module:factory returning a mamltheory.adapters.torch.TorchTasks "
                            "(a torch model on a finite family of tasks; exact HVPs; needs the torch extra)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="problem parameter, repeatable (numbers, or text such as activation=softplus)")
    p.add_argument("--points", default="20", help="points w at which the constants are evaluated (default 20)")
    p.add_argument("--seed", default="0", help="seed of points, tasks and power iterations (default 0)")
    p.add_argument("--alpha", default=None,
                   help="inner step α of the run and of F(w_0) (default 1/(6 L̂(w_0)), Theorem 4.14's largest)")
    p.add_argument("--radius", default=None, help="sampling radius around w_0 (default ½ max(1, ‖w_0‖))")
    p.add_argument("--run-steps", default="40", help="length of the short MAML run (default 40)")
    add_threads_flag(p)
    p.add_argument("--out", default=None, metavar="FILE.json", help="also write the JSON to this file")
    p.add_argument("--json", action="store_true", help="print the JSON on stdout instead of the table")
    p.set_defaults(run=run)


def parse_params(items: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs: integers, floats, or text (for e.g. activation=softplus)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--param: must be KEY=VALUE, got {item!r}")
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value.strip()
    return out


def build_config(args: argparse.Namespace, problem: Any = None) -> Any:
    """Validated EstimateConfig from the flags over the problem's `estimate_defaults` (if it has any)."""
    from mamltheory.estimate.estimators import EstimateConfig

    flags = dict(
        points=_int("--points", args.points, 2, MAX_COUNT),
        seed=_seed("--seed", args.seed),
        alpha=None if args.alpha is None else _positive("--alpha", args.alpha),
        radius=None if args.radius is None else _positive("--radius", args.radius),
        run_steps=_int("--run-steps", args.run_steps, 1, MAX_COUNT),
    )
    hints = dict(getattr(problem, "estimate_defaults", {}) or {})
    return EstimateConfig(**{**hints, **{k: v for k, v in flags.items() if v is not None}})


def print_estimate(obj: dict[str, Any]) -> None:
    """Rich table: estimate, certificate (when the problem has one), ratio, what it rests on."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    prob = obj["problem"]
    cert = obj.get("certified")
    table = Table(title=f"mamltheory estimate: {prob.get('problem')} (d = {prob.get('d')}), "
                        f"{obj['points']} points, seed {obj['config']['seed']}")
    table.add_column("constant", style="bold")
    table.add_column("estimate", justify="right")
    if cert:
        table.add_column("certified", justify="right")
        table.add_column("est./cert.", justify="right")
    table.add_column("how", style="dim")
    labels = {"L": "L (4.3)", "rho": "ρ (4.4)", "sigma": "σ (4.5)", "sigma_tilde": "σ̃ (4.6)", "sigma_H": "σ_H (4.6)"}
    for k, label in labels.items():
        det = obj["details"][k]
        row = [label, f"{obj['constants'][k]:.4g}"]
        if cert:
            r = obj["ratio_to_certificate"][k]
            row += [f"{cert[k]:.4g}", "—" if r is None else f"{r:.3f}"]
        row.append(f"{det['points']} points, {det['tasks']} tasks"
                   + (f", {det['samples']} samples/task" if det["samples"] else ""))
        table.add_row(*row)
    console.print(table)
    g0 = obj.get("grad_norm_w0")
    console.print(f"α = {obj['alpha']:.4g}; f(w_0) = {obj['f_w0']:.4g}, F(w_0) = {obj['F_w0']:.4g}"
                  + ("" if g0 is None else f", ‖∇F(w_0)‖ = {g0:.4g}")
                  + (f"; Δ <= f(w_0) = {obj['initial_gap_bound']:.4g} (losses are nonnegative)"
                     if obj.get("initial_gap_bound") is not None else "")
                  + f"; {obj['seconds']:.1f} s")
    if g0 is not None:
        how = "exact on the family" if obj.get("grad_norm_w0_exact") else "over the drawn tasks"
        console.print(f"‖∇F(w_0)‖ = {g0:.4g} at α = {obj['alpha']:.4g} ({how}): a target ε >= {g0:.4g} is met at w_0 "
                      f"before any step, so a plan is meaningful only for ε < ‖∇F(w_0)‖ "
                      "(plan --from-estimate compares them)")
    for note in obj["notes"]:
        console.print(f"[yellow]{note}[/yellow]")
    console.print(f"[bold]{obj['statement']}[/bold]")


def run(args: argparse.Namespace) -> int:
    """Estimate, print, optionally write the JSON."""
    from mamltheory.estimate.estimators import estimate_constants
    from mamltheory.simulate.protocol import make_meta_problem

    build_config(args)  # flag errors before the (possibly slow) problem construction
    threads = torch_threads(args)
    if args.out is not None:
        writable_file("--out", args.out)
    if args.torch is not None:
        from mamltheory.adapters.torch import from_factory, set_threads  # imports torch: only when asked for

        set_threads(threads)
        problem = from_factory(args.torch, "--torch", **parse_params(args.param))
    else:
        problem = make_meta_problem(args.problem, **parse_params(args.param))
    cfg = build_config(args, problem)
    obj = estimate_constants(problem, cfg).to_json()
    obj["problem"]["spec"] = args.problem if args.torch is None else args.torch
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    if args.out is not None:
        write_output("--out", args.out, text + "\n")  # disk full: one line naming --out
    if args.json:
        sys.stdout.write(text + "\n")
    else:
        print_estimate(obj)
        if args.out is not None:
            print(f"written to {args.out}; plan from it: mamltheory plan --from-estimate {args.out} --eps EPS")
    return 0
