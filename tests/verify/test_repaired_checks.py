"""The repaired theorems against exact runs: pinned by an independent plain-numpy HF-MAML.

The opposed kinks (mamltheory.verify.instances.opposed_kinks): two equally likely 1-D tasks with
f_i''(w) = 1/2 ± (1/2)·max(0, 1 − |w|) and f_i'(0) = ±1, so L = 1, ρ = 1/2, and σ² = E_i(f_i' − f')² = 1.25²
(the spread is largest beyond the kink: f_1' − f_2' = T(w) + 2 with |T| <= 1/2). Below, f_i' is written out by
hand: f_i'(w) = w/2 ± (T(w)/2 + 1), T(x) = x − x|x|/2 on |x| <= 1 and ±1/2 beyond (T' = the tent).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from mamltheory.bounds.theorems import theorem
from mamltheory.verify.check import CONTRADICTED, HOLDS
from mamltheory.verify.defects import annotate

L, RHO, SIGMA, ALPHA = 1.0, 0.5, 1.25, 1 / 6


def T(x):
    x = np.asarray(x, float)
    return np.where(np.abs(x) <= 1, x - x * np.abs(x) / 2, np.sign(x) / 2)


def IT(x):  # ∫_0^x T
    a = np.abs(np.asarray(x, float))
    return np.where(a <= 1, a**2 / 2 - a**3 / 6, a / 2 - 1 / 6)


def grads(w):   # (f_1'(w), f_2'(w))
    return np.array([w / 2 + T(w) / 2 + 1, w / 2 - T(w) / 2 - 1])


def hess(w):
    tent = max(0.0, 1 - abs(w))
    return np.array([0.5 + 0.5 * tent, 0.5 - 0.5 * tent])


def losses(u):  # (f_1(u), f_2(u)) up to per-task constants (they cancel in Δ)
    return np.array([u * u / 4 + IT(u) / 2 + u, u * u / 4 - IT(u) / 2 - u])


def F(w):
    return float(np.mean([losses(w - ALPHA * g)[i] for i, g in enumerate(grads(w))]))


def grad_F(w):
    g = grads(w)
    return float(np.mean((1 - ALPHA * hess(w)) * np.array([grads(w - ALPHA * g[i])[i] for i in range(2)])))


def hf_direction(w, delta):
    """E_i[v_i − α d_i], v_i = f_i'(w − α f_i'(w)), d_i the central difference of f_i' at radius δ/|v_i| (142)."""
    g = grads(w)
    out = 0.0
    for i in range(2):
        v = grads(w - ALPHA * g[i])[i]
        if v == 0:
            continue
        r = delta / abs(v)
        d = (grads(w + r * v)[i] - grads(w - r * v)[i]) / (2 * r)
        out += 0.5 * (v - ALPHA * d)
    return out


def beta(w):    # β̃(w)/25 with B' → ∞: 1/(25(4L + 2ρα E_i|f_i'(w)|))
    return 1 / (25 * (4 * L + 2 * RHO * ALPHA * np.mean(np.abs(grads(w)))))


def test_hand_instance_matches_the_library():
    from mamltheory.verify.instances import opposed_kinks
    inst = opposed_kinks()
    assert (inst.L, inst.rho, inst.sigma) == pytest.approx((L, RHO, SIGMA))
    for w in (-2.5, -0.4, 0.0, 0.3, 1.7):
        assert inst.grad(inst.at(np.array([w])))[:, 0] == pytest.approx(grads(w), abs=1e-14)
        assert inst.grad_F(np.array([w]), ALPHA)[0] == pytest.approx(grad_F(w), abs=1e-13)


@pytest.fixture(scope="module")
def kinks():
    from mamltheory.verify.theorem_checks import kinks_below_floor
    return kinks_below_floor(cap=3_000)


