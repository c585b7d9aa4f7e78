"""The few-shot sinusoid benchmark (Finn et al. 2017, Section 5.1): train, evaluate, estimate, store.

Meta-trains MAML, FO-MAML, HF-MAML (Algorithms 1-3 with Adam on the direction) and a pretrained
baseline on `simulate.sinusoid.SinusoidProblem`, evaluates them on held-out tasks, estimates the
constants at w_0 and at the solutions (`estimate.estimators`), and keeps every result in the store.

It lives in `estimate` because it needs both the simulator and the estimators: `estimate` already
depends on `simulate`, so the driver here adds no edge `simulate` -> `estimate` (which made the
cycle estimate <-> simulate when it lived in simulate/sinusoid.py), and `report` only reads it.

With ``--activation relu`` the network is the original's ReLU 1-40-40-1, run through the torch
adapter (`adapters.torch.TorchSinusoidProblem`, exact double-backward HVPs; needs the torch extra). ReLU is
outside the theory's smoothness assumptions: the loss's Hessian jumps wherever a unit's
pre-activation changes sign, so it is not Lipschitz (Assumption 4.4 fails, ρ = ∞), and ReLU'' = 0
almost everywhere, so the exact HVPs see only the piecewise-constant part of the curvature.

Run it: ``python -m mamltheory.estimate.sinusoid_benchmark`` (see `main`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mamltheory.bounds.theorems import theorem
from mamltheory.estimate.estimators import EstimateConfig, estimate_constants
from mamltheory.simulate.algorithms import TaskBatch, direction
from mamltheory.simulate.sinusoid import SinusoidProblem
from mamltheory.pool import one_blas_thread, spawn_pool, terminate
from mamltheory.store import ResultStore, memo_all

Array = np.ndarray

# Finn, Abbeel, Levine 2017 report their sinusoid results as plots, not as numbers; no number here is
# compared with theirs. What differs from their protocol (Section 5.1), so a
# reader comparing with the figures knows what is not the same experiment:
RELU_OUTSIDE = ("ReLU is outside the theory's smoothness assumptions: the loss's Hessian jumps where a unit's "
                "pre-activation changes sign, so it is not Lipschitz (Assumption 4.4 fails, ρ = ∞; an estimated ρ is "
                "no Lipschitz constant), ReLU'' = 0 almost everywhere, and HF-MAML's finite differences straddle kinks")


def protocol_differences(cfg: SinusoidConfig) -> list[str]:
    """Every known difference between this benchmark and Finn et al. 2017's sinusoid protocol."""
    activation = (f"activation: ReLU, as in the original ({RELU_OUTSIDE})" if cfg.activation == "relu" else
                  f"activation: {cfg.activation}, not ReLU (the theory needs twice-differentiable losses with Lipschitz "
                  "Hessians, Assumptions 4.3-4.4; with ReLU ρ = ∞ and HF-MAML's finite differences straddle kinks)")
    return [
        activation,
        "initialisation: weights N(0, 1/fan_in), biases 0 (SinusoidNet.init), not the original code's truncated "
        "normal with standard deviation 0.01 (github.com/cbfinn/maml, maml.py, construct_fc_weights)",
        f"meta-training length: {cfg.iterations} meta-iterations, not 70,000",
        f"pretraining baseline: trained on 2K = {2 * cfg.K} points per task and iteration (the D_in and D_o "
        f"batches MAML sees), where the original uses K = {cfg.K}; its fine-tuning step is also tuned on "
        "validation tasks here",
        f"evaluation: one fixed set of {cfg.eval_tasks} held-out tasks for every method, {cfg.eval_points} uniform "
        "test points per task, plain gradient steps of size α; the original's evaluation sets are not ours",
    ]


# ---- the benchmark ----------------------------------------------------------------------------
METHODS = ("maml", "fo-maml", "hf-maml", "pretrain")
ESTIMATED_AT = ("w0", "maml", "pretrain")  # the initial point and the two solutions whose constants are estimated
ACTIVATIONS = ("tanh", "softplus", "relu")  # relu: through the torch adapter (adapters.torch.TorchSinusoidProblem)


