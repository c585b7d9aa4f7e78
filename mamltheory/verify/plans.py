"""The planner against its theorems: each reference plan meets its theorem's accuracy bound at its integer batches
in exact arithmetic, its T is the theorem's T, and no cheaper integer choice nearby meets the bound.

The plans are the planner's own output (`bounds.planner.plan`, what `mamltheory plan` prints); the bound is the
encoded theorem (`Theorem.accuracy`, `.iterations`), evaluated in exact rationals; the cost is the per-iteration
sample count of docs/planning.md, written here from that page: B(D_in + D_o + D_h) for MAML, B(D_in + D_o) for
FO-MAML, B(D_in + D_o + 2D_h) for HF-MAML, plus B'·D_β for the step size.
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.planner import plan, plan_theorem
from mamltheory.bounds.result import NAME_OF, rational
from mamltheory.bounds.theorems import ALGORITHMS
from mamltheory.bounds.theory import THEORIES
from mamltheory.verify.check import CONTRADICTED, EXACT_TOL, HOLDS, VACUOUS, CheckResult

# (constants, ε, Δ): the README's reference problem, one with larger noise and curvature, and one with a small
# task spread σ where FO-MAML's floor lies below ε (so its plan exists).
REFERENCES = (
    (ProblemConstants(L=1.0, rho=1.0, sigma=0.5, sigma_tilde=1.0, sigma_H=1.0), 0.1, 10.0),
    (ProblemConstants(L=2.0, rho=5.0, sigma=1.5, sigma_tilde=3.0, sigma_H=4.0), 0.5, 3.0),
    (ProblemConstants(L=1.0, rho=1.0, sigma=0.1, sigma_tilde=1.0, sigma_H=1.0), 0.3, 5.0),
)
HESSIAN_BATCHES = {"maml": 1, "fo-maml": 0, "hf-maml": 2}  # D_h-sized batches per task (docs/planning.md)
NEIGHBOURHOOD = 6   # B, D_o within ±6 and every smaller D_in: the brute-force search around a plan


def cost(algorithm: str, B: int, D_in: int, D_o: int, D_h: int, B_prime: int, D_beta: int) -> int:
    """Samples per iteration of the cost model of docs/planning.md."""
    return B * (D_in + D_o + HESSIAN_BATCHES[algorithm] * D_h) + B_prime * D_beta


def _values(c: ProblemConstants, alpha: float, eps: float, gap: float, batch: dict[str, int]) -> dict[str, Any]:
    vals: dict[str, Any] = {k: sp.Rational(rational(v).numerator, rational(v).denominator)
                            for k, v in {**c.as_dict(), "alpha": alpha, "eps": eps, "initial_gap": gap}.items()}
    vals.update({k: sp.Integer(v) for k, v in batch.items()})
    return vals


def _symbol_values(thm: Any, vals: dict[str, Any]) -> dict[sp.Symbol, Any]:
    """The values by the bound's sympy symbols."""
    return {s: vals[NAME_OF[s]] for s in thm.accuracy.expr.free_symbols | thm.iterations.expr.free_symbols}


