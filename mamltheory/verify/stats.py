"""Small, sound statistics for the checks: one-sided t bounds, split-sample selection, fitted slopes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def t_power(G: np.ndarray, bound: float, level: float) -> float:
    """Smallest violation ratio r at which every lower bound mean_k − t·s_k/√R exceeds the bound when the means
    equal r·bound: 1 + t_{level, R−1}·max_k s_k/(√R·bound) (+inf if a replicate diverged or R < 2)."""
    R = G.shape[1]
    if R < 2 or not np.all(np.isfinite(G)) or bound <= 0:
        return math.inf
    t = float(stats.t.ppf(level, R - 1))
    return 1 + t * float(G.std(axis=1, ddof=1).max()) / (math.sqrt(R) * bound)


def upper_bound(x: np.ndarray, level: float = 0.95) -> float:
    """One-sided `level` upper confidence bound on the mean of x (Student t); +inf if any value is +inf."""
    x = np.asarray(x, float)
    if np.any(np.isposinf(x)):  # a diverged replicate: no finite bound on the mean
        return math.inf
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return math.inf
    return float(x.mean() + stats.t.ppf(level, n - 1) * x.std(ddof=1) / math.sqrt(n))


def lower_bound(x: np.ndarray, level: float = 0.95) -> float:
    """One-sided `level` lower confidence bound on the mean of the finite values of x (Student t)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return -math.inf
    return float(x.mean() - stats.t.ppf(level, n - 1) * x.std(ddof=1) / math.sqrt(n))


