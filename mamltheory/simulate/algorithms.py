"""Algorithms 1-3 of the paper (MAML, FO-MAML, HF-MAML) as one vectorised meta-iteration.

Shapes: R replicates (points W of shape (R, d)), B tasks per replicate, batches (R, B, D, d).
Every function here takes batches already drawn, so the same samples can be fed to several
algorithms (the equivalence tests) and the runner decides how randomness is laid out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mamltheory.simulate.families import Array, PoolProblem

ALGORITHMS = ("maml", "maml-hvp", "fo-maml", "hf-maml")
# Which batch sizes each algorithm reads: FO-MAML has no D_h (Algorithm 2).
USES_D_H = {"maml": True, "maml-hvp": True, "fo-maml": False, "hf-maml": True}
# Explicit Hessians are formed in chunks of at most this many bytes (see benchmarks/bench_simulate.py).
HESSIAN_CHUNK_BYTES = 32 * 2**20


@dataclass
class TaskBatch:
    """The data of one meta-iteration: D_in, D_o, D_h batches for every (replicate, task).

    Algorithm 1 line 4 / eq. (5) reads D_in; eq. (6b) reads D_o and D_h; they are independent.
    """

    X_in: Array
    y_in: Array
    X_o: Array
    y_o: Array
    X_h: Array | None = None
    y_h: Array | None = None


def inner_points(problem: PoolProblem, W: Array, batch: TaskBatch, alpha: float) -> Array:
    """w_{k+1}^i = w_k − α ∇̃f_i(w_k, D_in^i), eq. (5)/(13); shape (R, B, d)."""
    Wb = np.broadcast_to(W[:, None, :], batch.X_in.shape[:2] + (W.shape[-1],))
    return Wb - alpha * problem.grad_on(Wb, batch.X_in, batch.y_in)


def hessian_correction_explicit(problem: PoolProblem, Wb: Array, V: Array, X_h: Array, y_h: Array,
                                chunk: int | None = None) -> Array:
    """∇̃²f_i(w_k, D_h^i) v with the d×d stochastic Hessian formed explicitly (Algorithm 1, O(d²)).

    The R·B Hessians are formed `chunk` tasks at a time so peak memory is chunk·d² floats
    instead of R·B·d² (5 GiB at d = 1000, R = 32, B = 20). Default: as many as fit in
    HESSIAN_CHUNK_BYTES. Each task's arithmetic is the same whatever the chunk (bit-identical).
    """
    lead = V.shape[:-1]
    d = V.shape[-1]
    Wf = np.broadcast_to(Wb, V.shape).reshape(-1, d)
    Vf = V.reshape(-1, d)
    Xf = X_h.reshape((-1,) + X_h.shape[-2:])
    yf = y_h.reshape((-1, y_h.shape[-1]))
    n = Vf.shape[0]
    step = max(1, HESSIAN_CHUNK_BYTES // (8 * d * d)) if chunk is None else max(1, int(chunk))
    out = np.empty_like(Vf)
    for a in range(0, n, step):
        H = problem.hessian_on(Wf[a:a + step], Xf[a:a + step], yf[a:a + step])
        out[a:a + step] = np.matmul(H, Vf[a:a + step, :, None])[..., 0]
    return out.reshape(lead + (d,))


def task_directions(problem: PoolProblem, algorithm: str, W: Array, batch: TaskBatch, alpha: float,
                    delta: float | None = None, delta_rule: str = "theory",
                    hessian_chunk: int | None = None) -> Array:
    """The per-task update directions G_i(w_k), shape (R, B, d).

    maml:     (I − α∇̃²f_i(w_k, D_h)) ∇̃f_i(w_{k+1}^i, D_o), explicit Hessian (eq. (6b))
    maml-hvp: the same vector with an exact Hessian-vector product (no d×d matrix)
    fo-maml:  ∇̃f_i(w_{k+1}^i, D_o), eq. (9)
    hf-maml:  ∇̃f_i(w_{k+1}^i, D_o) − α d_k^i, eqs. (14)-(15), with δ_k^i = δ/‖∇̃f_i(w_{k+1}^i, D_o)‖
              (delta_rule "theory", eq. (142)) or δ_k^i = δ (delta_rule "fixed").
    """
    U = inner_points(problem, W, batch, alpha)
    V = problem.grad_on(U, batch.X_o, batch.y_o)  # ∇̃f_i(w_{k+1}^i, D_o^i)
    if algorithm == "fo-maml":
        return V
    if batch.X_h is None or batch.y_h is None:
        raise ValueError(f"{algorithm} needs a D_h batch")
    Wb = np.broadcast_to(W[:, None, :], V.shape)
    if algorithm == "maml-hvp":
        return V - alpha * problem.hvp_on(Wb, V, batch.X_h, batch.y_h)
    if algorithm == "maml":
        return V - alpha * hessian_correction_explicit(problem, Wb, V, batch.X_h, batch.y_h, hessian_chunk)
    if algorithm == "hf-maml":
        if delta is None or not delta > 0:
            raise ValueError("hf-maml needs delta > 0")
        dk = hf_delta(V, delta, delta_rule)
        P = np.stack([Wb + dk[..., None] * V, Wb - dk[..., None] * V], axis=-2)  # (R, B, 2, d)
        G2 = problem.grad2_on(P, batch.X_h, batch.y_h)  # both gradients on the same D_h
        d_vec = (G2[..., 0, :] - G2[..., 1, :]) / (2.0 * dk[..., None])  # eq. (14)
        return V - alpha * d_vec
    raise ValueError(f"unknown algorithm {algorithm!r}")


def hf_delta(V: Array, delta: float, rule: str) -> Array:
    """δ_k^i per task: δ/‖v‖ (eq. (142)) or the fixed δ; where v = 0 the difference is 0 for any δ."""
    if rule == "fixed":
        return np.full(V.shape[:-1], float(delta))
    if rule != "theory":
        raise ValueError(f"unknown delta rule {rule!r}")
    nv = np.linalg.norm(V, axis=-1)
    return np.where(nv > 0, delta / np.where(nv > 0, nv, 1.0), delta)


def direction(problem: PoolProblem, algorithm: str, W: Array, batch: TaskBatch, alpha: float,
              delta: float | None = None, delta_rule: str = "theory",
              hessian_chunk: int | None = None) -> Array:
    """The meta-direction g_k = (1/B) Σ_i G_i(w_k) of eq. (29) (MAML), (9), (15); shape (R, d)."""
    G = task_directions(problem, algorithm, W, batch, alpha, delta, delta_rule, hessian_chunk)
    return G.mean(axis=1)


def beta_tilde(problem: PoolProblem, W: Array, X_beta: Array, y_beta: Array, alpha: float) -> Array:
    """β̃(w) = 1/(4L + 2ρα (1/B') Σ_j ‖∇̃f_j(w, D_β^j)‖), eq. (26), with the certified L, ρ; shape (R,)."""
    Wb = np.broadcast_to(W[:, None, :], X_beta.shape[:2] + (W.shape[-1],))
    norms = np.linalg.norm(problem.grad_on(Wb, X_beta, y_beta), axis=-1).mean(axis=1)
    c = problem.constants
    return 1.0 / (4.0 * c.L + 2.0 * c.rho * alpha * norms)
