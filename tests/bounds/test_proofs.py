"""Proofs as data (bounds/proofs): F.1 and G.1 chains, their repairs, the repaired theorems and `audit --chain`.

Every pinned constant is recomputed here by hand, in exact fractions, from the proof's own formulas.
"""

import json
from dataclasses import replace
from fractions import Fraction as Fr

import numpy as np
import pytest
import sympy as sp

from mamltheory.bounds import symbols as S
from mamltheory.bounds.proofs import (
    FAILS,
    SLACK,
    Chain,
    Step,
    a,
    extremum_over,
    f1,
    g1,
    get_chain,
    ref,
)


def const(theorem, theory):
    return {k: Fr(str(v)) for k, v in get_chain(theorem, theory).result.constants.items()}


def step(chain, key):
    return chain.result.by_key[key]


def lemma_a2(a):
    return 1 / (1 - 2 * a - a * a), (2 * a + a * a) / (1 - 2 * a - a * a)


# --- the paper's chains reproduce the paper's constants and today's audit -------------------------------------

def test_paper_f1_constants_come_from_the_chain():
    c = const("F.1", "paper")
    assert c == {"K": 61, "decrease": Fr(1, 800), "M": 1600}
    # K must cover 14/368 per σ²/(LB) at half the decrease: 2·(14/368)·800 = 1400/23 <= 61
    assert step(f1.PAPER, "(108)").worst == sp.Rational(1400, 23) and step(f1.PAPER, "(108)").verdict == SLACK
    # (103): 0.9/15 − (1/92)(2 + 40/20) = 19/1150
    assert step(f1.PAPER, "(103) decrease").worst == sp.Rational(19, 1150)


def test_paper_chains_fail_where_the_audit_says():
    assert [r.key for r in f1.PAPER.result.failing] == ["(44)", "(107) κ"]
    assert [r.key for r in g1.PAPER.result.failing] == ["(44)", "end of G.1 α²Lσ²", "(107) κ"]
    # (44): (1+a)² claimed, (1+a)⁴ derived; worst gap at a = 1/6: 49/36 − 2401/1296 = −637/1296
    assert step(f1.PAPER, "(44)").margin == sp.Rational(-637, 1296)
    # G.1's last step: (25/8)/(2·324·4)·24 + (1/72)·12 = 169/864 against 1/6
    alpha_term = Fr(25, 8) / 2592 * 24 + Fr(1, 72) * 12
    r = step(g1.PAPER, "end of G.1 α²Lσ²")
    assert alpha_term == Fr(169, 864) and r.worst == sp.Rational(169, 864) and r.margin == sp.Rational(1, 6) - r.worst


def test_g1_alpha_term_carried_needs_15_65():
    """Carrying the α²Lσ² coefficient as derived, (113) needs K >= 1600·(169/864)/20 = 845/54 ≈ 15.65 > 14."""
    steps = tuple(s.with_claimed(None) if s.key == "end of G.1 α²Lσ²" else s for s in g1.PAPER.steps)
    r = Chain("G.1", "paper", steps, g1.PAPER.outputs).result.by_key["(113)"]
    assert r.worst == sp.Rational(845, 54) and r.verdict == FAILS


def test_g1_eq_122_through_44_is_tight():
    # αL/(1−αL)·(1+αL)·√2·C1 at αL = 1/10: (1/9)(11/10)√2(100/79) = 110√2/711 ≈ 0.2188 <= 0.22
    r = step(g1.PAPER, "(122) ‖∇F‖")
    assert r.worst == 110 * sp.sqrt(2) / 711 and r.verdict == SLACK


# --- (107): the expectation of a minimum, and the convex-envelope repair --------------------------------------

def h(x, u, v):
    return np.minimum(x * x / u, x / v)


def psi(x, u, v):
    """The convex envelope of h: x²/u up to u/(2v), then the tangent x/v − u/(4v²)."""
    return np.where(x <= u / (2 * v), x * x / u, x / v - u / (4 * v * v))


