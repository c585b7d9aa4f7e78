"""The sinusoid benchmark's torch network: ReLU next to tanh, through the adapter."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mamltheory.adapters.torch import TorchSinusoidProblem  # noqa: E402
from mamltheory.estimate.sinusoid_benchmark import (SinusoidConfig, benchmark_problem,  # noqa: E402
                                                    protocol_differences, train)
from mamltheory.simulate.sinusoid import SinusoidProblem  # noqa: E402


@pytest.fixture(scope="module")
def batch():
    ref = SinusoidProblem(hidden=8)
    rng = np.random.default_rng(0)
    X, y = ref.sample_data(rng, ref.sample_tasks(rng, 3), 5)
    w = ref.initial_point() + 0.1 * rng.standard_normal(ref.d)
    return ref, X, y, w, rng.standard_normal((3, ref.d))


def test_torch_tanh_network_is_the_numpy_one(batch) -> None:
    ref, X, y, w, V = batch
    tp = TorchSinusoidProblem(hidden=8, activation="tanh")
    np.testing.assert_array_equal(tp.initial_point(), ref.initial_point())  # same w_0 for ReLU and tanh
    np.testing.assert_allclose(tp.grad_on(w, X, y), ref.grad_on(w, X, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tp.hvp_on(w, V, X, y), ref.hvp_on(w, V, X, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tp.predict(w, X), ref.net.predict(w, X), rtol=0, atol=1e-12)


def test_relu_hvp_equals_autograd_on_a_hand_written_forward(batch) -> None:
    """ReLU's exact HVP against torch.autograd.functional.hvp of relu(relu(x a + b1) W2ᵀ + b2) w3 + b3."""
    ref, X, y, w, V = batch
    tp = TorchSinusoidProblem(hidden=8, activation="relu")
    H = 8

    def loss(u, x, t):
        a, b1, W2, b2, w3, b3 = (u[:H], u[H:2 * H], u[2 * H:2 * H + H * H].reshape(H, H), u[2 * H + H * H:3 * H + H * H],
                                 u[3 * H + H * H:4 * H + H * H], u[-1])
        h = torch.relu(torch.relu(x * a + b1) @ W2.T + b2)
        return ((h @ w3 + b3 - t) ** 2).mean()

    for i in range(3):
        x, t = torch.tensor(X[i]), torch.tensor(y[i])
        _, hv = torch.autograd.functional.hvp(lambda u: loss(u, x, t), torch.tensor(w), torch.tensor(V[i]))
        np.testing.assert_allclose(tp.hvp_on(w, V[i], X[i], y[i]), hv.numpy(), rtol=0, atol=1e-12)
    # ReLU'' = 0 a.e.: with the output layer fixed (V zero outside W2), the curvature along W2 is the Gauss-Newton
    # term alone, 2 E[(J v)²] >= 0; tanh's second derivative adds residual terms of either sign
    Vw = np.zeros_like(V[0])
    Vw[2 * H:2 * H + H * H] = V[0, 2 * H:2 * H + H * H]
    assert Vw @ tp.hvp_on(w, Vw, X[0], y[0]) >= 0


def test_relu_is_marked_outside_the_assumptions_and_trains() -> None:
    cfg = SinusoidConfig(method="maml", iterations=2, activation="relu", hidden=8, eval_tasks=10, record_every=1)
    assert "outside the theory's smoothness assumptions" in protocol_differences(cfg)[0]
    assert "not ReLU" in protocol_differences(SinusoidConfig(method="maml"))[0]
    assert isinstance(benchmark_problem(cfg), TorchSinusoidProblem)
    rec = train(cfg)
    assert rec["finite"] and len(rec["test_mse"]["mean"]) == cfg.eval_steps + 1


def test_report_shows_relu_next_to_tanh_and_says_it_is_outside(tmp_path) -> None:
    from dataclasses import replace

    from mamltheory.estimate.sinusoid_benchmark import run_benchmark
    from mamltheory.report.sinusoid import sinusoid_section

    store = str(tmp_path / "s.sqlite")
    cfg = SinusoidConfig(method="maml", iterations=3, hidden=8, eval_tasks=10, eval_points=20, record_every=3)
    md = sinusoid_section(store, tmp_path / "rep0", cfg)
    assert "Not run yet" in md
    tanh = run_benchmark(store, cfg, ("maml", "hf-maml"), workers=1)
    md = sinusoid_section(store, tmp_path / "rep1", cfg)
    assert "ReLU" in md and "is not in the store" in md and "outside Assumption 4.4" in md
    relu = run_benchmark(store, replace(cfg, activation="relu"), ("maml", "hf-maml"), workers=1)
    md = sinusoid_section(store, tmp_path / "rep2", cfg)
    s = relu["maml"]["test_mse"]
    assert f"| maml, ReLU (outside Assumption 4.4) | {s['mean'][1]:.3f} [{s['lo'][1]:.3f}, {s['hi'][1]:.3f}]" in md
    t = tanh["maml"]["test_mse"]
    assert f"| maml | {t['mean'][1]:.3f}" in md
    assert "ReLU is outside the theory's smoothness assumptions" in md
    h = relu["hf-maml"]["test_mse"]["mean"]
    gap = max(abs(a - b) for a, b in zip(h, s["mean"]))
    half = max(a - b for a, b in zip(s["hi"], s["mean"]))
    verdict = "HF-MAML no longer tracks MAML" if gap > half else "HF-MAML stays within MAML's 95% interval"
    assert f"With ReLU, {verdict} (largest difference in mean test MSE {gap:.2g}" in md
