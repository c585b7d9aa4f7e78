"""Small, sound statistics for the checks: one-sided t bounds, split-sample selection, fitted slopes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


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
