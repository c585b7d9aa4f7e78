"""Theorems F.1, G.1, H.1 and Corollaries 4.16, 4.19 against arithmetic written out from the paper."""

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mamltheory.bounds import corollaries as co
from mamltheory.bounds.theorems import ALGORITHMS, theorem
from mamltheory.errors import PreconditionError

BASE = dict(L=1.0, rho=2.0, sigma=0.3, sigma_tilde=0.7, sigma_H=1.0, B=25, D_in=40, D_o=5, D_h=1,
            B_prime=1, D_beta=1, eps=0.01, initial_gap=3.0)

# The paper's statements (theory "paper"): the numbers below are its K, M and step rules.
F1, G1, H1 = (theorem(a, "paper") for a in ALGORITHMS)
PAPER = (F1, G1, H1)


def hand_accuracy(K, p, bias=0.0):
    S = p["sigma"] ** 2 / p["B"] + p["sigma_tilde"] ** 2 / (p["B"] * p["D_o"]) + p["sigma_tilde"] ** 2 / p["D_in"] + bias
    r = p["rho"] * p["alpha"] / p["L"]
    return max(math.sqrt(K * (1 + r * p["sigma"]) * S), K * r * S, p["eps"]), S


def hand_iterations(K, M, p, S):
    first = p["eps"] ** 2 / (p["L"] + p["rho"] * p["alpha"] * (p["sigma"] + p["eps"]))
    dec = max(first, K * S / p["L"]) / M
    return math.floor(p["initial_gap"] / dec) + 1


@pytest.mark.parametrize("alpha", [0.1, 1 / 6])
def test_theorem_f1_eq_86_and_iterations(alpha):
    p = dict(BASE, alpha=alpha)
    acc, S = hand_accuracy(61, p)
    # S = 0.09/25 + 0.49/125 + 0.49/40 = 0.0036 + 0.00392 + 0.01225
    assert S == pytest.approx(0.01977, rel=1e-12)
    assert F1.accuracy(**p) == pytest.approx(acc, rel=1e-13)
    assert F1.iterations(**p) == hand_iterations(61, 1600, p, S)


def test_theorem_f1_iteration_branch_eps():
    # Large batches: S tiny, the ε-branch dominates: T = ⌊1600Δ(L + ρα(σ+ε))/ε²⌋ + 1.
    p = dict(BASE, alpha=0.1, B=10**6, D_in=10**9, D_o=10**3, eps=0.5)
    expected = math.floor(1600 * 3.0 * (1 + 0.2 * (0.3 + 0.5)) / 0.25) + 1
    assert F1.iterations(**p) == expected == 22273


def test_theorem_g1_eq_113_has_alpha_floor():
    p = dict(BASE, alpha=0.05)
    bias = p["sigma"] ** 2 * 20 * p["alpha"] ** 2 * p["L"] ** 2
    acc, S = hand_accuracy(14, p, bias)
    assert G1.accuracy(**p) == pytest.approx(acc, rel=1e-13)
    assert G1.iterations(**p) == hand_iterations(14, 1600, p, S)


def test_theorem_h1_eq_131_six_and_thirty_six():
    p = dict(BASE, alpha=0.1, D_h=2)  # 36(αρσ_H)² = 36·0.04 = 1.44 -> D_h >= 2
    S = 0.01977
    r = 0.2
    expected = max(6 * math.sqrt((1 + r * 0.3) * S), 36 * r * S, 0.01)
    assert H1.accuracy(**p) == pytest.approx(expected, rel=1e-12)
    assert H1.iterations(**p) == hand_iterations(36, 3200, p, S)
    with pytest.raises(PreconditionError, match=r"Theorem H.1: D_h >= ceil\(36"):
        H1.accuracy(**dict(p, D_h=1))


@pytest.mark.parametrize("thm,alpha_bad", [(F1, 0.17), (G1, 0.11), (H1, 0.17)])
def test_alpha_range_enforced_with_source(thm, alpha_bad):
    with pytest.raises(PreconditionError, match=rf"{thm.name}: α ∈ \(0, 1/\({thm.alpha_L_max}\*L\)\]"):
        thm.accuracy(**dict(BASE, alpha=alpha_bad, D_h=5))


def test_b_at_least_20_and_step_batches_enforced():
    with pytest.raises(PreconditionError, match=r"Theorem F.1: B >= 20"):
        F1.accuracy(**dict(BASE, alpha=0.1, B=19))
    # ½(ρασ/L)² with ρ = 20, α = 0.1, σ = 3: ½·36 = 18 -> B' >= 18
    with pytest.raises(PreconditionError, match=r"B' >= .*Lemma 4.11"):
        F1.accuracy(**dict(BASE, alpha=0.1, rho=20.0, sigma=3.0, B_prime=17, D_beta=100))


def test_theorem_constants():
    assert [(t.step_divisor, t.K, t.M, t.alpha_L_max) for t in PAPER] == [
        (12, 61, 1600, 6), (18, 14, 1600, 10), (25, 36, 3200, 6)]


