"""Theorem checks: F.1, G.1, H.1 against simulation with the theorem's step rule and the planner's batches.

The claim: some iterate w_k with k < T has E‖∇F(w_k)‖ <= the accuracy bound. Decided with split samples:
the iterate is chosen on a random half A of the replicates (least mean ‖∇F(w_k)‖), and the claim is
tested on the other half B with a one-sided 95% Student-t upper bound (holds when it is below the bound).
It is contradicted only when the run reached T and, at every recorded k < T, a Bonferroni-corrected
one-sided 95% lower bound over all replicates exceeds the bound. A replicate that diverged counts as
‖∇F‖ = ∞ from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mamltheory.bounds.planner import plan_kshot
from mamltheory.bounds.theorems import THEOREMS, alpha_max
from mamltheory.simulate import make_problem
from mamltheory.simulate.cached import run_or_load
from mamltheory.simulate.runner import RunConfig
from mamltheory.verify.check import CONTRADICTED, HOLDS, NOT_RUN, CheckResult
from mamltheory.verify.stats import lower_bound, split_select, upper_bound

THEOREM = {alg: t.name for alg, t in THEOREMS.items()}


def theorem_check(problem_name: str, algorithm: str, K: int = 10, replicates: int = 8, max_iterations: int = 200,
                  seed: int = 0, store: str = ":memory:", problem_params: dict[str, Any] | None = None,
                  step_scale: float = 1.0, progress: Callable[[int], None] | None = None) -> CheckResult:
    """Run `algorithm` on `problem_name` at the planner's K-shot batches and judge the theorem's claim.

    `step_scale` multiplies the theorem's step size β_k = β̃(w_k)/c (1 = the theorem; > 1 breaks it on
    purpose, for the tests that show the check can fail).
    """
    problem = make_problem(problem_name, **(problem_params or {}))
    w0 = problem.initial_point()
    name = f"{THEOREM[algorithm]} on {problem_name}"
    source = THEOREMS[algorithm].accuracy.source
    alpha = alpha_max(algorithm, problem.constants.L)  # the plan's default α
    gap = float(problem.meta_objective(w0, alpha))  # F >= 0, so F(w_0) >= Δ
    plan = plan_kshot(algorithm, problem.constants, K, initial_gap=max(gap, 1e-12))
    bound, T = plan.accuracy_bound, plan.iterations
    if not plan.feasible or bound is None or T is None:
        return CheckResult(name, source, "theorem", NOT_RUN, evidence=f"no plan: {plan.reason}")
    b = plan.batch
    iterations = int(min(T - 1, max_iterations))  # iterates w_0..w_{T-1}
    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm,
                    alpha=plan.alpha, iterations=max(iterations, 1), replicates=replicates, seed=seed,
                    B=b["B"], D_in=b["D_in"], D_o=b["D_o"], D_h=b["D_h"] if algorithm != "fo-maml" else 0,
                    step="theory", step_divisor=plan.step_divisor / step_scale, B_prime=b["B_prime"],
                    D_beta=b["D_beta"], delta_rule="theory" if algorithm == "hf-maml" else None,
                    delta=plan.delta, record="auto")
    result, key, cached = run_or_load(problem, cfg, store, progress)
    G = np.where(np.isfinite(result.grad_norm), result.grad_norm, np.inf)
    reached_T = iterations >= T - 1
    d = decide(G, result.k, float(bound), T, reached_T, np.random.default_rng(seed))
    grad0 = float(np.mean(G[0]))
    details = {"K": K, "batch": b, "alpha": plan.alpha, "step_divisor": plan.step_divisor, "step_scale": step_scale,
               "T": T, "iterations_run": iterations, "replicates": replicates, "store_key": key,
               "grad_norm_w0": grad0, "bound_over_grad_norm_w0": bound / grad0 if grad0 > 0 else None,
               "diverged": sorted(result.diverged), **d}
    evidence = (f"R = {replicates} replicates (iterate chosen on {d['n_select']}, tested on {d['n_test']}); "
                f"K-shot plan K = {K}: B = {b['B']}, D_h = {b['D_h']}, B' = {b['B_prime']}, D_β = {b['D_beta']}, "
                f"β_k = β̃/{plan.step_divisor / step_scale:g}; T = {T:,}, ran {iterations:,}; chosen k = "
                f"{d['k_selected']}, mean {d['observed']:.4g}, 95% upper bound {d['ucb95']:.4g} vs bound {bound:.4g}; "
                f"first k with mean <= bound: {d['first_k_meeting_bound']}; bound/‖∇F(w_0)‖ = {bound / grad0:.3g}")
    if grad0 <= bound:
        evidence += " (vacuous here: the bound exceeds ‖∇F(w_0)‖, so w_0 itself meets it)"
    verdict, observed = d["verdict"], d["observed"]
    if verdict == NOT_RUN:
        evidence = "inconclusive: " + evidence + ("" if reached_T else f"; T = {T:,} is beyond the {iterations:,} run")
    return CheckResult(name, source, "theorem", verdict, observed=observed, bound=float(bound),
                       ratio=observed / float(bound), evidence=evidence, details=details)


def decide(G: np.ndarray, ks: np.ndarray, bound: float, T: int, reached_T: bool,
           rng: np.random.Generator) -> dict[str, Any]:
    """Split-sample decision on "some k < T has E‖∇F(w_k)‖ <= bound" from G (recorded k × replicates).

    holds: the 95% upper bound on half B at the iterate chosen on half A is <= bound. contradicted: T was
    reached and every recorded k < T has a Bonferroni 95% lower bound (all replicates) above the bound.
    Otherwise "could not run" (inconclusive).
    """
    inside = ks < T
    G, ks = G[inside], ks[inside]
    k_idx, A, Bh = split_select(np.where(np.isfinite(G), G, 1e300), rng)
    observed = float(np.mean(G[k_idx, Bh]))
    ucb = upper_bound(G[k_idx, Bh])
    met = np.flatnonzero(G.mean(axis=1) <= bound)
    level = 1 - 0.05 / len(ks)
    lcbs = np.array([lower_bound(row, level) if np.all(np.isfinite(row)) else np.inf for row in G])
    if ucb <= bound:
        verdict = HOLDS
    elif reached_T and np.all(lcbs > bound):
        verdict = CONTRADICTED
    else:
        verdict = NOT_RUN
    return {"verdict": verdict, "observed": observed, "ucb95": ucb, "k_selected": int(ks[k_idx]),
            "first_k_meeting_bound": int(ks[met[0]]) if met.size else None, "n_select": len(A), "n_test": len(Bh),
            "min_lower_bound": float(np.min(lcbs))}


def theorem_checks(quick: bool = True, seed: int = 0, store: str = ":memory:",
                   progress: Callable[[str], None] | None = None) -> list[CheckResult]:
    """F.1, G.1, H.1 on the certified families: K-shot plans, R replicates (8 quick, 32 full)."""
    families = ("tanh-regression", "nonconvex-logistic")
    shots = (10,) if quick else (10, 50)
    R, cap = (8, 200) if quick else (32, 2000)
    out = []
    for fam in families:
        for alg in THEOREM:
            for K in shots:
                if progress is not None:
                    progress(f"{THEOREM[alg]} on {fam}, K = {K}")
                out.append(theorem_check(fam, alg, K=K, replicates=R, max_iterations=cap, seed=seed, store=store))
    return out
