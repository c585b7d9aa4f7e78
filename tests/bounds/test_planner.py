"""Planner: brute-force minimality, FO-MAML's floor, K-shot, exact thresholds, never an infeasible point."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds import planner
from mamltheory.bounds.theorems import theorem
from mamltheory.errors import InputError


def brute_force(alg, c, eps, alpha, B_max, D_max, theory="paper"):
    """Cheapest (B, D_in, D_o) by exhaustive search, the theorem's bound written out by hand.

    K: the accuracy constant (paper 61, 14, 36; repaired from the chains, H.1's (131″) constant 34)."""
    K = theorem(alg, theory).K
    r = c.rho * alpha / c.L
    bias = 20 * alpha**2 * c.L**2 * c.sigma**2 if alg == "fo-maml" else 0.0
    hf_dh = 36 * (alpha * c.rho * c.sigma_H) ** 2 if theory == "paper" else (alpha * c.sigma_H) ** 2  # (152′)
    Dh = {"maml": max(1, math.ceil(2 * alpha**2 * c.sigma_H**2 - 1e-12)),
          "fo-maml": 0, "hf-maml": 2 * max(1, math.ceil(hf_dh - 1e-12))}[alg]
    B = np.arange(20, B_max + 1)[:, None, None]
    Dout = np.arange(1, D_max + 1)[None, :, None]
    Din = np.arange(1, D_max + 1)[None, None, :]
    S = c.sigma**2 / B + c.sigma_tilde**2 / (B * Dout) + c.sigma_tilde**2 / Din + bias
    ok = (K * (1 + r * c.sigma) * S <= eps**2) & (K * r * S <= eps)
    cost = np.where(ok, B * (Din + Dout + Dh), np.iinfo(np.int64).max)
    return int(cost.min())


CASES = [
    ("maml", ProblemConstants(1.0, 1.0, 0.5, 1.0, 1.0), 1.5, None),
    ("hf-maml", ProblemConstants(1.0, 3.0, 0.2, 0.6, 2.0), 1.0, None),
    ("maml", ProblemConstants(2.0, 0.5, 1.3, 0.4, 0.0), 2.5, 0.05),
    ("fo-maml", ProblemConstants(1.0, 1.0, 0.3, 0.8, 1.0), 1.2, 0.03),
]


@pytest.mark.parametrize("theory", ["paper", "repaired"])
@pytest.mark.parametrize("alg,c,eps,alpha", CASES)
def test_planner_is_minimal_against_brute_force(alg, c, eps, alpha, theory):
    p = planner.plan(alg, c, eps, initial_gap=1.0, alpha=alpha, theory=theory)
    assert p.feasible
    b = p.batch
    h = {"maml": b["D_h"], "fo-maml": 0, "hf-maml": 2 * b["D_h"]}[alg]
    cost = b["B"] * (b["D_in"] + b["D_o"] + h)
    assert cost == brute_force(alg, c, eps, p.alpha, B_max=max(60, b["B"] + 40),
                               D_max=max(b["D_in"], b["D_o"]) + 60, theory=theory)
    assert p.samples_per_iteration == cost + b["B_prime"] * b["D_beta"] + (0 if alg != "maml" else 0)
    assert all(pre["holds"] for pre in p.preconditions)
    assert p.accuracy_bound == pytest.approx(eps)


def test_example_plan_cost_model_and_iterations():
    c = ProblemConstants(1.0, 1.0, 0.5, 1.0, 1.0)
    p = planner.plan("maml", c, 0.1, 10.0, theory="paper")
    b = p.batch
    assert p.alpha == pytest.approx(1 / 6)
    assert (b["D_h"], b["B_prime"], b["D_beta"]) == (1, 1, 1)  # ⌈2/36⌉, ⌈½(1/12)²⌉, ⌈(1/3)²⌉
    assert p.samples_per_iteration == b["B"] * (b["D_in"] + b["D_o"] + b["D_h"]) + 1
    assert p.hessian_samples == b["B"] * b["D_h"]
    assert p.arithmetic_per_iteration == {"d": b["B"] * (b["D_in"] + b["D_o"]) + 1, "d^2": 2 * b["B"]}
    # T = ⌊Δ/dec⌋ + 1, dec = max{ε²/(L + ρα(σ + ε)), 61·S/L}/1600 at the plan's S
    S = 0.25 / b["B"] + 1 / (b["B"] * b["D_o"]) + 1 / b["D_in"]
    dec = max(0.01 / (1 + (0.5 + 0.1) / 6), 61 * S) / 1600
    assert p.iterations == math.floor(10 / dec) + 1
    assert p.total_samples == p.iterations * p.samples_per_iteration
    hf = planner.plan("hf-maml", c, 0.1, 10.0, theory="paper")
    assert hf.delta == pytest.approx(1.0)  # δ = 1/(6ρα) = 1 at α = 1/6
    assert hf.step_divisor == 25 and p.step_divisor == 12


def test_fo_maml_floor_and_largest_reaching_alpha():
    c = ProblemConstants(1.0, 1.0, 0.5, 1.0, 1.0)
    p = planner.plan("fo-maml", c, 0.1, 10.0, theory="paper")
    assert not p.feasible
    a = 0.1  # default α = 1/(10L)
    bias = 20 * a**2 * 0.25
    assert p.floor == pytest.approx(max(math.sqrt(14 * (1 + a * 0.5) * bias), 14 * a * bias), rel=1e-12)
    assert "floor" in p.reason and "α <" in p.reason
    # ε reachable iff min{ε²/(14(1+ρασ/L)), εL/(14ρα)} > 20α²L²σ²; check both sides of the reported α.
    ar = p.alpha_reachable
    assert planner.plan("fo-maml", c, 0.1, 10.0, alpha=ar * 0.999, theory="paper").feasible
    assert not planner.plan("fo-maml", c, 0.1, 10.0, alpha=min(ar * 1.001, 0.1), theory="paper").feasible
    # hand: ε²/(14(1+α/2)) = 5α² -> α ≈ sqrt(0.01/70) for small α
    assert ar == pytest.approx(math.sqrt(0.01 / 70), rel=0.01)


def test_kshot_b_is_least_within_ten_percent():
    c = ProblemConstants(1.0, 1.0, 2.0, 1.0, 1.0)
    K = 10
    for alg in planner.ALGORITHMS:
        p = planner.plan_kshot(alg, c, K, theory="paper")
        thm = theorem(alg, "paper")
        a = p.alpha
        bias = 20 * a**2 * 4.0 if alg == "fo-maml" else 0.0

        def acc(B):
            S = 4.0 / B + 1.0 / (B * K) + 1.0 / K + bias
            return max(math.sqrt(thm.K * (1 + a * 2.0) * S), thm.K * a * S)

        best = acc(10**15)
        assert p.best_accuracy == pytest.approx(best, rel=1e-9)
        B = p.batch["B"]
        assert (p.batch["D_in"], p.batch["D_o"]) == (K, K)
        assert acc(B) <= 1.1 * best * (1 + 1e-12)
        assert B == 20 or acc(B - 1) > 1.1 * best


def test_integer_threshold_exact():
    # 2α²σ_H² = 2·0.1²·10² = 2 exactly (float: 2.0000000000000004), so D_h = 2, not 3
    assert 2 * 0.1**2 * 10.0**2 > 2
    c = ProblemConstants(0.6, 1.0, 0.1, 0.1, 10.0)
    p = planner.plan("maml", c, 1.0, 1.0, alpha=0.1, theory="paper")
    assert p.batch["D_h"] == 2


def test_evaluate_reports_failing_preconditions():
    c = ProblemConstants(1.0, 1.0, 0.5, 1.0, 3.0)
    p = planner.evaluate("hf-maml", c, (10, 5, 5, 1), eps=0.1, initial_gap=1.0, theory="paper")
    assert not p.feasible
    failed = [x["condition"] for x in p.preconditions if not x["holds"]]
    assert failed == ["B >= 20", "D_h >= ceil(36*alpha**2*rho**2*sigma_H**2)"]
    assert p.iterations is None
    ok = planner.evaluate("maml", c, (20, 50, 5, 1), eps=0.1, initial_gap=1.0, theory="paper")
    S = 0.25 / 20 + 1 / 100 + 1 / 50
    assert ok.accuracy_bound == pytest.approx(max(math.sqrt(61 * (1 + 0.5 / 6) * S), 61 / 6 * S, 0.1))
    assert ok.iterations is not None


def test_bad_inputs_name_the_parameter():
    c = ProblemConstants(1.0, 1.0, 0.5, 1.0, 1.0)
    with pytest.raises(InputError, match=r"^--alpha: must lie in \(0, 1/\(6L\)\]"):
        planner.plan("maml", c, 0.1, 1.0, alpha=0.2, theory="paper")
    with pytest.raises(InputError, match=r"^--eps: must be a positive finite number"):
        planner.plan("maml", c, -0.1, 1.0, theory="paper")
    with pytest.raises(InputError, match=r"^--algorithm: must be one of"):
        planner.plan("reptile", c, 0.1, 1.0, theory="paper")
    with pytest.raises(InputError, match=r"^--k-shot"):
        planner.plan_kshot("maml", c, 0, theory="paper")
    with pytest.raises(InputError, match=r"^L: must be > 0"):
        ProblemConstants(0.0, 1.0, 0.5, 1.0, 1.0)
    with pytest.raises(InputError, match=r"^sigma: must be >= 0"):
        ProblemConstants(1.0, 1.0, -0.5, 1.0, 1.0)
    with pytest.raises(InputError, match=r"^rho: must be finite"):
        ProblemConstants(1.0, float("inf"), 0.5, 1.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(L=st.floats(0.1, 10), rho=st.floats(0.1, 10), sigma=st.floats(0, 2), st_=st.floats(0, 2),
       sH=st.floats(0, 20), r=st.floats(0.05, 0.999), eps=st.floats(0.05, 3.0), alg=st.sampled_from(planner.ALGORITHMS))
def test_planner_never_returns_a_point_violating_a_precondition(L, rho, sigma, st_, sH, r, eps, alg):
    c = ProblemConstants(L, rho, sigma, st_, sH)
    thm = theorem(alg, "paper")
    p = planner.plan(alg, c, eps * L, 1.0, alpha=r / (thm.alpha_L_max * L), theory="paper")
    if not p.feasible:
        assert alg == "fo-maml" and p.floor is not None and p.floor >= eps * L * (1 - 1e-9)
        return
    assert all(x["holds"] for x in p.preconditions)
    vals = dict(c.as_dict(), alpha=Fraction(repr(p.alpha)), eps=eps * L, initial_gap=1.0, **p.batch)
    assert p.accuracy_bound <= eps * L * (1 + 1e-12)
    assert thm.accuracy(**{k: (float(v) if isinstance(v, Fraction) else v) for k, v in vals.items()}) <= eps * L * (1 + 1e-9)
