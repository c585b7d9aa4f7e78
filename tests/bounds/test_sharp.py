"""The sharp theory (docs/sharp-theorems.md): chains at free choices, their constants, the Theorem objects.

Every pinned constant is recomputed here by hand, in exact fractions, from the hand derivation of
docs/sharp-theorems.md (each coefficient is increasing in αL, ν and 1/B, so it is taken at the range's end),
not read off the chain.
"""

import json
from dataclasses import replace
from fractions import Fraction as Fr
from math import ceil

import pytest
import sympy as sp

from mamltheory.bounds.proofs import DEFAULT_CHOICES, FAILS, Chain, Choices, f1, g1, get_chain, h1, sharp
from mamltheory.bounds.theorems import sharp_theorem, theorem
from mamltheory.bounds.theory import THEORIES


def lemma_a2(a):
    return 1 / (1 - 2 * a - a * a), (2 * a + a * a) / (1 - 2 * a - a * a)


def moments(c):
    """Lemma 4.11 with β_k = β̃/c: L_kE[β] >= (4/5)/c, LE[β] <= 1/(4c), L_k(L_k/2)E[β²] <= (25/8)/(2c²), and /4."""
    eb2 = Fr(25, 8) / (2 * c * c)
    return Fr(4, 5) / c, Fr(1, 4 * c), eb2, eb2 / 4


def split(C1, C2):
    """(106♯): c = max{c', 2C1}/(1/2), c' = max{4, 2(1 + C2)}: φ(y) >= ½min{y²/A, y/B}."""
    return max(max(4, 2 * (1 + C2)), 2 * C1) * 2


def f1_constants(a, c, w, B_min, kappa=Fr(1)):
    C1, C2 = lemma_a2(a)
    s96 = (1 + a) ** 2 + Fr(1, 2)
    k98 = 2 * (1 + a) ** 2
    g99, s99, do99, din99 = s96 * k98 * 2 * C1**2, s96 * k98 * (2 * C2**2 + 1), s96, s96 * 2 * a**2
    r91 = (1 + a) * a
    eb_low, eb_up, eb2, eb2L = moments(c)
    dec = (1 - w) * eb_low - eb2 * (2 + g99 / B_min)
    noise = [s99 * eb2L, do99 * eb2L, eb_up * r91**2 / (4 * w) + eb2L * (2 * r91**2 + din99 / B_min)]
    d = dec * kappa / split(C1, C2)
    return {"K_exact": 2 * max(noise) / d, "M_exact": 2 / d, "decrease": d}


def g1_constants(a, c, w, B_min, kappa=Fr(1), exact_122=True):
    C1, C2 = lemma_a2(a)
    if exact_122:   # (122♯): αE_i[∇²f_i∇f_i(w − α∇f_i(w))]
        r122g, r122s = a * (1 + a) * C1, (1 + a) * (C2 + 1)
    else:           # (122′): the Neumann series and (1 + αL)²
        r122g, r122s = a / (1 - a) * (1 + a) ** 2 * C1, (1 + a) ** 2 * (C2 + 1) / (1 - a)
    r125 = [3 * r122g**2, 3 * r122s**2, 3 * a**2]
    r126 = [2 + 2 * r125[0], 2 * r125[1], 2 * r125[2]]
    k128 = 2 * (1 + a) ** 2
    r129 = [k128 * 2 * C1**2, k128 * (2 * C2**2 + 1), 1, 2 * a**2]
    r130 = [w + r125[0] / (4 * w), r125[1] / (4 * w), r125[2] / (4 * w)]
    eb_low, eb_up, eb2, eb2L = moments(c)
    dec = (1 - r130[0]) * eb_low - eb2 * (r126[0] + r129[0] / B_min)
    noise = [r129[1] * eb2L, eb2L * r126[1] + eb_up * r130[1], r129[2] * eb2L,
             eb2L * (r129[3] / B_min + r126[2]) + eb_up * r130[2]]
    d = dec * kappa / split(C1, C2)
    return {"K_exact": 2 * max(noise[0], noise[1] / 20, noise[2], noise[3]) / d, "M_exact": 2 / d, "decrease": d}