def split_select(values: np.ndarray, rng: np.random.Generator) -> tuple[int, np.ndarray, np.ndarray]:
    """Choose a row (iteration) on one random half of the columns (replicates), return it and both halves.

    values: (K, R). The row minimising the mean over half A is chosen; the claim is then tested on half B
    only, so picking the best iterate does not bias the test.
    """
    R = values.shape[1]
    perm = rng.permutation(R)
    A, B = perm[: R // 2], perm[R // 2:]
    with np.errstate(all="ignore"):
        means_A = np.nanmean(values[:, A], axis=1)
    k = int(np.nanargmin(means_A))
    return k, A, B


@dataclass
class Slope:
    """Least-squares slope of log y on log x with a two-sided confidence interval."""

    slope: float
    low: float
    high: float
    intercept: float
    level: float
    n: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def loglog_slope(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> Slope:
    """Fit log y = a + s·log x over points with finite positive y; t-based CI for s (needs >= 3 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0) & (x > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    n = lx.size
    if n < 3:
        raise ValueError("a slope with a confidence interval needs at least 3 points")
    res = stats.linregress(lx, ly)
    half = stats.t.ppf(0.5 + level / 2, n - 2) * res.stderr
    return Slope(float(res.slope), float(res.slope - half), float(res.slope + half), float(res.intercept), level, n)


def slope_se(s: Slope) -> float:
    """Standard error of a fitted slope, recovered from its two-sided t interval."""
    return (s.high - s.low) / (2.0 * stats.t.ppf(0.5 + s.level / 2, s.n - 2))


def detectable_deviation(s: Slope, power: float = 0.8) -> float:
    """Smallest |true exponent − predicted| that the interval of `s` excludes with probability `power`.

    (t_{1−(1−level)/2} + t_power)·se with n − 2 degrees of freedom: the usual power of a two-sided
    t test on a regression slope (a one-sided 'at most' claim decided by the same interval too).
    """
    df = s.n - 2
    return float((stats.t.ppf(0.5 + s.level / 2, df) + stats.t.ppf(power, df)) * slope_se(s))


@dataclass
class Stationarity:
    """Relative change of a replicated series' mean between its last two windows, with a t interval.

    change = (mean of the last window − mean of the one before) / mean of both, per replicate, then
    averaged; replicates are independent, so the interval is valid whatever the autocorrelation
    inside a replicate. `stationary`: the interval lies within ±tol (an equivalence test, so a series
    too short or too noisy to tell is not called stationary); `drifting`: the interval excludes 0.
    """

    change: float
    low: float
    high: float
    tol: float
    n: int

    @property
    def stationary(self) -> bool:
        return -self.tol <= self.low and self.high <= self.tol

    @property
    def drifting(self) -> bool:
        return self.low > 0 or self.high < 0


def window_change(G: np.ndarray, tol: float = 0.1, level: float = 0.95) -> Stationarity:
    """Stationarity test of G (records, replicates): the last two windows' means agree within tol.

    The records are split into two halves (the last two windows); the per-replicate relative
    change of the window mean is tested with Student t over replicates (needs >= 2 replicates).
    """
    G = np.asarray(G, float)
    h = G.shape[0] // 2
    if h < 1 or G.shape[1] < 2:
        raise ValueError("a stationarity test needs >= 2 records and >= 2 replicates")
    first, last = G[-2 * h:-h].mean(axis=0), G[-h:].mean(axis=0)
    rel = (last - first) / np.mean(G[-2 * h:])
    n = rel.size
    half = stats.t.ppf(0.5 + level / 2, n - 1) * rel.std(ddof=1) / math.sqrt(n)
    m = float(rel.mean())
    return Stationarity(m, m - half, m + half, tol, n)


@dataclass
class LinearFit:
    """Weighted least squares y = a + c·x with t intervals on a and c (weights 1/se²)."""

    a: float
    a_low: float
    a_high: float
    c: float
    c_low: float
    c_high: float
    level: float
    n: int


def weighted_line(x: np.ndarray, y: np.ndarray, se: np.ndarray, level: float = 0.95) -> LinearFit:
    """Fit y = a + c·x by weighted least squares; the intervals use the residual scatter (n − 2 dof)
    when it exceeds the stated standard errors, so a wrong model widens them instead of hiding."""
    x, y, se = (np.asarray(v, float) for v in (x, y, se))
    n = x.size
    if n < 3:
        raise ValueError("a line with intervals needs at least 3 points")
    A = np.column_stack([np.ones(n), x]) / se[:, None]
    coef, *_ = np.linalg.lstsq(A, y / se, rcond=None)
    resid = (y - coef[0] - coef[1] * x) / se
    scale = max(1.0, float(resid @ resid) / (n - 2))
    cov = np.linalg.inv(A.T @ A) * scale
    t = stats.t.ppf(0.5 + level / 2, n - 2)
    ha, hc = t * math.sqrt(cov[0, 0]), t * math.sqrt(cov[1, 1])
    return LinearFit(float(coef[0]), float(coef[0] - ha), float(coef[0] + ha), float(coef[1]), float(coef[1] - hc),
                     float(coef[1] + hc), level, n)


# ---- tests of a bound and their power ----------------------------------------------------------------------
# A Monte Carlo check estimates a quantity q at many points and claims q <= b (or q >= b) at each; it is
# contradicted when a one-sided confidence bound on q crosses b at some point. Its power is the smallest
# violation ratio (q/b for an upper claim, b/q for a lower one) at which that confidence bound crosses b when
# the estimate equals its expectation, i.e. the violation detected with probability about 1/2 at that point.


def z_one_sided(level: float, n_tests: int = 1) -> float:
    """Normal quantile of a one-sided `level` bound, Bonferroni-corrected over n_tests tests."""
    return float(stats.norm.ppf(1 - (1 - level) / max(1, n_tests)))


def power_upper(half_width: np.ndarray | float, bound: np.ndarray | float) -> np.ndarray | float:
    """Upper claim q <= b decided on q̂ − h > b: detected once q/b > 1 + h/b."""
    h, b = np.asarray(half_width, float), np.asarray(bound, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b > 0, 1 + h / np.where(b > 0, b, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out


def power_lower(half_width: np.ndarray | float, bound: np.ndarray | float) -> np.ndarray | float:
    """Lower claim q >= b decided on q̂ + h < b: detected once b/q > 1/(1 − h/b) (inf when h >= b)."""
    h, b = np.asarray(half_width, float), np.asarray(bound, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(b > 0, h / np.where(b > 0, b, 1.0), np.inf)
        out = np.where(f < 1, 1 / (1 - f), np.inf)
    return float(out) if out.ndim == 0 else out


def gaussian_norm_radius(trace_cov: np.ndarray | float, max_eig_cov: np.ndarray | float, level: float,
                         n_tests: int = 1) -> np.ndarray | float:
    """r with P(‖X‖ >= r) <= (1 − level)/n_tests for X ~ N(0, C): √tr C + √(2 log(n_tests/(1 − level)))·√λ_max(C).

    Gaussian concentration: ‖X‖ = ‖C^{1/2}Z‖ is √λ_max(C)-Lipschitz in Z and E‖X‖ <= √tr C. Applied to the
    error of a Monte Carlo mean vector (C = Σ/K), by the central limit theorem.
    """
    t = math.sqrt(2 * math.log(max(1, n_tests) / (1 - level)))
    return np.sqrt(np.asarray(trace_cov, float)) + t * np.sqrt(np.asarray(max_eig_cov, float))