def test_repaired_h1_on_opposed_kinks_pinned(kinks):
    paper, repaired, _ = kinks
    # the paper-δ floor: HF-MAML's fixed point at δ = 1/(6ρα) = 2, found here with the hand direction
    w_star = brentq(lambda w: hf_direction(w, 2.0), -3, 3, xtol=1e-15)
    floor = abs(grad_F(w_star))
    assert floor == pytest.approx(0.04446, abs=1e-5)
    eps = floor / 2
    # (δ′) by hand: ν_ε = ε√(L/(1190σ²(L + ρα(σ + ε)))) (σ̃ = 0), δ = ν/(ρα), ρα = 1/12
    nu = eps * math.sqrt(L / (1190 * SIGMA**2 * (L + RHO * ALPHA * (SIGMA + eps))))
    assert nu == pytest.approx(4.90e-4, rel=1e-3)
    delta = nu / (RHO * ALPHA)
    assert repaired.details["delta"] == pytest.approx(delta, rel=1e-9)
    assert repaired.details["paper_delta"] == pytest.approx(2.0)
    # (132′) at B, D → ∞: T = ⌊2579Δ(L + ρα(σ + ε))/ε²⌋ + 1, Δ = F(−2.5) − min F (hand F, bounded search)
    z = np.linspace(-10, 10, 20_001)
    j = int(np.argmin([F(x) for x in z]))
    Fmin = minimize_scalar(F, bounds=(z[j - 1], z[j + 1]), method="bounded", options={"xatol": 1e-12}).fun
    gap = F(-2.5) - min(Fmin, F(z[j]))
    T_hand = math.floor(2579 * gap * (L + RHO * ALPHA * (SIGMA + eps)) / eps**2) + 1
    assert abs(repaired.details["T"] - T_hand) <= 1
    assert T_hand == pytest.approx(8_108_739, abs=1)
    # k_first: the exact iteration written out, until |∇F(w_k)| <= ε ((131″) at B, D → ∞ is ε)
    w, k = -2.5, 0
    while abs(grad_F(w)) > eps:
        w -= beta(w) * hf_direction(w, delta)
        k += 1
        assert k < 5_000
    assert k == 1015
    assert repaired.verdict == HOLDS and repaired.details["k_first"] == k
    assert repaired.details["iterations_ratio"] == pytest.approx(k / repaired.details["T"])
    assert repaired.bound == pytest.approx(eps, rel=1e-9) and repaired.name.startswith("repaired Theorem H.1")
    # the paper's H.1 on the same instance, start and ε: trapped above its bound, contradicted
    assert paper.verdict == CONTRADICTED and paper.ratio == pytest.approx(2.0, rel=1e-3)
    assert (paper.kind, repaired.kind) == ("counterexample", "theorem")  # a constructed instance, as in falsify
    assert paper.details["eps"] == pytest.approx(eps, rel=1e-9)
    assert paper.power == repaired.power == pytest.approx(1 + 1e-9)  # exact values: any excess over 1e-9 is caught


def test_sharp_h1_on_opposed_kinks_pinned(kinks):
    """Sharp H.1 at the paper's choices (c = 25, δ budget 130 = 2Kκ with K = 5, κ = 13; M = 1072; the constants
    are pinned in tests/bounds/test_sharp.py) reaches its bound with its own δ where the paper's HF-MAML stalls."""
    *_, sharp = kinks
    w_star = brentq(lambda w: hf_direction(w, 2.0), -3, 3, xtol=1e-15)
    eps = abs(grad_F(w_star)) / 2
    nu = eps * math.sqrt(L / (130 * SIGMA**2 * (L + RHO * ALPHA * (SIGMA + eps))))   # (δ′) with 130
    delta = nu / (RHO * ALPHA)
    assert sharp.details["delta"] == pytest.approx(delta, rel=1e-9)
    z = np.linspace(-10, 10, 20_001)
    j = int(np.argmin([F(x) for x in z]))
    Fmin = minimize_scalar(F, bounds=(z[j - 1], z[j + 1]), method="bounded", options={"xatol": 1e-12}).fun
    gap = F(-2.5) - min(Fmin, F(z[j]))
    assert abs(sharp.details["T"] - (math.floor(1072 * gap * (L + RHO * ALPHA * (SIGMA + eps)) / eps**2) + 1)) <= 1
    w, k = -2.5, 0
    while abs(grad_F(w)) > eps:
        w -= beta(w) * hf_direction(w, delta)
        k += 1
        assert k < 5_000
    assert sharp.verdict == HOLDS and sharp.details["k_first"] == k
    assert sharp.name.startswith("sharp Theorem H.1") and sharp.bound == pytest.approx(eps, rel=1e-9)


def test_defects_explain_the_paper_check_not_the_repaired(kinks):
    from mamltheory.verify.repaired_checks import falsification_runs
    record = {"checks": [r.to_json() for r in (*kinks, *falsification_runs(3_000))]}
    annotate(record)
    paper, repaired, *rest = record["checks"]
    assert paper["defect"] == "H1-task-spread"
    assert all(c["verdict"] != CONTRADICTED and "defect" not in c for c in (repaired, *rest))
    assert record["unexplained"] == []


def test_repaired_bias_step_holds_where_147_fails():
    from mamltheory.verify.repaired_checks import repaired_bias_step
    from mamltheory.verify.theorem_checks import kinks_floor
    _, w_star, floor = kinks_floor()
    r = repaired_bias_step(1 / 6, w_star, "falsify.H.1.repaired.147′-bias.paper-nu")
    assert (r.id, r.result) == ("falsify.H.1.repaired.147′-bias.paper-nu", "H.1")
    # (147′) by hand at αL = 1/6: b1 = ν(1 + a)C1 = (1/6)(7/6)(36/23) = 7/23, against ‖s‖ = ‖∇F(w*)‖ (E G(w*) = 0)
    assert r.bound == pytest.approx(7 / 23 * (floor + SIGMA), rel=1e-12)
    assert r.observed == pytest.approx(floor, rel=1e-9)
    assert r.verdict == HOLDS and r.ratio == pytest.approx(floor / (7 / 23 * (floor + SIGMA)), rel=1e-9)


