"""Planner: the cheapest batch sizes, step-size rule, δ and iteration budget that Theorems F.1/G.1/H.1 guarantee.

Cost model (per meta-iteration): B tasks each draw D_in + D_o gradient samples; MAML adds D_h Hessian
samples per task (O(d²) arithmetic each as explicit d×d matrices, O(d) as Hessian-vector products),
HF-MAML adds two gradient batches of size D_h per task (eq. (12)), FO-MAML none; the step size
β_k = β̃(w_k)/c of eq. (26) costs B'·D_β gradient samples. "Samples per iteration" counts every per-sample
gradient or Hessian evaluation:

    MAML     B(D_in + D_o + D_h) + B'D_β      arithmetic ≈ (B(D_in + D_o) + B'D_β)·d + (B·D_h + B)·d²
    FO-MAML  B(D_in + D_o) + B'D_β            arithmetic ≈ samples·d
    HF-MAML  B(D_in + D_o + 2D_h) + B'D_β     arithmetic ≈ samples·d

The planner minimises samples per iteration subject to every precondition of the theorem and to its
accuracy bound being <= ε, over integers, and certifies minimality (see `_cheapest_batches`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

import sympy as sp

from mamltheory.assumptions import CONSTANT_FLAGS, ProblemConstants
from mamltheory.bounds.limit_worst_case import limit_evidence
from mamltheory.bounds.result import rational
from mamltheory.bounds.symbols import alpha as alpha_sym, rho as rho_sym, sigma_H as sigma_H_sym
from mamltheory.bounds.theorems import ALGORITHMS, Theorem, theorem
from mamltheory.bounds.theorems.base import noise_at
from mamltheory.bounds.theory import DEFAULT_THEORY, SHARP
from mamltheory.errors import InputError
from mamltheory.parsing import integer, integers, number, positive

# Integer points whose float cost is within this relative margin of the best are re-checked exactly.
_FLOAT_MARGIN = 1e-9
# Largest number of B values the exhaustive part of the search walks through.
_MAX_B_RANGE = 20_000_000
# Magnitudes the planner accepts for L, ρ, α, ε and Δ (the σ's: any value up to the upper end). Its
# arithmetic is exact rational, but the batch search and the reported bounds are floats and the theorems
# multiply up to four of these quantities ((ρασ/L)², 1/(6ρα), ...): inside [1e-30, 1e30] every such
# product stays far inside double precision (~1e±308); outside, they overflow. A small σ only makes a
# batch smaller, so the σ's have no lower end.
SCALE = (1e-30, 1e30)
# Largest batch size the planner reports: integers up to 2^53 are exact in the float search.
MAX_BATCH = 2**53


@dataclass
class Plan:
    """What the theory guarantees for one algorithm at one α: batches, step rule, δ, budget, cost."""

    algorithm: str
    theorem: str
    mode: str                      # "plan" (choose batches for ε), "evaluate" (given batches), "k-shot"
    alpha: float | None
    alpha_rule: str
    eps: float | None
    initial_gap: float | None
    batch: dict[str, int]
    step_divisor: int
    step_rule: str
    delta: float | None
    delta_rule: str | None
    feasible: bool
    reason: str | None = None
    accuracy_bound: float | None = None
    iterations: int | None = None
    gradient_samples: int | None = None
    hessian_samples: int | None = None
    samples_per_iteration: int | None = None
    arithmetic_per_iteration: dict[str, int] | None = None
    total_samples: int | None = None
    floor: float | None = None
    alpha_reachable: float | None = None
    best_accuracy: float | None = None
    minimality: dict[str, Any] | None = None
    preconditions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cheapest: bool = False
    theory: str = DEFAULT_THEORY
    guaranteed: bool = True        # every step of the theorem's proof chain holds (never ★ cheapest otherwise)
    proved_by: str = ""            # the theorem whose chain guarantees it when its own proof fails
    choices: dict[str, Any] | None = None  # sharp theory: the proof's free choices chosen, the search, the constants
    limit: dict[str, Any] | None = None    # M against gradient descent's exact worst case at its step (limit_worst_case)
    failing_steps: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of `plan --json` (docs/planning.md)."""
        out = dict(self.__dict__)
        out["step_size"] = {"rule": self.step_rule, "c": self.step_divisor}
        del out["step_rule"], out["step_divisor"]
        return out


