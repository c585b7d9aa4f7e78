"""Scaling checks judged against their predicted exponents: synthetic data with known slopes, a stationarity
test on converging and drifting series, and the 1/√B noise-floor rate on a small real family."""

import numpy as np
import pytest

from mamltheory.simulate import make_problem
from mamltheory.bounds.theorems import theorem
from mamltheory.verify import scaling
from mamltheory.verify.check import CONTRADICTED, HOLDS, INCONCLUSIVE
from mamltheory.verify.stats import Stationarity, detectable_deviation, loglog_slope, weighted_line, window_change


def synthetic(slope: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.geomspace(1, 64, 7)
    return x, 2.0 * x**slope * np.exp(0.02 * np.random.default_rng(seed).standard_normal(x.size))


def judge(slope: float):
    x, y = synthetic(slope)
    return scaling.judge_slope("synthetic", "test", loglog_slope(x, y), 0.5, "equal", "synthetic", {}, id="t",
                               result="-")


def test_slope_half_holds_and_slope_0_3_is_contradicted():
    ok, bad = judge(0.5), judge(0.3)
    assert ok.verdict == HOLDS and ok.details["slope"]["low"] <= 0.5 <= ok.details["slope"]["high"]
    assert bad.verdict == CONTRADICTED and bad.details["slope"]["high"] < 0.5
    # noise 0.02 in log y over 7 points spanning log 64: se ≈ 0.02/√(Σ(lx − mean)²) ≈ 0.0053, so the
    # 80%-power deviation (t_.975,5 + t_.8,5)·se ≈ (2.571 + 0.920)·0.0053 ≈ 0.019: 0.2 is far beyond it
    assert 0.005 < ok.power < 0.05


def test_one_sided_claims():
    x, y = synthetic(1.6)
    s = loglog_slope(x, y)
    assert scaling.judge_slope("t", "s", s, 1.0, "at most", "", {}, id="t", result="-").verdict == CONTRADICTED
    assert scaling.judge_slope("t", "s", s, 2.0, "at most", "", {}, id="t", result="-").verdict == HOLDS
    assert scaling.judge_slope("t", "s", s, 1.0, "at least", "", {}, id="t", result="-").verdict == HOLDS
    assert scaling.judge_slope("t", "s", s, 2.0, "at least", "", {}, id="t", result="-").verdict == CONTRADICTED


def test_detectable_deviation_by_hand():
    # exact line plus known residuals: slope CI from linregress; power = (t_.975,3 + t_.8,3)·se
    x = np.array([1.0, 2, 4, 8, 16])
    s = loglog_slope(x, x**0.5 * np.exp(np.array([0.01, -0.01, 0.0, 0.01, -0.01])))
    se = (s.high - s.low) / (2 * 3.182446)
    assert detectable_deviation(s) == pytest.approx((3.182446 + 0.978472) * se, rel=1e-5)


def converging(R: int, K: int, drift: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(K)[:, None]
    return (1.0 + drift * k / K) * np.exp(0.1 * rng.standard_normal((K, R)))


def test_window_change_converging_vs_drifting():
    flat = window_change(converging(32, 40, 0.0, 1))
    assert flat.stationary and not flat.drifting
    # a floor still falling 40% over the tail: the last window is ~20% below the one before
    moving = window_change(converging(32, 40, -0.4, 1))
    assert moving.drifting and not moving.stationary and moving.high < -0.1
    # too few replicates to tell: neither stationary nor (necessarily) drifting
    assert not window_change(converging(2, 4, 0.0, 3)).stationary


def test_window_change_by_hand():
    G = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 2.0], [2.0, 4.0]])
    st = window_change(G)
    # per replicate (last − first)/overall mean (2.0): (2 − 1)/2 = 0.5, (3 − 2)/2 = 0.5; zero spread
    assert st.change == pytest.approx(0.5) and st.low == pytest.approx(0.5) and st.drifting


def test_flat_non_stationary_floors_are_inconclusive():
    runs = [scaling.FloorRun(np.full((6, 8), 0.01), Stationarity(-0.3, -0.4, -0.2, 0.1, 8)) for _ in range(4)]
    for r in runs:
        r.G = r.G * (1 + 0.01 * np.random.default_rng(0).standard_normal(r.G.shape))
    res = scaling.judge_floor_rate("flat", "B", [8, 16, 32, 64], runs, -0.5, "synthetic", id="t", result="F.1")
    assert res.verdict == INCONCLUSIVE and "not stationary" in res.evidence
    # the same flat floors, stationary: the −1/2 rate is contradicted
    for r in runs:
        r.stationarity = Stationarity(0.0, -0.01, 0.01, 0.1, 8)
    assert scaling.judge_floor_rate("flat", "B", [8, 16, 32, 64], runs, -0.5, "synthetic", id="t",
                                    result="F.1").verdict == CONTRADICTED


def test_weighted_line_by_hand():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    fit = weighted_line(x, 1.0 + 2.0 * x, np.ones(4))
    assert fit.a == pytest.approx(1.0) and fit.c == pytest.approx(2.0) and fit.c_low < 2.0 < fit.c_high


def test_leading_exponent_absorbs_the_order_alpha_correction():
    a = np.geomspace(0.01, 0.2, 7)
    y = 3.0 * a * (1 + 2.0 * a + 0.5 * a**2)  # exponent 1 with O(α) corrections
    s = scaling.leading_exponent(a, y)
    assert s.contains(1.0) and abs(s.slope - 1) < 1e-3
    assert not scaling.leading_exponent(a, 3.0 * a**1.2 * (1 + 2.0 * a)).contains(1.0)


def test_noise_floor_falls_like_one_over_root_B_on_a_small_family():
    """Stationary constant-step MAML floors at B = 2, 4, 16, 64 on a small tanh-regression: exponent −1/2
    (E‖∇F‖² ∝ tr(HΣ)/B at fixed β, see batch_scaling)."""
    p = make_problem("tanh-regression", d=5, n_tasks=10, pool_size=40)
    c = p.constants
    alpha, beta = theorem("maml").alpha_max(c.L), 0.25 / c.L
    w_star = scaling.fixed_point(p, "maml", alpha)
    runs = [scaling.stationary_noise_floor(p, w_star, alpha, beta, B, 8, 8, 2, 100, 200, 10, 24, 0) for B in (2, 4, 16, 64)]
    s = loglog_slope(np.array([2.0, 4, 16, 64]), np.array([r.mean for r in runs]))
    assert s.contains(-0.5) and s.high < -0.2, s  # the floor falls, at the rate −1/2, not flat
    # this small family mixes slowly (windows may still differ by > 10%): judged or inconclusive, never contradicted
    assert scaling.judge_floor_rate("small", "B", [2, 4, 16, 64], runs, -0.5, "small family", id="t",
                                    result="F.1").verdict != CONTRADICTED
