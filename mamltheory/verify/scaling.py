"""Scaling laws of Table 1 and Theorems 4.14-4.21, each as a fitted log-log slope with a 95% interval.

- Bias floors (B, D → ∞): the iteration with the exact expected direction (all tasks, full pools) has
  a fixed point w*; ‖∇F(w*)‖ is the algorithm's own floor. FO-MAML's grows like α (Theorem 4.18: the
  α²L²σ² term); MAML's is 0. HF-MAML's should be 0 too by (131); the δ rule of (142) keeps the
  finite-difference error from vanishing, so its floor is measured, not assumed.
- Noise floors: with a constant step β and finite batches, the stationary E‖∇F(w_k)‖ falls like
  1/√B (the σ²/B and σ̃²/(BD_o) terms) and, in the bound, like 1/√D_in (the σ̃²/D_in term).
- Time per iteration: d² for explicit-Hessian MAML, d for FO-MAML, HF-MAML and HVP-MAML.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy import optimize

from mamltheory.bounds.theorems import alpha_max, hf_delta
from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import exact_direction
from mamltheory.simulate.families import PoolProblem
from mamltheory.simulate.runner import RunConfig, Sampler, meta_step, replicate_rng, run
from mamltheory.verify.check import CONTRADICTED, HOLDS, CheckResult
from mamltheory.verify.stats import loglog_slope


def expected_direction(problem: PoolProblem, algorithm: str, w: np.ndarray, alpha: float) -> np.ndarray:
    """E over tasks and samples of the algorithm's direction at w (B, D_in, D_o, D_h → ∞).

    MAML: ∇F(w) (eq. (30)); FO-MAML: E_i∇f_i(w − α∇f_i(w)) (eq. (9)); HF-MAML: E_i[v_i − α d_i] with the
    central difference d_i of eq. (14) on the full pool and δ_i = δ/‖v_i‖, δ = 1/(6ρα) (eq. (142)).
    """
    delta = hf_delta(problem.constants.rho, alpha) if algorithm == "hf-maml" else None
    return exact_direction(problem, algorithm, w, alpha, delta)


def bias_floor(problem: PoolProblem, algorithm: str, alpha: float, gd_steps: int = 400) -> tuple[float, float]:
    """(‖∇F(w*)‖, ‖direction(w*)‖) at the fixed point w* reached from w_0 by the exact expected iteration.

    Gradient steps with β = 1/(4L) bring w near the fixed point the algorithm goes to; a root solve of
    direction(w) = 0 then pins it (the fixed point does not depend on β).
    """
    w = problem.initial_point()
    beta = 1.0 / (4.0 * problem.constants.L)
    for _ in range(gd_steps):
        w = w - beta * expected_direction(problem, algorithm, w, alpha)
    sol = optimize.root(lambda x: expected_direction(problem, algorithm, x, alpha), w, method="hybr", tol=1e-13)
    w_star = sol.x if sol.success else w
    resid = float(np.linalg.norm(expected_direction(problem, algorithm, w_star, alpha)))
    return float(np.linalg.norm(problem.meta_gradient(w_star, alpha))), resid


def bias_scaling(problem_name: str = "tanh-regression", n_alpha: int = 5) -> list[CheckResult]:
    """Floors of FO-MAML, MAML and HF-MAML over α ∈ [α_max/16, α_max]; FO's slope in α should be 1."""
    problem = make_problem(problem_name)
    L = problem.constants.L
    out = []
    for alg, predicted in (("fo-maml", 1.0), ("maml", None), ("hf-maml", None)):
        a_max = alpha_max(alg, L)
        alphas = a_max * np.geomspace(1 / 16, 1, n_alpha)
        floors = np.array([bias_floor(problem, alg, a)[0] for a in alphas])
        name = f"{alg} bias floor vs α on {problem_name}"
        details = {"alpha": alphas.tolist(), "floor": floors.tolist()}
        if predicted is not None:
            s = loglog_slope(alphas, floors)
            details["slope"] = s.__dict__
            # The floors are deterministic: the interval measures curvature of log-floor, not noise, so the
            # verdict allows the O(α²) corrections to linear growth (|slope − 1| <= 0.1).
            verdict = HOLDS if abs(s.slope - predicted) <= 0.1 else CONTRADICTED
            evidence = (f"‖∇F(w*)‖ at the FO-MAML fixed point (exact expectations) for {n_alpha} α in "
                        f"[{alphas[0]:.3g}, {alphas[-1]:.3g}]: slope {s.slope:.3f}, 95% CI [{s.low:.3f}, {s.high:.3f}], "
                        f"predicted {predicted:g} within 0.1 (Theorem 4.18: the floor is O(ασL), and not below it)")
            out.append(CheckResult(name, "Theorem 4.18 / G.1, eq. (113); Table 1", "scaling", verdict,
                                   observed=s.slope, bound=predicted, ratio=None, evidence=evidence, details=details))
        else:
            worst = float(floors.max())
            theorem = "Theorem F.1, eq. (86)" if alg == "maml" else "Theorem H.1, eq. (131)"
            # With B, D → ∞ the bound of (86)/(131) tends to ε for every ε: any floor above round-off contradicts it.
            tol = 1e-7 * float(np.linalg.norm(problem.meta_gradient(problem.initial_point(), alphas[-1])))
            verdict = HOLDS if worst <= tol else CONTRADICTED
            evidence = (f"‖∇F(w*)‖ at the exact-expectation fixed point for {n_alpha} α up to {alphas[-1]:.3g}: "
                        f"largest {worst:.3g} (tolerance {tol:.1g}); {theorem} with B, D_in, D_o → ∞ allows no floor"
                        + ("" if alg == "maml" else "; the iterates converge to w*, so for ε below this floor no "
                           "iterate reaches ε: the δ rule of (142) keeps a finite-difference bias (see the audit's "
                           "finding on (144)-(145))"))
            if len(floors) >= 3 and np.all(floors > tol):
                s = loglog_slope(alphas, floors)
                details["slope"] = s.__dict__
                evidence += f"; floor ∝ α^{s.slope:.2f} (95% CI [{s.low:.2f}, {s.high:.2f}])"
            out.append(CheckResult(name, theorem, "scaling", verdict, observed=worst, bound=tol,
                                   ratio=worst / tol if tol > 0 else None, evidence=evidence, details=details))
    return out