def check_scale(constants: ProblemConstants, **values: float | None) -> None:
    """InputError naming the flag if a constant or α, ε, Δ (given as alpha=, eps=, initial_gap=) is outside SCALE."""
    lo, hi = SCALE
    named = {CONSTANT_FLAGS[k]: v for k, v in constants.as_dict().items()}
    named.update({"--" + k.replace("_", "-"): v for k, v in values.items() if v is not None})
    for flag, v in named.items():
        low = 0.0 if flag in ("--sigma", "--sigma-tilde", "--sigma-h") else lo
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not low <= abs(v) <= hi:
            raise InputError(f"{flag}: must lie in [{low:g}, {hi:g}] in magnitude (the planner's range: beyond it "
                             f"the theorems' products leave double precision), got {v:g}", field=flag[2:])


def _at_most(n: int | Fraction, flag: str, what: str) -> None:
    """InputError if a batch size the theorem needs exceeds MAX_BATCH."""
    if n > MAX_BATCH:
        raise InputError(f"{flag}: {what} = {float(n):.3g} > 2^53, beyond any computation (the planner reports "
                         "batch sizes up to 2^53)", field=flag[2:])


def _driver(c: ProblemConstants, up: tuple[str, ...]) -> str:
    """The flag of the constant that most inflates a batch growing with `up` and with 1/L (α <= 1/(cL))."""
    weight = {k: math.log10(getattr(c, k)) for k in up if getattr(c, k) > 0}
    weight["L"] = -math.log10(c.L)
    return CONSTANT_FLAGS[max(weight, key=weight.__getitem__)]


def theorem_alpha(thm: Theorem, constants: ProblemConstants, alpha: float | None) -> tuple[Fraction, str]:
    """α as an exact rational and its source: the user's, checked against the theorem's range
    (0, 1/(cL)] (InputError with field "alpha" outside it), or the largest allowed."""
    check_scale(constants, alpha=alpha)
    alpha_max = Fraction(1, thm.alpha_L_max) / rational(constants.L)
    if alpha is None:
        return alpha_max, f"largest allowed by {thm.name}: α = 1/({thm.alpha_L_max}L) = {float(alpha_max):.6g}"
    a = rational(number("--alpha", alpha, text=False))
    if not 0 < a <= alpha_max:
        raise InputError(f"--alpha: must lie in (0, 1/({thm.alpha_L_max}L)] = (0, {float(alpha_max):.6g}] "
                         f"for {thm.name}, got {alpha}", field="alpha")
    return a, "given"


def _exact_values(constants: ProblemConstants, alpha: Fraction, **extra: Any) -> dict[str, Any]:
    vals: dict[str, Any] = {k: rational(v) for k, v in constants.as_dict().items()}
    vals["alpha"] = alpha
    vals.update({k: (rational(v) if isinstance(v, (int, float, Fraction)) else v) for k, v in extra.items()})
    return vals


def _ceil_min1(x: Fraction) -> int:
    return max(1, math.ceil(x))