def h1_constants(a, c, w, B_min, taylor=Fr(1, 2), direct_152=True, kappa=Fr(1), nu=Fr(1, 6)):
    C1, C2 = lemma_a2(a)
    b1 = taylor * nu * (1 + a) * C1                        # (147) ‖∇F‖
    c_in = (1 + a) * a + nu * taylor * a                   # (147) σ̃/√D_in
    bias_s, bias_o = taylor * (1 + a) * (C2 + 1), taylor   # (147′) νσ, νσ̃/√D_o
    if direct_152:   # (152♯): (1 + a + Tν)² + α²σ_H²/D_h
        g152 = (1 + a + taylor * nu) ** 2 + 1
    else:            # (152′): 2 + 2(2a² + 2T²ν² + α²σ_H²/D_h)
        g152 = 2 + 2 * (2 * a**2 + 2 * taylor**2 * nu**2 + 1)
    g154, din154, do154 = g152 * Fr(11, 10), g152 * 11 * a**2, g152
    g156 = g154 * (1 + a) ** 2 * 2 * C1**2
    s156 = g154 * (1 + a) ** 2 * (2 * C2**2 + 1)
    young = w + 2 * b1**2 / (4 * w)
    eb_low, eb_up, eb2, eb2L = moments(c)
    dec = eb_low * (1 - young) - eb2 * (2 + 4 * b1**2 + g156 / B_min)
    noise = [s156 * eb2L, do154 * eb2L, eb_up * 6 * c_in**2 / (4 * w) + eb2L * (12 * c_in**2 + din154 / B_min)]
    bias = [eb_up * 6 * x**2 / (4 * w) + eb2L * 12 * x**2 for x in (bias_s, bias_o)]
    d = dec * kappa / split(C1, C2)
    return {"K_exact": 2 * max(noise) / d, "M_exact": 2 / d, "decrease": d, "Kκ_exact": 2 * max(bias) / d}


def constants(label):
    return {k: Fr(str(v)) for k, v in get_chain(label, "sharp").result.constants.items()}


# --- the constants at the paper's choices ----------------------------------------------------------------------

def test_sharp_f1_by_hand():
    want = f1_constants(Fr(1, 6), 12, Fr(1, 10), 20)
    got = constants("F.1")
    assert all(got[k] == want[k] for k in want)
    assert float(got["K_exact"]) == pytest.approx(14.514, abs=1e-3) and float(got["M_exact"]) == pytest.approx(644.37, abs=1e-2)
    assert (got["K"], got["M"]) == (15, 645)
    # κ = 1 alone (the paper's Young weight 10 kept) gives the same numbers: the D_in noise is not the largest
    assert get_chain("F.1", "sharp").result.holds


def test_sharp_g1_by_hand():
    want = g1_constants(Fr(1, 10), 18, Fr(1, 4), 20)
    got = constants("G.1")
    assert all(got[k] == want[k] for k in want)
    assert float(got["K_exact"]) == pytest.approx(4.062, abs=1e-3) and float(got["M_exact"]) == pytest.approx(856.89, abs=1e-2)
    assert (got["K"], got["M"]) == (5, 857)
    r = g1.SHARP.result.by_key
    assert (r["(122♯) ‖∇F‖"].carried, r["(122♯) αLσ"].carried) == (sp.Rational(11, 79), sp.Rational(110, 79))


def test_sharp_h1_by_hand():
    want = h1_constants(Fr(1, 6), 25, Fr(1, 4), 20)
    got = constants("H.1")
    assert all(got[k] == want[k] for k in ("K_exact", "M_exact", "decrease"))
    assert Fr(str(h1.SHARP.result.by_key["(108′) Kκ exact"].carried)) == want["Kκ_exact"]
    K = ceil(want["K_exact"])
    kappa = ceil(want["Kκ_exact"] / K)
    assert (got["K"], got["M"], got["kappa"], got["K_nu"]) == (K, ceil(want["M_exact"]), kappa, K * kappa)
    assert (got["K_delta"], got["delta_budget"], got["D_h_factor"], got["nu_max"]) == (2 * K, 2 * K * kappa, 1, Fr(1, 6))
    assert (K, kappa, got["M"], got["delta_budget"], got["K_delta"]) == (5, 13, 1072, 130, 10)
    assert h1.SHARP.result.by_key["(152♯)"].carried == sp.Rational(41, 16)   # (5/4)² + 1


