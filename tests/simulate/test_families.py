"""Task families: link derivatives, certified constants, exact F and ∇F (eqs. (3), (30))."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mamltheory.errors import InputError
from mamltheory.simulate import make_problem
from mamltheory.simulate.certify import observe
from mamltheory.simulate.families import NC_REG_G3_SUP, TanhRegression, poly_sup_abs

SMALL = {"d": 5, "n_tasks": 8, "pool_size": 40}


def central_fd(f, w: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central finite-difference gradient of a scalar function."""
    out = np.empty_like(w)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        out[j] = (f(w + e) - f(w - e)) / (2 * h)
    return out


@pytest.mark.parametrize("name", ["tanh-regression", "nonconvex-logistic"])
def test_link_derivatives_match_finite_differences(name: str) -> None:
    p = make_problem(name, **SMALL)
    z = np.linspace(-4, 4, 41)
    y = np.full_like(z, p.y.flat[3])
    h = 1e-5
    fd1 = (p.phi(z + h, y) - p.phi(z - h, y)) / (2 * h)
    fd2 = (p.dphi(z + h, y, 1) - p.dphi(z - h, y, 1)) / (2 * h)
    np.testing.assert_allclose(p.dphi(z, y, 1), fd1, atol=1e-8)
    np.testing.assert_allclose(p.dphi(z, y, 2), fd2, atol=1e-8)


def test_tanh_link_sups_are_exact_maxima() -> None:
    # Dense grid in t = tanh z: the grid max must not exceed the sup and must nearly reach it.
    t = np.linspace(-1, 1, 200001)
    for yv in (-1.3, 0.4, 1.3):
        for k, coef in enumerate(TanhRegression.link_polys(yv)):
            grid = np.abs(np.polynomial.Polynomial(coef)(t)).max()
            sup = poly_sup_abs(coef)
            assert grid <= sup + 1e-12
            assert grid >= sup * (1 - 1e-9), (yv, k)
    # φ' at y = 0 is t(1 − t²): max at t² = 1/3, value 2/(3√3) (hand calculation)
    assert poly_sup_abs(TanhRegression.link_polys(0.0)[0]) == pytest.approx(2 / (3 * math.sqrt(3)), rel=1e-12)


def test_regulariser_third_derivative_sup() -> None:
    t = np.linspace(-5, 5, 400001)
    g3 = 24 * t * (t**2 - 1) / (1 + t**2) ** 4
    assert np.abs(g3).max() == pytest.approx(NC_REG_G3_SUP, rel=1e-9)
    assert NC_REG_G3_SUP == pytest.approx(4.668559284155213, rel=1e-12)


def test_logistic_regulariser_derivatives() -> None:
    p = make_problem("nonconvex-logistic", **SMALL)
    w = np.array([0.3, -1.2, 2.0, 0.0, 0.7])
    np.testing.assert_allclose(p.reg_grad(w), central_fd(lambda v: p.reg(v), w), atol=1e-8)
    hd = np.array([central_fd(lambda v: p.reg_grad(v)[j], w)[j] for j in range(5)])
    np.testing.assert_allclose(p.reg_hess_diag(w), hd, atol=1e-7)


@pytest.mark.parametrize("name,params,max_norm", [
    ("tanh-regression", SMALL, 30.0),
    ("tanh-regression", {}, 30.0),
    ("nonconvex-logistic", SMALL, 30.0),
    ("nonconvex-logistic", {}, 30.0),
    ("quadratic", SMALL, 10.0),  # σ, σ̃ certified on ‖w‖ <= w_radius = 10 only
])
def test_certificates_hold_at_sampled_points(name: str, params: dict, max_norm: float) -> None:
    p = make_problem(name, **params)
    obs = observe(p, np.random.default_rng(1), m=30, m_hessian=4, max_norm=max_norm)
    report = {k: f"{o.observed:.4g}/{o.certified:.4g} = {o.tightness:.2f}" for k, o in obs.items()}
    print(f"\n{name} {params}: observed/certified {report}")
    for o in obs.values():
        assert o.observed <= o.certified * (1 + 1e-9), (o.name, report)