def _fixed(thm: Theorem, c: ProblemConstants, a: Fraction) -> dict[str, int]:
    L, rho, s, st, sH = (rational(x) for x in (c.L, c.rho, c.sigma, c.sigma_tilde, c.sigma_H))
    # D_h from the theorem's own condition, in exact rationals (0: no Hessian batch, repaired G.1).
    dh_expr = thm.D_h_min.subs({alpha_sym: sp.Rational(a.numerator, a.denominator),
                                rho_sym: sp.Rational(rho.numerator, rho.denominator),
                                sigma_H_sym: sp.Rational(sH.numerator, sH.denominator)})
    out = {
        "D_h": 0 if thm.D_h_min == 0 else max(1, int(dh_expr)),
        "B_prime": _ceil_min1(Fraction(1, 2) * (rho * a * s / L) ** 2),
        "D_beta": _ceil_min1((2 * rho * a * st / L) ** 2),
    }
    with_rho = rho_sym in thm.D_h_min.free_symbols
    _at_most(out["D_h"], _driver(c, ("rho", "sigma_H") if with_rho else ("sigma_H",)),
             f"the theorem needs the Hessian batch D_h = {sp.sstr(thm.D_h_min).replace('ceiling', 'ceil')}")
    _at_most(out["B_prime"], _driver(c, ("rho", "sigma")), "the step size of Lemma 4.11 needs B' = ⌈½(ρασ/L)²⌉")
    _at_most(out["D_beta"], _driver(c, ("rho", "sigma_tilde")),
             "the step size of Lemma 4.11 needs D_β = ⌈(2ρασ̃/L)²⌉")
    return out