def test_repaired_tightness_rows_with_chain_constants():
    from mamltheory.assumptions import ProblemConstants
    from mamltheory.verify import repaired_checks as rc
    from mamltheory.verify import tightness as tt
    for alg, name, K, M in (("maml", "repaired Theorem F.1", 20, 860), ("fo-maml", "repaired Theorem G.1", 9, 1247)):
        th = theorem(alg, "repaired")
        assert (th.K, th.M) == (K, M)          # the repaired chains' constants (docs/repaired-theorems.md)
        e = tt.entries()[name]
        assert f"K = {K}, M = {M}" in e.source
        # T by hand at B → ∞ (10¹²; K·S/L is negligible here): ⌊MΔ(L + ρα(σ + ε))/ε²⌋ + 1
        c = ProblemConstants(L=1.0, rho=0.5, sigma=1.25, sigma_tilde=0.0, sigma_H=0.0)
        a = 1 / 6 if alg == "maml" else 1 / 10
        acc, T = e.bound(c, a, 0.1, 2.0)
        a_q = Fraction(repr(a))   # the rational the bound evaluates (bounds.result.rational)
        if alg == "maml":         # B → ∞: accuracy ε, T = ⌊MΔ(L + ρα(σ + ε))/ε²⌋ + 1
            assert acc == pytest.approx(0.1)
            assert T == math.floor(M * 2 * (1 + Fraction(1, 2) * a_q * Fraction(135, 100)) / Fraction(1, 100)) + 1
        else:                     # FO-MAML keeps its bias S = 20α²L²σ² = 0.3125 (113): √(9(1 + ρασ/L)S), T = ⌊MΔL/(9S)⌋ + 1
            assert acc == pytest.approx(math.sqrt(9 * (1 + 0.05 * 1.25) * 0.3125), rel=1e-9)
            assert T == math.floor(1247 * 2 / (9 * 0.3125)) + 1 == 887
    h1 = tt.entries()[f"repaired Theorem H.1, fixed ν = ραδ = {rc.kinks_nu():.3g}"]
    c = ProblemConstants(L=1.0, rho=0.5, sigma=1.25, sigma_tilde=0.0, sigma_H=0.0)
    nu = rc.kinks_nu()
    # below the ε of (δ′) the bound is (131′): √(17(1 + ρασ/L)·35ν²σ²) (S₀ → 0); above it, (131″) = ε
    acc, _ = h1.bound(c, 1 / 6, 1e-3, 1.0)
    assert acc == pytest.approx(math.sqrt(17 * (1 + 1.25 / 12) * 35 * nu**2 * 1.25**2), rel=1e-6)
    acc, _ = h1.bound(c, 1 / 6, 0.03, 1.0)
    assert acc == pytest.approx(0.03)
    rows = tt.theorem_rows(tt.entries()["repaired Theorem F.1"], True, where=tt.settings(True)[:1], horizon=60)
    assert [r.name for r in rows] == ["Tightness: repaired Theorem F.1 accuracy",
                                      "Tightness: repaired Theorem F.1 iterations"]
    assert all(r.verdict != CONTRADICTED for r in rows)


def test_repaired_tightness_recipe_reproduces_the_row():
    import contextlib
    import io

    from mamltheory.verify import tightness as tt
    entry = tt.entries()["repaired Theorem F.1"]
    accuracy, iterations = tt.theorem_rows(entry, True, where=tt.settings(True)[:1], horizon=450)
    # on the plateau T is far beyond H = 450 at every ε: the accuracy ratio is only an upper bound there, so the
    # row gives no worst ratio (never a maximum of upper bounds) and says why
    assert accuracy.verdict == "inconclusive" and accuracy.ratio is None and "worst_ratio" not in accuracy.details
    assert accuracy.details["upper_bounds_only"] > 0 and "only bounded above" in accuracy.evidence
    recipe = iterations.details["recipe"]        # the iteration claim's k_first/T is exact: its worst row
    assert recipe in iterations.evidence
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(recipe, {})   # runs in a fresh namespace: the recipe finds the entry by itself
    _, bound_T = out.getvalue().split(" ", 1)    # "min ‖∇F‖ (bound, T)"
    bound, T = eval(bound_T)
    assert bound == pytest.approx(iterations.details["bound"], rel=1e-12) and T == iterations.details["T"]
