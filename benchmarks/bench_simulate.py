"""Simulator throughput and scaling. Prints tables; asserts nothing about time.

    python benchmarks/bench_simulate.py            # full run (~3-4 min on 2 cores)
    python benchmarks/bench_simulate.py --quick    # smaller, for a smoke check

Counts: a "task-sample gradient evaluation" is one per-sample gradient, Hessian-vector product
or Hessian evaluated for one task sample. Per meta-iteration and replicate:
B·(D_in + D_o) for FO-MAML, B·(D_in + D_o + D_h) for MAML (HVP or explicit Hessian),
B·(D_in + D_o + 2 D_h) for HF-MAML (two gradients on D_h). Every timed iteration includes
sampling (drawing ids, gathering from the pools), the direction and the step (constant β;
the theorem's step adds B'·D_β gradients, usually a few percent).
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import ALGORITHMS
from mamltheory.simulate.runner import RunConfig, Sampler, meta_step, replicate_rng

B, D = 20, 32


def evals_per_iter(alg: str, R: int) -> int:
    per_task = {"fo-maml": 2 * D, "maml": 3 * D, "maml-hvp": 3 * D, "hf-maml": 4 * D}[alg]
    return R * B * per_task


def config(p, alg: str, R: int, chunk: int | None = None) -> RunConfig:
    alpha = 1 / (6 * p.constants.L)
    return RunConfig(problem=p.name, problem_params=p.params, algorithm=alg, alpha=alpha, iterations=1,
                     replicates=R, seed=0, B=B, D_in=D, D_o=D, D_h=0 if alg == "fo-maml" else D,
                     step="constant", beta=0.01, delta_rule="scaled" if alg == "hf-maml" else None,
                     delta=1 / (6 * p.constants.rho * alpha) if alg == "hf-maml" else None, hessian_chunk=chunk)


def time_iterations(p, cfg: RunConfig, min_time: float, min_iters: int = 2) -> float:
    """Seconds per meta-iteration (sampling included), after one warm-up iteration."""
    sampler = Sampler(p, cfg)
    rngs = [replicate_rng(0, r) for r in range(cfg.replicates)]
    W = np.tile(p.initial_point(), (cfg.replicates, 1))
    W, _, _ = meta_step(p, cfg, sampler, rngs, W)
    n, t0 = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - t0 < min_time:
        W, _, _ = meta_step(p, cfg, sampler, rngs, W)
        n += 1
    return (time.perf_counter() - t0) / n


def naive_iteration(p, alg: str, W: np.ndarray, rngs, alpha: float, delta: float) -> np.ndarray:
    """Baseline: the same algorithm written as a Python loop over replicates and tasks."""
    N = p.pool_size
    out = np.empty_like(W)
    for r, rng in enumerate(rngs):
        acc = np.zeros(p.d)
        for _ in range(B):
            i = rng.integers(0, p.n_tasks)
            s = rng.integers(0, N, size=3 * D)
            X, y = p.X[i, s], p.y[i, s]
            Xi, yi, Xo, yo, Xh, yh = X[:D], y[:D], X[D:2 * D], y[D:2 * D], X[2 * D:], y[2 * D:]
            w = W[r]
            u = w - alpha * (Xi.T @ p.dphi(Xi @ w, yi, 1)) / D
            v = (Xo.T @ p.dphi(Xo @ u, yo, 1)) / D
            if alg == "fo-maml":
                acc += v
            elif alg == "hf-maml":
                dk = delta / np.linalg.norm(v)
                gp = Xh.T @ p.dphi(Xh @ (w + dk * v), yh, 1) / D
                gm = Xh.T @ p.dphi(Xh @ (w - dk * v), yh, 1) / D
                acc += v - alpha * (gp - gm) / (2 * dk)
            else:
                acc += v - alpha * (Xh.T @ (p.dphi(Xh @ w, yh, 2) * (Xh @ v))) / D
        out[r] = W[r] - 0.01 * acc / B
    return out


def time_naive(p, alg: str, R: int, min_time: float) -> float:
    alpha = 1 / (6 * p.constants.L)
    delta = 1 / (6 * p.constants.rho * alpha)
    rngs = [replicate_rng(0, r) for r in range(R)]
    W = np.tile(p.initial_point(), (R, 1))
    naive_iteration(p, alg, W, rngs, alpha, delta)
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < min_time:
        W = naive_iteration(p, alg, W, rngs, alpha, delta)
        n += 1
    return (time.perf_counter() - t0) / n


def fresh_data_reference(d: int, R: int, min_time: float) -> float:
    """Reference: a straightforward vectorised HF-MAML step that draws fresh Gaussian data every iteration."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((R, d)) / math.sqrt(d)
    teacher = rng.standard_normal((R, B, d)) / math.sqrt(d)
    alpha, delta = 0.1, 0.1

    def grad(Wp: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        t = np.tanh(np.einsum("rbsd,rbd->rbs", X, Wp))
        return np.einsum("rbs,rbsd->rbd", (t - y) * (1 - t * t), X) / X.shape[2]

    def step(W: np.ndarray) -> np.ndarray:
        X = rng.standard_normal((R, B, 3 * D, d)) / math.sqrt(d)
        y = np.tanh(np.einsum("rbsd,rbd->rbs", X, teacher)) + 0.1 * rng.standard_normal((R, B, 3 * D))
        Wb = np.broadcast_to(W[:, None], (R, B, d))
        u = Wb - alpha * grad(Wb, X[:, :, :D], y[:, :, :D])
        v = grad(u, X[:, :, D:2 * D], y[:, :, D:2 * D])
        dk = delta / np.linalg.norm(v, axis=-1, keepdims=True)
        Xh, yh = X[:, :, 2 * D:], y[:, :, 2 * D:]
        dvec = (grad(Wb + dk * v, Xh, yh) - grad(Wb - dk * v, Xh, yh)) / (2 * dk)
        return W - 0.01 * (v - alpha * dvec).mean(axis=1)

    W = step(W)
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < min_time:
        W = step(W)
        n += 1
    return (time.perf_counter() - t0) / n


def arithmetic_only(p, R: int, min_time: float) -> float:
    """Reference: HF-MAML's arithmetic on data already in place (no sampling, no gather)."""
    from mamltheory.simulate.algorithms import TaskBatch, direction

    cfg = config(p, "hf-maml", R)
    sampler = Sampler(p, cfg)
    batch, _ = sampler.draw([replicate_rng(0, r) for r in range(R)])
    W = np.tile(p.initial_point(), (R, 1))
    direction(p, "hf-maml", W, batch, cfg.alpha, cfg.delta)
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < min_time:
        direction(p, "hf-maml", W, TaskBatch(batch.X_in, batch.y_in, batch.X_o, batch.y_o, batch.X_h, batch.y_h),
                  cfg.alpha, cfg.delta)
        n += 1
    return (time.perf_counter() - t0) / n


def peak_memory(p, cfg: RunConfig) -> tuple[float, float]:
    """(seconds, peak bytes traced by tracemalloc) of one meta-iteration; numpy reports to tracemalloc."""
    sampler = Sampler(p, cfg)
    rngs = [replicate_rng(0, r) for r in range(cfg.replicates)]
    W = np.tile(p.initial_point(), (cfg.replicates, 1))
    meta_step(p, cfg, sampler, rngs, W)  # allocate the reusable gather buffer first
    tracemalloc.start()
    t0 = time.perf_counter()
    meta_step(p, cfg, sampler, rngs, W)
    sec = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return sec, float(peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and shorter timings")
    args = ap.parse_args()
    min_time = 0.3 if args.quick else 1.0
    dims = (10, 100) if args.quick else (10, 100, 1000)
    t_all = time.perf_counter()
    problems = {d: make_problem("tanh-regression", d=d, n_tasks=20, pool_size=200) for d in dims}
    print(f"tanh-regression, 20 tasks × 200 samples; B = {B}, D_in = D_o = D_h = {D}; constant β; "
          "times include sampling\n")

    print("| algorithm | d | R | ms / iteration | iterations / s | M task-sample grads / s |")
    print("|---|---:|---:|---:|---:|---:|")
    times: dict[tuple[str, int, int], float] = {}
    for alg in ALGORITHMS:
        for d in dims:
            for R in (1, 32):
                t = time_iterations(problems[d], config(problems[d], alg, R), min_time if d < 1000 else 0.5,
                                    min_iters=2 if d < 1000 else 1)
                times[alg, d, R] = t
                print(f"| {alg} | {d} | {R} | {1e3 * t:.2f} | {1 / t:.1f} | {evals_per_iter(alg, R) / t / 1e6:.2f} |")

    print("\nempirical exponent of time per iteration in d (R = 32; least squares on log-log over d = "
          f"{', '.join(map(str, dims))}; slope between the two largest d in brackets)")
    for alg in ALGORITHMS:
        ts = np.array([times[alg, d, 32] for d in dims])
        slope = np.polyfit(np.log(dims), np.log(ts), 1)[0]
        last = math.log(ts[-1] / ts[-2]) / math.log(dims[-1] / dims[-2])
        print(f"  {alg:9s} {slope:.2f}  [{last:.2f}]")

    p100 = problems[100]
    t_hf = times["hf-maml", 100, 32]
    rate = evals_per_iter("hf-maml", 32) / t_hf / 1e6
    t_fresh = fresh_data_reference(100, 32, min_time)
    t_arith = arithmetic_only(p100, 32, min_time)
    print(f"\nHF-MAML, d = 100, R = 32, full iteration: {rate:.2f} M/s (goal >= 8); references in this run: "
          f"fresh data every iteration {evals_per_iter('hf-maml', 32) / t_fresh / 1e6:.2f} M/s, "
          f"arithmetic alone (batch already gathered) {evals_per_iter('hf-maml', 32) / t_arith / 1e6:.2f} M/s")

    p10 = problems[10]
    print("\nspeed-up over a naive per-task Python loop (d = 10, R = 32):")
    for alg in ("maml-hvp", "fo-maml", "hf-maml"):
        t_naive = time_naive(p10, alg, 32, min_time)
        print(f"  {alg:9s} naive {1e3 * t_naive:.1f} ms, vectorised {1e3 * times[alg, 10, 32]:.2f} ms: "
              f"{t_naive / times[alg, 10, 32]:.1f}x (goal >= 8x)")

    if 1000 in dims:
        p1k = problems[1000]
        data_bytes = p1k.X.nbytes + (config(p1k, "maml", 32).D_in * 3) * B * 32 * 1000 * 8
        print("\nexplicit-Hessian MAML, d = 1000, R = 32 (640 tasks): chunk = tasks per Hessian chunk")
        print("| chunk | s / iteration | peak MiB traced above the pools and gather buffer |")
        print("|---:|---:|---:|")
        res = {}
        for chunk in (4, 16, 64, None):
            sec, peak = peak_memory(p1k, config(p1k, "maml", 32, chunk))
            label = "default" if chunk is None else str(chunk)
            res[label] = sec
            print(f"| {label} | {sec:.2f} | {peak / 2**20:.0f} |")
        best = min(v for k, v in res.items() if k != "default")
        print(f"default / best chunk time: {res['default'] / best:.2f} (goal <= 1.2); "
              f"a fully vectorised version would hold 640 × 1000² × 8 B = {640 * 8e6 / 2**30:.1f} GiB; "
              f"data (pools + gather buffer) {data_bytes / 2**20:.0f} MiB")

    # Recording: exact ‖∇F(w_k)‖ is a full pass over every pool; its share of a 500-iteration run.
    from mamltheory.simulate.runner import run

    print("\nshare of run time spent recording the exact ||∇F(w_k)|| (default tanh-regression, d = 20, "
          "50 tasks × 200; HF-MAML, B = 20, D = 32, constant β):")
    pdef = make_problem("tanh-regression")
    for R, K, rec in ((8, 500, "every"), (8, 500, "auto"), (32, 500, "auto"), (32, 5000, "auto")):
        cfg = RunConfig(**{**config(pdef, "hf-maml", R).__dict__, "iterations": K, "record": rec})
        r = run(pdef, cfg)
        print(f"  R = {R:2d}, K = {K}, record {rec:5s} ({len(r.k)} points): {100 * r.record_seconds / r.seconds:.1f}% "
              f"of {r.seconds:.2f} s")
    print(f"\ntotal benchmark time {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