def test_envelope_lies_below_h_and_above_three_quarters_of_it_on_a_grid():
    rng = np.random.default_rng(0)
    for u, v in [(1.0, 1.0), (3.7, 0.2), (0.05, 9.0), *rng.uniform(0.01, 10, size=(5, 2))]:
        x = np.linspace(0, 20 * u / v, 20001)
        assert np.all(psi(x, u, v) <= h(x, u, v) + 1e-12 * h(x, u, v).max())
        assert np.all(psi(x, u, v) >= 0.75 * h(x, u, v) - 1e-12 * h(x, u, v).max())
        second = np.diff(psi(x, u, v), 2)
        assert second.min() >= -1e-9 * psi(x, u, v).max()  # convex
        # tight point x = u/v: ψ = 1/v·u/v − u/(4v²) = (3/4)u/v², h = u/v²
        assert psi(np.array(u / v), u, v) == pytest.approx(0.75 * h(np.array(u / v), u, v), rel=1e-12)


def test_expectation_of_minimum_fails_by_the_witness():
    """X = 1/2 w.p. 1 − p, 1/(2p) w.p. p (u = v = 1), p <= 1/3: E min{X², X} = 3/4 − p/4 < min{E X², E X} = 1 − p/2."""
    for p in (1 / 3, 0.1, 1e-3):
        xs, ps = np.array([0.5, 1 / (2 * p)]), np.array([1 - p, p])
        lhs = float(ps @ h(xs, 1, 1))
        rhs = min(float(ps @ xs**2), float(ps @ xs))
        assert lhs == pytest.approx(0.75 - p / 4) and rhs == pytest.approx(1 - p / 2) and lhs < rhs
        # the repaired step holds for it: E h >= (3/4) min{(E X)², E X}
        assert lhs >= 0.75 * min(float(ps @ xs) ** 2, float(ps @ xs)) - 1e-12
    r = step(f1.REPAIRED, "(107′) κ")
    assert r.worst == sp.Rational(3, 4) and r.step.repairs == "(107) κ"


# --- (44) routed through (56) --------------------------------------------------------------------------------

def test_56_route_gives_99_and_129_without_44():
    # F.1 (99) with the paper's (96) = 2: 2·[2(1+a)²]·(2C1²) and 2·[2(1+a)²]·(2C2² + 1) at a = 1/6
    a6 = Fr(1, 6)
    C1, C2 = lemma_a2(a6)
    grad, sig = 8 * (1 + a6) ** 2 * C1**2, 4 * (1 + a6) ** 2 * (2 * C2**2 + 1)
    assert float(grad) == pytest.approx(26.6767, abs=1e-4) and float(sig) == pytest.approx(8.9231, abs=1e-4)
    chain = f1.PAPER_WITHOUT_44
    assert step(chain, "(99) ‖∇F‖²").worst == sp.Rational(grad.numerator, grad.denominator)
    assert step(chain, "(99) σ²").worst == sp.Rational(sig.numerator, sig.denominator)
    assert [r.key for r in chain.result.failing] == ["(107) κ"]
    assert chain.result.constants == f1.PAPER.result.constants  # (44) touches none of 61, 1/800, 1600
    # G.1 (129): 2(1+a)²·2C1² and 2(1+a)²(2C2² + 1) at a = 1/10; (122): (a/(1−a))(1+a)²C1, (1+a)²(C2+1)/(1−a)
    a10 = Fr(1, 10)
    C1, C2 = lemma_a2(a10)
    chain = g1.PAPER_WITHOUT_44
    assert step(chain, "(129) ‖∇F‖²").worst == sp.Rational(48400, 6241) == 4 * (1 + a10) ** 2 * C1**2
    assert Fr(str(step(chain, "(129) σ²").worst)) == 2 * (1 + a10) ** 2 * (2 * C2**2 + 1)
    assert Fr(str(step(chain, "(122′) ‖∇F‖").worst)) == a10 / (1 - a10) * (1 + a10) ** 2 * C1 == Fr(121, 711)
    assert Fr(str(step(chain, "(122′) αLσ").worst)) == (1 + a10) ** 2 * (C2 + 1) / (1 - a10) == Fr(1210, 711)
    assert [r.key for r in chain.result.failing] == ["end of G.1 α²Lσ²", "(107) κ"]
    assert chain.result.constants == g1.PAPER.result.constants


