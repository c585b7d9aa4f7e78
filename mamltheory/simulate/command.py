"""`mamltheory simulate`: run MAML / FO-MAML / HF-MAML on a certified task family, store the result."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from mamltheory.bounds.theorems import THEOREMS
from mamltheory.errors import InputError
from mamltheory.parsing import integer as _int
from mamltheory.parsing import positive as _positive
from mamltheory.simulate import FAMILIES, make_problem
from mamltheory.simulate.algorithms import ALGORITHMS, USES_D_H
from mamltheory.simulate.cached import run_or_load
from mamltheory.simulate.runner import RunConfig, RunResult, describe_schedule
from mamltheory.store import DEFAULT_STORE

# Each algorithm's general theorem: its name and the step divisor c of β_k = β̃(w_k)/c.
STEP_DIVISOR = {alg: t.step_divisor for alg, t in THEOREMS.items()}
THEOREM = {alg: t.name for alg, t in THEOREMS.items()}


def add_parser(subparsers: Any) -> None:
    """Add the `simulate` sub-command."""
    p = subparsers.add_parser(
        "simulate",
        help="run MAML / FO-MAML / HF-MAML on a task family with certified constants",
        description="Run Algorithm 1 (maml: explicit Hessians; maml-hvp: exact Hessian-vector "
                    "products), 2 (fo-maml) or 3 (hf-maml) for R replicates, record the exact "
                    "||grad F(w_k)||, and keep the result in a SQLite store.",
    )
    p.add_argument("--problem", required=True, help=f"task family: {', '.join(sorted(FAMILIES))}")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="problem parameter, repeatable (e.g. --param d=50 --param noise=0.1)")
    p.add_argument("--algorithm", required=True, choices=ALGORITHMS)
    p.add_argument("--alpha", default=None, help="inner step α in (0, 1/L]; default: the theorem's largest")
    p.add_argument("--iterations", default="500", help="meta-iterations K (default 500)")
    p.add_argument("--replicates", default="8", help="independent runs R (default 8)")
    p.add_argument("--seed", default="0", help="root seed (default 0)")
    p.add_argument("--step", default="theory",
                   help="'theory' (β_k = β̃(w_k)/c, eq. (26)) or a constant β > 0 (default theory)")
    p.add_argument("--batch", default=None, metavar="B,D_in,D_o,D_h",
                   help="batch sizes; default: the planner's K-shot plan (D_in = D_o = --k-shot)")
    p.add_argument("--step-batch", default=None, metavar="B_PRIME,D_BETA",
                   help="batches of the step-size estimator (26); default: the planner's (eq. (27))")
    p.add_argument("--k-shot", default="10", help="D_in = D_o used for the default plan (default 10)")
    p.add_argument("--delta", default="theory",
                   help="HF-MAML: 'theory' (δ_k^i = δ/||v||, δ = 1/(6ρα), eq. (142)) or a fixed δ > 0")
    p.add_argument("--record", default="auto", choices=("auto", "every", "log"),
                   help="iterations at which exact F, ||grad F|| are recorded (auto: every up to 200, else ~100 log-spaced)")
    p.add_argument("--hessian-chunk", default=None,
                   help="maml: tasks per explicit-Hessian chunk (memory/speed only; results identical)")
    p.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite result store (default ./{DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_run)


# ---- parsing helpers (integers and positive numbers come from mamltheory.parsing) ---------
def _ints(flag: str, text: str, names: tuple[str, ...]) -> dict[str, int]:
    parts = text.split(",")
    if len(parts) != len(names):
        raise InputError(f"{flag}: must be {len(names)} comma-separated integers {','.join(names)}, got {text!r}")
    return {n: _int(f"{flag} {n}", v.strip(), 1) for n, v in zip(names, parts)}


def _params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param: must be KEY=VALUE, got {item!r}")
        try:
            num = float(value)
        except ValueError:
            raise InputError(f"--param {key}: must be a number, got {value!r}") from None
        out[key.strip()] = int(num) if num.is_integer() and "." not in value and "e" not in value.lower() else num
    return out


def build_config(args: argparse.Namespace) -> tuple[Any, RunConfig, dict[str, str]]:
    """Validate the arguments, consult the planner where asked, and return (problem, config, sources)."""
    problem = make_problem(args.problem, **_params(args.param))
    c = problem.constants
    alg = args.algorithm
    theory_alg = "maml" if alg == "maml-hvp" else alg
    alpha = None
    if args.alpha is not None:
        alpha = _positive("--alpha", args.alpha)
        if alpha > 1.0 / c.L:
            raise InputError(f"--alpha: must lie in (0, 1/L] = (0, {1.0 / c.L:.6g}] for {args.problem} "
                             f"(L = {c.L:.6g}; Lemmas 4.9-4.12), got {alpha}")
    iterations = _int("--iterations", args.iterations, 1)
    replicates = _int("--replicates", args.replicates, 1)
    seed = _int("--seed", args.seed, 0)
    k_shot = _int("--k-shot", args.k_shot, 1)
    chunk = None if args.hessian_chunk is None else _int("--hessian-chunk", args.hessian_chunk, 1)
    sources: dict[str, str] = {}

    plan = None
    plan_error = None
    needs_plan = alpha is None or args.batch is None or (args.step == "theory" and args.step_batch is None)
    if needs_plan:
        try:
            from mamltheory.bounds.planner import plan_kshot
        except ImportError as err:  # pragma: no cover - the planner ships with the package
            raise InputError(f"--batch: the planner is unavailable ({err}); pass --batch and --step-batch") from None
        try:
            plan = plan_kshot(theory_alg, c, K=k_shot, alpha=alpha)
        except InputError as err:
            plan_error = str(err)
        if plan is not None and not plan.feasible:
            plan_error, plan = f"the planner found no feasible plan: {plan.reason}", None
    if alpha is None:
        if plan is None:
            raise InputError(f"--alpha: no default, {plan_error}")
        alpha = float(plan.alpha)
        sources["alpha"] = f"planner: largest α of {THEOREM[theory_alg]}"
    else:
        sources["alpha"] = "given"

    if args.batch is not None:
        batch = _ints("--batch", args.batch, ("B", "D_in", "D_o", "D_h"))
        sources["batch"] = "given (--batch)"
    else:
        if plan is None:
            raise InputError(f"--batch: required because the planner cannot supply it ({plan_error})")
        batch = {k: int(plan.batch[k]) for k in ("B", "D_in", "D_o", "D_h")}
        sources["batch"] = (f"planner plan_kshot(K={k_shot}) for {THEOREM[theory_alg]}: D_in = D_o = {k_shot}, "
                            f"B the least within 10% of the best guaranteed accuracy, D_h from the theorem")
    if not USES_D_H[alg]:
        batch["D_h"] = 0  # Algorithm 2 draws no D_h batch

    step, beta, divisor, B_prime, D_beta = args.step, None, None, None, None
    if step == "theory":
        divisor = STEP_DIVISOR[theory_alg]
        if args.step_batch is not None:
            sb = _ints("--step-batch", args.step_batch, ("B_PRIME", "D_BETA"))
            B_prime, D_beta = sb["B_PRIME"], sb["D_BETA"]
            sources["step"] = f"β_k = β̃(w_k)/{divisor} ({THEOREM[theory_alg]}), B', D_β given"
        else:
            if plan is None:
                raise InputError(f"--step-batch: required for --step theory because the planner cannot supply "
                                 f"B', D_β ({plan_error})")
            B_prime, D_beta = int(plan.batch["B_prime"]), int(plan.batch["D_beta"])
            sources["step"] = (f"β_k = β̃(w_k)/{divisor} ({THEOREM[theory_alg]}), eq. (26) over B' = {B_prime} "
                               f"tasks and D_β = {D_beta} samples (planner, eq. (27))")
    else:
        beta = _positive("--step", step)
        step = "constant"
        sources["step"] = f"constant β = {beta}"

    delta_rule, delta = None, None
    if alg == "hf-maml":
        if args.delta == "theory":
            delta_rule, delta = "theory", 1.0 / (6.0 * c.rho * alpha)
            sources["delta"] = f"δ_k^i = δ/||v||, δ = 1/(6ρα) = {delta:.6g} (eq. (142))"
        else:
            delta_rule, delta = "fixed", _positive("--delta", args.delta)
            sources["delta"] = f"fixed δ_k^i = {delta}"

    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=alg, alpha=alpha,
                    iterations=iterations, replicates=replicates, seed=seed, B=batch["B"], D_in=batch["D_in"],
                    D_o=batch["D_o"], D_h=batch["D_h"], step=step, beta=beta, step_divisor=divisor,
                    B_prime=B_prime, D_beta=D_beta, delta_rule=delta_rule, delta=delta, record=args.record,
                    hessian_chunk=chunk)
    sources["schedule"] = describe_schedule(iterations, args.record)
    return problem, cfg, sources


def _summary_rows(res: RunResult, rows: int = 10) -> list[int]:
    n = len(res.k)
    if n <= rows:
        return list(range(n))
    pos = np.unique(np.rint(np.geomspace(1, n, rows - 1)).astype(int) - 1)
    return sorted(set([0, *pos.tolist(), n - 1]))


def _print_report(console: Any, problem: Any, cfg: RunConfig, res: RunResult, sources: dict[str, str],
                  key: str, cached: bool, store_path: str) -> None:
    from rich.table import Table

    c = problem.constants
    console.print(f"[bold]{cfg.algorithm}[/bold] on [bold]{cfg.problem}[/bold] (d = {problem.d}, "
                  f"{problem.n_tasks} tasks × {problem.pool_size} samples), α = {cfg.alpha:.6g}, "
                  f"K = {cfg.iterations}, R = {cfg.replicates}, seed = {cfg.seed}")
    console.print(f"certified constants ({problem.constants_domain}): L = {c.L:.4g}, ρ = {c.rho:.4g}, "
                  f"σ = {c.sigma:.4g}, σ̃ = {c.sigma_tilde:.4g}, σ_H = {c.sigma_H:.4g}")
    console.print(f"batches B = {cfg.B}, D_in = {cfg.D_in}, D_o = {cfg.D_o}, D_h = {cfg.D_h}: {sources['batch']}")
    console.print(f"step: {sources['step']}")
    if "delta" in sources:
        console.print(f"δ: {sources['delta']}")
    console.print(f"recorded: {res.schedule}")
    table = Table(title="exact ||∇F(w_k)|| over replicates")
    for col in ("k", "mean", "median", "min", "max", "mean F(w_k)", "mean β_k", "mean ||g_k||"):
        table.add_column(col, justify="right")
    for j in _summary_rows(res):
        g = res.grad_norm[j]
        fin = g[np.isfinite(g)]

        def fmt(x: float) -> str:
            return "—" if not np.isfinite(x) else f"{x:.4g}"

        def nanmean(a: np.ndarray) -> float:
            a = a[np.isfinite(a)]
            return float(a.mean()) if a.size else float("nan")

        table.add_row(str(res.k[j]), *(fmt(f(fin)) if fin.size else "—" for f in (np.mean, np.median, np.min, np.max)),
                      fmt(nanmean(res.F[j])), fmt(nanmean(res.beta[j])), fmt(nanmean(res.dir_norm[j])))
    console.print(table)
    if res.diverged:
        console.print("[red]diverged[/red] (replicate: iteration): "
                      + ", ".join(f"{r}: {k}" for r, k in sorted(res.diverged.items())))
    share = res.record_seconds / res.seconds if res.seconds > 0 else 0.0
    state = "loaded from store (not recomputed)" if cached else "computed and stored"
    console.print(f"{state}: {store_path} key {key[:16]}…; run time {res.seconds:.2f} s, "
                  f"of which exact ∇F recording {100 * share:.1f}%")


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    problem, cfg, sources = build_config(args)
    err = Console(stderr=True)
    with Progress(TextColumn(f"{cfg.algorithm} on {cfg.problem}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as prog:
        task = prog.add_task("run", total=cfg.iterations)
        result, key, cached = run_or_load(problem, cfg, args.store,
                                          progress=lambda k: prog.update(task, completed=k))
    out = Console(stderr=True) if args.json else Console()
    _print_report(out, problem, cfg, result, sources, key, cached, args.store)
    if args.json:
        payload = {"problem": cfg.problem, "algorithm": cfg.algorithm, **result.to_json(),
                   "config": cfg.key_dict(), "constants": problem.constants.as_dict(),
                   "constants_domain": problem.constants_domain, "sources": sources, "key": key,
                   "cached": cached, "store": args.store}
        sys.stdout.write(json.dumps(payload) + "\n")
    return 0
