"""Sampled theorem checks that can fail: the planner's plan, run by the runner, judged against ε.

On a low-noise family (`LowNoiseQuadratic`: 1-D least squares whose certified σ, σ̃ are ~0.4% of
‖∇F(w_0)‖ and σ_H = 0, ρ = 0 exactly) the theorem's plan is small enough to run: ε = ‖∇F(w_0)‖/2 is far
above the noise floor, so the planner (`bounds.planner.plan`, repaired and sharp theories, default α) returns
B = 20, D_in = D_o = D_h = B' = D_β = 1 and a T of a few thousand. The runner (`simulate.runner.run`)
runs R replicates with exactly those batches, the plan's step rule β_k = β̃(w_k)/c (eq. (26)) and δ,
recording the exact ‖∇F(w_k)‖ at every k.

The claim (F.1 (97), G.1 (113), H.1 (131″) at the plan's batches): some iterate w_ε among w_0..w_{T−1}
has E‖∇F(w_ε)‖ <= ε, so E[min_{k<T} ‖∇F(w_k)‖] <= ε. Per replicate m_r = min_{k<T} ‖∇F(w_k)‖ (a
diverged replicate keeps the minimum of its finite iterates: later ones are infinite). Decided with
one-sided 95% Student-t bounds on E m over the R replicates:
* holds when the upper bound is <= ε. The run is made first for PREFIX iterations, then 4 times longer
  until the bound meets ε or the run covers w_0..w_{T−1}: the minimum over a prefix is >= the minimum over
  w_0..w_{T−1}, so a prefix that meets ε decides (the replicate streams make a prefix the first iterations
  of the full run, bit for bit);
* otherwise the run covers w_0..w_{T−1} (or every replicate diverged) and it is contradicted when the
  lower bound exceeds ε; else inconclusive.
Power: the ratio E m/ε the test detects at the observed spread, 1 + t_{0.95,R−1}·s/(√R·ε).
Budget: a plan whose T exceeds the iteration budget, or whose T·R·(samples per iteration) exceeds the
sample budget, is refused up front (inconclusive, with the sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mamltheory.bounds import planner
from mamltheory.bounds.theorems import theorem
from mamltheory.bounds.theory import REPAIRED, SHARP
from mamltheory.simulate import runner
from mamltheory.simulate.families import Array, PoolProblem, QuadraticProblem
from mamltheory.verify.check import (
    CONTRADICTED,
    SIZE_LIMITS,
    EXACT_TOL,
    HOLDS,
    INCONCLUSIVE,
    CheckResult,
    ratio_of,
)
from mamltheory.verify.stats import lower_bound, t_power, upper_bound

ALGORITHMS = ("maml", "fo-maml", "hf-maml")
LEVEL = 0.95
PREFIX = 64            # iterations run first, then 4x more each time until ε is met or T − 1 is covered


@dataclass(frozen=True)
class RunBudget:
    """Sizes a planned run may take (verify.check.SIZE_LIMITS); a plan above either is refused up front."""

    iterations: float      # T
    samples: float         # T·R·(per-sample gradients and Hessians per iteration, the plan's count)


QUICK_BUDGET = RunBudget(iterations=SIZE_LIMITS["theorem.planned_iterations"][0],
                         samples=SIZE_LIMITS["theorem.planned_samples"][0])
FULL_BUDGET = RunBudget(iterations=SIZE_LIMITS["theorem.planned_iterations"][1],
                        samples=SIZE_LIMITS["theorem.planned_samples"][1])


class LowNoiseQuadratic(QuadraticProblem):
    """1-D least squares f_i(w) = ½ E_θ (xw − y)² with every feature x = ±s: the tasks share the curvature
    M_i = s², differ by their minimisers c_i (spread `spread`), and the labels carry a centred noise of
    size `noise`. QuadraticProblem's certificates then give L = s², ρ = 0 exactly (ρ_floor carried), σ_H = 0
    (x x = M_i for every sample), σ = (E_i|b_i − b̄|²)^{1/2} and σ̃ = max_i (E_θ|yx − b_i|²)^{1/2} on all of
    R (the ‖w‖ <= radius terms vanish with M_i − M̄ = 0 and x x − M_i = 0)."""

    name: ClassVar[str] = "low-noise-quadratic"
    constants_domain: ClassVar[str] = "all of R"

    def __init__(self, n_tasks: int = 4, pool_size: int = 4, scale: float = 1.0, center: float = 1.5,
                 spread: float = 0.01, noise: float = 0.01, seed: int = 0) -> None:
        params = {**QuadraticProblem.defaults, "d": 1, "n_tasks": n_tasks, "pool_size": pool_size, "seed": seed,
                  "scale": scale, "center": center, "spread": spread, "noise": noise}
        c = center + spread * np.linspace(-1.0, 1.0, n_tasks)                    # task minimisers
        sign = np.where(np.arange(pool_size) % 2 == 0, 1.0, -1.0)
        X = np.broadcast_to((scale * sign)[None, :, None], (n_tasks, pool_size, 1)).copy()
        y = X[..., 0] * c[:, None] + noise * np.tile(np.linspace(-1.0, 1.0, pool_size), (n_tasks, 1))
        PoolProblem.__init__(self, X, y, params)


def exact_gap(problem: QuadraticProblem, w0: Array, alpha: float) -> float:
    """Δ = F(w_0) − min F exactly: F is the quadratic ½Σ_i p_i (w − w_i*)ᵀ A_i M_i A_i (w − w_i*) + const
    (A_i = I − αM_i, QuadraticProblem.closed_form_meta), minimised by one Newton step from w_0."""
    M, _, _, _ = problem.normal_equations()
    A = np.eye(problem.d) - alpha * M
    Q = np.einsum("n,nde->de", problem.p, A @ M @ A)
    w_star = w0 - np.linalg.solve(Q, problem.meta_gradient(w0, alpha))
    return float(problem.meta_objective(w0, alpha) - problem.meta_objective(w_star, alpha))


def min_norms(result: runner.RunResult, T: int) -> Array:
    """m_r = min_{k<T} ‖∇F(w_k)‖ per replicate over the recorded iterates (non-finite: after divergence)."""
    G = np.where(np.isfinite(result.grad_norm), result.grad_norm, np.inf)[result.k < T]
    return G.min(axis=0)


def planned_run_check(algorithm: str, quick: bool = True, replicates: int = 8, seed: int = 0,
                      problem: QuadraticProblem | None = None, eps_fraction: float = 0.5,
                      budget: RunBudget | None = None, theory: str = REPAIRED) -> CheckResult:
    """The theorem's plan (`theory`: repaired, or sharp with the free choices its plan chose) for
    ε = eps_fraction·‖∇F(w_0)‖ run by the runner on `problem` (default the low-noise family); see the module doc
    for the decision, power and budget."""
    problem = problem or LowNoiseQuadratic()
    budget = budget or (QUICK_BUDGET if quick else FULL_BUDGET)
    th = theorem(algorithm, theory)
    c = problem.constants
    alpha = float(planner.theorem_alpha(th, c, None)[0])
    w0 = problem.initial_point()
    g0 = float(np.linalg.norm(problem.meta_gradient(w0, alpha)))
    eps = eps_fraction * g0
    gap = exact_gap(problem, w0, alpha)
    fam = f"{problem.name} (d = {problem.d}, {problem.n_tasks} tasks × {problem.pool_size} samples)"
    name = f"{th.name} ({algorithm}) on {problem.name}, the planner's plan run"
    ident = {"id": f"theorem.planned.{th.label}.{theory}.{problem.name}", "result": th.label}
    pl = planner.plan(algorithm, c, eps=eps, initial_gap=gap, alpha=alpha, theory=theory)
    details: dict[str, Any] = {"algorithm": algorithm, "theory": theory, "alpha": alpha, "eps": eps,
                               "grad_norm_w0": g0, "initial_gap": gap, "constants": c.as_dict(),
                               "batch": pl.batch, "T": pl.iterations, "step_divisor": pl.step_divisor,
                               "delta": pl.delta, "replicates": replicates, "choices": pl.choices}
    if not pl.feasible or pl.iterations is None:
        return CheckResult(name, th.accuracy.source, "theorem", INCONCLUSIVE, **ident, details=details,
                           evidence=f"{fam}: no plan at ε = {eps:.4g}: {pl.reason}")
    T, b = int(pl.iterations), pl.batch
    cost = T * replicates * int(pl.samples_per_iteration or 0)
    if T > budget.iterations or cost > budget.samples:
        return CheckResult(name, th.accuracy.source, "theorem", INCONCLUSIVE, **ident, details=details,
                           evidence=(f"{fam}: the plan needs T = {T:,} iterations × R = {replicates} × "
                                     f"{pl.samples_per_iteration:,} samples per iteration = {cost:.3g} samples, above "
                                     f"the budget (T <= {budget.iterations:,}, {budget.samples:.0e} samples): "
                                     "sizes refused, no run made"))

    def run_for(iterations: int) -> runner.RunResult:
        cfg = runner.RunConfig(
            problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm, alpha=alpha,
            iterations=iterations, replicates=replicates, seed=seed, B=b["B"], D_in=b["D_in"], D_o=b["D_o"],
            D_h=b["D_h"] if algorithm != "fo-maml" else 0, step="theorem", step_divisor=pl.step_divisor,
            B_prime=b["B_prime"], D_beta=b["D_beta"], delta_rule="scaled" if algorithm == "hf-maml" else None,
            delta=pl.delta, record="every")
        return runner.run(problem, cfg)

    horizon = T - 1                        # iterates w_0..w_{T−1}
    ran = min(PREFIX, horizon)
    while True:
        result = run_for(ran)
        m = min_norms(result, T)
        ucb = upper_bound(m, LEVEL)
        if ucb <= eps or ran >= horizon or len(result.diverged) == replicates:
            break
        ran = min(4 * ran, horizon)         # the prefix did not meet ε: a longer one, at most w_0..w_{T−1}
    covered = ran >= horizon or len(result.diverged) == replicates
    lcb = lower_bound(m, LEVEL) if np.all(np.isfinite(m)) else math.inf
    verdict = HOLDS if ucb <= eps else (CONTRADICTED if covered and lcb > eps else INCONCLUSIVE)
    power = max(t_power(m[None, :], eps, LEVEL), 1 + EXACT_TOL)   # one "iterate": the replicate minima m_r
    observed = float(np.mean(m))
    first = [int(np.argmax(result.grad_norm[:, r] <= eps)) if np.any(result.grad_norm[:, r] <= eps) else None
             for r in range(replicates)]
    details.update({"iterations_run": ran, "min_grad_norm": m.tolist(), "ucb95": ucb, "lcb95": lcb,
                    "first_k_below_eps": first, "diverged": sorted(result.diverged), "covered_T": covered})
    evidence = (f"{fam}, certified σ = {c.sigma:.3g}, σ̃ = {c.sigma_tilde:.3g}, σ_H = {c.sigma_H:.3g} against "
                f"‖∇F(w_0)‖ = {g0:.4g}; the planner's {theory} plan at ε = ‖∇F(w_0)‖·{eps_fraction:g} = {eps:.4g}, "
                f"α = {alpha:.4g}, Δ = {gap:.4g} (exact): B = {b['B']}, D_in = {b['D_in']}, D_o = {b['D_o']}, "
                f"D_h = {b['D_h']}, B' = {b['B_prime']}, D_β = {b['D_beta']}, β_k = β̃(w_k)/{pl.step_divisor}"
                + (f", δ = {pl.delta:.4g}" if pl.delta is not None else "") + f", T = {T:,}; "
                f"R = {replicates} runs of the runner, {ran:,} iterations"
                + ("" if ran >= horizon else f" (a prefix of the T − 1 = {horizon:,})")
                + f", exact ‖∇F(w_k)‖ at every k; mean of min_k‖∇F(w_k)‖ {observed:.4g}, 95% bounds "
                f"[{lcb:.4g}, {ucb:.4g}] vs ε = {eps:.4g}; test: one-sided 95% t bounds on E min_k‖∇F(w_k)‖ "
                f"(holds: upper <= ε; contradicted: lower > ε over w_0..w_{{T−1}}); power {power:.4g}")
    if verdict == INCONCLUSIVE:
        evidence = "inconclusive: " + evidence
    return CheckResult(name, th.accuracy.source, "theorem", verdict, observed=observed, bound=eps, **ident,
                       ratio=ratio_of(observed, eps), evidence=evidence, details=details, power=power)


def planned_run_checks(quick: bool = True, seed: int = 0) -> list[CheckResult]:
    """The planned-run check of repaired and sharp F.1, G.1, H.1 on the low-noise family (R = 8 quick, 16 full);
    the sharp plans run with the step divisor, batches and δ their chosen proof fixes."""
    R = 8 if quick else 16
    problem = LowNoiseQuadratic()
    return [planned_run_check(alg, quick=quick, replicates=R, seed=seed, problem=problem, theory=th)
            for th in (REPAIRED, SHARP) for alg in ALGORITHMS]
