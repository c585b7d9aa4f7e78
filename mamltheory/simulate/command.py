"""`mamltheory simulate`: run MAML / FO-MAML / HF-MAML on a certified task family, store the result."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from mamltheory.adapters import add_threads_flag, torch_threads
from mamltheory.bounds.theory import DEFAULT_THEORY, THEORIES
from mamltheory.errors import InputError
from mamltheory.assumptions import CONSTANT_FLAGS, CONSTANT_NAMES, read_estimate
from mamltheory.parsing import SEED_MAX, THEOREM_RULE, integer, integers, number, positive, theorem_or_positive
from mamltheory.simulate import FAMILIES, PoolProblem, make_problem
from mamltheory.simulate.algorithms import ALGORITHMS
from mamltheory.simulate.cached import run_or_load
from mamltheory.simulate.config import BATCH_NAMES, STEP_BATCH_NAMES, resolve_constants, run_config
from mamltheory.simulate.runner import RunConfig, RunResult
from mamltheory.store import DEFAULT_STORE


def add_parser(subparsers: Any) -> None:
    """Add the `simulate` sub-command."""
    p = subparsers.add_parser(
        "simulate",
        help="run MAML / FO-MAML / HF-MAML on a task family with certified constants",
        description="Run Algorithm 1 (maml: explicit Hessians; maml-hvp: exact Hessian-vector "
                    "products), 2 (fo-maml) or 3 (hf-maml) for R replicates on a certified family (--problem) "
                    "or a torch model's finite family of tasks (--torch, constants from --from-estimate or "
                    "--L ... --sigma-h), record the exact ||grad F(w_k)||, and keep the result in a SQLite store.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--problem", help=f"task family: {', '.join(sorted(FAMILIES))}")
    which.add_argument("--torch", metavar="FILE.py:factory",
                       help="FILE.py:factory or module:factory returning a mamltheory.adapters.torch.TorchTasks "
                            "(a torch model on a finite family of tasks; needs the torch extra)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="problem parameter (--torch: factory argument), repeatable (e.g. --param d=50)")
    p.add_argument("--from-estimate", dest="from_estimate", metavar="FILE", default=None,
                   help="--torch: the constants L, ρ, σ, σ̃, σ_H from `mamltheory estimate --torch ... --out FILE` "
                        "(sampled estimates, not certificates)")
    for dest, name in CONSTANT_FLAGS.items():
        p.add_argument(name, dest=dest, default=None,
                       help=f"--torch: the constant {dest} (overrides the estimate file and the factory)")
    add_threads_flag(p)
    p.add_argument("--algorithm", required=True, choices=ALGORITHMS)
    p.add_argument("--alpha", default=None, help="inner step α in (0, 1/L]; default: the theorem's largest")
    p.add_argument("--iterations", default="500", help="meta-iterations K (default 500)")
    p.add_argument("--replicates", default="8", help="independent runs R (default 8)")
    p.add_argument("--seed", default="0", help="root seed (default 0)")
    p.add_argument("--step", default=THEOREM_RULE,
                   help="'theorem' (β_k = β̃(w_k)/c of the theorem, eq. (26)) or a constant β > 0 (default theorem)")
    p.add_argument("--batch", default=None, metavar="B,D_in,D_o,D_h",
                   help="batch sizes; default: the planner's K-shot plan (D_in = D_o = --k-shot)")
    p.add_argument("--step-batch", default=None, metavar="B_PRIME,D_BETA",
                   help="batches of the step-size estimator (26); default: the planner's (eq. (27))")
    p.add_argument("--k-shot", default="10", help="D_in = D_o used for the default plan (default 10)")
    p.add_argument("--delta", default=THEOREM_RULE,
                   help="HF-MAML: 'theorem' (δ_k^i = δ/||v|| with the theorem's δ: (δ′) of the sharp or repaired H.1, "
                        "or 1/(6ρα) of eq. (142) with --theory paper) or a fixed δ > 0")
    p.add_argument("--theory", default=DEFAULT_THEORY, metavar="|".join(THEORIES),
                   help="which theorems set the defaults of α, batches, step divisor and δ (default sharp, at the paper's "
                        "free choices; see `mamltheory plan`)")
    p.add_argument("--record", default="auto", choices=("auto", "every", "log"),
                   help="iterations at which exact F, ||grad F|| are recorded (auto: every up to 200, else ~100 log-spaced)")
    p.add_argument("--hessian-chunk", default=None,
                   help="maml: tasks per explicit-Hessian chunk (memory/speed only; results identical)")
    p.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite result store (default ./{DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_run)


# ---- strings -> the typed options of simulate.config.run_config ------------------------
def _params(items: list[str], text: bool = False) -> dict[str, Any]:
    """KEY=VALUE pairs as numbers; with `text` (a torch factory's arguments) a non-number stays text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param: must be KEY=VALUE, got {item!r}", field="params")
        try:  # an integer stays exact: through float, one with hundreds of digits would become inf
            out[key.strip()] = int(value)
            continue
        except ValueError:
            pass
        try:
            num = float(value)
        except ValueError:
            if text:
                out[key.strip()] = value.strip()
                continue
            raise InputError(f"--param {key}: must be a number, got {value!r}", field=f"params.{key}") from None
        out[key.strip()] = int(num) if num.is_integer() and "." not in value and "e" not in value.lower() else num
    return out


def _torch_problem(args: argparse.Namespace) -> tuple[Any, str]:
    """The TorchTasks of --torch with its constants (factory < --from-estimate < flags) and their statement."""
    # flags and the estimate file first: bad input is refused before torch is imported and the model built
    threads = torch_threads(args)
    given = {k: None if getattr(args, k) is None else number(CONSTANT_FLAGS[k], getattr(args, k), field="constants")
             for k in CONSTANT_NAMES}
    estimate = None if args.from_estimate is None else read_estimate(args.from_estimate)
    from mamltheory.adapters.torch import from_factory, set_threads  # imports torch: only when asked for

    set_threads(threads)
    problem = from_factory(args.torch, "--torch", **_params(args.param, text=True))
    return problem, resolve_constants(problem, estimate, given)


def build_config(args: argparse.Namespace) -> tuple[PoolProblem, RunConfig, dict[str, str]]:
    """Parse the flags into typed values and resolve them with `run_config`: (problem, config, sources)."""
    options: dict[str, Any] = {
        "alpha": None if args.alpha is None else positive("--alpha", args.alpha),
        "iterations": integer("--iterations", args.iterations, 1),
        "replicates": integer("--replicates", args.replicates, 1),
        "seed": integer("--seed", args.seed, 0, SEED_MAX),
        "k_shot": integer("--k-shot", args.k_shot, 1),
        "hessian_chunk": None if args.hessian_chunk is None else integer("--hessian-chunk", args.hessian_chunk, 1),
        "batch": None if args.batch is None else tuple(integers("--batch", args.batch, BATCH_NAMES).values()),
        "step_batch": None if args.step_batch is None else tuple(
            integers("--step-batch", args.step_batch, STEP_BATCH_NAMES, field="step_batch").values()),
        "step": theorem_or_positive("--step", args.step),
        "delta": theorem_or_positive("--delta", args.delta),
        "record": args.record,
        "theory": args.theory,
    }
    if args.torch is None:
        torch_threads(args)  # --torch-threads without --torch
        extra = [f for f, v in (("--from-estimate", args.from_estimate),
                                *((CONSTANT_FLAGS[k], getattr(args, k)) for k in CONSTANT_NAMES)) if v is not None]
        if extra:
            raise InputError(f"{extra[0]}: only with --torch (a built-in family's constants are certified)",
                             field="constants")
        problem = make_problem(args.problem, **_params(args.param))
        constants = f"certified ({problem.constants_domain})"
    else:
        problem, constants = _torch_problem(args)
    cfg, sources = run_config(problem, args.algorithm, **options)
    sources["constants"] = constants
    return problem, cfg, sources


def guarantee(problem: Any, cfg: RunConfig, res: RunResult, theory: str) -> dict[str, Any]:
    """The accuracy the run's theorem guarantees at its α and batches, and whether w_0 already met it.

    The bound is the planner's (`planner.guarantee_at`, as `plan --batch` evaluates a theorem): E‖∇F(w)‖ at
    the theorem's output after its T iterations. `vacuous`: the bound is >= ‖∇F(w_0)‖ (recorded exactly at
    k = 0), so w_0 itself meets it and the run could not have failed it.
    """
    from mamltheory.bounds import planner
    from mamltheory.bounds.theorems import theorem

    algorithm = theorem(cfg.algorithm, theory).algorithm  # maml-hvp: Theorem F.1, as maml
    g0 = float(np.nanmean(res.grad_norm[0])) if len(res.k) and res.k[0] == 0 else None
    out: dict[str, Any] = {"theorem": None, "theory": theory, "accuracy_bound": None, "applies": False,
                           "reason": None, "grad_norm_w0": g0, "vacuous": None}
    batch = {"B": cfg.B, "D_in": cfg.D_in, "D_o": cfg.D_o, "D_h": cfg.D_h, "B_prime": cfg.B_prime,
             "D_beta": cfg.D_beta}
    try:
        p = planner.guarantee_at(algorithm, problem.constants, cfg.alpha, batch, theory)
    except InputError as err:  # α beyond the theorem's 1/(cL): simulate allows up to 1/L (Lemmas 4.9-4.12)
        out["reason"] = str(err).removeprefix("--alpha: ")
        return out
    out.update(theorem=p.theorem, accuracy_bound=p.accuracy_bound)
    if getattr(problem, "assumption_warning", None):
        out["reason"] = "the model is not smooth, so Assumption 4.4 fails and no theorem covers it"
    elif cfg.step != THEOREM_RULE:
        out["reason"] = f"the theorem needs the step β_k = β̃(w_k)/{p.step_divisor} (--step theorem), not a constant β"
    elif cfg.delta_rule == "fixed":
        out["reason"] = "the theorem needs its own δ (--delta theorem), not a fixed δ"
    elif not p.feasible:
        out["reason"] = p.reason
    elif not p.guaranteed:
        out["reason"] = f"{p.theorem} rests on failing proof steps ({', '.join(p.failing_steps)})"
    else:
        out["applies"] = True
    if g0 is not None and p.accuracy_bound is not None:
        out["vacuous"] = bool(p.accuracy_bound >= g0)
    return out


def _guarantee_line(g: dict[str, Any]) -> str:
    """One line: the theorem's bound at the run's batches next to ‖∇F(w_0)‖, vacuous or not."""
    g0 = "" if g["grad_norm_w0"] is None else f" against ‖∇F(w_0)‖ = {g['grad_norm_w0']:.4g}"
    if g["accuracy_bound"] is None:
        return f"guarantee: none ({g['reason']})"
    head = f"guarantee ({g['theorem']}, at these α and batches): E‖∇F(w)‖ <= {g['accuracy_bound']:.4g}{g0}"
    verdict = ("; [bold]vacuous[/bold]: w_0 already meets it, so the run could not have failed it" if g["vacuous"]
               else "; not vacuous" if g["vacuous"] is False else "")
    return head + verdict + ("" if g["applies"] else f"; it does not apply to this run: {g['reason']}")


def _summary_rows(res: RunResult, rows: int = 10) -> list[int]:
    n = len(res.k)
    if n <= rows:
        return list(range(n))
    pos = np.unique(np.rint(np.geomspace(1, n, rows - 1)).astype(int) - 1)
    return sorted(set([0, *pos.tolist(), n - 1]))


def _print_report(console: Any, problem: Any, cfg: RunConfig, res: RunResult, sources: dict[str, str],
                  key: str, cached: bool, store_path: str, promise: dict[str, Any] | None = None) -> None:
    from rich.table import Table

    c = problem.constants
    what = cfg.problem if cfg.problem != "torch" else f"torch model {cfg.problem_params.get('model')}"
    console.print(f"[bold]{cfg.algorithm}[/bold] on [bold]{what}[/bold] (d = {problem.d}, "
                  f"{problem.n_tasks} tasks × {problem.pool_size} samples), α = {cfg.alpha:.6g}, "
                  f"K = {cfg.iterations}, R = {cfg.replicates}, seed = {cfg.seed}")
    console.print(f"constants, {sources['constants']}: L = {c.L:.4g}, ρ = {c.rho:.4g}, "
                  f"σ = {c.sigma:.4g}, σ̃ = {c.sigma_tilde:.4g}, σ_H = {c.sigma_H:.4g}")
    console.print(f"batches B = {cfg.B}, D_in = {cfg.D_in}, D_o = {cfg.D_o}, D_h = {cfg.D_h}: {sources['batch']}")
    console.print(f"step: {sources['step']}")
    if "delta" in sources:
        console.print(f"δ: {sources['delta']}")
    warning = getattr(problem, "assumption_warning", None)  # a torch model with ReLU and the like
    if warning:
        console.print(f"[yellow]warning: {warning}[/yellow]")
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
    if promise is not None:
        console.print(_guarantee_line(promise))
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
    promise = guarantee(problem, cfg, result, args.theory)
    _print_report(out, problem, cfg, result, sources, key, cached, args.store, promise)
    if args.json:
        payload = {"problem": cfg.problem, "algorithm": cfg.algorithm, **result.to_json(), "guarantee": promise,
                   "config": cfg.key_dict(), "constants": problem.constants.as_dict(),
                   "constants_domain": getattr(problem, "constants_domain", None), "sources": sources, "key": key,
                   "cached": cached, "store": args.store}
        sys.stdout.write(json.dumps(payload) + "\n")
    return 0
