"""Few-shot sinusoid regression (Finn et al. 2017, Section 5.1) with a smooth 1-40-40-1 network.

Tasks: amplitude A ~ U[0.1, 5.0], phase φ ~ U[0, π]; inputs x ~ U[−5, 5]; labels y = A sin(x − φ);
K = 10 shots. The per-sample loss is the squared error f_i(w, θ) = (net_w(x) − y)², so a batch loss
is the MSE of the original and the inner step α = 0.01 means the same as there.

Activation: tanh, not the original's ReLU. The theory (Assumptions 4.3-4.4) needs every f_i twice
differentiable with a Lipschitz Hessian; with ReLU the Hessian of the loss is discontinuous (ρ = ∞)
and HF-MAML's finite differences (eq. (12)) straddle kinks. tanh is C^∞ with |tanh'| <= 1,
|tanh''| <= 4/(3√3), |tanh'''| <= 2, so on any bounded set of weights the loss has finite L and ρ
(the network is a polynomial in its output-layer weights, so no global constants exist; that is why
`mamltheory estimate` measures them where training goes). softplus (also C^∞) is available as
`activation="softplus"`; tanh is the default because its derivatives are bounded independently of
the pre-activation, which keeps the per-sample Hessians (σ_H) small.

Network (parameters flattened in this order, d = H² + 4H + 1 = 1761 for H = 40):
    z1 = a x + b1,  h1 = act(z1),  z2 = W2 h1 + b2,  h2 = act(z2),  out = w3·h2 + b3.
Gradients by reverse mode and Hessian-vector products by forward-over-reverse (Pearlmutter's
R-operator), written out by hand; every function is vectorised over leading dimensions that
broadcast between W (..., d) and the data X (..., D, 1), y (..., D).

The benchmark (training, estimates, stored results) is `mamltheory.estimate.sinusoid_benchmark`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Array = np.ndarray

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


def _act(name: str, z: Array) -> tuple[Array, Array, Array]:
    """act(z), act'(z), act''(z)."""
    if name == "tanh":
        t = np.tanh(z)
        s = 1.0 - t * t
        return t, s, -2.0 * t * s
    if name == "softplus":
        sig = 0.5 * (1.0 + np.tanh(0.5 * z))  # logistic σ(z) without overflow
        return np.logaddexp(0.0, z), sig, sig * (1.0 - sig)
    raise ValueError(f"unknown activation {name!r}")


