"""Tightness table (verify/tightness.py): first hits and T pinned by hand, exact variances, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from mamltheory.assumptions import ProblemConstants
from mamltheory.verify import tightness as tt
from mamltheory.verify.check import CONTRADICTED, HOLDS, VERDICTS
from mamltheory.verify.instances import Instance, Profile, plateau, quadratic_task

F1 = tt.entries()["Theorem F.1 (paper)"]
# f(w) = w²/2 (L = 1, ρ = 0, σ = 0), α = 1/6: F(w) = (25/72)w², ∇F(w) = (25/36)w; ρ = 0 gives
# L(w) = 4L = 4 and F.1's step β = 1/(12·4) = 1/48, so w_{k+1} = (1 − 25/1728) w_k = (1703/1728) w_k.
Q = 1703 / 1728
G0 = 25 / 36            # ‖∇F(w_0)‖ at w_0 = 1
GAP = 25 / 72           # Δ = F(1) − min F = F(1)


def test_trace_is_the_closed_form_geometric_sequence():
    _, gn = tt.trace(F1, quadratic_task(1.0), np.array([1.0]), 100)
    k = np.arange(101)
    assert np.allclose(gn, G0 * Q**k, rtol=1e-12, atol=0)


def test_first_hit_and_T_pinned_by_hand():
    # ε = 0.3: (1703/1728)^57·25/36 = 0.30259 > 0.3 >= 0.29822 = (1703/1728)^58·25/36, so k_first = 58.
    # F.1 with σ = σ̃ = 0: bound = ε, dec = ε²/(1600(L + ρα(σ + ε))) = 0.09/1600 (ρ = 1e-300),
    # T = ⌊Δ/dec⌋ + 1 = ⌊(25/72)·1600/0.09⌋ + 1 = ⌊6172.84⌋ + 1 = 6173.
    inst = quadratic_task(1.0)
    _, gn = tt.trace(F1, inst, np.array([1.0]), 200)
    bound, T = F1.bound(inst.constants, 1 / 6, 0.3, GAP)
    assert bound == pytest.approx(0.3, rel=1e-15)
    assert T == 6173
    assert tt.first_hit(gn, bound) == 58
    acc, acc_v, k, it, it_v = tt.judge_claims(gn, None, bound, T)
    assert (k, it, it_v) == (58, 58 / 6173, HOLDS)
    # T > H + 1 and the run reached ‖∇F‖ = G0·Q^200 = 0.0377: an upper bound on min_{k<T}, below 1 → holds
    assert acc == pytest.approx(G0 * Q**200 / 0.3, rel=1e-10) and acc_v == HOLDS


def test_no_early_stop_and_undecided_iterations():
    # A run of 40 iterations never reaches ε = 0.3 (k_first = 58): with T = 6173 > 41 that is undecided,
    # and the iteration ratio reported is the lower bound (H + 1)/T.
    inst = quadratic_task(1.0)
    _, gn = tt.trace(F1, inst, np.array([1.0]), 40)
    acc, acc_v, k, it, it_v = tt.judge_claims(gn, None, 0.3, 6173.0)
    assert k is None and it == pytest.approx(41 / 6173) and it_v == "inconclusive"
    assert acc_v == "inconclusive" and acc == pytest.approx(G0 * Q**40 / 0.3, rel=1e-10)


def test_direction_variance_matches_the_two_point_closed_form():
    # f_i(w) = w²/2 + b_i w, b = ±1, p = (0.3, 0.7): ∇F_i(w) = (1 − α)²(w + b_i) (MAML's exact task direction).
    # The mean of B i.i.d. draws has variance p1 p2 ((1 − α)²(b_1 − b_2))² / B.
    inst = Instance(profiles=(Profile.constant(1.0),) * 2, b=((1.0,), (-1.0,)), p=(0.3, 0.7))
    a, B, w = 0.1, 5, np.array([0.7])
    mean, var = tt.direction_moments(inst, "maml", w, a, B)
    assert var == pytest.approx(0.3 * 0.7 * (0.81 * 2) ** 2 / 5, rel=1e-12)   # 0.1102248
    assert mean[0] == pytest.approx(0.81 * (0.7 + 0.3 - 0.7), rel=1e-12)
    _, var_fo = tt.direction_moments(inst, "fo-maml", w, a, B)               # v_i = (1 − α)(w + b_i)
    assert var_fo == pytest.approx(0.3 * 0.7 * (0.9 * 2) ** 2 / 5, rel=1e-12)


def test_plateau_gradient_is_b_on_the_plateau():
    inst = plateau(5.0, 0.7)
    z = np.array([[-4.0], [-2.0], [-0.5]])
    assert np.allclose(inst.grad_F(z, 1 / 6)[:, 0], 0.7, rtol=0, atol=1e-14)
    assert (inst.L, inst.rho, inst.sigma) == (1.0, 1.0, 0.0)


def _synthetic(factor: float, N: int = 40) -> tt.TheoremEntry:
    """On the quadratic task: T = N and accuracy bound = factor × min_{k<N} ‖∇F(w_k)‖ = factor·G0·Q^(N−1)."""
    def bound(c: ProblemConstants, alpha: float, eps: float, gap: float) -> tuple[float, float]:
        return factor * G0 * Q ** (N - 1), float(N)
    return tt.TheoremEntry(result=f"synthetic ×{factor}", source="test", algorithm="maml", label="F.1",
                           theory="paper", bound=bound,
                           step=F1.step, delta=F1.delta, alpha_L=1 / 6)


@pytest.mark.parametrize("factor, verdict", [(0.9, CONTRADICTED), (1.1, HOLDS)])
def test_synthetic_bound_is_judged(factor, verdict):
    entry = _synthetic(factor)
    where = [tt.Setting("quadratic", quadratic_task(1.0), (1.0,), "")]
    acc, it = tt.theorem_rows(entry, True, where=where, horizon=100)
    assert acc.verdict == verdict and acc.details["claim"] == "accuracy"
    assert acc.ratio == pytest.approx(1 / factor, rel=1e-10)
    # first hit: G0·Q^k <= factor·G0·Q^39 ⇔ k >= 39 + ln(factor)/ln(Q): 47 for 0.9 (39 + 7.23, rounded up), 33 for 1.1 (39 − 6.54)
    k = 47 if factor == 0.9 else 33
    assert it.details["k_first"] == k and it.ratio == pytest.approx(k / 40)
    assert it.verdict == (CONTRADICTED if k >= 40 else HOLDS)


def test_section_records_have_all_fields():
    out = tt.tightness(quick=True, seed=0)
    names = {r.name for r in out}
    for result, claim, _ in tt.INEQUALITIES:
        assert f"Tightness: {result} {claim}" in names
    for e in tt.entries().values():
        assert f"Tightness: {e.result} accuracy" in names and f"Tightness: {e.result} iterations" in names
    record = {"checks": [r.to_json() for r in out]}
    rows = tt.tightness_table(record)
    assert len(rows) == len(out)
    for r, c in zip(rows, out):
        assert c.kind == "tightness" and c.verdict in VERDICTS and c.evidence
        assert set(tt.TABLE_FIELDS) <= set(r)
        assert r["result"] and r["claim"]
        if c.verdict != "inconclusive":
            assert r["instance_recipe"] and r["worst_ratio"] is not None
    md = tt.markdown_table(record)
    assert md.count("\n| ") == len(out)          # one line per row below the header and the rule
    # certificates are upper bounds of what sampling attains: looseness >= 1 wherever the estimate is positive
    certs = [c for c in out if c.details.get("family")]
    assert len(certs) == 15 and all(c.details["looseness"] >= 1 - 1e-6 for c in certs)


@pytest.mark.slow
def test_fastest_sharp_choices_have_the_least_M_on_their_grid() -> None:
    """tightness.FASTEST is what its comment says: the certified choices with the least M on the stated grid."""
    from dataclasses import replace
    from fractions import Fraction

    from mamltheory.bounds.choose import certified
    from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES
    from mamltheory.bounds.theorems import theorem
    from mamltheory.verify.tightness import FASTEST

    for alg, chosen in FASTEST.items():
        base = DEFAULT_CHOICES[theorem(alg, "sharp").label]
        found = []
        for c in (2, 3, 4, 5, 6, 8, 10, 12, 16, 25):
            for w in (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)):
                for B in (20, 1000):
                    t = certified(alg, replace(base, step_divisor=c, young=w, B_min=B))
                    if t is not None:
                        found.append((t.chain_constants["M_exact"], c, w, B))
        M, c, w, B = min(found)
        assert (c, w, B) == (chosen.step_divisor, chosen.young, chosen.B_min), alg