def test_the_intermediate_numbers():
    """Each sharpening alone, from the same hand formulas: κ = 1 alone scales the repaired K and M by 3/4;
    Taylor's ½ with κ = 1; (152♯) at Taylor's 1 is 25/9 (against 38/9)."""
    a6, a10 = Fr(1, 6), Fr(1, 10)
    rep_f1, one_f1 = f1_constants(a6, 12, Fr(1, 10), 20, Fr(3, 4)), f1_constants(a6, 12, Fr(1, 10), 20)
    assert one_f1["K_exact"] == rep_f1["K_exact"] * Fr(3, 4) and float(one_f1["M_exact"]) == pytest.approx(644.4, abs=0.05)
    g = g1_constants(a10, 18, Fr(1, 4), 20, exact_122=False)                       # κ = 1, (122′)
    assert (round(float(g["K_exact"]), 2), round(float(g["M_exact"]), 1)) == (6.62, 934.7)
    g = g1_constants(a10, 18, Fr(1, 4), 20, kappa=Fr(3, 4))                        # (122♯), κ = 3/4
    assert (round(float(g["K_exact"]), 2), round(float(g["M_exact"]), 1)) == (5.42, 1142.5)
    h = h1_constants(a6, 25, Fr(1, 4), 20, taylor=Fr(1), direct_152=False)        # κ = 1 alone
    assert (round(float(h["K_exact"]), 2), round(float(h["Kκ_exact"]), 1), round(float(h["M_exact"]), 1)) == (12.52, 435.3, 1933.8)
    h = h1_constants(a6, 25, Fr(1, 4), 20, direct_152=False)                      # ½ and κ = 1
    assert (round(float(h["K_exact"]), 2), round(float(h["Kκ_exact"]), 1), round(float(h["M_exact"]))) == (7.53, 66.7, 1186)
    K = ceil(h["K_exact"])
    assert (2 * K, 2 * K * ceil(h["Kκ_exact"] / K)) == (16, 144)
    assert (1 + a6 + a6) ** 2 + 1 == Fr(25, 9)


# --- too sharp a step fails ------------------------------------------------------------------------------------

def _with_claim(chain, key, claimed):
    steps = tuple(s.with_claimed(claimed) if s.key == key else s for s in chain.steps)
    return Chain(chain.theorem, chain.theory, steps, chain.outputs)


def test_kappa_above_one_fails_and_a_constant_contradicts_it():
    r = _with_claim(f1.SHARP, "(107♯) κ", sp.Rational(11, 10)).result.by_key["(107♯) κ"]
    assert r.verdict == FAILS
    # witness: a deterministic X = x gives E φ(X) = φ(E X), so no κ > 1 holds (any A, B > 0)
    A, B, x = Fr(3), Fr(2), Fr(5, 7)
    phi = x * x / (A + B * x)
    assert phi < Fr(11, 10) * phi


def test_taylor_below_half_fails_and_the_cubic_attains_half():
    r = _with_claim(h1.SHARP, "(143♯)", sp.Rational(2, 5)).result.by_key["(143♯)"]
    assert r.verdict == FAILS
    # witness f = ρ|w|³/6 (∇²f = ρ|w|, ρ-Lipschitz) at w = 0: |ẽ| = ρδ_k v²/2 exactly
    rho, dk, v = Fr(3), Fr(1, 10), Fr(7, 2)

    def grad(x):
        return rho * x * abs(x) / 2

    e_tilde = 0 * v - (grad(dk * v) - grad(-dk * v)) / (2 * dk)
    assert abs(e_tilde) / (rho * dk * v * v) == Fr(1, 2) > Fr(2, 5)


def test_young_weight_is_tight():
    """xy <= wx² + y²/(4w) with equality at x = y/(2w): a smaller ‖r‖² coefficient fails there."""
    w, y = Fr(1, 10), Fr(3)
    x = y / (2 * w)
    assert x * y == w * x * x + y * y / (4 * w) > w * x * x + y * y / (5 * w)