def fo_floor_sigma_scaling(problem_name: str = "tanh-regression", n: int = 4) -> CheckResult:
    """FO-MAML's floor against the task-gradient spread σ(w*) = (E_i‖∇f_i(w*) − ∇f(w*)‖²)^{1/2}: slope 1.

    The spread is varied through the family's `task_spread`; σ is measured at each fixed point (the
    certificate is a supremum over w and does not move with the teachers).
    """
    floors, sigmas = [], []
    spreads = np.geomspace(0.125, 1.0, n)
    for sp_ in spreads:
        problem = make_problem(problem_name, task_spread=float(sp_))
        alpha = 1 / (20 * problem.constants.L)
        w = problem.initial_point()
        beta = 1.0 / (4.0 * problem.constants.L)
        for _ in range(400):
            w = w - beta * expected_direction(problem, "fo-maml", w, alpha)
        w = optimize.root(lambda x: expected_direction(problem, "fo-maml", x, alpha), w, method="hybr", tol=1e-13).x
        g = problem.task_grad(w[None, :])
        mean = (g * problem.p[:, None]).sum(axis=0)
        sigmas.append(float(np.sqrt((problem.p * ((g - mean) ** 2).sum(axis=1)).sum())))
        floors.append(float(np.linalg.norm(problem.meta_gradient(w, alpha))))
    s = loglog_slope(np.array(sigmas), np.array(floors))
    # O(ασ) bounds the floor from above: as σ → 0 it must fall at least linearly, so only a slope
    # significantly below 1 contradicts it. Steeper is consistent: here task_spread also spreads the
    # task Hessians, and FO-MAML's bias is their covariance with the task gradients.
    verdict = HOLDS if s.high >= 0.85 else CONTRADICTED
    evidence = (f"FO-MAML fixed points (exact expectations, α = 1/(20L)) for task_spread ∈ "
                f"{[round(float(x), 3) for x in spreads]}: measured σ(w*) from {min(sigmas):.3g} to {max(sigmas):.3g}; "
                f"floor ∝ σ^{s.slope:.3f} (95% CI [{s.low:.3f}, {s.high:.3f}]); O(ασL) (Theorem 4.18) needs a slope of "
                f"at least 1 (within 0.15); a steeper one reflects Hessian spread growing with task_spread too")
    return CheckResult(f"fo-maml bias floor vs σ on {problem_name}", "Theorem 4.18 / G.1, eq. (113); Table 1",
                       "scaling", verdict, observed=s.slope, bound=1.0, evidence=evidence,
                       details={"task_spread": spreads.tolist(), "sigma": sigmas, "floor": floors, "slope": s.__dict__})