def test_certificate_l_is_tight_for_logistic_at_zero_regulariser_curvature() -> None:
    # At w = 0 logistic curvature is exactly 1/4 M_i and r'' = 2λ, so ‖∇²f_i(0)‖ = λ_max(M_i)/4 + 2λ:
    # the certificate L = max_i of that is attained exactly there.
    p = make_problem("nonconvex-logistic", **SMALL)
    H = p.task_hessian(np.zeros((1, p.d)))
    assert np.abs(np.linalg.eigvalsh(H)).max() == pytest.approx(p.constants.L, rel=1e-12)


def test_quadratic_sigma_h_is_exact() -> None:
    p = make_problem("quadratic", **SMALL)
    obs = observe(p, np.random.default_rng(2), m=3, m_hessian=3)
    assert obs["sigma_H"].observed == pytest.approx(p.constants.sigma_H, rel=1e-10)
    assert obs["L"].observed == pytest.approx(p.constants.L, rel=1e-10)


@pytest.mark.parametrize("name", ["tanh-regression", "nonconvex-logistic", "quadratic"])
def test_meta_gradient_matches_finite_differences(name: str) -> None:
    p = make_problem(name, **SMALL)
    alpha = 1 / (6 * p.constants.L)
    rng = np.random.default_rng(3)
    for _ in range(3):
        w = rng.standard_normal(p.d)
        fd = central_fd(lambda v: float(p.meta_objective(v, alpha)), w, h=1e-5)
        g = p.meta_gradient(w, alpha)
        assert np.linalg.norm(g - fd) <= 1e-7 * max(1.0, np.linalg.norm(g))


def test_quadratic_closed_form_meta_objective_and_gradient() -> None:
    p = make_problem("quadratic", **SMALL)
    rng = np.random.default_rng(4)
    for alpha in (1 / (6 * p.constants.L), 0.5 / p.constants.L, 1 / p.constants.L):
        for _ in range(3):
            w = 3 * rng.standard_normal(p.d)
            F_cf, g_cf = p.closed_form_meta(w, alpha)
            assert abs(p.meta_objective(w, alpha) - F_cf) <= 1e-10 * max(1, abs(F_cf))
            np.testing.assert_allclose(p.meta_gradient(w, alpha), g_cf, rtol=0, atol=1e-10 * max(1, np.abs(g_cf).max()))


def test_quadratic_one_task_by_hand() -> None:
    # One task, d = 1 is checkable on paper: f(w) = ½ m (w − w*)² + f*, so
    # F(w) = ½ m (1 − αm)² (w − w*)² + f*, F'(w) = m (1 − αm)² (w − w*).
    p = make_problem("quadratic", d=1, n_tasks=2, pool_size=30)
    x, y = p.X[0, :, 0], p.y[0]
    m, b = (x * x).mean(), (x * y).mean()
    wstar = b / m
    fstar = 0.5 * ((x * wstar - y) ** 2).mean()
    alpha, w = 0.1 / m, 1.7
    F0 = 0.5 * m * (1 - alpha * m) ** 2 * (w - wstar) ** 2 + fstar
    g0 = m * (1 - alpha * m) ** 2 * (w - wstar)
    W = np.array([[w]])
    U = W - alpha * p.task_grad(W[:, None, :])[:, 0]
    assert p.task_loss(U[:, None, :])[0, 0] == pytest.approx(F0, abs=1e-12)
    v = p.task_grad(U[:, None, :])[:, 0]
    assert (v - alpha * p.task_hvp(W[:, None, :], v[:, None, :])[:, 0])[0, 0] == pytest.approx(g0, abs=1e-12)