def test_convexity_check_is_a_step():
    r = f1.SHARP.result.by_key["(106♯) φ″ >= 0"]
    assert r.worst == 0 and r.verdict == "holds"
    assert f1.SHARP.result.by_key["(106♯)"].carried == 8   # (106)'s constant, now after Jensen


# --- the free choices ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["F.1", "G.1", "H.1"])
def test_smaller_a_max_gives_smaller_constants(label):
    d = DEFAULT_CHOICES[label]
    small = replace(d, alpha_L_max=d.alpha_L_max / 2)
    at, base = sharp(label, small).result, sharp(label, d).result
    assert at.holds
    assert at.constants["K_exact"] < base.constants["K_exact"] and at.constants["M_exact"] < base.constants["M_exact"]


def test_choices_enter_the_chain_as_derived_by_hand():
    ch = Choices(Fr(1, 12), 10, Fr(1, 5), 10)
    for label, by_hand in (("F.1", f1_constants), ("G.1", g1_constants)):
        got = {k: Fr(str(v)) for k, v in sharp(label, ch).result.constants.items()}
        want = by_hand(Fr(1, 12), 10, Fr(1, 5), 10)
        assert all(got[k] == want[k] for k in want), label
    got = sharp("H.1", ch).result
    want = h1_constants(Fr(1, 12), 10, Fr(1, 5), 10)
    assert got.holds and Fr(str(got.constants["K_exact"])) == want["K_exact"]


def test_choices_validation_and_a_failing_choice():
    with pytest.raises(ValueError, match="alpha_L_max"):
        Choices(Fr(1, 2), 12, Fr(1, 10), 20)
    with pytest.raises(ValueError, match="young"):
        Choices(Fr(1, 6), 12, Fr(1), 20)
    bad = Choices(Fr(1, 6), 1, Fr(1, 10), 20)      # β = β̃: the decrease is negative
    assert "(107♯) decrease > 0" in [r.key for r in sharp("F.1", bad).result.failing]
    with pytest.raises(ValueError, match="fails at"):
        sharp_theorem("maml", bad)


# --- the Theorem objects ---------------------------------------------------------------------------------------

def test_sharp_theorems_certify_and_follow_their_choices():
    assert THEORIES == ("paper", "repaired", "sharp")
    for alg in ("maml", "fo-maml", "hf-maml"):
        t = theorem(alg, "sharp")
        assert t.certify() == [] and t.guaranteed and t.name.startswith("sharp Theorem")
        assert sharp_theorem(alg, DEFAULT_CHOICES[t.label]).chain_constants == get_chain(t.label, "sharp").result.constants
    ch = Choices(Fr(3, 20), 10, Fr(1, 5), 30)
    t = sharp_theorem("hf-maml", ch)
    assert t.certify() == [] and (t.alpha_L_max, t.step_divisor, t.B_min) == (Fr(20, 3), 10, 30)
    texts = [c.source for c in t.preconditions]
    assert any("B >= 30" in s for s in texts) and any("3/(20*L)" in s for s in texts)
    assert t.alpha_max(2.0) == pytest.approx(3 / 40)
    assert t.K == t.chain_constants["K_delta"] and isinstance(t.K, int) and t.kappa * t.K_T == t.chain_constants["K_nu"]
    assert isinstance(sharp_theorem("maml", Choices(Fr(1, 8), 12, Fr(1, 10), 20)).alpha_L_max, int)
    assert "common random numbers" in " ".join(theorem("hf-maml", "repaired").notes)
    assert "common random numbers" in " ".join(t.notes)


def test_audit_chain_sharp_cli(run_cli):
    for label in ("F.1", "G.1", "H.1"):
        code, out, _ = run_cli(["audit", "--chain", label, "--theory", "sharp", "--json"])
        doc = json.loads(out)
        assert code == 0 and doc["holds"] and doc["theory"] == "sharp" and "(107♯) κ" in doc["repairs"]


def test_sharp_theorems_doc_prints_the_chains():
    """docs/sharp-theorems.md holds each sharp chain exactly as `chain_markdown` prints it."""
    from pathlib import Path

    from mamltheory.bounds.proofs.document import chain_markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "sharp-theorems.md").read_text(encoding="utf-8")
    for label in ("F.1", "G.1", "H.1"):
        assert chain_markdown(get_chain(label, "sharp")) in text