def test_56_route_on_the_44_counterexample():
    """f_i(w) = −w²/2 ± w (L = 1, σ = 1), α = 0.1, w = 0: (44) fails, the (56) route's bound holds."""
    alpha = 0.1
    grads = [(-(0 - alpha * g) + b) for b, g in ((1, 1), (-1, -1))]  # ∇f_i(w − α∇f_i(w)), ∇f_i(0) = b
    second = np.mean(np.square(grads))
    C1, C2 = (float(x) for x in lemma_a2(Fr(1, 10)))
    bound_56 = (1 + alpha) ** 2 * (2 * C1**2 * 0 + (2 * C2**2 + 1) * 1)
    assert second == pytest.approx(1.21) and second <= bound_56
    assert all(abs(g) <= (1 + alpha) * 1 + 1e-12 for g in grads)  # (56)
    assert (1 + alpha) ** 4 > bound_56  # E‖∇F_i‖² = 1.1⁴ breaks (44)'s right-hand side


# --- repaired chains: every step holds, constants by hand -----------------------------------------------------

def test_repaired_f1_constants_by_hand():
    a6 = Fr(1, 6)
    C1, C2 = lemma_a2(a6)
    s96 = (1 + a6) ** 2 + Fr(1, 2)                      # 67/36
    k98 = 2 * (1 + a6) ** 2                              # (98′): (75)'s 2 times (56)²
    g99, s99, do99, din99 = s96 * k98 * 2 * C1**2, s96 * k98 * (2 * C2**2 + 1), s96, s96 * 2 * a6**2
    r91 = (1 + a6) * a6
    eb_low, eb_up, eb2 = Fr(4, 5) / 12, Fr(1, 48), Fr(25, 8) / 288
    eb2L = eb2 / 4
    dec103 = Fr(9, 10) * eb_low - eb2 * (2 + g99 / 20)
    n = [s99 * eb2L, do99 * eb2L, eb_up * 10 * r91**2 + eb2L * (2 * r91**2 + din99 / 20)]
    d = dec103 * Fr(3, 4) / 8
    K, M = 2 * max(n) / d, 2 / d
    assert g99 == Fr(13132, 529) and float(K) == pytest.approx(19.352, abs=1e-3) and float(M) == pytest.approx(859.15, abs=1e-2)
    r = f1.REPAIRED.result
    assert r.holds
    assert {k: Fr(str(r.by_key[key].worst)) for k, key in f1.REPAIRED.outputs.items()} == {"K": K, "decrease": d, "M": M}
    assert const("F.1", "repaired") == {"K": 20, "decrease": d, "M": 860}   # K, M rounded up


def test_repaired_g1_constants_by_hand():
    a10 = Fr(1, 10)
    C1, C2 = lemma_a2(a10)
    r122g, r122s = a10 / (1 - a10) * (1 + a10) ** 2 * C1, (1 + a10) ** 2 * (C2 + 1) / (1 - a10)
    r125 = [3 * r122g**2, 3 * r122s**2, 3 * a10**2]
    r126 = [2 + 2 * r125[0], 2 * r125[1], 2 * r125[2]]
    k128 = 2 * (1 + a10) ** 2
    r129 = [k128 * 2 * C1**2, k128 * (2 * C2**2 + 1), 1, 2 * a10**2]
    r130 = [Fr(1, 4) + r125[0], r125[1], r125[2]]
    eb_low, eb_up, eb2 = Fr(4, 5) / 18, Fr(1, 72), Fr(25, 8) / 648
    eb2L = eb2 / 4
    dec = (1 - r130[0]) * eb_low - eb2 * (r126[0] + r129[0] / 20)
    noise = [r129[1] * eb2L, eb2L * r126[1] + eb_up * r130[1], r129[2] * eb2L,
             eb2L * (r129[3] / 20 + r126[2]) + eb_up * r130[2]]
    d = dec * Fr(3, 4) / 8
    K = 2 * max(noise[0], noise[1] / 20, noise[2], noise[3]) / d
    M = 2 / d
    assert float(K) == pytest.approx(8.8248, abs=1e-4) and float(M) == pytest.approx(1246.2, abs=0.1)
    r = g1.REPAIRED.result
    assert r.holds
    assert {k: Fr(str(r.by_key[key].worst)) for k, key in g1.REPAIRED.outputs.items()} == {"K": K, "decrease": d, "M": M}
    assert const("G.1", "repaired") == {"K": 9, "decrease": d, "M": 1247}
    # the paper's statement survives: 14 >= K, 1600 >= M; likewise F.1's 61 and 1600
    assert K <= 14 and M <= 1600