def test_corollary_4_16_constant_and_iterations():
    # C = 3·61·max{1 + ρασ/L, ραε/L} at ρ = 2, α = 0.1, σ = 0.3, ε = 0.01, L = 1: 183·1.06 = 193.98
    import sympy as sp

    from mamltheory.bounds.symbols import L, alpha, eps, rho, sigma
    C = co.COROLLARY_4_16_C.subs({L: 1, rho: 2, alpha: sp.Rational(1, 10), sigma: sp.Rational(3, 10), eps: sp.Rational(1, 100)})
    assert C == sp.Rational(19398, 100)
    p = dict(BASE, alpha=0.1, B=math.ceil(193.98 * 0.09 / 1e-4), D_in=math.ceil(193.98 * 0.49 / 1e-4), D_o=30)
    assert co.COROLLARY_4_16_ITERATIONS(**p) == math.floor(1600 * 3.0 * (1 + 0.2 * 0.31) / 1e-4) + 1
    assert co.COROLLARY_4_16_ACCURACY(**p) == 0.01


def test_corollary_4_19_iterations_and_accuracy():
    p = dict(BASE, alpha=0.1, sigma=0.5, sigma_tilde=0.5, B=100, D_in=100, D_o=1, eps=0.5)
    # T = ⌊(40/7)Δ/(α²σ²L)⌋ + 1 = ⌊(40/7)·3/0.0025⌋ + 1
    assert co.COROLLARY_4_19_ITERATIONS(**p) == math.floor(40 / 7 * 3 / 0.0025) + 1 == 6858
    S = 23 * 0.01 * 0.25
    assert co.COROLLARY_4_19_ACCURACY(**p) == pytest.approx(max(math.sqrt(14 * 1.1 * S), 14 * 0.2 * S), rel=1e-13)


positive = st.floats(0.05, 5.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(L=positive, rho=positive, sigma=positive, st_=positive, r=st.floats(0.05, 0.999), eps=st.floats(0.01, 2.0))
def test_corollary_4_16_conditions_imply_theorem_f1_bound_le_eps(L, rho, sigma, st_, r, eps):
    """The explicit C1 = C2 of Corollary 4.16 really makes (86) <= ε (derivation check, not a restatement)."""
    alpha = r / (6 * L)
    C = 183 * max(1 + rho * alpha * sigma / L, rho * alpha * eps / L)
    B = max(20, math.ceil(C * sigma**2 / eps**2))
    D_in = math.ceil(C * st_**2 / eps**2)
    D_o = max(1, math.ceil(C * st_**2 / eps**2 / B))
    p = dict(L=L, rho=rho, sigma=sigma, sigma_tilde=st_, sigma_H=0.0, alpha=alpha, B=B, D_in=D_in, D_o=D_o,
             D_h=1, B_prime=math.ceil(0.5 * (rho * alpha * sigma / L) ** 2 + 1e-9) or 1,
             D_beta=math.ceil((2 * rho * alpha * st_ / L) ** 2 + 1e-9) or 1, eps=eps, initial_gap=1.0)
    assert F1.accuracy(**p) <= eps * (1 + 1e-12)


def step_batches(p):
    """`p` with the step batches Lemma 4.11 (27) asks of its own ρ, α, σ, σ̃, L: B' >= ⌈½(ρασ/L)²⌉,
    D_β >= ⌈(2ρασ̃/L)²⌉ (+1 absorbs float rounding). The accuracy bound does not contain B' or D_β, so a
    variant that raises σ or σ̃ must raise them with it, or it leaves the theorem's preconditions."""
    ras = p["rho"] * p["alpha"] / p["L"]
    return dict(p, B_prime=math.ceil(0.5 * (ras * p["sigma"]) ** 2) + 1,
                D_beta=math.ceil((2 * ras * p["sigma_tilde"]) ** 2) + 1)


@settings(max_examples=80, deadline=None)
@given(L=positive, rho=positive, sigma=positive, st_=positive, r=st.floats(0.05, 0.999),
       B=st.integers(20, 500), D_in=st.integers(1, 500), D_o=st.integers(1, 500), which=st.sampled_from("BIO"))
# Found on a fresh clone: with a fixed D_β = 10⁶, σ̃ = 4 -> 5.2 needs D_β >= ⌈(2·3·(0.5/(6L))·5.2/L)²⌉ = 1016561.
@example(L=0.05078125, rho=3.0, sigma=1.0, st_=4.0, r=0.5, B=20, D_in=1, D_o=1, which="B")
def test_accuracy_monotone_in_batches_and_sigmas(L, rho, sigma, st_, r, B, D_in, D_o, which):
    key = {"B": "B", "I": "D_in", "O": "D_o"}[which]
    for thm in PAPER:
        alpha = r / (thm.alpha_L_max * L)
        p = step_batches(dict(L=L, rho=rho, sigma=sigma, sigma_tilde=st_, sigma_H=0.0, alpha=alpha, B=B, D_in=D_in,
                              D_o=D_o, D_h=1, eps=1e-9, initial_gap=1.0))
        a0 = thm.accuracy(**p)
        assert thm.accuracy(**dict(p, **{key: p[key] + 7})) <= a0
        assert thm.accuracy(**step_batches(dict(p, sigma=sigma * 1.3))) >= a0
        assert thm.accuracy(**step_batches(dict(p, sigma_tilde=st_ * 1.3))) >= a0
