"""Theorem H.1 repaired (docs/repaired-theorems.md): constants pinned to hand derivations, the variance of (150′) by
exact enumeration, the units of the repaired conditions, the bias bound and the theorem on opposed kinks."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as Fr

import numpy as np
import pytest

from mamltheory.bounds.proofs import get_chain
from mamltheory.bounds.theorems import theorem
from mamltheory.bounds.theorems.h1 import paper_radius as hf_delta
from mamltheory.simulate.algorithms import exact_direction
from mamltheory.simulate.exact import fixed_point_1d, min_F_1d, run_exact
from mamltheory.verify.instances import Instance, Noise, Profile, opposed_kinks

REPAIRED_H1 = theorem("hf-maml", "repaired")
THEOREM_H1 = theorem("hf-maml", "paper")

# ---- the hand derivation (docs/repaired-theorems.md), at the corner a = αL = 1/6, ν = ραδ = 1/6, B = 20 --------
A, NU, IB = Fr(1, 6), Fr(1, 6), Fr(1, 20)
C1 = 1 / (1 - 2 * A - A * A)                     # 36/23
C2 = (2 * A + A * A) / (1 - 2 * A - A * A)        # 13/23
B1 = NU * (1 + A) * C1                             # (147′) coefficient of ‖∇F‖: 7/23
C_IN = (1 + A) * A + NU * A                        # (147) coefficient of σ̃/√D_in: 2/9
BRACKET = 2 + 4 * A**2 + 4 * NU**2 + 2 * 1         # (152′) with α²σ_H²/D_h <= 1: 38/9
M_F = BRACKET * Fr(11, 10) * (1 + A) ** 2 * 2 * C1**2       # (156′) ‖∇F‖²
M_S = BRACKET * Fr(11, 10) * (1 + A) ** 2 * (2 * C2**2 + 1)  # (156′) σ²
M_IN = BRACKET * 11 * A**2                                   # (154) σ̃²/D_in
D_STAR = Fr(4, 125) * (Fr(3, 4) - 2 * B1**2) - Fr(1, 400) * (2 + 4 * B1**2 + M_F * IB)   # (103′)
K1 = M_S / 1600
K2 = BRACKET / 1600
K3 = Fr(27, 400) * C_IN**2 + M_IN * IB / 1600
K4 = Fr(27, 400) * ((1 + A) * C1) ** 2            # per ν²σ²
K5 = Fr(27, 400)                                   # per ν²σ̃²/D_o
M_EXACT = 64 / (3 * D_STAR)                        # 2/(d*·(3/4)/8)


def test_hand_values_are_the_documented_ones():
    assert (C1, C2, B1, C_IN, BRACKET) == (Fr(36, 23), Fr(13, 23), Fr(7, 23), Fr(2, 9), Fr(38, 9))
    assert C2 + 1 == C1
    assert (M_F, M_S, M_IN) == (Fr(81928, 2645), Fr(2959649, 285660), Fr(209, 162))
    assert D_STAR == Fr(5471, 661250) and M_EXACT == Fr(42320000, 16413)
    assert M_EXACT * K1 == Fr(14798245, 886302) and M_EXACT * K4 == Fr(3175200, 5471)


@pytest.fixture(scope="module")
def repaired():
    return get_chain("H.1", "repaired").result


@pytest.fixture(scope="module")
def paper():
    return get_chain("H.1", "paper").result


def worst(result, key):
    return Fr(str(result.by_key[key].worst))


def test_repaired_chain_holds_and_gives_the_hand_constants(repaired):
    assert repaired.holds
    assert worst(repaired, "(147) ‖∇F‖") == B1
    assert worst(repaired, "(152′)") == BRACKET
    assert worst(repaired, "(156) ‖∇F‖²") == M_F and worst(repaired, "(156) σ²") == M_S
    assert worst(repaired, "after (157) decrease") == D_STAR
    for key, k in (("σ²/(LB)", K1), ("σ̃²/(D_o LB)", K2), ("σ̃²/(D_in L)", K3), ("ν²σ²/L", K4),
                   ("ν²σ̃²/(D_o L)", K5)):
        assert worst(repaired, f"after (157) {key}") == k, key
    assert worst(repaired, "(109)") == M_EXACT
    assert worst(repaired, "(108)") == max(M_EXACT * k for k in (K1, K2, K3))
    # statement: K = ⌈16.697⌉, κ = ⌈580.37/17⌉, M = ⌈2578.44⌉, c = 2Kκ, K′ = 2K
    c = {k: Fr(str(v)) for k, v in repaired.constants.items()}
    assert (c["K"], c["kappa"], c["M"]) == (17, 35, 2579)
    assert (c["K_nu"], c["delta_budget"], c["K_delta"], c["D_h_factor"], c["nu_max"]) == (595, 1190, 34, 1, Fr(1, 6))
    assert 17 * 35 >= M_EXACT * K4 and 17 >= M_EXACT * K1


def test_coefficients_are_worst_at_the_corner():
    # the chain carries sups taken at a = ν = 1/6, B = 20: check the decrease and the noise there on a grid
    def d(a, nu, ib):
        c1 = 1 / (1 - 2 * a - a * a)
        b1 = nu * (1 + a) * c1
        mf = (2 + 4 * a * a + 4 * nu * nu + 2) * Fr(11, 10) * (1 + a) ** 2 * 2 * c1 * c1
        return Fr(4, 125) * (Fr(3, 4) - 2 * b1 * b1) - Fr(1, 400) * (2 + 4 * b1 * b1 + mf * ib)

    grid = [Fr(k, 60) for k in range(1, 11)]
    assert min(d(a, nu, ib) for a in grid for nu in grid for ib in (Fr(1, 20), Fr(1, 100))) == D_STAR


def test_paper_chain_verdicts_and_its_constants(paper):
    assert {r.key for r in paper.failing} == {"(44)", "(144) E‖v‖", "(145) spread", "(150)", "(152)", "(107) κ"}
    assert paper.constants == {"K": 36, "decrease": Fr(1, 1600), "M": 3200}
    # (152): the bracket keeps α², a dimensional quantity: no sup over α <= 1/(6L) with L free
    assert "not dimensionless" in paper.by_key["(152)"].reason and "alpha" in paper.by_key["(152)"].reason
    assert "delta" in paper.by_key["(150)"].reason
    assert worst(paper, "(107) κ") == Fr(3, 4)
    # the old audit's L = 1 value of (152): 2 + 2/36 + 4/36 + 4/36 = 41/18 < 4.3, slack only there
    assert 2 + 2 * A**2 + 4 * A**2 + 4 * NU**2 == Fr(41, 18)
    # (156) through (44) as stated holds arithmetically: 10(1+a)²C1²/(1−a)², 5(1+a)²(2C2²+1)/(1−a)²
    assert worst(paper, "(156) ‖∇F‖²") == 10 * (1 + A) ** 2 * C1**2 / (1 - A) ** 2 == Fr(127008, 2645)


def test_repairs_named(repaired):
    assert set(REPAIRED_H1.repairs) == {r.key for r in repaired.steps if r.step.repairs}
    assert {"(150′)", "(152′)", "(144′) E‖v‖", "(145′)", "(107′) κ", "(44′)"} <= set(REPAIRED_H1.repairs)


# ---- (150′): the variance of the finite-difference estimate, by exact enumeration ---------------------------
def hessian_noise_instance(profile: Profile) -> Instance:
    """One quadratic task, gradient noise ξ = ±0.3 and Hessian noise η·ψ''(w), η = ±1 (σ_H = max|ψ''|)."""
    return Instance(profiles=(Profile.constant(1.0),), b=((0.0,),), p=(1.0,),
                    noise=Noise(xi=((0.3,), (-0.3,)), eta=(1.0, -1.0), psi=profile))


def fd_variance(inst: Instance, w: float, v: float, delta_k: float, D_h: int) -> float:
    """E_{D_h}|d − E d|², d the mean over D_h samples of the sample difference quotients (eq. (12)), exactly."""
    Wp, Wm = np.array([[[w + delta_k * v]]]), np.array([[[w - delta_k * v]]])
    per = ((inst.grad(Wp)[..., None, :] + inst.sample_grad_shift(Wp)) -
           (inst.grad(Wm)[..., None, :] + inst.sample_grad_shift(Wm)))[0, 0, :, 0] / (2 * delta_k)   # (K,)
    d = np.array([per[list(c)].mean() for c in itertools.product(range(len(per)), repeat=D_h)])
    return float(((d - d.mean()) ** 2).mean())


@pytest.mark.parametrize("D_h", [1, 3])
def test_variance_150_prime_attained_and_the_papers_term_fails(D_h):
    flat = hessian_noise_instance(Profile((-5.0, -4.0, 4.0, 5.0), (0.0, 2.0, 2.0, 0.0)))   # ψ'' = 2 on [−4, 4]
    sH = flat.sigma_H
    assert sH == 2.0
    v, delta = 1.5, 3.0                                    # δ = δ_k|v| = 3, the segment stays in [−4, 4]
    dk = delta / v
    var = fd_variance(flat, 0.0, v, dk, D_h)
    assert var == pytest.approx(sH**2 * v**2 / D_h, rel=1e-12)          # (150′) attained: E η² ψ''² v²/D_h
    assert var > sH**2 / (D_h * dk**2) * 8.99                           # the paper's term is δ² = 9 times smaller
    tent = hessian_noise_instance(Profile.tent(0.0, 2.0, 0.0, 5.0))      # ψ'' varies along the segment
    var_t = fd_variance(tent, 0.3, v, dk, D_h)
    # the segment is [−2.7, 3.3]: mean |z| = (2.7² + 3.3²)/12 = 1.515, mean ψ'' = 2(1 − 1.515/5) = 1.394
    assert var_t == pytest.approx(1.394**2 * v**2 / D_h, rel=1e-12)
    assert var_t <= tent.sigma_H**2 * v**2 / D_h


# ---- (144) and (145): the witnesses of the failing steps ----------------------------------------------------
def test_144_drops_the_outer_noise():
    # f(w) = w²/2 (L = 1), ∇f(w, θ) = ∇f(w) + ξ, ξ = ±s; w = 0, α = 1/6, D_in = D_o = 1: v = ξ_o − αξ_in
    s, al = 0.7, 1 / 6
    Ev = np.mean([abs(xo - al * xi) for xo in (s, -s) for xi in (s, -s)])
    assert Ev == pytest.approx(s)                                 # ((1 − α) + (1 + α))s/2
    assert Ev > 0 + al * s                                        # the paper's (144): ‖∇f(0)‖ + αLσ̃/√D_in
    assert Ev <= 0 + al * s + s                                   # (144′) adds σ̃/√D_o


@pytest.mark.parametrize("c", [1.0, 0.25, 0.01])
def test_145_drops_the_task_spread(c):
    inst = Instance(profiles=(Profile.constant(1.0),) * 2, b=((c + 1,), (c - 1,)), p=(0.5, 0.5))
    al = 1 / 6
    Wt = inst.at(np.zeros(1))
    lhs = float(np.abs(inst.grad(Wt - al * inst.grad(Wt)))[..., 0] @ inst._p)   # E_i|∇f_i(w − α∇f_i(w))|
    gF = float(abs(inst.grad_F(np.zeros(1), al)[0]))
    assert lhs == pytest.approx(1 - al) and gF == pytest.approx((1 - al) ** 2 * c)
    assert lhs / (gF / (1 - al)) == pytest.approx(1 / c)          # the paper's (145) needs this <= 1
    # (145′): <= (1 + αL)C1(‖∇F‖ + σ), σ = 1 here
    c1 = 1 / (1 - 2 * al - al * al)
    assert lhs <= (1 + al) * c1 * (gF + inst.sigma)


# ---- units: g(u) = t·f(s·u) --------------------------------------------------------------------------------
def rescaled(v: dict, t: Fr, s: Fr) -> dict:
    """The same problem in other units (DESIGN.md: w a length, f a loss); δ is a length."""
    out = dict(v)
    out.update(L=t * s**2 * v["L"], rho=t * s**3 * v["rho"], sigma=t * s * v["sigma"],
               sigma_tilde=t * s * v["sigma_tilde"], sigma_H=t * s**2 * v["sigma_H"], alpha=v["alpha"] / (t * s**2),
               eps=t * s * v["eps"], initial_gap=t * v["initial_gap"])
    if "delta" in v:
        out["delta"] = v["delta"] / s
    return out


BASE = {"L": Fr(2), "rho": Fr(3), "sigma": Fr(1, 2), "sigma_tilde": Fr(1, 3), "sigma_H": Fr(50), "alpha": Fr(1, 20),
        "eps": Fr(1, 100), "initial_gap": Fr(4), "B": 50, "D_in": 400, "D_o": 30, "B_prime": 1, "D_beta": 1}


@pytest.mark.parametrize("t,s", [(Fr(1), Fr(2)), (Fr(10), Fr(1, 3)), (Fr(1, 7), Fr(5))])
def test_repaired_conditions_are_unit_free_and_the_papers_is_not(t, s):
    r = REPAIRED_H1
    g = rescaled(BASE, t, s)
    dh = lambda v: r.D_h_bound.exact(alpha=v["alpha"], sigma_H=v["sigma_H"])
    assert dh(g) == dh(BASE) == 7                                         # ⌈α²σ_H²⌉ = ⌈2500/400⌉ = ⌈6.25⌉
    # ν = ραδ of the (δ′) radius is the same number in both units (δ itself scales like a length)
    nu = lambda v: v["rho"] * v["alpha"] * r.radius_bound(**{k: v[k] for k in r.radius_bound.parameters})
    assert nu(g) == pytest.approx(nu(BASE), rel=1e-12)
    # the paper's D_h >= ⌈36(αρσ_H)²⌉ scales by (ts³)²
    paper = lambda v: math.ceil(36 * (v["alpha"] * v["rho"] * v["sigma_H"]) ** 2)
    assert paper(BASE) == 2025 and paper(g) == math.ceil(2025 * (t * s**3) ** 2) != 2025
    assert str(THEOREM_H1.D_h_min) == "ceiling(36*alpha**2*rho**2*sigma_H**2)"


@pytest.mark.parametrize("t,s", [(Fr(1), Fr(2)), (Fr(10), Fr(1, 3))])
def test_repaired_accuracy_scales_like_a_gradient_and_T_is_invariant(t, s):
    r = REPAIRED_H1
    v = dict(BASE, delta=Fr(1, 100), D_h=7)
    g = rescaled(v, t, s)
    assert r.accuracy_at_radius(**g) == pytest.approx(float(t * s) * r.accuracy_at_radius(**v), rel=1e-12)
    assert r.iterations_at_radius.exact(**g) == r.iterations_at_radius.exact(**v)


# ---- opposed kinks: the bias bound and the repaired theorem with exact expectations -------------------------
@pytest.fixture(scope="module")
def kinks():
    inst = opposed_kinks()
    assert (inst.L, inst.rho, inst.sigma) == (1.0, 0.5, 1.25)
    return inst


@pytest.mark.parametrize("nu", [1 / 6, 1 / 24, 1e-3])
def test_bias_bound_on_opposed_kinks(kinks, nu):
    """(147′) with σ̃ = 0: ‖E G − ∇F‖ <= ν(1 + αL)C1(‖∇F‖ + σ); and the sharper ν·E_i|∇f_i(w − α∇f_i(w))|."""
    al = 1 / 6
    ws = np.linspace(-4, 4, 801)[:, None]
    s = np.abs(exact_direction(kinks, "hf-maml", ws, al, nu / (kinks.rho * al))[:, 0] - kinks.grad_F(ws, al)[:, 0])
    Wt = kinks.at(ws)
    adapted = np.abs(kinks.grad(Wt - al * kinks.grad(Wt)))[..., 0] @ kinks._p
    c1 = 1 / (1 - 2 * al - al * al)
    final = nu * (1 + al) * c1 * (np.abs(kinks.grad_F(ws, al)[:, 0]) + kinks.sigma)
    assert np.all(s <= nu * adapted + 1e-15) and np.all(s <= final)
    assert np.max(s / (nu * adapted)) > 0.37      # not vacuous: within a factor 3 (the Taylor slack 2 of (10))


def test_repaired_hf_maml_reaches_its_bound_where_the_papers_stalls(kinks):
    r = REPAIRED_H1
    al = 1 / 6
    w_star = fixed_point_1d(kinks, "hf-maml", al, -3.0, 3.0, hf_delta(kinks.rho, al))
    floor = abs(kinks.grad_F(np.array([w_star]), al)[0])
    assert floor == pytest.approx(0.0444633, abs=1e-6)
    eps = floor / 2
    huge = 10**12
    v = {"L": kinks.L, "rho": kinks.rho, "sigma": kinks.sigma, "sigma_tilde": 0.0, "sigma_H": 0.0, "alpha": al,
         "eps": eps, "B": huge, "D_in": huge, "D_o": huge, "D_h": 1, "B_prime": huge, "D_beta": 1}
    delta = r.radius_bound(**{k: v[k] for k in r.radius_bound.parameters}) * (1 - 1e-9)   # inside (δ′) in exact arithmetic
    assert kinks.rho * al * delta == pytest.approx(eps / math.sqrt(1190 * 1.25**2 * (1 + (1.25 + eps) / 12)), rel=1e-8)
    for w0 in (w_star, -2.5):
        gap = float(kinks.F(np.array([w0]), al) - min_F_1d(kinks, al))
        vals = dict(v, delta=delta, initial_gap=gap)
        bound = r.accuracy_at_radius(**vals)
        assert bound == pytest.approx(eps) and r.accuracy(**vals) == pytest.approx(eps)
        assert r.delta_condition.holds(vals)   # (131″) = r.accuracy applies at this radius
        T = r.iterations_at_radius.exact(**vals)
        _, gn = run_exact(kinks, "hf-maml", np.array([w0]), al, min(T - 1, 5000), r.step_divisor, delta,
                          stop_below=bound)
        assert gn[-1] <= bound and len(gn) - 1 <= T - 1
    # with the paper's ν = 1/6 the repaired bound does not promise what HF-MAML cannot reach
    paper_nu = dict(v, delta=hf_delta(kinks.rho, al), initial_gap=1.0)
    assert r.accuracy_at_radius(**paper_nu) > floor


def test_bounds_provenance_and_the_doc():
    from pathlib import Path

    from mamltheory.bounds.proofs.document import chain_markdown

    r = REPAIRED_H1
    assert r.D_h_bound.source == "repaired Theorem H.1, step (150′)" and r.D_h_bound.kind == "lower"
    assert r.radius_bound.source == "repaired Theorem H.1, condition (δ′)"
    assert r.accuracy_at_radius.source == "repaired Theorem H.1, eq. (131′)"
    assert r.accuracy.source == "repaired Theorem H.1, eq. (131″)" and "(150′)" in r.accuracy.note
    assert r.accuracy.name == "repaired Theorem H.1 accuracy" and (r.K_T, r.K, r.M) == (17, 34, 2579)
    # a precondition outside the theorem: ν = ραδ > 1/6 (the paper's radius at twice its size)
    from mamltheory.errors import PreconditionError
    v = dict(BASE, D_h=7, delta=Fr(1, 3) / (BASE["rho"] * BASE["alpha"]))
    with pytest.raises(PreconditionError, match="ν = ραδ"):
        r.accuracy_at_radius(**v)
    text = (Path(__file__).resolve().parents[2] / "docs" / "repaired-theorems.md").read_text(encoding="utf-8")
    for theory in ("repaired", "paper"):
        assert chain_markdown(get_chain("H.1", theory)) in text
