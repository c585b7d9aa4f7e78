"""Sinusoid problem: analytic gradients and HVPs against finite differences and sympy, sampling, benchmark."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from mamltheory.simulate.algorithms import TaskBatch, direction
from mamltheory.simulate.protocol import Problem, make_meta_problem
from mamltheory.estimate.sinusoid_benchmark import SinusoidConfig, adapt_curve, run_benchmark, summarize
from mamltheory.simulate.sinusoid import SinusoidNet, SinusoidProblem


def _setup(hidden: int, activation: str, seed: int = 0):
    p = SinusoidProblem(hidden=hidden, activation=activation, seed=seed)
    rng = np.random.default_rng(seed)
    w = p.initial_point() + 0.2 * rng.standard_normal(p.d)
    tasks = p.sample_tasks(rng, 3)
    X, y = p.sample_data(rng, tasks, 7)
    return p, rng, w, X, y


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_gradient_matches_central_differences_of_the_loss(activation: str) -> None:
    p, _, w, X, y = _setup(6, activation)
    g = p.grad_on(w, X, y)  # (3, d): one gradient per task, w broadcast over tasks
    h = 1e-6
    E = np.eye(p.d)
    fd = (p.loss_on(w + h * E[:, None, :], X, y) - p.loss_on(w - h * E[:, None, :], X, y)).T / (2 * h)
    # central differences: truncation O(h²) ~ 1e-12, rounding ~ 1e-16 · loss / h ~ 1e-9
    assert np.abs(g - fd).max() <= 1e-7 * max(1.0, np.abs(g).max())


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_hvp_matches_central_differences_of_the_gradient(activation: str) -> None:
    p, rng, w, X, y = _setup(8, activation)
    V = rng.standard_normal((3, p.d))
    hv = p.hvp_on(w, V, X, y)
    h = 1e-5
    fd = (p.grad_on(w + h * V, X, y) - p.grad_on(w - h * V, X, y)) / (2 * h)
    assert np.abs(hv - fd).max() <= 1e-7 * np.abs(hv).max()
    # the Hessian is symmetric: uᵀ(H v) = vᵀ(H u)
    U = rng.standard_normal((3, p.d))
    hu = p.hvp_on(w, U, X, y)
    np.testing.assert_allclose((U * hv).sum(-1), (V * hu).sum(-1), rtol=1e-10)


def test_gradient_and_hessian_match_an_independent_sympy_derivation() -> None:
    """H = 2 network written out symbolically; sympy differentiates it, numpy must agree to 1e-10."""
    H = 2
    a, b1, b2, w3 = (sp.symbols(f"{n}0:{H}") for n in ("a", "b1_", "b2_", "w3_"))
    W2 = sp.Matrix(H, H, sp.symbols(f"W0:{H * H}"))
    b3 = sp.Symbol("b3")
    params = [*a, *b1, *list(W2), *b2, *w3, b3]  # the documented flattening order (W2 row-major)
    # One sample's loss with x, y symbolic: the batch loss is the mean over samples, so its gradient and
    # Hessian are the means of these (a third of the expression a batch would give sympy to differentiate
    # and print); the Hessian's upper triangle only, mirrored below.
    x, y = sp.symbols("x y")
    h1 = [sp.tanh(a[j] * x + b1[j]) for j in range(H)]
    h2 = [sp.tanh(sum(W2[i, j] * h1[j] for j in range(H)) + b2[i]) for i in range(H)]
    loss = (sum(w3[i] * h2[i] for i in range(H)) + b3 - y) ** 2
    n = len(params)
    grad = [sp.diff(loss, q) for q in params]
    upper = [sp.diff(grad[i], params[j]) for i in range(n) for j in range(i, n)]  # np.triu_indices' order
    per_sample = sp.lambdify([params, x, y], [grad, upper])
    net = SinusoidNet(H, "tanh")
    assert net.d == n == H * H + 4 * H + 1
    w = np.random.default_rng(3).standard_normal(net.d)
    xs, ys = [-3.7, 0.4, 2.9], [1.1, -0.3, 0.8]
    G, Hs = np.zeros(n), np.zeros((n, n))
    for xi, yi in zip(xs, ys):
        g_s, upper_s = per_sample(w, xi, yi)
        G += np.array(g_s, float) / len(xs)
        Hs[np.triu_indices(n)] += np.array(upper_s, float) / len(xs)
    Hs += np.triu(Hs, 1).T
    X, y_ = np.array(xs)[:, None], np.array(ys)
    np.testing.assert_allclose(net.grad_on(w, X, y_), G, rtol=1e-10, atol=1e-12)
    V = np.random.default_rng(4).standard_normal((5, net.d))
    np.testing.assert_allclose(net.hvp_on(w, V, X, y_), V @ Hs, rtol=1e-9, atol=1e-11)


def test_vectorised_over_tasks_equals_task_by_task() -> None:
    p, rng, _, X, y = _setup(40, "tanh")
    W = p.initial_point() + 0.1 * rng.standard_normal((3, p.d))
    V = rng.standard_normal((3, p.d))
    G, HV, Lo = p.grad_on(W, X, y), p.hvp_on(W, V, X, y), p.loss_on(W, X, y)
    for i in range(3):
        np.testing.assert_allclose(G[i], p.grad_on(W[i], X[i], y[i]), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(HV[i], p.hvp_on(W[i], V[i], X[i], y[i]), rtol=1e-12, atol=1e-14)
        assert Lo[i] == pytest.approx(float(((p.net.predict(W[i], X[i]) - y[i]) ** 2).mean()), rel=1e-13)
    P = np.stack([W, W + V], axis=-2)  # HF-MAML's two points per task
    G2 = p.grad2_on(P, X, y)
    np.testing.assert_allclose(G2[:, 1], p.grad_on(W + V, X, y), rtol=1e-12, atol=1e-14)


def test_task_distribution_and_labels() -> None:
    p = SinusoidProblem()
    assert p.d == 1761
    rng = np.random.default_rng(0)
    T = p.sample_tasks(rng, 20000)
    assert T[:, 0].min() >= 0.1 and T[:, 0].max() <= 5.0 and T[:, 1].min() >= 0 and T[:, 1].max() <= math.pi
    assert T[:, 0].mean() == pytest.approx(2.55, abs=0.03)  # mean of U[0.1, 5]
    X, y = p.sample_data(rng, T[:2], 10)
    assert X.shape == (2, 10, 1) and np.abs(X).max() <= 5
    np.testing.assert_allclose(y, T[:2, :1] * np.sin(X[..., 0] - T[:2, 1:]), rtol=0, atol=0)
    # the reference grid's MSE of the zero predictor is E_x[A² sin²(x − φ)] ≈ A²/2 (± boundary terms)
    A, phi = 2.0, 0.3
    Xg, yg = p.task_data(np.array([[A, phi]]))
    exact = A**2 * (0.5 - (math.sin(2 * (5 - phi)) - math.sin(2 * (-5 - phi))) / 40.0)
    assert float((yg**2).mean()) == pytest.approx(exact, rel=1e-3)  # midpoint rule, 100 points


def test_sinusoid_satisfies_the_protocol_and_runs_through_algorithms() -> None:
    p = make_meta_problem("sinusoid", hidden=10)
    assert isinstance(p, Problem)
    rng = np.random.default_rng(1)
    tasks = p.sample_tasks(rng, 4)
    X, y = p.sample_data(rng, tasks, 20)
    Xi, yi, Xo, yo = X[None, :, :10], y[None, :, :10], X[None, :, 10:], y[None, :, 10:]
    batch = TaskBatch(Xi, yi, Xo, yo, Xi, yi)
    w = p.initial_point()[None]
    g_maml = direction(p, "maml-hvp", w, batch, 0.01)
    g_hf = direction(p, "hf-maml", w, batch, 0.01, delta=1e-4, delta_rule="scaled")
    # central differences with a displacement of 1e-4: error O(1e-8) relative
    np.testing.assert_allclose(g_hf, g_maml, rtol=1e-6, atol=1e-9)
    # MAML's direction by hand: mean_i (I − α H_i(w; D_in)) ∇f_i(w − α∇f_i(w; D_in); D_o)
    u = w[0] - 0.01 * p.grad_on(w[0], Xi[0], yi[0])
    v = p.grad_on(u, Xo[0], yo[0])
    expect = (v - 0.01 * p.hvp_on(w[0], v, Xi[0], yi[0])).mean(0)
    np.testing.assert_allclose(g_maml[0], expect, rtol=1e-12, atol=1e-14)


def test_adaptation_curve_and_intervals() -> None:
    p = SinusoidProblem(hidden=5)
    rng = np.random.default_rng(2)
    tasks = p.sample_tasks(rng, 3)
    Xk, yk = p.sample_data(rng, tasks, 10)
    Xt, yt = p.sample_data(rng, tasks, 30)
    w = p.initial_point()
    c = adapt_curve(p, w, Xk, yk, Xt, yt, 0.01, 2)
    w1 = w - 0.01 * p.grad_on(w, Xk[1], yk[1])
    w2 = w1 - 0.01 * p.grad_on(w1, Xk[1], yk[1])
    assert c[2, 1] == pytest.approx(float(p.loss_on(w2, Xt[1], yt[1])), rel=1e-12)
    s = summarize(np.array([[1.0, 2.0, 3.0, 6.0]]))
    # mean 3, sample sd √(14/3), half-width 1.96·sd/2
    half = 1.959963984540054 * math.sqrt(14 / 3) / 2
    assert s["mean"][0] == 3.0 and s["lo"][0] == pytest.approx(3 - half) and s["hi"][0] == pytest.approx(3 + half)


def test_benchmark_trains_stores_and_reuses(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    cfg = SinusoidConfig(method="maml", iterations=1000, hidden=20, eval_tasks=60, eval_points=40,
                         record_every=500)
    res = run_benchmark(store, cfg, ("maml", "pretrain"), workers=1)
    curve = res["maml"]["curve"]["mse_1step"]
    # 1000 MAML iterations cut the one-step test MSE of the untrained network (≈ 4.2) by over 30%
    # (seeds 0-2: by 39-55%)
    assert curve[-1] < 0.7 * curve[0] and all(np.isfinite(res["maml"]["test_mse"]["mean"]))
    # with 60 test tasks the curve's tasks are the test tasks: its last point is the reported 1-step MSE
    assert res["maml"]["test_mse"]["mean"][1] == pytest.approx(curve[-1], rel=1e-12)
    assert res["pretrain"]["tuned"]["alpha"] in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)
    again = run_benchmark(store, cfg, ("maml", "pretrain"), workers=1)
    assert again["maml"]["cached"] and again["maml"]["test_mse"] == res["maml"]["test_mse"]
    # another configuration is a different key: not answered from the store
    other = run_benchmark(store, replace(cfg, iterations=5), ("fo-maml",), workers=1)
    assert not other["fo-maml"]["cached"]
    # the report renders the stored numbers without training anything
    from mamltheory.report.sinusoid import sinusoid_section

    md = sinusoid_section(store, tmp_path / "rep", cfg)
    s = res["maml"]["test_mse"]
    assert f"| maml | {s['mean'][1]:.3f} [{s['lo'][1]:.3f}, {s['hi'][1]:.3f}]" in md
    # no comparison with numbers that have no source (Finn et al. 2017 show plots); the differences are listed
    assert "0.67 / 0.38" not in md and "2.41 / 2.23" not in md and "Finn et al. 2017 (ReLU)" not in md
    for words in ("not ReLU", "not 70,000", "2K = 20 points per task", "initialisation"):
        assert words in md, words
    assert (tmp_path / "rep" / "sinusoid.png").stat().st_size > 10_000
    missing = sinusoid_section(store, tmp_path / "rep2", replace(cfg, seed=9))
    assert "Not run yet" in missing and not (tmp_path / "rep2").exists()