def benchmark_problem(cfg: SinusoidConfig) -> SinusoidProblem:
    """The benchmark's problem: the numpy network for tanh / softplus, the torch one for relu."""
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {cfg.activation!r}")
    if cfg.activation == "relu":
        from mamltheory.adapters.torch import TorchSinusoidProblem  # imports torch: only for this network

        return TorchSinusoidProblem(cfg.hidden, "relu", seed=cfg.seed)
    return SinusoidProblem(cfg.hidden, cfg.activation, seed=cfg.seed)


# Fine-tuning steps tried for the pretrained baseline (chosen on 200 validation tasks, 10-step MSE).
PRETRAIN_ALPHAS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)
# Which direction of algorithms.py each method uses: MAML with exact Hessian-vector products (the
# same direction as Algorithm 1 with explicit Hessians; d = 1761 makes d×d Hessians wasteful).
_DIRECTION = {"maml": "maml-hvp", "fo-maml": "fo-maml", "hf-maml": "hf-maml"}


@dataclass(frozen=True)
class SinusoidConfig:
    """Everything that determines one benchmark run (the result store hashes it).

    Defaults follow Finn et al. 2017 where the theory leaves a choice: K = 10 shots, α = 0.01,
    one inner step, meta-batch B = 25 tasks, Adam with learning rate 1e-3 on the meta-direction
    (Algorithms 1-3 take plain steps β_k g_k; Adam only rescales the same g_k). D_in and D_o are
    independent K-shot batches of each task; the Hessian (MAML) and the finite-difference pair
    (HF-MAML) use the inner batch D_in, which is what differentiating through the inner step does
    in the original (Algorithm 1 draws an independent D_h, a device of the analysis).
    """

    method: str
    iterations: int = 40000
    meta_batch: int = 25
    K: int = 10
    alpha: float = 0.01
    meta_lr: float = 1e-3
    hf_delta: float = 1e-3  # HF-MAML: δ_k^i = δ/‖v‖ (the form of eq. (142)), i.e. a displacement of norm δ
    hidden: int = 40
    activation: str = "tanh"
    seed: int = 0
    eval_tasks: int = 600
    eval_points: int = 100
    eval_steps: int = 10
    eval_seed: int = 12345
    record_every: int = 250

    def key_dict(self) -> dict[str, Any]:
        """The configuration as stored."""
        return asdict(self)


def eval_set(problem: SinusoidProblem, cfg: SinusoidConfig) -> tuple[Array, Array, Array, Array, Array]:
    """The held-out tasks (fixed by eval_seed, shared by all methods): tasks, K shots, test points."""
    rng = np.random.default_rng([cfg.eval_seed, 3])
    tasks = problem.sample_tasks(rng, cfg.eval_tasks)
    Xk, yk = problem.sample_data(rng, tasks, cfg.K)
    Xt, yt = problem.sample_data(rng, tasks, cfg.eval_points)
    return tasks, Xk, yk, Xt, yt


def adapt_curve(problem: SinusoidProblem, w: Array, Xk: Array, yk: Array, Xt: Array, yt: Array,
                alpha: float, steps: int) -> Array:
    """Test MSE per task after 0..steps gradient steps of size α on the K shots, shape (steps + 1, tasks)."""
    W = np.tile(w, (yk.shape[0], 1))
    out = [problem.loss_on(W, Xt, yt)]
    for _ in range(steps):
        W = W - alpha * problem.grad_on(W, Xk, yk)
        out.append(problem.loss_on(W, Xt, yt))
    return np.array(out)


def summarize(mse: Array) -> dict[str, list[float]]:
    """Mean test MSE per step with a 95% interval over tasks (normal approximation, n = 600)."""
    n = mse.shape[1]
    mean = mse.mean(axis=1)
    half = 1.959963984540054 * mse.std(axis=1, ddof=1) / math.sqrt(n)
    return {"mean": mean.tolist(), "lo": (mean - half).tolist(), "hi": (mean + half).tolist()}