def test_task_quantities_are_pool_averages_of_samples() -> None:
    p = make_problem("nonconvex-logistic", **SMALL)
    rng = np.random.default_rng(5)
    w, v = rng.standard_normal(p.d), rng.standard_normal(p.d)
    ids = np.arange(p.n_tasks * p.pool_size).reshape(p.n_tasks, p.pool_size)
    Wn = np.broadcast_to(w, (p.n_tasks, p.d))
    Vn = np.broadcast_to(v, (p.n_tasks, p.d))
    np.testing.assert_allclose(p.task_grad(w[None, None, :])[0], p.sample_grad(Wn, ids).mean(1), atol=1e-13)
    np.testing.assert_allclose(p.task_loss(w[None, None, :])[0], p.sample_loss(Wn, ids).mean(1), atol=1e-13)
    np.testing.assert_allclose(p.task_hvp(w[None, None, :], Vn[None])[0], p.sample_hvp(Wn, Vn, ids).mean(1), atol=1e-13)
    H = p.task_hessian(w[None, None, :])[0]
    np.testing.assert_allclose(H, p.sample_hessian(Wn, ids).mean(1), atol=1e-13)
    np.testing.assert_allclose(np.einsum("nde,e->nd", H, v), p.task_hvp(w[None, None, :], Vn[None])[0], atol=1e-13)
    # the Hessian is the derivative of the gradient
    fd = central_fd(lambda u: p.task_grad(u[None, None, :])[0, 2] @ v, w)
    np.testing.assert_allclose(fd, H[2] @ v, atol=1e-7)


def test_quadratic_f_hat_matches_closed_form() -> None:
    # Quadratic f_i: with ĝ = ∇f_i(w) + ξ, E f_i(w − αĝ) = F_i(w) + (α²/2) E[ξᵀM_iξ], and
    # E[ξξᵀ] = C_i(w)/D_test (C_i the per-sample gradient covariance), so
    # F̂(w) − F(w) = (α²/(2 D_test)) Σ_i p_i tr(M_i C_i(w)).
    p = make_problem("quadratic", **SMALL)
    alpha, D_test = 0.5 / p.constants.L, 3
    w = np.linspace(-1, 1, p.d)
    M, _, _, _ = p.normal_equations()
    ids = np.arange(p.n_tasks * p.pool_size).reshape(p.n_tasks, p.pool_size)
    sg = p.sample_grad(np.broadcast_to(w, (p.n_tasks, p.d)), ids)
    dev = sg - sg.mean(axis=1, keepdims=True)
    C = np.einsum("nsd,nse->nde", dev, dev) / p.pool_size
    gap = alpha**2 / (2 * D_test) * float(p.p @ np.einsum("nde,ned->n", M, C))
    n_mc = 200000
    est, _ = p.meta_objective_hat(w, alpha, D_test, n_mc, np.random.default_rng(6))
    # Control variate: the same task draws (meta_objective_hat draws the tasks first) with exact F_i,
    # so only the D_test noise is left in the difference.
    tasks = np.random.default_rng(6).choice(p.n_tasks, size=n_mc, p=p.p)
    W = w[None, None, :]
    F_i = p.task_loss(W - alpha * p.task_grad(W))[0]
    assert gap > 1e-2 * float(p.meta_objective(w, alpha))  # the effect being tested is visible
    assert est - F_i[tasks].mean() == pytest.approx(gap, rel=0.03)


def test_make_problem_rejects_bad_parameters() -> None:
    with pytest.raises(InputError, match="problem: must be one of"):
        make_problem("nope")
    with pytest.raises(InputError, match="'dd': not a parameter"):
        make_problem("quadratic", dd=3)
    with pytest.raises(InputError, match="d: must be an integer >= 1"):
        make_problem("quadratic", d=0)
    with pytest.raises(InputError, match="noise: must be finite"):
        make_problem("tanh-regression", noise=float("nan"))
    with pytest.raises(InputError, match="noise: must be >= 0"):
        make_problem("tanh-regression", noise=-1.0)


