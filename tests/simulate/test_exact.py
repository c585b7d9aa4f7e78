"""The exact-expectation iteration (simulate/exact.py) against a loop written out here."""

from __future__ import annotations

import numpy as np
import pytest

from mamltheory.simulate import exact
from mamltheory.simulate.algorithms import exact_direction
from mamltheory.verify.instances import opposed_kinks


def _plain_loop(inst, algorithm: str, alpha: float, divisor: int, steps: int, delta=None):
    """w_{k+1} = w_k − E_i G_i(w_k)/(c(4L + 2ρα Σ_i p_i|f_i'(w_k)|)) (eq. (26) with B' → ∞, Corollary 4.10)."""
    w, W, gn = np.array([-2.5]), [], []
    for _ in range(steps):
        W.append(w)
        gn.append(float(np.linalg.norm(inst.grad_F(w, alpha))))
        task_grads = inst.grad(inst.at(w))[:, 0]                  # f_i'(w), one per task
        L_w = 4 * inst.L + 2 * inst.rho * alpha * float(np.abs(task_grads) @ np.array(inst.p))
        w = w - exact_direction(inst, algorithm, w, alpha, delta) / (divisor * L_w)
    return np.array(W), np.array(gn)


@pytest.mark.parametrize("algorithm, divisor, delta", [("maml", 12, None), ("hf-maml", 25, 2.0)])
def test_run_exact_is_the_plain_loop_and_stops_at_the_first_hit(algorithm, divisor, delta) -> None:
    inst, alpha = opposed_kinks(), 1 / 6
    W_ref, ref = _plain_loop(inst, algorithm, alpha, divisor, 400, delta)
    W, gn = exact.run_exact(inst, algorithm, np.array([-2.5]), alpha, 399, divisor, delta)
    assert len(gn) == 400
    np.testing.assert_allclose(gn, ref, rtol=1e-12)
    np.testing.assert_allclose(W[:, 0], W_ref[:, 0], rtol=1e-12)
    stop = 0.5 * (ref[300] + ref[299]) if ref[300] < ref[299] else None
    if stop is not None:  # between iterates 299 and 300: the run stops at k = 300
        _, gn = exact.run_exact(inst, algorithm, np.array([-2.5]), alpha, 399, divisor, delta, stop_below=stop)
        assert len(gn) == 301 and gn[-1] <= stop < gn[-2]


def test_a_step_rule_gives_the_same_run_as_its_divisor() -> None:
    inst, alpha = opposed_kinks(), 1 / 6
    _, by_divisor = exact.run_exact(inst, "maml", np.array([-2.5]), alpha, 50, 12)
    _, by_rule = exact.run_exact(inst, "maml", np.array([-2.5]), alpha, 50, exact.theorem_step(12))
    np.testing.assert_allclose(by_rule, by_divisor, rtol=1e-13)


def test_min_F_on_a_quadratic_task() -> None:
    from mamltheory.verify.instances import quadratic_task

    # f(w) = w²/2: F(w) = (1 − α)²w²/2 has minimum 0 at w = 0
    assert exact.min_F_1d(quadratic_task(1.0), 1 / 6) == pytest.approx(0.0, abs=1e-20)