def test_replacement_propagates_to_the_final_constants():
    """Only (107) repaired, the paper's other numbers kept: the decrease becomes (1/100)(3/4)/8 = 3/3200, so
    (108) needs 2·(14/368)/(3/3200) = 5600/69 > 61 and (109) needs 6400/3 > 1600."""
    chain = f1.PAPER.replace("(107) κ", *f1.ENVELOPE[0][1])
    chain = chain.replace("(107) decrease", replace(chain.step("(107) decrease"), claimed=None, repairs="(107) decrease"))
    r = chain.result
    assert r.constants["decrease"] == sp.Rational(3, 3200)
    assert r.by_key["(108)"].worst == sp.Rational(5600, 69) and r.by_key["(108)"].verdict == FAILS
    assert r.by_key["(109)"].worst == sp.Rational(6400, 3) and r.by_key["(109)"].verdict == FAILS
    assert f1.PAPER.result.constants["decrease"] == sp.Rational(1, 800)  # the paper's chain is unchanged


# --- the API's rules ---------------------------------------------------------------------------------------------

def test_step_not_dimensionless_fails_over_the_range():
    """H.1's (152) under the paper's D_h rule leaves α in the bracket: it has no sup over the theorem's range."""
    s = Step("(152)", "bracket", sp.Rational(43, 10), 2 + 2 * S.alpha**2 + 4 * a**2 + 4 * sp.Rational(1, 36),
             ranges={a: (0, sp.Rational(1, 6))})
    r = Chain("H.1", "paper", (s,), {}).result.steps[0]
    assert r.verdict == FAILS and "not dimensionless" in r.reason and "alpha" in r.reason


def test_chain_rules():
    with pytest.raises(ValueError, match="not listed in uses"):
        Step("(1)", "x", 1, ref("(0)"))
    with pytest.raises(ValueError, match="not an earlier step"):
        Chain("X", "paper", (Step("(1)", "x", 1, 1, uses=("(0)",)),), {})
    with pytest.raises(ValueError, match="repairs"):
        f1.PAPER.replace("(91)", Step("(91′)", "x", None, 1))
    with pytest.raises(KeyError, match="available: F.1 \\(paper\\)"):
        get_chain("Z.9")


def test_extremum_over_box_and_infinity():
    b = sp.Symbol("b", positive=True)
    # affine in b: the worse end; interior maximum in a of a(1 − 3a) at a = 1/6
    assert extremum_over(a * (1 - 3 * a) - b, {a: (0, sp.Rational(1, 2)), b: (0, 1)}) == sp.Rational(1, 12)
    assert extremum_over(a * (1 - 3 * a) - b, {a: (0, sp.Rational(1, 2)), b: (0, 1)}, "lower") == sp.Rational(-5, 4)
    t = sp.Symbol("t", positive=True)
    assert extremum_over(1 - 1 / (4 * t), {t: (1, sp.oo)}) == 1
    with pytest.raises(ValueError, match="pole"):
        extremum_over(1 / (1 - 2 * a), {a: (0, 1)})


# --- the repaired theorems as Bounds --------------------------------------------------------------------------

def test_repaired_bounds():
    from mamltheory.bounds import RESULTS, theorem

    REPAIRED_F1, REPAIRED_G1 = theorem("maml", "repaired"), theorem("fo-maml", "repaired")
    THEOREM_F1 = theorem("maml", "paper")
    assert (REPAIRED_F1.K, REPAIRED_F1.M, REPAIRED_G1.K, REPAIRED_G1.M) == (20, 860, 9, 1247)
    assert REPAIRED_F1.accuracy.source == "repaired Theorem F.1, eq. (86)"
    assert "repaired at (44′), (98′), (107′)" in REPAIRED_F1.accuracy.note
    assert "repaired at (44′), (122′), (128′), (107′)" in REPAIRED_G1.accuracy.note
    assert THEOREM_F1.K == 61 and THEOREM_F1.M == 1600  # the paper's result is untouched
    assert "D_h" not in REPAIRED_G1.accuracy.parameters and "D_h" in REPAIRED_F1.accuracy.parameters
    v = {"L": 1, "rho": 1, "sigma": 1, "sigma_tilde": 1, "sigma_H": 1, "alpha": Fr(1, 6), "B": 20, "D_in": 10,
         "D_o": 10, "D_h": 1, "B_prime": 1, "D_beta": 1, "eps": Fr(1, 100), "initial_gap": 1}
    S_ = Fr(1, 20) + Fr(1, 200) + Fr(1, 10)
    # the √ branch: √(20(1 + 1/6)S)
    assert REPAIRED_F1.accuracy(**v) == pytest.approx(float(20 * Fr(7, 6) * S_) ** 0.5)
    # iterations ⌊Δ/dec⌋ + 1, dec = max{ε²/(L + ρα(σ + ε)), 20 S/L}/860
    dec = max(Fr(1, 10000) / (1 + Fr(1, 6) * Fr(101, 100)), 20 * S_) / 860
    assert REPAIRED_F1.iterations.exact(**v) == int(1 / dec) + 1
    names = {b.name for b in RESULTS}
    assert {"repaired Theorem F.1 accuracy", "repaired Theorem G.1 iterations", "Theorem F.1 accuracy",
            "repaired Theorem H.1 accuracy", "repaired Theorem H.1 radius"} <= names


