"""Algorithms 1-3 in exact expectation (B, D_in, D_o, D_h, B', D_β → ∞): w_{k+1} = w_k − β_k E_i G_i(w_k).

The direction is `algorithms.exact_direction` (eq. (30), (9), (15) with every expectation exact); the step is
β̃ of eq. (26) with B', D_β → ∞, which is 1/L(w) with L(w) = 4L + 2ρα E_i‖∇f_i(w)‖ (Corollary 4.10), divided
by the theorem's c (12, 18, 25). Any `ExactTasks` (task_grad, task_hvp, task_loss, p) with `constants` works:
the certified families and the exact instances of `verify`. In 1-D, `fixed_point_1d` and `future_floor_1d`
decide runs that stall: the iterates provably never get below a floor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from mamltheory.simulate.algorithms import exact_direction
from mamltheory.simulate.tasks import meta_parts

Array = np.ndarray
StepRule = Callable[[Any, Array, float], Array]   # (tasks, W, α) -> β at the points W (..., d)


def smoothness_from(tasks: Any, task_grads: Array, alpha: float) -> Array:
    """L(w) = 4L + 2ρα E_i‖∇f_i(w)‖ (Corollary 4.10, eq. (24)) from the task gradients ∇f_i(w), (..., n, d)."""
    c = tasks.constants
    return 4 * c.L + 2 * c.rho * alpha * (np.linalg.norm(task_grads, axis=-1) @ np.asarray(tasks.p, dtype=np.float64))


def local_smoothness(tasks: Any, W: Array, alpha: float) -> Array:
    """L(w) at the points W (..., d)."""
    return smoothness_from(tasks, tasks.task_grad(np.asarray(W, dtype=np.float64)[..., None, :]), alpha)


def theorem_step(divisor: int) -> StepRule:
    """β_k = β̃(w_k)/c with B', D_β → ∞, i.e. 1/(c·L(w_k)) (eq. (26)): the step rule of the theorems."""
    return lambda tasks, W, alpha: 1.0 / (divisor * local_smoothness(tasks, W, alpha))


def grad_norm(tasks: Any, W: Array, alpha: float) -> Array:
    """‖∇F(w)‖ at the points W (..., d), exact."""
    return np.linalg.norm(meta_parts(tasks, W, alpha).grad_F, axis=-1)


def run_exact(tasks: Any, algorithm: str, w0: Array, alpha: float, iterations: int, step: int | StepRule,
              delta: float | None = None, stop_below: float | None = None,
              delta_rule: str = "scaled") -> tuple[Array, Array]:
    """w_{k+1} = w_k − β_k E_i G_i(w_k) for at most `iterations` steps; returns (W, ‖∇F(w_k)‖), k = 0..n.

    `step`: the theorem's divisor c (β_k = 1/(c·L(w_k)), eq. (26) with B' → ∞) or a step rule. Stops at the
    first k with ‖∇F(w_k)‖ <= stop_below (a theorem's claim is then met). One `meta_parts` pass per iterate
    gives ‖∇F(w_k)‖, L(w_k) and the direction."""
    w = np.asarray(w0, dtype=np.float64)
    W, gn = [w], []
    while True:
        m = meta_parts(tasks, w, alpha)
        gn.append(float(np.linalg.norm(m.grad_F)))
        if len(W) > iterations or (stop_below is not None and gn[-1] <= stop_below):
            return np.array(W), np.array(gn)
        if isinstance(step, int):
            beta = 1.0 / (step * float(smoothness_from(tasks, m.g, alpha)))   # m.g: the ∇f_i(w_k) of this pass
        else:
            beta = step(tasks, w, alpha)
        w = w - beta * exact_direction(tasks, algorithm, w, alpha, delta, delta_rule, parts=m)
        W.append(w)


def fixed_point_1d(tasks: Any, algorithm: str, alpha: float, lo: float, hi: float,
                   delta: float | None = None, delta_rule: str = "scaled") -> float:
    """A zero of the exact direction on [lo, hi] (1-D): where the exact-expectation algorithm stops."""
    return brentq(lambda z: float(exact_direction(tasks, algorithm, np.array([z]), alpha, delta, delta_rule)[0]),
                  lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def future_floor_1d(tasks: Any, algorithm: str, alpha: float, w_n: float, w_star: float, step: StepRule,
                    delta: float | None = None, grid: int = 20001, delta_rule: str = "scaled") -> float | None:
    """A lower bound on ‖∇F(w_k)‖ for every later iterate, when the 1-D iteration is trapped between w_n and
    its fixed point w*: the map φ(w) = w − β(w)D(w) is checked on a fine grid of [w_n, w*] to be
    nondecreasing and to send each point into [w, w*] (so the iterates stay there, monotonically); the
    bound is then min |∇F| over the grid. None when the check fails."""
    z = np.linspace(w_n, w_star, grid)[:, None]
    phi = (z - step(tasks, z, alpha)[:, None] * exact_direction(tasks, algorithm, z, alpha, delta, delta_rule))[:, 0]
    lo, hi = min(w_n, w_star), max(w_n, w_star)
    toward = (phi - z[:, 0]) * np.sign(w_star - w_n) >= -1e-15
    inside = (phi >= lo - 1e-15) & (phi <= hi + 1e-15)
    mono = np.all(np.diff(phi) * np.sign(w_star - w_n) >= -1e-15)
    if not (toward.all() and inside.all() and mono):
        return None
    return float(grad_norm(tasks, z, alpha).min())


def trapped_floor_1d(tasks: Any, algorithm: str, alpha: float, W: Array, step: StepRule,
                     delta: float | None = None, delta_rule: str = "scaled",
                     starts: tuple[int, ...] | None = None) -> tuple[float, int] | None:
    """(floor, m): `future_floor_1d` from the first iterate w_m (of `starts`, latest first) whose fixed point
    ahead traps the run, else None. Very close to the fixed point the grid check drowns in round-off, so
    earlier iterates are tried too; trapping from w_m traps every later iterate."""
    n = len(W) - 1
    side = float(np.sign(W[-1, 0] - W[0, 0])) or 1.0  # the side the iterates come from (last step may be 0)
    for m in sorted(set(starts) if starts else {n, n // 2, n // 10, min(n, 3000), min(n, 300)}, reverse=True):
        wm = float(W[m, 0])
        try:
            ws = fixed_point_1d(tasks, algorithm, alpha, *sorted((wm, wm + side * 5.0)), delta, delta_rule)
            floor = future_floor_1d(tasks, algorithm, alpha, wm, ws, step, delta, delta_rule=delta_rule)
        except ValueError:
            floor = None
        if floor is not None:
            return floor, m
    return None


def min_F_1d(tasks: Any, alpha: float, lim: float = 50.0) -> float:
    """min F on a 1-D family: dense grid, then a bounded scalar refinement around the best cell."""
    z = np.linspace(-lim, lim, 200_001)
    Fz = meta_parts(tasks, z[:, None], alpha).F
    j = int(np.argmin(Fz))
    res = minimize_scalar(lambda t: float(meta_parts(tasks, np.array([t]), alpha).F), method="bounded",
                          bounds=(z[max(j - 1, 0)], z[min(j + 1, len(z) - 1)]), options={"xatol": 1e-12})
    return float(min(res.fun, Fz[j]))