def train(cfg: SinusoidConfig, progress: Any = None) -> dict[str, Any]:
    """Meta-train (or pretrain) one method and evaluate it on the held-out tasks; returns the stored record."""
    if cfg.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {cfg.method!r}")
    problem = benchmark_problem(cfg)
    if cfg.activation == "relu":
        import torch

        torch.set_num_threads(1)  # tiny per-sample ops: one thread per worker is faster (benchmarks/bench_torch.py)
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed))
    w = problem.initial_point()
    m, v = np.zeros_like(w), np.zeros_like(w)
    b1, b2, eps = 0.9, 0.999, 1e-8
    _, Xk, yk, Xt, yt = eval_set(problem, cfg)
    val = slice(0, 100)  # training curve: 1-step test MSE on the first 100 held-out tasks
    curve_k, curve_mse = [], []
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        for k in range(cfg.iterations + 1):
            if k % cfg.record_every == 0 or k == cfg.iterations:
                c = adapt_curve(problem, w, Xk[val], yk[val], Xt[val], yt[val], cfg.alpha, 1)
                curve_k.append(k)
                curve_mse.append(float(c[1].mean()))
                if progress is not None:
                    progress(k)
            if k == cfg.iterations:
                break
            tasks = problem.sample_tasks(rng, cfg.meta_batch)
            X, y = problem.sample_data(rng, tasks, 2 * cfg.K)
            if cfg.method == "pretrain":  # minimise f(w) = E_i f_i(w) on the same data stream
                g = problem.grad_on(w, X, y).mean(axis=0)
            else:
                Xi, yi, Xo, yo = X[None, :, :cfg.K], y[None, :, :cfg.K], X[None, :, cfg.K:], y[None, :, cfg.K:]
                batch = TaskBatch(Xi, yi, Xo, yo, Xi, yi)
                g = direction(problem, _DIRECTION[cfg.method], w[None], batch, cfg.alpha,
                              delta=cfg.hf_delta, delta_rule="scaled")[0]
            if not np.isfinite(g).all():
                break
            # Adam (Kingma & Ba) on the meta-direction g_k
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mh, vh = m / (1 - b1 ** (k + 1)), v / (1 - b2 ** (k + 1))
            w = w - cfg.meta_lr * mh / (np.sqrt(vh) + eps)
    seconds = time.perf_counter() - t0
    mse = adapt_curve(problem, w, Xk, yk, Xt, yt, cfg.alpha, cfg.eval_steps)
    rec = {"method": cfg.method, "alpha": cfg.alpha, "test_mse": summarize(mse), "per_task_mse": mse.tolist(),
           "curve": {"k": curve_k, "mse_1step": curve_mse}, "weights": w.tolist(),
           "finite": bool(np.isfinite(w).all()), "seconds": seconds}
    if cfg.method == "pretrain":
        # The baseline's fine-tuning step chosen on validation tasks disjoint from the 600 test tasks:
        # a step tuned for the pretrained model, not the one MAML was trained for.
        rv = np.random.default_rng([cfg.eval_seed, 4])
        vt = problem.sample_tasks(rv, 200)
        (Xvk, yvk), (Xvt, yvt) = problem.sample_data(rv, vt, cfg.K), problem.sample_data(rv, vt, cfg.eval_points)
        scores = {a: float(adapt_curve(problem, w, Xvk, yvk, Xvt, yvt, a, cfg.eval_steps)[-1].mean())
                  for a in PRETRAIN_ALPHAS}
        best = min(scores, key=lambda a: scores[a] if math.isfinite(scores[a]) else math.inf)
        mse_t = adapt_curve(problem, w, Xk, yk, Xt, yt, best, cfg.eval_steps)
        rec["tuned"] = {"alpha": best, "validation_mse_10": scores, "test_mse": summarize(mse_t)}
    return rec


