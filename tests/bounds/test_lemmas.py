"""Lemmas 4.9-4.12, A.2, Cor 4.10, Thm 4.13, eq. (10): each against plain arithmetic from the paper's formula."""

import math

import pytest

from mamltheory.bounds import lemmas as lm
from mamltheory.errors import InputError, PreconditionError

POINTS = [
    dict(L=1.0, rho=2.0, alpha=0.3, grad_w=1.5, grad_u=0.4, dist=0.25),
    dict(L=4.0, rho=0.5, alpha=0.2, grad_w=0.1, grad_u=3.0, dist=2.0),
]


@pytest.mark.parametrize("p", POINTS)
def test_lemma_4_9_eq_23(p):
    expected = (4 * p["L"] + 2 * p["rho"] * p["alpha"] * min(p["grad_w"], p["grad_u"])) * p["dist"]
    assert lm.LEMMA_4_9(**p) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("p", POINTS)
def test_corollary_4_10_eq_24(p):
    Lw = 4 * p["L"] + 2 * p["rho"] * p["alpha"] * p["grad_w"]
    vals = {k: p[k] for k in ("L", "rho", "alpha", "grad_w", "dist")}
    assert lm.COROLLARY_4_10(**vals) == pytest.approx(Lw / 2 * p["dist"] ** 2, rel=1e-14)
    assert lm.LOCAL_SMOOTHNESS(L=p["L"], rho=p["rho"], alpha=p["alpha"], grad_w=p["grad_w"]) == pytest.approx(Lw)


def test_lemma_4_9_hand_value():
    # (4·1 + 2·2·0.3·0.4)·0.25 = (4 + 0.48)·0.25 = 1.12
    assert lm.LEMMA_4_9(**POINTS[0]) == pytest.approx(1.12, rel=1e-14)


@pytest.mark.parametrize("L,rho,alpha,sigma,st,gw", [(1.0, 1.0, 0.5, 3.0, 1.0, 2.0), (2.0, 5.0, 0.1, 0.4, 2.5, 0.3)])
def test_lemma_4_11_eq_28(L, rho, alpha, sigma, st, gw):
    Bp = math.ceil(0.5 * (rho * alpha * sigma / L) ** 2) or 1
    Db = math.ceil((2 * rho * alpha * st / L) ** 2) or 1
    Lw = 4 * L + 2 * rho * alpha * gw
    vals = dict(L=L, rho=rho, alpha=alpha, sigma=sigma, sigma_tilde=st, B_prime=Bp, D_beta=Db, grad_w=gw)
    assert lm.LEMMA_4_11_MEAN(**vals) == pytest.approx(0.8 / Lw, rel=1e-14)
    assert lm.LEMMA_4_11_SECOND_MOMENT(**vals) == pytest.approx(3.125 / Lw**2, rel=1e-14)
    assert lm.LEMMA_4_11_MEAN.kind == "lower"


def test_lemma_4_11_batch_conditions_enforced_with_source():
    # ½(ρασ/L)² = ½(1·0.5·3/1)² = 1.125 -> B' >= 2; (2ρασ̃/L)² = 1 -> D_β >= 1
    vals = dict(L=1.0, rho=1.0, alpha=0.5, sigma=3.0, sigma_tilde=1.0, B_prime=1, D_beta=1, grad_w=1.0)
    with pytest.raises(PreconditionError, match=r"B' >= .*Lemma 4.11, eq\. \(27\)"):
        lm.LEMMA_4_11_MEAN(**vals)
    vals["B_prime"] = 2
    assert lm.LEMMA_4_11_MEAN(**vals) > 0


def test_lemma_4_11_threshold_is_exact_for_decimal_inputs():
    # ρασ/L = 0.1·0.1·20/0.1 = 2 exactly, so ⌈½·2²⌉ = 2; in floats ½(ρασ/L)² = 2.000000000000001 and ⌈.⌉ = 3.
    assert 0.5 * (0.1 * 0.1 * 20.0 / 0.1) ** 2 > 2
    vals = dict(L=0.1, rho=0.1, alpha=0.1, sigma=20.0, sigma_tilde=0.0, B_prime=2, D_beta=1, grad_w=0.0)
    assert lm.LEMMA_4_11_MEAN(**vals) == pytest.approx(0.8 / 0.4)
    with pytest.raises(PreconditionError):
        lm.LEMMA_4_11_MEAN(**{**vals, "B_prime": 1})