def plan_check(algorithm: str, theory: str, c: ProblemConstants, eps: float, gap: float) -> CheckResult:
    """One reference plan (at the theorem's largest α, 1/(cL)): bound <= ε at its batches (exact), T = the
    theorem's T, and no cheaper (B, D_in, D_o) within NEIGHBOURHOOD meets the bound."""
    p = plan(algorithm, c, eps, gap, theory=theory)
    thm = plan_theorem(p)   # the sharp theory: its chain at the plan's chosen free choices, derived again
    name = f"plans: {algorithm} ({theory}) at ε = {eps:g} on L = {c.L:g}, ρ = {c.rho:g}, σ = {c.sigma:g}"
    check_id = f"plans.{algorithm}.{theory}.reference-{REFERENCES.index((c, eps, gap)) + 1}"
    if not p.feasible:
        return CheckResult(name=name, source=f"{thm.name}, eq. ({thm.accuracy_eq})", kind="plans", verdict=VACUOUS,
                           id=check_id, result=thm.label,
                           evidence=f"no plan to check: {p.reason}", details={"algorithm": algorithm, "theory": theory})
    # the planner's α: the theorem's largest, 1/(cL) exactly (its float is below it by rounding), or the user's
    vals = _values(c, p.alpha, eps, gap, p.batch)
    vals["alpha"] = 1 / (thm.alpha_L_max * vals["L"])
    sym = _symbol_values(thm, vals)
    acc = thm.accuracy.expr.subs(sym)
    meets = bool(sp.simplify(acc - vals["eps"]) <= 0)
    T = int(thm.iterations.expr.subs(sym))
    b = p.batch
    mine = cost(algorithm, b["B"], b["D_in"], b["D_o"], b["D_h"], b["B_prime"], b["D_beta"])
    cheaper = _cheaper_meeting(thm, algorithm, vals, b, mine)
    ok = meets and T == p.iterations and mine == p.samples_per_iteration and not cheaper
    wrong = ([] if meets else [f"the bound at the plan's batches is {float(acc):.6g} > ε"]) \
        + ([] if T == p.iterations else [f"T = {p.iterations} against the theorem's {T}"]) \
        + ([] if mine == p.samples_per_iteration else [f"{p.samples_per_iteration} samples per iteration "
                                                        f"against the cost model's {mine}"]) \
        + ([f"a cheaper choice meets the bound: {cheaper}"] if cheaper else [])
    return CheckResult(
        name=name, source=f"{thm.name}, eqs. ({thm.accuracy_eq}), ({thm.iterations_eq})", kind="plans",
        id=check_id, result=thm.label,
        verdict=HOLDS if ok else CONTRADICTED, observed=float(acc), bound=eps, ratio=float(acc) / eps,
        power=1 + EXACT_TOL,
        evidence=(f"B = {b['B']}, D_in = {b['D_in']}, D_o = {b['D_o']}, D_h = {b['D_h']}: bound {float(acc):.6g} "
                  f"(exact) {'<=' if meets else '>'} ε; T = {p.iterations} (theorem: {T}); {mine} samples per "
                  f"iteration; every (B, D_o) within ±{NEIGHBOURHOOD} and D_in <= the plan's with a lower cost "
                  "checked exactly" + ("" if ok else "; " + "; ".join(wrong))),
        details={"algorithm": algorithm, "theory": theory, "batch": b, "T": p.iterations, "T_theorem": T,
                 "cheaper": cheaper})


def _cheaper_meeting(thm: Any, algorithm: str, vals: dict[str, Any], b: dict[str, int], mine: int) -> dict | None:
    """A (B, D_in, D_o) of lower cost within the neighbourhood that meets the bound (float screen, exact check)."""
    Bs = range(max(thm.B_min, b["B"] - NEIGHBOURHOOD), b["B"] + NEIGHBOURHOOD + 1)
    Dos = range(max(1, b["D_o"] - NEIGHBOURHOOD), b["D_o"] + NEIGHBOURHOOD + 1)
    D_in_max = b["D_in"]
    fvals = {k: float(v) for k, v in vals.items()}
    cand = []
    for B_, D_o in itertools.product(Bs, Dos):
        # the least D_in at which the bound (a decreasing function of D_in) meets ε, by bisection on floats
        lo, hi = 1, D_in_max
        f = lambda d: thm.accuracy.array(**{**fvals, "B": B_, "D_o": D_o, "D_in": d})  # noqa: E731
        if f(hi) > fvals["eps"] * (1 + 1e-9):
            continue
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if f(mid) <= fvals["eps"] * (1 + 1e-9) else (mid + 1, hi)
        c_ = cost(algorithm, B_, lo, D_o, b["D_h"], b["B_prime"], b["D_beta"])
        if c_ < mine:
            cand.append((c_, B_, lo, D_o))
    for c_, B_, D_in, D_o in sorted(cand):
        trial = {**vals, "B": sp.Integer(B_), "D_in": sp.Integer(D_in), "D_o": sp.Integer(D_o)}
        sym = _symbol_values(thm, trial)
        if bool(sp.simplify(thm.accuracy.expr.subs(sym) - trial["eps"]) <= 0):
            return {"B": B_, "D_in": D_in, "D_o": D_o, "cost": c_}
    return None


def plan_checks() -> list[CheckResult]:
    """Every reference plan of every algorithm under every theory."""
    return [plan_check(a, th, c, eps, gap)
            for c, eps, gap in REFERENCES for a in ALGORITHMS for th in THEORIES]