def test_non_finite_certificates_are_refused_naming_the_parameter(run_cli) -> None:
    # The quadratic's σ = (E_i (‖M_i − M̄‖ r + ‖b_i − b̄‖)²)^{1/2} >= r (E_i ‖M_i − M̄‖²)^{1/2} on ‖w‖ <= r.
    # With M_i = X_iᵀX_i/N from the default family's own pools (numpy here, not the certificate code),
    # (E_i ‖M_i − M̄‖²)^{1/2} > 2, so at r = 1e308 σ > 2e308: past the largest float (1.8e308) even
    # in exact arithmetic. σ̃ >= r (max_i E_θ ‖xxᵀ − M_i‖²)^{1/2} overflows likewise.
    pools = make_problem("quadratic")
    M = np.einsum("nsd,nse->nde", pools.X, pools.X) / pools.pool_size
    spread = np.linalg.norm(M - M.mean(axis=0), ord=2, axis=(1, 2))
    assert math.sqrt((spread**2).mean()) > 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused without a floating-point warning
        with pytest.raises(InputError) as err:
            make_problem("quadratic", w_radius=1e308)
    assert err.value.field == "params.w_radius"
    assert str(err.value) == "w_radius: the certified constants must be finite; got σ = inf, σ̃ = inf"
    # 1e100 is large but its σ is finite (about 1e100 times that spread): a family, not a refusal. The two
    # sides compute the same spread through different BLAS/LAPACK summation orders (the ‖b_i − b̄‖ term is
    # 1e-100 of it, far below rounding), so they may differ in the last bits: 1e-12 relative covers that.
    big = make_problem("quadratic", w_radius=1e100)
    assert 1e100 * math.sqrt((spread**2).mean()) * (1 - 1e-12) <= big.constants.sigma < math.inf
    # with other parameters given, the one refused on its own is named
    with pytest.raises(InputError) as err:
        make_problem("quadratic", d=4, noise=0.5, w_radius=1e308)
    assert err.value.field == "params.w_radius" and str(err.value).startswith("w_radius: the certified")
    # two that each overflow on their own (the noise scales ‖b_i − b̄‖ and ‖yx − b_i‖): both named
    with pytest.raises(InputError) as err:
        make_problem("quadratic", noise=1e300, w_radius=1e308)
    assert err.value.field == "params.noise"
    assert str(err.value).endswith("got σ = inf, σ̃ = inf (with noise = 1e+300, w_radius = 1e+308)")
    # at the command line: one line, exit 2, before any run
    code, out, err_text = run_cli(["estimate", "--problem", "quadratic", "--param", "w_radius=1e308"])
    assert (code, out) == (2, "") and err_text == ("mamltheory estimate: w_radius: the certified constants must be "
                                                   "finite; got σ = inf, σ̃ = inf\n")


def test_problem_is_deterministic_in_its_parameters() -> None:
    a, b = make_problem("tanh-regression", **SMALL), make_problem("tanh-regression", **SMALL)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    c = make_problem("tanh-regression", **SMALL, seed=1)
    assert not np.array_equal(a.X, c.X)


def test_huge_task_spread_clips_features_to_the_radius_instead_of_zeroing_them() -> None:
    """task_spread = 1e200 shifts each task's features by ~1e200: ‖x‖ overflows a plain norm. Clipping to
    ‖x‖ <= radius must keep such rows on the sphere of that radius (they were silently set to 0, giving a
    degenerate family with σ = σ̃ = σ_H = 0)."""
    p = make_problem("nonconvex-logistic", task_spread=1e200)
    norms = np.linalg.norm(p.X, axis=-1)
    assert np.all(norms <= 3.0 * (1 + 1e-12))          # the family's radius, 3
    assert np.allclose(norms, 3.0, rtol=1e-12)          # every row is far outside the ball, so all are clipped to it
    c = p.constants
    assert min(c.sigma, c.sigma_tilde, c.sigma_H) > 0