# Result kinds of the store (`mamltheory.store.KIND_SOURCES`): a method's training record, an estimate.
TRAINED, ESTIMATED = "sinusoid", "sinusoid-estimate"


def method_configs(base: SinusoidConfig, methods: tuple[str, ...] = METHODS) -> dict[str, dict[str, Any]]:
    """The stored configuration of each method's training record (the store key is built from it)."""
    return {m: SinusoidConfig(**{**asdict(base), "method": m}).key_dict() for m in methods}


def _trained(todo: list[str], configs: dict[str, dict[str, Any]], workers: int,
             log: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(method, record) as each training finishes: in this process for one worker, else on spawned ones."""
    n = max(1, min(workers, len(todo)))
    if log:
        log(f"training {', '.join(todo)} ({configs[todo[0]]['iterations']} iterations each, {n} workers)")
    cfgs = [SinusoidConfig(**configs[m]) for m in todo]
    if n == 1:
        yield from ((m, train(c)) for m, c in zip(todo, cfgs))
        return
    with one_blas_thread():
        pool = spawn_pool(n)
        try:
            yield from zip(todo, pool.map(train, cfgs))
        except BaseException:
            terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def run_benchmark(store: str, cfg: SinusoidConfig | None = None, methods: tuple[str, ...] = METHODS,
                  workers: int = 2, log: Any = None) -> dict[str, dict[str, Any]]:
    """Every method's record, from the store when its configuration was run before, else trained (in parallel)."""
    configs = method_configs(cfg or SinusoidConfig(method="maml"), methods)

    def compute(todo: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for m, rec in _trained(todo, configs, workers, log):
            if log:
                log(f"{m}: {rec['seconds']:.0f} s")
            yield m, rec

    return {m: {**rec, "cached": cached} for m, (rec, cached) in memo_all(store, TRAINED, configs, compute).items()}


def estimate_config(cfg: SinusoidConfig) -> Any:
    """The (smaller) estimate settings of the benchmark: d = 1761 makes per-sample Hessian norms costly."""
    return EstimateConfig(**{**SinusoidProblem.estimate_defaults, "points": 8, "seed": cfg.seed, "alpha": cfg.alpha,
                             "run_steps": 20})


def estimate_configs(cfg: SinusoidConfig, at: tuple[str, ...] = ESTIMATED_AT) -> dict[str, dict[str, Any]]:
    """The stored configuration of the estimate at each of `at` ("w0", "maml", "pretrain") of a benchmark."""
    est = asdict(estimate_config(cfg))
    return {a: {**cfg.key_dict(), "method": None if a == "w0" else a, "at": a, "estimate": est} for a in at}


def benchmark_estimates(store: str, results: dict[str, dict[str, Any]], cfg: SinusoidConfig | None = None,
                        log: Any = None) -> dict[str, dict[str, Any]]:
    """Estimated constants at w_0 and at the MAML and pretrained solutions (stored; see `estimate_config`)."""
    base = cfg or SinusoidConfig(method="maml")
    problem = benchmark_problem(base)
    where = {"w0": problem.initial_point()}
    where.update({m: np.array(results[m]["weights"]) for m in ESTIMATED_AT[1:] if m in results})
    finite = tuple(a for a, w in where.items() if np.isfinite(w).all())  # a diverged solution has no estimate

    def compute(todo: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for a in todo:
            got = estimate_constants(problem, estimate_config(base), w0=where[a]).to_json()
            if log:
                log(f"estimate at {a}: {got['seconds']:.0f} s")
            yield a, got

    return {a: got for a, (got, _) in memo_all(store, ESTIMATED, estimate_configs(base, finite), compute).items()}


def stored(store: str | Path, cfg: SinusoidConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(records, estimates) of `cfg` already in the store, nothing computed (an absent store holds none)."""
    if not Path(store).exists():
        return {}, {}
    with ResultStore(store) as db:
        results = {m: got for m, conf in method_configs(cfg).items() if (got := db.find(TRAINED, conf)) is not None}
        estimates = {a: got for a, conf in estimate_configs(cfg).items() if (got := db.find(ESTIMATED, conf)) is not None}
    return results, estimates


def results_table(results: dict[str, dict[str, Any]], steps: tuple[int, ...] = (1, 5, 10)) -> list[list[str]]:
    """Rows: method, then 'mean [lo, hi]' after each number of steps."""
    rows = []
    for m, rec in results.items():
        s = rec["test_mse"]
        rows.append([m, *(f"{s['mean'][k]:.3f} [{s['lo'][k]:.3f}, {s['hi'][k]:.3f}]" for k in steps)])
    return rows


def main(argv: list[str] | None = None) -> int:
    """`python -m mamltheory.estimate.sinusoid_benchmark`: train (or load) every method and print the table."""
    p = argparse.ArgumentParser(prog="python -m mamltheory.estimate.sinusoid_benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=SinusoidConfig.iterations)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS,
                   help="tanh (default; smooth, inside the theory's assumptions) or relu (the original's network, "
                        "through the torch adapter; outside Assumption 4.4)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--store", default="mamltheory-results.sqlite")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    methods = tuple(x.strip() for x in args.methods.split(","))
    bad = [x for x in methods if x not in METHODS]
    if bad or args.iterations < 1 or args.workers < 1 or args.seed < 0:
        sys.stderr.write(f"sinusoid: --methods must be among {','.join(METHODS)}, --iterations and --workers >= 1, "
                         f"--seed >= 0 (got methods {args.methods!r}, iterations {args.iterations}, "
                         f"workers {args.workers}, seed {args.seed})\n")
        return 2
    t0 = time.perf_counter()
    log = None if args.json else (lambda s: print(s, flush=True))
    cfg = SinusoidConfig(method="maml", iterations=args.iterations, seed=args.seed, activation=args.activation)
    res = run_benchmark(args.store, cfg, methods, args.workers, log)
    est = benchmark_estimates(args.store, res, cfg, log)
    if args.json:
        json.dump({"results": {m: {k: v for k, v in r.items() if k not in ("per_task_mse", "weights")}
                               for m, r in res.items()},
                   "estimates": {k: {"constants": e["constants"], "points": e["points"]} for k, e in est.items()}},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{cfg.activation} network; test MSE on 600 held-out tasks, K = 10, α = 0.01: mean [95% interval] after "
          "1 / 5 / 10 steps")
    if cfg.activation == "relu":
        print(f"  {RELU_OUTSIDE}")
    for row in results_table(res):
        print(f"  {row[0]:9s} " + "  ".join(row[1:4]))
    if "pretrain" in res:
        t = res["pretrain"]["tuned"]
        s = t["test_mse"]
        print(f"  pretrain with its fine-tuning step tuned on validation tasks (α = {t['alpha']}): "
              + "  ".join(f"{s['mean'][k]:.3f} [{s['lo'][k]:.3f}, {s['hi'][k]:.3f}]" for k in (1, 5, 10)))
    print("not the original experiment (Finn et al. 2017 show plots, no numbers to compare); differences:")
    for diff in protocol_differences(cfg):
        print(f"  - {diff}")
    for name, e in est.items():
        c = e["constants"]
        print(f"  estimated at {name}: L = {c['L']:.3g}, ρ = {c['rho']:.3g}{' (no Lipschitz constant: ReLU)' if cfg.activation == 'relu' else ''}, σ = {c['sigma']:.3g}, "
              f"σ̃ = {c['sigma_tilde']:.3g}, σ_H = {c['sigma_H']:.3g}; α·L = {cfg.alpha * c['L']:.2f} "
              f"(Theorem 4.14 needs α <= 1/(6L) = {theorem('maml').alpha_max(c['L']):.2g})")
    print(f"wall time {time.perf_counter() - t0:.0f} s (training per method: "
          + ", ".join(f"{m} {r['seconds']:.0f} s" + (" cached" if r["cached"] else "") for m, r in res.items()) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
