"""The exact worst case of gradient descent on L-smooth functions, against the theorems' iteration constant M.

In the deterministic limit (α → 0, every batch → ∞, σ = σ̃ = 0) Algorithms 1-3 are gradient descent on F with
β = β̃/c and β̃ → 1/(4L) (eq. (26)): a normalised step h = γL = 1/(4c), c the theorem's `step_divisor`. Each
theorem then claims T = ⌊M·LΔ/ε²⌋ + 1 (base.py's `iterations_expr` with S = 0, α → 0): among the iterates
x_0..x_n, n = T − 1, one has ‖∇F(x_k)‖ <= ε, for every L-smooth F with F(x_0) − inf F <= Δ.

W(h, n) is the smallest number with min_{0<=k<=n} ‖∇F(x_k)‖² <= W·LΔ/n over that class. Two initial conditions
(`gap`): "optimal", F(x_0) − inf F <= Δ (the theorems' Δ), and "final", F(x_0) − F(x_n) <= Δ (PEPit's example
`wc_gradient_descent`). For h <= 1 (docs/limit-worst-case.md derives both):

    optimal:  W <= 4n/(n·h(4 − h) + 2)      increasing in n, to 4/(h(4 − h))
    final:    W <= 4/(h(4 − h))             for every n

and the performance estimation problem (PEP) attains both at n = 5, 10, 20. With `final` the PEP is exact
(smooth interpolation, Taylor-Hendrickx-Glineur 2017), so 4/(h(4 − h)) is the exact worst case of that
problem; with `optimal` it adds the necessary f_k − f_* >= ‖g_k‖²/(2L), a relaxation (an upper bound).

Against M: ⌊M·r⌋ >= (4r − 2)/(h(4 − h)) for every r = LΔ/ε² when M >= 4/(h(4 − h)) (and 4/(h(4 − h)) >= 2),
so M >= W_final suffices for the theorem in the limit. A Huber function (slope g, curvature L at its
minimum, started n·γg + g/L from it) keeps ‖∇F‖ = g for n steps with Δ = n·γg² + g²/(2L), so W >= n/(nh + 1/2)
→ 1/h = 4c: M < 4c contradicts the theorem. `limit_evidence` reports M against both ends.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from functools import lru_cache
from typing import Any

from mamltheory.parsing import choice, integer, refusal

GAPS = ("optimal", "final")
# Step range where the classical bound holds (descent lemma: h(2 − h) > 0); the PEP is solved on the same range.
H_MAX = 2
# Horizon used by `limit_evidence`: the final-gap worst case does not depend on n (the module docstring).
DEFAULT_N = 10
# Relative accuracy of a PEP value with Clarabel (observed: 1e-6 at n <= 40); M within it of W is not decided.
PEP_RTOL = 1e-4
SOLVER = "CLARABEL"  # interior point, a dependency of cvxpy itself; SCS (cvxpy's default for SDPs) is off by 1e-3
INSTALL_HINT = "pip install 'mamltheory[pep]' gives the exact value (PEPit)"


def _step(gamma_L: Fraction | float) -> Fraction:
    """γL as an exact Fraction in (0, 2), else InputError naming gamma_L."""
    if isinstance(gamma_L, bool) or not isinstance(gamma_L, (int, float, Fraction)):
        raise refusal("gamma_L", f"must be a number in (0, {H_MAX}), got {gamma_L!r}")
    if isinstance(gamma_L, float) and not math.isfinite(gamma_L):
        raise refusal("gamma_L", f"must be finite, got {gamma_L}")
    h = Fraction(gamma_L)
    if not 0 < h < H_MAX:
        raise refusal("gamma_L", f"must lie in (0, {H_MAX}) (the descent lemma's range), got {gamma_L}")
    return h


def classical_bound(gamma_L: Fraction | float, n: int, gap: str = "optimal") -> float:
    """The descent-lemma bound C >= W(h, n) (textbook; Nesterov's Introductory Lectures, Section 1.2.3).

    F(x_{k+1}) <= F(x_k) − γ(1 − Lγ/2)‖∇F(x_k)‖² for k < n; with `optimal` also F(x_n) − inf F >= ‖∇F(x_n)‖²/(2L),
    so Δ >= (n·h(2 − h) + 1)/(2L)·min_{k<=n}‖∇F(x_k)‖²: C = 2n/(n·h(2 − h) + 1). With `final`, only the n steps:
    C = 2/(h(2 − h))."""
    h = _step(gamma_L)
    n = integer("n", n, 1, text=False)
    choice("gap", gap, GAPS)
    value = Fraction(2 * n) / (n * h * (2 - h) + 1) if gap == "optimal" else Fraction(2) / (h * (2 - h))
    return float(value)


def pep_available() -> bool:
    """Whether PEPit (the extra `pep`) is installed."""
    try:
        import PEPit  # noqa: F401
    except ImportError:
        return False
    return True


def worst_case(gamma_L: Fraction | float, n: int, gap: str = "optimal") -> float | None:
    """W(h, n) by PEPit: the worst n·min_{0<=k<=n}‖∇F(x_k)‖²/(LΔ) of n gradient steps γ = h/L over L-smooth F;
    None when PEPit is not installed. One solve takes about 0.3 s at n = 10, 2 s at n = 20, 15 s at n = 40."""
    h = _step(gamma_L)
    n = integer("n", n, 1, text=False)
    choice("gap", gap, GAPS)
    if not pep_available():
        return None
    return _solve(h, n, gap)


@lru_cache(maxsize=64)
def _solve(h: Fraction, n: int, gap: str) -> float:
    from PEPit import PEP
    from PEPit.functions import SmoothFunction

    problem = PEP()
    func = problem.declare_function(SmoothFunction, L=1)  # L = Δ = 1: W = n·value
    x = problem.set_initial_point()
    g0, f0 = func.oracle(x)
    g, f = g0, f0
    iterates = [(g, f)]
    problem.set_performance_metric(g**2)  # several metrics: the PEP's objective is their minimum
    for _ in range(n):
        x = x - float(h) * g
        g, f = func.oracle(x)
        iterates.append((g, f))
        problem.set_performance_metric(g**2)
    if gap == "final":
        problem.set_initial_condition(f0 - f <= 1)
    else:
        _, _, f_star = func.stationary_point(return_gradient_and_function_value=True)
        problem.set_initial_condition(f0 - f_star <= 1)
        for g_k, f_k in iterates:  # f_* = inf F: the step g_k/L from x_k cannot go below it
            problem.add_constraint(f_k - f_star >= 0.5 * g_k**2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cvxpy's "solution may be inaccurate" at 1e-6; PEP_RTOL covers it
        value = problem.solve(wrapper="cvxpy", solver=SOLVER, verbose=0)
    if value is None or not value == value:
        raise ArithmeticError(f"PEPit returned {value!r} for h = {h}, n = {n}, gap = {gap}")
    return n * float(value)


def limit_evidence(theorem: Any, n: int = DEFAULT_N, step_divisor: int | None = None) -> dict[str, Any]:
    """M of `theorem` (bounds.theorems.theorem(alg, theory)) against the worst case W of gradient descent at its
    deterministic-limit step γL = 1/(4c) (c its step divisor, or `step_divisor`).

    The theorem needs M >= the worst case as n → ∞, which lies in [4c, W] (W = the final-gap PEP value, n-free):
    - `W` (PEPit, None without it) and `slack` = M/W: M >= W suffices; the slack of the proof's constant;
    - `classical` C >= W and `slack_lower` = M/C <= M/W: M >= C suffices too, M < C proves nothing;
    - `floor` = 4c (the Huber function): M < 4c contradicts the theorem;
    - `verdict`: consistent (M >= W or M >= C), contradicted (M < 4c), else inconclusive."""
    c = integer("step_divisor", theorem.step_divisor if step_divisor is None else step_divisor, 1, text=False)
    h = Fraction(1, 4 * c)
    M = theorem.M
    W = worst_case(h, n, "final")
    classical = classical_bound(h, n, "final")
    floor = 4 * c
    if (W is not None and M >= W * (1 + PEP_RTOL)) or M >= classical:
        verdict = "consistent"
    elif M < floor:
        verdict = "contradicted"
    else:
        verdict = "inconclusive"
    return {"label": theorem.label, "theory": theorem.theory, "algorithm": theorem.algorithm, "name": theorem.name,
            "M": M, "step_divisor": c, "gamma_L": str(h), "n": n, "W": W,
            "W_source": f"PEPit, {SOLVER}, n = {n}" if W is not None else None,
            "slack": None if W is None else M / W, "classical": classical, "slack_lower": M / classical,
            "floor": floor, "verdict": verdict}


__all__ = ["DEFAULT_N", "GAPS", "INSTALL_HINT", "classical_bound", "limit_evidence", "pep_available", "worst_case"]
