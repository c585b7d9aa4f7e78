"""The exact-task protocol: one F, ∇F (eqs. (3), (30)) and one HF-MAML radius rule (eq. (142)) for every family."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mamltheory.estimate.estimators import EstimateConfig, estimate_constants
from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import exact_direction, hf_difference, hf_radius
from mamltheory.simulate.protocol import ReferenceTasks
from mamltheory.simulate.tasks import ExactTasks, meta_gradient, meta_objective, meta_parts
from mamltheory.verify import falsify
from mamltheory.verify.instances import Instance, Profile

SMALL = {"d": 4, "n_tasks": 6, "pool_size": 30}


def central_fd(f, w: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central finite-difference gradient of a scalar function of w (d,)."""
    E = np.eye(w.size) * h
    return np.array([(float(f(w + e)) - float(f(w - e))) / (2 * h) for e in E])


def kinked_instance() -> Instance:
    """Two 2-D tasks with piecewise-cubic g_i (curvature kinks), a shared Q and unequal probabilities."""
    a = np.array([0.6, 0.8])
    return Instance(profiles=(Profile.tent(0.5, 1.5, 0.2, 1.0), Profile.tent(-0.3, 0.8, -0.4, 0.7)),
                    b=((0.3, -0.2), (-0.5, 0.4)), p=(0.3, 0.7), a=tuple(a),
                    Q=((0.4, 0.1), (0.1, 0.2)))


def test_every_family_implements_the_protocol() -> None:
    pool = make_problem("tanh-regression", **SMALL)
    for obj in (pool, kinked_instance(), ReferenceTasks(pool, pool.X, pool.y, pool.p)):
        assert isinstance(obj, ExactTasks)
    assert not isinstance(object(), ExactTasks)


@pytest.mark.parametrize("name", ["tanh-regression", "nonconvex-logistic"])
def test_meta_gradient_is_the_derivative_of_meta_objective_on_a_family(name: str) -> None:
    p = make_problem(name, **SMALL)
    w = p.initial_point() * 0.7
    alpha = 0.5 / p.constants.L
    fd = central_fd(lambda x: meta_objective(p, x, alpha), w)
    np.testing.assert_allclose(meta_gradient(p, w, alpha), fd, rtol=1e-6, atol=1e-8)
    # the family's own methods are the same computation
    np.testing.assert_array_equal(p.meta_gradient(w, alpha), meta_gradient(p, w, alpha))
    np.testing.assert_array_equal(p.meta_objective(w, alpha), meta_objective(p, w, alpha))