@pytest.mark.parametrize("alpha,L,st,D_in,D_o,phi,g", [(0.1, 2.0, 0.5, 10, 4, 1.0, 0.7), (0.5, 1.5, 2.0, 3, 7, 10.0, 0.0)])
def test_lemma_4_12_eq_31_32(alpha, L, st, D_in, D_o, phi, g):
    assert lm.LEMMA_4_12_BIAS(alpha=alpha, L=L, sigma_tilde=st, D_in=D_in) == pytest.approx(
        alpha * L * st / math.sqrt(D_in), rel=1e-14)
    expected = (1 + 1 / phi) * g**2 + (1 + phi) * alpha**2 * L**2 * st**2 / D_in + st**2 / D_o
    got = lm.LEMMA_4_12_SECOND_MOMENT(alpha=alpha, L=L, sigma_tilde=st, D_in=D_in, D_o=D_o, phi=phi, grad_adapted=g)
    assert got == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("alpha,L,st,sH,D", [(0.1, 2.0, 0.5, 3.0, 16), (0.9, 1.0, 2.0, 0.5, 1)])
def test_theorem_4_13_eq_33(alpha, L, st, sH, D):
    expected = 2 * alpha * L * st / math.sqrt(D) + alpha**2 * L * sH * st / D
    assert lm.THEOREM_4_13(alpha=alpha, L=L, sigma_tilde=st, sigma_H=sH, D_test=D) == pytest.approx(expected, rel=1e-14)


def test_theorem_4_13_needs_alpha_positive_and_at_most_1_over_L():
    with pytest.raises(PreconditionError, match=r"Theorem 4.13"):
        lm.THEOREM_4_13(alpha=0.6, L=2.0, sigma_tilde=1.0, sigma_H=1.0, D_test=4)
    with pytest.raises(PreconditionError, match=r"alpha > 0"):
        lm.THEOREM_4_13(alpha=0.0, L=2.0, sigma_tilde=1.0, sigma_H=1.0, D_test=4)


@pytest.mark.parametrize("alpha,L,gF,sigma", [(0.1, 1.0, 2.0, 0.5), (0.05, 3.0, 0.3, 1.2)])
def test_lemma_a2_eq_43_44(alpha, L, gF, sigma):
    a = alpha * L
    C1 = 1 / (1 - 2 * a - a**2)
    C2 = (2 * a + a**2) / (1 - 2 * a - a**2)
    assert lm.LEMMA_A2_GRADIENT(alpha=alpha, L=L, grad_F=gF, sigma=sigma) == pytest.approx(C1 * gF + C2 * sigma, rel=1e-13)
    expected = 2 * (1 + a) ** 2 * C1**2 * gF**2 + (1 + a) ** 2 * (2 * C2**2 + 1) * sigma**2
    assert lm.LEMMA_A2_SECOND_MOMENT(alpha=alpha, L=L, grad_F=gF, sigma=sigma) == pytest.approx(expected, rel=1e-13)


def test_lemma_a2_range():
    with pytest.raises(PreconditionError, match=r"Lemma A.2"):
        lm.LEMMA_A2_GRADIENT(alpha=0.42, L=1.0, grad_F=1.0, sigma=1.0)


def test_hvp_error_eq_10():
    assert lm.HVP_FINITE_DIFFERENCE(rho=3.0, delta=0.01, v_norm=2.0) == pytest.approx(0.12, rel=1e-14)
    assert lm.HVP_FINITE_DIFFERENCE(rho=0.5, delta=1.0, v_norm=0.1) == pytest.approx(0.005, rel=1e-14)


def test_parameter_rules_name_the_parameter():
    with pytest.raises(InputError, match=r"^L: must be > 0"):
        lm.LEMMA_4_9(**{**POINTS[0], "L": -1.0})
    with pytest.raises(InputError, match=r"dist: must be finite"):
        lm.LEMMA_4_9(**{**POINTS[0], "dist": float("nan")})
    with pytest.raises(InputError, match=r"D_in: must be an integer"):
        lm.LEMMA_4_12_BIAS(alpha=0.1, L=1.0, sigma_tilde=1.0, D_in=2.5)
    with pytest.raises(InputError, match=r"missing value for grad_u"):
        lm.LEMMA_4_9(L=1.0, rho=1.0, alpha=0.1, grad_w=1.0, dist=1.0)


def test_every_result_has_provenance_latex_and_numpy_evaluation():
    import numpy as np

    from mamltheory.bounds import RESULTS

    assert len(RESULTS) >= 20
    for r in RESULTS:
        assert "eq." in r.source or "Corollary" in r.source or "Theorem" in r.source, r.name
        assert r.latex
    arr = lm.LEMMA_4_12_BIAS.array(alpha=np.array([0.1, 0.2]), L=1.0, sigma_tilde=2.0, D_in=np.array([4, 16]))
    np.testing.assert_allclose(arr, [0.1 * 2 / 2, 0.2 * 2 / 4])