def noise_floor(problem: PoolProblem, algorithm: str, alpha: float, beta: float, B: int, D_in: int, D_o: int,
                D_h: int, iterations: int, replicates: int, seed: int) -> float:
    """Mean ‖∇F(w_k)‖ over the last half of a constant-step run and over replicates."""
    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm, alpha=alpha,
                    iterations=iterations, replicates=replicates, seed=seed, B=B, D_in=D_in, D_o=D_o, D_h=D_h,
                    step="constant", beta=beta, record="every")
    res = run(problem, cfg)
    tail = res.grad_norm[res.k >= iterations // 2]
    return float(np.nanmean(tail))


def batch_scaling(problem_name: str = "tanh-regression", quick: bool = True, seed: int = 0) -> list[CheckResult]:
    """Stationary E‖∇F‖ of MAML (HVP) against B and against D_in, beside Theorem F.1's bound at each point.

    The bound falls like 1/√B and 1/√D_in only where its σ²/B or σ̃²/D_in term dominates; the check reports
    the fitted slope of the measured floor (95% CI) beside the bound's own slope over the same points, and
    is contradicted only if the measured floor exceeds the bound somewhere.
    """
    from mamltheory.bounds.theorems import THEOREM_F1

    problem = make_problem(problem_name)
    c = problem.constants
    alpha, beta = alpha_max("maml", c.L), 0.25 / c.L
    iters, R = (400, 4) if quick else (3000, 16)
    out = []
    for var, values, fixed in (("B", [20, 40, 80, 160], dict(D_in=32, D_o=32)),
                               ("D_in", [4, 8, 16, 32, 64], dict(B=20, D_o=32))):
        floors, bounds = [], []
        for v in values:
            kw = {**fixed, var: v}
            floors.append(noise_floor(problem, "maml-hvp", alpha, beta, kw["B"], kw["D_in"], kw["D_o"], 8, iters, R,
                                      seed))
            bounds.append(float(THEOREM_F1.accuracy.array(L=c.L, rho=c.rho, sigma=c.sigma, sigma_tilde=c.sigma_tilde,
                                                          alpha=alpha, B=kw["B"], D_in=kw["D_in"], D_o=kw["D_o"],
                                                          eps=0.0)))
        s = loglog_slope(np.array(values, float), np.array(floors))
        sb = loglog_slope(np.array(values, float), np.array(bounds))
        worst = max(f / b for f, b in zip(floors, bounds))
        name = f"MAML noise floor vs {var} on {problem_name}"
        evidence = (f"constant β = {beta:.3g}, α = {alpha:.3g}, {iters} iterations × {R} replicates, mean ‖∇F‖ over the "
                    f"last half, {var} ∈ {values}: measured slope {s.slope:.3f} (95% CI [{s.low:.3f}, {s.high:.3f}]); "
                    f"the bound (86) over the same points: slope {sb.slope:.3f}, its 1/√{var} rate −0.5 where its "
                    f"{var} term dominates; largest floor/bound {worst:.3g}")
        verdict = HOLDS if worst <= 1 else CONTRADICTED
        out.append(CheckResult(name, "Theorem 4.14 / F.1, eq. (86)", "scaling", verdict, observed=s.slope, bound=-0.5,
                               ratio=worst, evidence=evidence,
                               details={var: values, "floor": floors, "bound": bounds, "slope": s.__dict__,
                                        "bound_slope": sb.__dict__}))
    return out


def time_per_iteration(problem: PoolProblem, algorithm: str, B: int = 32, D: int = 32, repeats: int = 5,
                       hessian_chunk: int | None = None) -> float:
    """Median wall time of one meta-iteration (sampling included), one replicate."""
    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm,
                    alpha=1 / (10 * problem.constants.L), iterations=1, replicates=1, seed=0, B=B, D_in=D, D_o=D,
                    D_h=D if algorithm != "fo-maml" else 0, step="constant", beta=1e-3, delta_rule="theory",
                    delta=1.0, hessian_chunk=hessian_chunk)
    sampler = Sampler(problem, cfg)
    rngs = [replicate_rng(0, 0)]
    W = problem.initial_point()[None, :]
    meta_step(problem, cfg, sampler, rngs, W)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        meta_step(problem, cfg, sampler, rngs, W)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_scaling(quick: bool = True, progress: Callable[[str], None] | None = None) -> list[CheckResult]:
    """Time per iteration against d: exponent 2 for explicit-Hessian MAML, 1 for the others (Table 1)."""
    ds = [128, 256, 512, 1024]
    problems = [make_problem("tanh-regression", d=d, n_tasks=8, pool_size=64) for d in ds]
    out = []
    for alg, predicted in (("maml", 2.0), ("maml-hvp", 1.0), ("fo-maml", 1.0), ("hf-maml", 1.0)):
        if progress is not None:
            progress(f"time per iteration of {alg}")
        times = [time_per_iteration(p, alg, repeats=3 if quick else 7) for p in problems]
        s = loglog_slope(np.array(ds, float), np.array(times))
        # Fixed per-iteration overheads bend the curve below the asymptote at small d: allow 0.25 below.
        verdict = HOLDS if s.high >= predicted - 0.25 and s.low <= predicted + 0.25 else CONTRADICTED
        evidence = (f"median of {3 if quick else 7} one-replicate iterations (B = 32, D = 32) at d ∈ {ds}: exponent {s.slope:.2f}, 95% CI "
                    f"[{s.low:.2f}, {s.high:.2f}], predicted {predicted:g} (O(d²) per Hessian, O(d) per gradient)")
        out.append(CheckResult(f"{alg} time per iteration vs d", "Table 1 (runtime per iteration)", "scaling", verdict,
                               observed=s.slope, bound=predicted, evidence=evidence,
                               details={"d": ds, "seconds": times, "slope": s.__dict__}))
    return out