def test_meta_gradient_is_the_derivative_of_meta_objective_on_an_instance() -> None:
    inst = kinked_instance()
    alpha = 0.3
    # away from the kinks (aᵀw and aᵀU off the knots by more than h), F is C² there
    for w in (np.array([0.9, -0.4]), np.array([-1.3, 0.5]), np.array([2.0, 1.5])):
        fd = central_fd(lambda x: meta_objective(inst, x, alpha), w, h=1e-6)
        np.testing.assert_allclose(meta_gradient(inst, w, alpha), fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(inst.grad_F(w, alpha), meta_gradient(inst, w, alpha))
        np.testing.assert_array_equal(inst.F(w, alpha), meta_objective(inst, w, alpha))


def test_two_task_cubic_instance_by_hand() -> None:
    # f_i(w) = c_i w³/6 + b_i w (1-D): g_i'' = c_i z is linear between the knots ±10 and |w|, |U_i| < 10.
    c, b, p = (1.0, -2.0), (0.5, -0.3), (0.25, 0.75)
    inst = Instance(profiles=tuple(Profile((-10.0, 10.0), (-10.0 * ci, 10.0 * ci)) for ci in c),
                    b=tuple((bi,) for bi in b), p=p)
    w, alpha = 0.7, 0.1
    F = gF = 0.0
    for ci, bi, pi in zip(c, b, p):
        g = ci * w * w / 2 + bi            # ∇f_i(w)
        U = w - alpha * g                  # the adapted point
        v = ci * U * U / 2 + bi            # ∇f_i(U)
        F += pi * (ci * U**3 / 6 + bi * U)
        gF += pi * (1 - alpha * ci * w) * v  # (I − α∇²f_i(w)) v, ∇²f_i(w) = c_i w
    m = meta_parts(inst, np.array([w]), alpha)
    assert float(m.F) == pytest.approx(F, rel=1e-14)
    assert float(m.grad_F[0]) == pytest.approx(gF, rel=1e-14)
    # hand values of the first task's pieces: g = 0.745, U = 0.6255, v = 0.6956...
    assert m.g[0, 0] == pytest.approx(0.745, rel=1e-14)
    assert m.U[0, 0] == pytest.approx(0.6255, rel=1e-14)
    assert m.v[0, 0] == pytest.approx(0.6255**2 / 2 + 0.5, rel=1e-14)


def test_hf_radius_rule_at_zero_v_gives_zero_difference_without_warnings() -> None:
    V = np.array([[0.0, 0.0], [3.0, 4.0], [1e-200, 0.0]])
    W = np.zeros_like(V)

    def disagreeing_pair(Wp: np.ndarray, Wm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a gradient whose two evaluations differ even at the same point
        return np.ones_like(Wp), np.zeros_like(Wm)

    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise", over="raise"):
        warnings.simplefilter("error")
        dk = hf_radius(V, 2.0, "scaled")
        d = hf_difference(disagreeing_pair, W, V, 2.0, "scaled")
    # v = 0: δ_k = δ; ‖v‖ = 5: δ/5; ‖v‖ so small that its square underflows: δ (finite, no overflow)
    np.testing.assert_array_equal(dk, [2.0, 0.4, 2.0])
    np.testing.assert_array_equal(d[0], [0.0, 0.0])                 # Algorithm 3's value at v = 0
    np.testing.assert_array_equal(d[1], [1 / 0.8, 1 / 0.8])          # (1 − 0)/(2·0.4)
    with pytest.raises(ValueError):
        hf_radius(V, 0.0, "scaled")


def test_hf_exact_direction_at_a_stationary_task_is_exactly_zero() -> None:
    # f(w) = w² + w: at w = −1/2, ∇f = 0, so U = w and v = ∇f(U) = 0 exactly.
    inst = Instance(profiles=(Profile.constant(2.0),), b=((1.0,),), p=(1.0,))
    w = np.array([-0.5])
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise", over="raise"):
        warnings.simplefilter("error")
        got = exact_direction(inst, "hf-maml", w, 0.1, delta=1.0)
    np.testing.assert_array_equal(got, [0.0])


def test_exact_directions_are_one_function_for_families_and_instances() -> None:
    assert falsify.exact_direction is exact_direction
    inst = kinked_instance()
    w, alpha = np.array([0.9, -0.4]), 0.3
    np.testing.assert_array_equal(exact_direction(inst, "maml", w, alpha), meta_gradient(inst, w, alpha))
    m = meta_parts(inst, w, alpha)
    np.testing.assert_allclose(exact_direction(inst, "fo-maml", w, alpha), 0.3 * m.v[0] + 0.7 * m.v[1], rtol=1e-15)
    # a quadratic family has affine gradients: the central difference is exact and HF-MAML = MAML for any δ
    quad = make_problem("quadratic", d=3, n_tasks=4, pool_size=10)
    wq = quad.initial_point()
    for delta in (1e-3, 1.0, 1e3):
        np.testing.assert_allclose(exact_direction(quad, "hf-maml", wq, 0.05, delta),
                                   quad.meta_gradient(wq, 0.05), rtol=1e-9, atol=1e-12)


def test_a_replicate_row_is_the_same_alone_and_in_a_batch() -> None:
    pool = make_problem("nonconvex-logistic", **SMALL)
    rng = np.random.default_rng(3)
    for tasks, d in ((pool, pool.d), (kinked_instance(), 2)):
        W = rng.standard_normal((9, d))
        batch = meta_parts(tasks, W, 0.2)
        for r in (0, 4, 8):
            alone = meta_parts(tasks, W[r], 0.2)
            assert batch.F[r] == alone.F
            np.testing.assert_array_equal(batch.grad_F[r], alone.grad_F)
            np.testing.assert_array_equal(meta_objective(tasks, W, 0.2)[r], meta_objective(tasks, W[r], 0.2))


def test_reference_tasks_of_a_whole_family_are_the_family() -> None:
    pool = make_problem("tanh-regression", **SMALL)
    ref = ReferenceTasks(pool, pool.X, pool.y, pool.p)
    w = pool.initial_point()
    np.testing.assert_allclose(meta_gradient(ref, w, 0.1), pool.meta_gradient(w, 0.1), rtol=1e-14, atol=1e-16)
    with pytest.raises(ValueError, match="one probability per task"):
        ReferenceTasks(pool, pool.X, pool.y, np.ones(3) / 3)


def test_estimate_reports_the_exact_meta_objective_of_a_finite_family() -> None:
    pool = make_problem("tanh-regression", **SMALL)
    est = estimate_constants(pool, EstimateConfig(points=2, run_steps=2, power_iters=2,
                                                            hessian_points=1, alpha=0.1))
    w0 = pool.initial_point()
    assert est.exact_tasks
    assert est.F_w0 == pytest.approx(float(pool.meta_objective(w0, 0.1)), rel=1e-14)
    assert est.f_w0 == pytest.approx(float(pool.f_objective(w0)), rel=1e-14)