class SinusoidNet:
    """The 1-H-H-1 network with hand-written loss, gradient and Hessian-vector product (MSE loss)."""

    def __init__(self, hidden: int = 40, activation: str = "tanh") -> None:
        if activation not in ("tanh", "softplus"):
            raise ValueError(f"activation must be tanh or softplus, got {activation!r}")
        self.H = int(hidden)
        self.activation = activation
        H = self.H
        sizes = [("a", H), ("b1", H), ("W2", H * H), ("b2", H), ("w3", H), ("b3", 1)]
        self.slices: dict[str, slice] = {}
        start = 0
        for name, n in sizes:
            self.slices[name] = slice(start, start + n)
            start += n
        self.d = start

    def unpack(self, W: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
        """(a, b1, W2, b2, w3, b3) as views of W (..., d); W2 is (..., H, H), b3 (...,)."""
        s, H = self.slices, self.H
        return (W[..., s["a"]], W[..., s["b1"]], W[..., s["W2"]].reshape(W.shape[:-1] + (H, H)),
                W[..., s["b2"]], W[..., s["w3"]], W[..., s["b3"]][..., 0])

    def pack(self, a: Array, b1: Array, W2: Array, b2: Array, w3: Array, b3: Array) -> Array:
        """Inverse of unpack (broadcasting the parts to a common leading shape)."""
        lead = np.broadcast_shapes(a.shape[:-1], b1.shape[:-1], W2.shape[:-2], b2.shape[:-1],
                                   w3.shape[:-1], np.shape(b3))
        parts = [a, b1, W2.reshape(W2.shape[:-2] + (self.H * self.H,)), b2, w3, np.asarray(b3)[..., None]]
        return np.concatenate([np.broadcast_to(p, lead + p.shape[-1:]) for p in parts], axis=-1)

    def init(self, rng: np.random.Generator) -> Array:
        """Glorot-style start: weights N(0, 1/fan_in), biases 0 (fan_in of the first layer is 1)."""
        H = self.H
        return self.pack(rng.standard_normal(H), np.zeros(H), rng.standard_normal((H, H)) / math.sqrt(H),
                         np.zeros(H), rng.standard_normal(H) / math.sqrt(H), np.zeros(()))

    def _forward(self, W: Array, X: Array) -> dict[str, Array]:
        a, b1, W2, b2, w3, b3 = self.unpack(W)
        x = X[..., 0]  # (..., D)
        z1 = x[..., :, None] * a[..., None, :] + b1[..., None, :]
        h1, s1, q1 = _act(self.activation, z1)
        z2 = np.matmul(h1, np.swapaxes(W2, -1, -2)) + b2[..., None, :]
        h2, s2, q2 = _act(self.activation, z2)
        out = np.matmul(h2, w3[..., :, None])[..., 0] + b3[..., None]
        return {"x": x, "h1": h1, "s1": s1, "q1": q1, "h2": h2, "s2": s2, "q2": q2, "out": out,
                "W2": W2, "w3": w3}

    def predict(self, W: Array, X: Array) -> Array:
        """net_w(x) for every sample, shape (..., D)."""
        return self._forward(W, X)["out"]

    def loss_on(self, W: Array, X: Array, y: Array) -> Array:
        """Batch MSE (1/D) Σ (net_w(x) − y)², shape (...)."""
        r = self.predict(W, X) - y
        return (r * r).mean(axis=-1)

    def _backward(self, f: dict[str, Array], y: Array) -> dict[str, Array]:
        D = y.shape[-1]
        e = 2.0 * (f["out"] - y) / D  # d(batch loss)/d out, per sample
        d2 = e[..., None] * f["w3"][..., None, :] * f["s2"]  # d/dz2
        u1 = np.matmul(d2, f["W2"])  # W2ᵀ δ2 per sample (rows)
        d1 = u1 * f["s1"]  # d/dz1
        return {"e": e, "d2": d2, "u1": u1, "d1": d1}

    def grad_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇ of the batch MSE by reverse mode, shape broadcast(...) + (d,)."""
        f = self._forward(W, X)
        b = self._backward(f, y)
        e, d2, d1, x = b["e"], b["d2"], b["d1"], f["x"]
        return self.pack(np.matmul(x[..., None, :], d1)[..., 0, :], d1.sum(axis=-2),
                         np.matmul(np.swapaxes(d2, -1, -2), f["h1"]), d2.sum(axis=-2),
                         np.matmul(e[..., None, :], f["h2"])[..., 0, :], e.sum(axis=-1))

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array:
        """Gradients at k points per batch, P (..., k, d) -> (..., k, d) (HF-MAML's pair, eq. (12))."""
        return self.grad_on(P, X[..., None, :, :], y[..., None, :])

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array:
        """∇²(batch MSE) v by forward-over-reverse (R-operator), shape broadcast(...) + (d,)."""
        f = self._forward(W, X)
        b = self._backward(f, y)
        Va, Vb1, VW2, Vb2, Vw3, Vb3 = self.unpack(V)
        x, h1, h2, s1, s2 = f["x"], f["h1"], f["h2"], f["s1"], f["s2"]
        W2, w3, e, d2 = f["W2"], f["w3"], b["e"], b["d2"]
        D = y.shape[-1]
        # forward tangents R{·} along V
        Rz1 = x[..., :, None] * Va[..., None, :] + Vb1[..., None, :]
        Rh1 = s1 * Rz1
        Rz2 = (np.matmul(h1, np.swapaxes(VW2, -1, -2)) + np.matmul(Rh1, np.swapaxes(W2, -1, -2))
               + Vb2[..., None, :])
        Rh2 = s2 * Rz2
        Rout = (np.matmul(h2, Vw3[..., :, None])[..., 0] + np.matmul(Rh2, w3[..., :, None])[..., 0]
                + Vb3[..., None])
        # reverse pass of the tangents
        Re = 2.0 * Rout / D
        Rd2 = (Re[..., None] * w3[..., None, :] * s2 + e[..., None] * Vw3[..., None, :] * s2
               + e[..., None] * w3[..., None, :] * f["q2"] * Rz2)
        Rd1 = (np.matmul(Rd2, W2) + np.matmul(d2, VW2)) * s1 + b["u1"] * f["q1"] * Rz1
        return self.pack(np.matmul(x[..., None, :], Rd1)[..., 0, :], Rd1.sum(axis=-2),
                         np.matmul(np.swapaxes(Rd2, -1, -2), h1) + np.matmul(np.swapaxes(d2, -1, -2), Rh1),
                         Rd2.sum(axis=-2),
                         np.matmul(Re[..., None, :], h2)[..., 0, :] + np.matmul(e[..., None, :], Rh2)[..., 0, :],
                         Re.sum(axis=-1))


class SinusoidProblem:
    """Sinusoid few-shot regression as a sampled problem (`mamltheory.simulate.tasks.Problem`).

    A task is the pair (A, φ), arrays of tasks have shape (..., 2); data X (..., D, 1), y (..., D).
    f_i(w) = E_{x∼U[−5,5]} (net_w(x) − A sin(x − φ))²; `task_data` replaces the expectation by the
    midpoint rule on `grid` points (error O(grid⁻²) for this smooth integrand).
    """

    name = "sinusoid"
    nonnegative_loss = True
    # σ_H needs one power iteration per sample over a d = 1761 network: fewer tasks, samples, points.
    estimate_defaults: dict[str, Any] = {"max_tasks": 32, "hessian_points": 3, "hessian_tasks": 8,
                                         "hessian_samples": 16}
    defaults: dict[str, Any] = {"hidden": 40, "activation": "tanh", "grid": 100, "seed": 0}

    def __init__(self, hidden: int = 40, activation: str = "tanh", grid: int = 100, seed: int = 0,
                 net: Any = None) -> None:
        # the model half: this module's network, or another with its parameter layout (adapters.torch)
        self.net = SinusoidNet(hidden, activation) if net is None else net
        self.d = self.net.d
        self.grid = int(grid)
        self.params = {"hidden": int(hidden), "activation": activation, "grid": self.grid, "seed": int(seed)}

    # ---- sampling ----------------------------------------------------------------------------
    def sample_tasks(self, rng: np.random.Generator, n: int | tuple[int, ...]) -> Array:
        """n tasks (A, φ) with A ~ U[0.1, 5], φ ~ U[0, π]; shape (*n, 2)."""
        shape = (n,) if isinstance(n, int) else tuple(n)
        return np.stack([rng.uniform(*AMPLITUDE, shape), rng.uniform(*PHASE, shape)], axis=-1)

    @staticmethod
    def labels(tasks: Array, X: Array) -> Array:
        """y = A sin(x − φ) for data X (..., D, 1) of tasks (..., 2)."""
        return tasks[..., 0:1] * np.sin(X[..., 0] - tasks[..., 1:2])

    def sample_data(self, rng: np.random.Generator, tasks: Array, D: int) -> tuple[Array, Array]:
        """D samples x ~ U[−5, 5] per task: X (..., D, 1), y (..., D)."""
        X = rng.uniform(*X_RANGE, tasks.shape[:-1] + (int(D), 1))
        return X, self.labels(tasks, X)

    def task_data(self, tasks: Array) -> tuple[Array, Array]:
        """Each task's reference data: the midpoint grid of [−5, 5] (uniform weights)."""
        lo, hi = X_RANGE
        x = lo + (hi - lo) * (np.arange(self.grid) + 0.5) / self.grid
        X = np.broadcast_to(x[:, None], tasks.shape[:-1] + (self.grid, 1))
        return X, self.labels(tasks, X)

    # ---- model: the network's, written once for either network (numpy or adapters.torch) -----------
    def loss_on(self, W: Array, X: Array, y: Array) -> Array:
        """Batch MSE."""
        return self.net.loss_on(W, X, y)

    def grad_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇ batch MSE (reverse mode)."""
        return self.net.grad_on(W, X, y)

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array:
        """∇²(batch MSE) v (forward-over-reverse or double backward)."""
        return self.net.hvp_on(W, V, X, y)

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array:
        """Gradients at k points per batch, P (..., k, d) -> (..., k, d) (HF-MAML's pair, eq. (12))."""
        return self.net.grad2_on(P, X, y)

    def predict(self, W: Array, X: Array) -> Array:
        """net_w(x) for every sample, shape (..., D)."""
        return self.net.predict(W, X)

    def initial_point(self) -> Array:
        """w_0 from the problem seed (Glorot-style, see SinusoidNet.init; the same for any activation)."""
        return SinusoidNet(self.params["hidden"]).init(np.random.default_rng([int(self.params["seed"]), 11]))

    def describe(self) -> dict[str, Any]:
        """Name, parameters, dimension."""
        return {"problem": self.name, "params": self.params, "d": self.d}