def _windows(Bs: np.ndarray, cap: np.ndarray | None, sf: float, af: float, h: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (B, D_o, D_in lower bound, cost lower bound) in the D_o windows of `_cheapest_batches` at budget 1;
    cap = cost ceiling per B (None: the floor and ceiling of the continuous optimum x*)."""
    R = 1.0 - sf / Bs
    a_o = af / Bs
    xstar = (a_o + np.sqrt(a_o * af)) / R
    if cap is None:
        lo = np.maximum(1, np.floor(xstar))
        hi = lo + 1
    else:
        cB = cap / Bs - h
        p = af - a_o - cB * R
        disc = np.maximum(p * p - 4 * R * cB * a_o, 0.0)
        lo = np.maximum(1, np.ceil((-p - np.sqrt(disc)) / (2 * R) * (1 - _FLOAT_MARGIN) - 1e-9))
        hi = np.floor((-p + np.sqrt(disc)) / (2 * R) * (1 + _FLOAT_MARGIN) + 1e-9)
    lo = np.maximum(lo, np.floor(a_o / R) + 1)
    width = np.maximum(hi - lo + 1, 0).astype(np.int64)
    Bk = np.repeat(Bs, width)
    start = np.repeat(lo, width)
    offs = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
    Do = start + offs
    q = af / ((1.0 - sf / Bk) - af / (Bk * Do))
    Din = np.maximum(1, np.ceil(q * (1 - _FLOAT_MARGIN)))
    return Bk, Do, Din, Bk * (Din + Do + h)


def _exact_best(cand: list[tuple[float, int, int, int]], s2: Fraction, st2: Fraction, budget: Fraction,
                h: int) -> tuple[int, int, int, int]:
    """(cost, B, D_o, D_in): the cheapest candidate, re-checked in exact rationals, ties broken by (B, D_o)."""
    best: tuple[int, int, int, int] | None = None
    for lb_cost, B, D_o, _ in sorted(cand):
        if best is not None and lb_cost > best[0] * (1 + _FLOAT_MARGIN):
            break
        rest = budget - s2 / B - st2 / (B * D_o)
        if rest <= 0:
            continue
        D_in = max(1, math.ceil(st2 / rest))
        c = B * (D_in + D_o + h)
        if best is None or (c, B, D_o) < (best[0], best[1], best[2]):
            best = (c, B, D_o, D_in)
    assert best is not None, "the incumbent itself is always among the candidates"
    return best


def _cheapest_batches(s2: Fraction, st2: Fraction, budget: Fraction, h: int,
                      B_min: int = 20) -> tuple[int, int, int, dict[str, Any]]:
    """Integer (B, D_in, D_o) minimising B(D_in + D_o + h) s.t. s2/B + st2/(B·D_o) + st2/D_in <= budget, B >= B_min
    (the theorem's least task batch: 20 in the paper).

    Certificate of minimality. For fixed B, with R = budget − s2/B, the continuous relaxation
    x + st2/(R − st2/(B x)) of D_o + D_in is convex in x = D_o with minimum (√(st2/B) + √st2)²/R, so
    every integer point costs at least LB(B) = B·((√(st2/B) + √st2)²/R + h). Given an incumbent cost C,
    only B with LB(B) <= C can beat it, and for such B only D_o in the interval where the relaxation is
    <= C/B − h (a quadratic inequality); for each such D_o the least feasible D_in is
    ⌈st2/(R − st2/(B·D_o))⌉. All of these are enumerated (vectorised, float with a margin) and the best
    few re-checked in exact rational arithmetic.
    """
    if budget <= 0:
        raise ValueError("budget must be positive")
    if s2 / B_min + st2 / B_min + st2 <= budget:  # the least batches allowed already meet the bound
        return B_min, 1, 1, {"method": f"B = {B_min}, D_in = D_o = 1, the least batches allowed, meet the bound",
                          "candidates": 1}
    if st2 == 0:
        B = max(B_min, math.ceil(s2 / budget)) if s2 else B_min
        return B, 1, 1, {"method": f"closed form (σ̃ = 0: D_in = D_o = 1, B = max({B_min}, ⌈σ²/S*⌉))", "candidates": 1}
    # The constraint is invariant under scaling s2, st2, budget together: search at budget = 1, where
    # s2 < B_hi and st2 < D_in are bounded by the callers' batch limit, so every float below is finite.
    sf, af, bf = float(s2 / budget), float(st2 / budget), 1.0
    B_lo = max(B_min, math.floor(s2 / budget) + 1)

    # Incumbent: the best integer point near the continuous optimum over a coarse grid of B.
    grid = np.array(sorted(set(np.round(np.geomspace(B_lo, max(B_lo * 1e4, B_lo + 10), 4000)).tolist())))
    lb_grid = grid * ((np.sqrt(af / grid) + np.sqrt(af)) ** 2 / (bf - sf / grid) + h)
    near = grid[np.argsort(lb_grid)[:50]]
    Bk, Do, Din, cost = _windows(near, None, sf, af, h)
    incumbent = float(np.min(cost)) * (1 + 2 * _FLOAT_MARGIN) + 2.0  # exact rounding can add at most one D_in
    B_hi = math.floor(incumbent / (af / bf + 1 + h))
    if B_hi - B_lo > _MAX_B_RANGE:
        raise InputError(
            f"--eps: the theorem needs over {B_lo:,} tasks per iteration here; the minimal-batch search is "
            "limited to problems with at most 2e7 candidate B values (raise ε)")
    cand: list[tuple[float, int, int, int]] = []
    n_checked = 0
    for start in range(B_lo, B_hi + 1, 1_000_000):
        Bs = np.arange(start, min(B_hi, start + 999_999) + 1, dtype=np.float64)
        lb = Bs * ((np.sqrt(af / Bs) + np.sqrt(af)) ** 2 / (bf - sf / Bs) + h)
        Bs = Bs[lb <= incumbent]
        if Bs.size == 0:
            continue
        Bk, Do, Din, cost = _windows(Bs, np.full(Bs.shape, incumbent), sf, af, h)
        n_checked += Bk.size
        keep = cost <= incumbent
        cand.extend(zip(cost[keep].tolist(), Bk[keep].astype(int).tolist(), Do[keep].astype(int).tolist(),
                        Din[keep].astype(int).tolist()))
    best = _exact_best(cand, s2, st2, budget, h)
    cost_best, B, D_o, D_in = best
    return B, D_in, D_o, {
        "method": "exhaustive over B ∈ [{}, {}] after continuous lower-bound pruning".format(B_lo, B_hi),
        "candidates": n_checked,
        "continuous_lower_bound": float(np.min(lb_grid)),
    }


def _finish(plan: Plan, thm: Theorem, c: ProblemConstants, a: Fraction, eps: Fraction | None,
            gap: Fraction | None) -> Plan:
    """Fill accuracy, iterations, preconditions and costs from plan.batch (exact where rational)."""
    bt = plan.batch
    vals = _exact_values(c, a, B=bt["B"], D_in=bt["D_in"], D_o=bt["D_o"], D_h=bt["D_h"],
                         B_prime=bt["B_prime"], D_beta=bt["D_beta"])
    checked = thm.iterations.check(**vals, eps=eps if eps is not None else 1, initial_gap=gap if gap is not None else 1)
    plan.preconditions = [{"condition": cond.text, "source": cond.source, "holds": ok} for cond, ok in checked]
    S = noise_at(c, bt["B"], bt["D_in"], bt["D_o"]) + thm.bias_at(c, a)
    acc = thm.accuracy_at(c, a, S)
    plan.accuracy_bound = max(acc, float(eps)) if eps is not None else acc
    # HF-MAML: the radius for this ε and D_o (repaired H.1: what its δ condition allows; the paper: 1/(6ρα))
    radius = thm.radius(c, float(a), eps if eps is not None else rational(acc), bt["D_o"])
    if radius is not None:
        plan.delta, plan.delta_rule = radius
    # Without a target (K-shot), T is the theorem's count for reaching its own bound at these batches.
    eps_for_T = eps if eps is not None else (rational(acc) if acc > 0 else None)
    if gap is not None and eps_for_T is not None and all(p["holds"] for p in plan.preconditions):
        plan.iterations = int(thm.iterations.exact(**vals, eps=eps_for_T, initial_gap=gap))
    grad = bt["B"] * (bt["D_in"] + bt["D_o"]) + bt["B_prime"] * bt["D_beta"]
    hess = 0
    if thm.hessian_batches == 1:
        hess = bt["B"] * bt["D_h"]
    elif thm.hessian_batches == 2:
        grad += 2 * bt["B"] * bt["D_h"]
    plan.gradient_samples, plan.hessian_samples = grad, hess
    plan.samples_per_iteration = grad + hess
    plan.arithmetic_per_iteration = {"d": grad, "d^2": hess + bt["B"] if hess else 0}
    if plan.iterations is not None:
        plan.total_samples = plan.iterations * plan.samples_per_iteration
    if not all(p["holds"] for p in plan.preconditions):
        plan.feasible = False
        broken = [f"{p['condition']} ({p['source']})" for p in plan.preconditions if not p["holds"]]
        plan.reason = "precondition fails: " + "; ".join(broken)
    elif eps is not None and acc > float(eps) and plan.mode == "evaluate":
        plan.feasible = False
        plan.reason = f"at these batches the bound is {acc:.4g} > ε = {float(eps):.4g}"
    return plan


def theorem_delta(algorithm: str, constants: ProblemConstants, alpha: float, batch: dict[str, int],
                  theory: str = DEFAULT_THEORY) -> tuple[float, str]:
    """`radius` at these batches, ε being the accuracy the theorem guarantees there ((131″) without its ε
    term), so that the repaired bias fits in that budget."""
    thm = theorem(algorithm, theory)
    acc = thm.accuracy_at(constants, rational(alpha), noise_at(constants, batch["B"], batch["D_in"], batch["D_o"]))
    radius = thm.radius(constants, alpha, rational(acc), batch["D_o"])
    if radius is None:
        raise ValueError(f"{thm.name} has no finite-difference radius ({algorithm} is not HF-MAML)")
    return radius


def _base(thm: Theorem, c: ProblemConstants, a: Fraction, rule: str, mode: str,
          eps: Fraction | None, gap: Fraction | None, batch: dict[str, int]) -> Plan:
    plan = Plan(
        algorithm=thm.algorithm, theorem=thm.name, mode=mode, alpha=float(a), alpha_rule=rule,
        eps=None if eps is None else float(eps), initial_gap=None if gap is None else float(gap),
        batch=batch, step_divisor=thm.step_divisor,
        step_rule=(f"β_k = β̃(w_k)/{thm.step_divisor}, β̃(w) = 1/(4L + 2ρα·Σ_j‖∇̃f_j(w, D_β^j)‖/B') "
                   f"over B' = {batch['B_prime']} tasks, D_β = {batch['D_beta']} samples (eq. (26))"),
        delta=None, delta_rule=None, feasible=True, theory=thm.theory, guaranteed=thm.guaranteed,
        proved_by=thm.proved_by,
        failing_steps=list(thm.failing), repairs=list(thm.repairs),
    )
    plan.notes.extend(thm.notes)
    if thm.choices is not None:
        from mamltheory.bounds.choose import as_dict

        plan.choices = {"chosen": as_dict(thm.choices),
                        "constants": {k: str(v) for k, v in thm.chain_constants.items()}}
    return plan


def plan_theorem(p: Plan) -> Theorem:
    """The theorem a plan rests on: its theory's, or the sharp chain at the plan's choices (derived again)."""
    if p.choices is None:
        return theorem(p.algorithm, p.theory)
    from mamltheory.bounds.choose import certified, from_dict

    thm = certified(p.algorithm, from_dict(p.choices["chosen"]))
    if thm is None:
        raise ValueError(f"the sharp chain at the plan's choices {p.choices['chosen']} fails")
    return thm


def plan(algorithm: str, constants: ProblemConstants, eps: float, initial_gap: float,
         alpha: float | None = None, theory: str = DEFAULT_THEORY) -> Plan:
    """The cheapest integer batches for which the theorem guarantees E‖∇F(w)‖ <= ε, with step rule, δ and T.
    Under the sharp theory the proof's free choices are chosen too (`choose.choose`), the plan's theorem being
    the sharp chain at the chosen values, certified exactly."""
    thm = theorem(algorithm, theory)
    a, rule = theorem_alpha(thm, constants, alpha)
    e = _positive(eps, "--eps")
    gap = _positive(initial_gap, "--initial-gap")
    if theory != SHARP:
        return _with_limit(_plan_with(thm, constants, a, rule, e, gap), thm)
    from mamltheory.bounds.choose import choose   # the proof chains: only a sharp plan builds them

    def total(candidate: Theorem) -> tuple[float, int] | None:
        p = _plan_with(candidate, constants, a, rule, e, gap)
        return (p.total_samples, p.batch["B"]) if p.feasible and p.total_samples is not None else None

    chosen, search = choose(algorithm, a * rational(constants.L), total)
    p = _plan_with(chosen, constants, a, rule, e, gap)
    p.choices = {**search, **(p.choices or {})}
    return _with_limit(p, chosen)


def _with_limit(p: Plan, thm: Theorem) -> Plan:
    """`p` with its M against gradient descent's worst case at its step (once per plan returned, not per
    candidate of a sharp plan's search: with PEPit each new step is a solve)."""
    p.limit = limit_evidence(thm)
    return p


def _at(thm: Theorem, a: Fraction, constants: ProblemConstants) -> Theorem:
    """`thm`, or under the sharp theory the sharp theorem with its constants taken at the user's αL."""
    if thm.theory != SHARP:
        return thm
    from mamltheory.bounds.choose import at_alpha

    return at_alpha(thm.algorithm, a * rational(constants.L))


def _plan_with(thm: Theorem, constants: ProblemConstants, a: Fraction, rule: str, e: Fraction,
               gap: Fraction) -> Plan:
    """`plan` under the theorem `thm` at α = a."""
    fixed = _fixed(thm, constants, a)
    budget = thm.noise_budget(constants, a, e) - thm.bias_at(constants, a)
    s2, st2 = rational(constants.sigma) ** 2, rational(constants.sigma_tilde) ** 2
    reachable = budget > 0 or (budget == 0 and s2 == 0 and st2 == 0)
    if budget > 0:  # B > σ²/S* and D_in > σ̃²/S*: refuse batches no computation reaches
        _at_most(s2 / budget, "--eps", f"for ε = {float(e):.3g} the theorem needs B > σ²/S* tasks per iteration, σ²/S*")
        _at_most(st2 / budget, "--eps", f"for ε = {float(e):.3g} the theorem needs D_in > σ̃²/S* samples, σ̃²/S*")
    if not reachable:
        p = _base(thm, constants, a, rule, "plan", e, gap, {"B": 0, "D_in": 0, "D_o": 0, **fixed})
        p.feasible = False
        p.floor = thm.accuracy_at(constants, a, thm.bias_at(constants, a))
        p.alpha_reachable = _largest_reaching_alpha(thm, constants, e)
        p.reason = (f"{thm.name} cannot guarantee ε = {float(e):.4g} at α = {float(a):.4g}: its bound never goes below "
                    f"the floor {p.floor:.4g} = max{{√({thm.K}(1+ρασ/L)·20α²L²σ²), {thm.K}ρα/L·20α²L²σ²}} however large the "
                    f"batches; ε becomes reachable for α < {p.alpha_reachable:.6g}")
        p.batch = {}
        return p
    if budget == 0:
        B, D_in, D_o, cert = thm.B_min, 1, 1, {"method": "σ = σ̃ = 0: any batch meets the bound", "candidates": 1}
    else:
        h = fixed["D_h"] * thm.hessian_batches
        B, D_in, D_o, cert = _cheapest_batches(s2, st2, budget, h, thm.B_min)
    p = _base(thm, constants, a, rule, "plan", e, gap, {"B": B, "D_in": D_in, "D_o": D_o, **fixed})
    p.minimality = cert
    return _finish(p, thm, constants, a, e, gap)


def evaluate(algorithm: str, constants: ProblemConstants, batch: tuple[int, int, int, int], eps: float,
             initial_gap: float, alpha: float | None = None, theory: str = DEFAULT_THEORY) -> Plan:
    """The theorem at the user's batches (B, D_in, D_o, D_h): bound, iteration count, preconditions."""
    thm = theorem(algorithm, theory)
    a, rule = theorem_alpha(thm, constants, alpha)
    thm = _at(thm, a, constants)
    e = _positive(eps, "--eps")
    gap = _positive(initial_gap, "--initial-gap")
    sizes = integers("--batch", batch, ("B", "D_in", "D_o", "D_h"), MAX_BATCH, text=False)
    fixed = _fixed(thm, constants, a)
    bt = {**sizes, "B_prime": fixed["B_prime"], "D_beta": fixed["D_beta"]}
    p = _base(thm, constants, a, rule, "evaluate", e, gap, bt)
    return _with_limit(_finish(p, thm, constants, a, e, gap), thm)


def guarantee_at(algorithm: str, constants: ProblemConstants, alpha: float, batch: dict[str, int | None],
                 theory: str = DEFAULT_THEORY) -> Plan:
    """The theorem at a run's α and batches (B, D_in, D_o, D_h, B_prime, D_beta) without a target ε.

    As `evaluate` (`plan --batch`): accuracy_bound is the theorem's bound at these batches without its ε term
    (as in `plan_kshot`), preconditions checked; a batch given as None or 0 (FO-MAML's D_h, a constant step's
    B', D_β) takes the theorem's own value. InputError (field "alpha") when α is outside the theorem's range.
    """
    thm = theorem(algorithm, theory)
    largest = Fraction(1, thm.alpha_L_max) / rational(constants.L)
    # a run's default α is float(1/(cL)), which can round above the exact 1/(cL): it is that α
    a, rule = theorem_alpha(thm, constants, None if alpha == float(largest) else alpha)
    thm = _at(thm, a, constants)
    fixed = _fixed(thm, constants, a)
    bt = {k: int(batch.get(k) or fixed.get(k, 1)) for k in ("B", "D_in", "D_o", "D_h", "B_prime", "D_beta")}
    p = _base(thm, constants, a, rule, "evaluate", None, None, bt)
    return _finish(p, thm, constants, a, None, None)


def plan_kshot(algorithm: str, constants: ProblemConstants, K: int, alpha: float | None = None,
               initial_gap: float | None = None, theory: str = DEFAULT_THEORY) -> Plan:
    """K-shot (D_in = D_o = K): the best accuracy the theorem guarantees (B → ∞) and the least B within 10% of it."""
    thm = theorem(algorithm, theory)
    a, rule = theorem_alpha(thm, constants, alpha)
    thm = _at(thm, a, constants)
    K = integer("--k-shot", K, 1, MAX_BATCH, text=False)
    gap = None if initial_gap is None else _positive(initial_gap, "--initial-gap")
    fixed = _fixed(thm, constants, a)
    L, rho, s = rational(constants.L), rational(constants.rho), rational(constants.sigma)
    c1, c2 = thm.K * (1 + rho * a * s / L), thm.K * rho * a / L
    s2, st2 = s**2, rational(constants.sigma_tilde) ** 2
    S_inf = st2 / K + thm.bias_at(constants, a)
    target_sq = Fraction(121, 100) * max(c1 * S_inf, (c2 * S_inf) ** 2)  # (1.1·best)², exact

    def within(B: int) -> bool:
        S = S_inf + (s2 + st2 / K) / B
        return max(c1 * S, (c2 * S) ** 2) <= target_sq

    if s2 + st2 / K == 0 or within(thm.B_min):
        B = thm.B_min
    else:  # the accuracy is decreasing in B: bracket and bisect exactly
        hi = 2 * thm.B_min
        while not within(hi):
            hi *= 2
        lo = hi // 2 if hi > 2 * thm.B_min else thm.B_min
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if within(mid) else (mid, hi)
        B = hi
    p = _base(thm, constants, a, rule, "k-shot", None, gap, {"B": B, "D_in": K, "D_o": K, **fixed})
    p.best_accuracy = thm.accuracy_at(constants, a, S_inf)
    p.notes.append(f"best accuracy with D_in = D_o = {K} is {p.best_accuracy:.4g} (B → ∞); "
                   f"B = {B} is the least B >= {thm.B_min} within 10% of it")
    return _with_limit(_finish(p, thm, constants, a, None, gap), thm)


def _largest_reaching_alpha(thm: Theorem, c: ProblemConstants, eps: Fraction) -> float:
    """sup{α: S*(ε, α) > 20α²L²σ²}, where FO-MAML's floor meets ε; S* decreases and the floor increases in α."""
    lo, hi = 0.0, thm.alpha_max(c.L)
    for _ in range(200):  # bisection to float resolution
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if thm.noise_budget(c, rational(mid), eps) > thm.bias_at(c, rational(mid)):
            lo = mid
        else:
            hi = mid
    return lo


def _positive(x: float, name: str) -> Fraction:
    """`x` as an exact rational if it is a positive finite number within the planner's SCALE."""
    x = positive(name, x, text=False)
    lo, hi = SCALE
    if not lo <= x <= hi:
        raise InputError(f"{name}: must lie in [{lo:g}, {hi:g}] (the planner's range: beyond it the theorems' "
                         f"products leave double precision), got {x:g}", field=name[2:])
    return rational(x)


def plan_all(constants: ProblemConstants, eps: float, initial_gap: float, alpha: float | None = None,
             theory: str = DEFAULT_THEORY) -> list[Plan]:
    """The three algorithms side by side; the guaranteed feasible one with the fewest total samples is marked cheapest."""
    plans = [plan(alg, constants, eps, initial_gap, alpha, theory) for alg in ALGORITHMS]
    mark_cheapest(plans)
    return plans


def infeasible_plan(algorithm: str, constants: ProblemConstants, reason: str, theory: str = DEFAULT_THEORY) -> Plan:
    """A plan that could not be made (e.g. α outside this theorem's range in `--algorithm all`)."""
    thm = theorem(algorithm, theory)
    a, _ = theorem_alpha(thm, constants, None)
    p = _base(thm, constants, a, "not used", "plan", None, None, {**_fixed(thm, constants, a)})
    p.alpha = None  # the given α lies outside this theorem's range
    p.batch = {}
    p.feasible = False
    p.reason = reason
    return p


def mark_cheapest(plans: list[Plan]) -> None:
    """Mark the feasible plan with the fewest total samples (iterations × samples per iteration), among the
    plans whose proof chain holds: a plan resting on a failing step is never recommended."""
    costs = [(p.total_samples, i) for i, p in enumerate(plans)
             if p.feasible and p.guaranteed and p.total_samples is not None]
    if costs:
        plans[min(costs)[1]].cheapest = True