# --- audit --chain -----------------------------------------------------------------------------------------------

def test_audit_chain_cli(run_cli):
    code, out, err = run_cli(["audit", "--chain", "F.1"])
    assert code == 0 and err == ""
    assert "(107) κ" in out and "fails" in out and "K = 61" in out and "failing steps: (44), (107) κ" in out
    code, out, _ = run_cli(["audit", "--chain", "G.1", "--theory", "repaired", "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["holds"] and doc["theory"] == "repaired"
    assert doc["constants"]["K"]["exact"] == "9" and doc["constants"]["M"]["exact"] == "1247"
    assert "(107′) κ" in doc["repairs"]
    assert {"label", "quantity", "claimed", "worst", "verdict", "margin", "uses", "justification"} <= set(doc["steps"][0])


@pytest.mark.parametrize("argv, needle", [
    (["audit", "--chain", "X.9"], "--chain"),
    (["audit", "--chain", "F.1", "--theory", "wrong"], "--theory"),
    (["audit", "--chain", "F.1", "--only", "constant"], "--only"),
])
def test_audit_chain_bad_input(run_cli, argv, needle):
    code, out, err = run_cli(argv)
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1
    if argv[2] == "X.9":
        assert "no result labelled 'X.9'; known: Lemma 4.9," in err and "F.1, G.1, H.1" in err


def test_repaired_theorems_doc_prints_the_chains():
    """docs/repaired-theorems.md holds each repaired chain exactly as `chain_markdown` prints it."""
    from pathlib import Path

    from mamltheory.bounds.proofs.document import chain_markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "repaired-theorems.md").read_text(encoding="utf-8")
    for theorem in ("F.1", "G.1", "H.1"):
        assert chain_markdown(get_chain(theorem, "repaired")) in text


@pytest.mark.parametrize("module, carried, K, M", [
    # F.1: d = (19/1150)(3/4)/8 = 57/36800; K = 2(14/368)/d = 257600/5244; M = 2/d = 73600/57
    (f1, ("(103) decrease", "(107) decrease", "(108)", "(109)"), Fr(257600, 5244), Fr(73600, 57)),
    # G.1: d = (929/86400)(3/32), the α²Lσ² noise 169/864: K = 2(169/864)/20/d, M = 2/d
    (g1, ("end of G.1 decrease", "end of G.1 α²Lσ²", "(107) decrease", "(113)", "(114)"),
     2 * Fr(169, 864) / 20 / (Fr(929, 86400) * Fr(3, 32)), 2 / (Fr(929, 86400) * Fr(3, 32))),
])
def test_minimal_repair_keeps_the_papers_other_numbers(module, carried, K, M):
    """(107′) alone, the paper's numbers kept except where a step carries its derived value: F.1 still fits
    61 and 1600 (K ≈ 49.1, M ≈ 1291); G.1 needs K ≈ 19.4 > 14 and M ≈ 1984 > 1600 on that route."""
    chain = module.PAPER.replace_all(module.ENVELOPE)
    for key in carried:
        chain = chain.replace(key, replace(chain.step(key), claimed=None, repairs=key))
    c = chain.result.constants
    assert (Fr(str(c["K"])), Fr(str(c["M"]))) == (K, M)
    assert [r.key for r in chain.result.failing] == ["(44)"]  # (44) is not used by any constant that changed
