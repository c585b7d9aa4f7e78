"""Algorithms 1-3 of the paper (MAML, FO-MAML, HF-MAML) as one vectorised meta-iteration.

Shapes: R replicates (points W of shape (R, d)), B tasks per replicate, batches (R, B, D, d).
Every sampled function here takes batches already drawn, so the same samples can be fed to several
algorithms (the equivalence tests) and the runner decides how randomness is laid out.
`exact_direction` is the same iteration in expectation (all tasks, exact task derivatives) on any
`ExactTasks` family. HF-MAML's radius rule δ_k = δ/‖v‖ (eq. (142)) and its central difference
(eq. (14)) are written once (`hf_radius`, `hf_difference`) and serve both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mamltheory.simulate.families import Array, PoolProblem
from mamltheory.simulate.tasks import ExactTasks, MetaParts, meta_parts

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
                    delta: float | None = None, delta_rule: str = "scaled",
                    hessian_chunk: int | None = None) -> Array:
    """The per-task update directions G_i(w_k), shape (R, B, d).

    maml:     (I − α∇̃²f_i(w_k, D_h)) ∇̃f_i(w_{k+1}^i, D_o), explicit Hessian (eq. (6b))
    maml-hvp: the same vector with an exact Hessian-vector product (no d×d matrix)
    fo-maml:  ∇̃f_i(w_{k+1}^i, D_o), eq. (9)
    hf-maml:  ∇̃f_i(w_{k+1}^i, D_o) − α d_k^i, eqs. (14)-(15), with δ_k^i = δ/‖∇̃f_i(w_{k+1}^i, D_o)‖
              (delta_rule "scaled", eq. (142)) or δ_k^i = δ (delta_rule "fixed").
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
        def gradient_pair(Wp: Array, Wm: Array) -> tuple[Array, Array]:
            G2 = problem.grad2_on(np.stack([Wp, Wm], axis=-2), batch.X_h, batch.y_h)  # both on the same D_h
            return G2[..., 0, :], G2[..., 1, :]
        return V - alpha * hf_difference(gradient_pair, Wb, V, delta, delta_rule)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def hf_radius(V: Array, delta: float | None, rule: str = "scaled") -> Array:
    """δ_k^i per task, shape V.shape[:-1]: δ/‖v‖ (rule "scaled", eq. (142)) or the fixed δ (rule "fixed").

    At v = 0 (and wherever δ/‖v‖ would overflow, ‖v‖ below δ/1.8e308) δ_k^i = δ. Algorithm 3 at
    v = 0 evaluates ∇f(w + δ_k·0) − ∇f(w − δ_k·0) = 0 for every δ_k, so any positive radius gives
    the same, exactly zero, difference; δ is finite and positive, so eq. (14)'s division by 2δ_k
    never divides by zero and warns nowhere.
    """
    if delta is None or not delta > 0 or not np.isfinite(delta):
        raise ValueError(f"hf-maml needs a finite delta > 0, got {delta!r}")
    if rule == "fixed":
        return np.full(V.shape[:-1], float(delta))
    if rule != "scaled":
        raise ValueError(f"unknown delta rule {rule!r}")
    nv = np.linalg.norm(V, axis=-1)
    ok = nv > delta / np.finfo(np.float64).max
    return np.where(ok, delta / np.where(ok, nv, 1.0), float(delta))


def hf_difference(gradient_pair: Callable[[Array, Array], tuple[Array, Array]], W: Array, V: Array,
                  delta: float | None, rule: str = "scaled") -> Array:
    """d = [∇f(w + δ_k v) − ∇f(w − δ_k v)] / (2δ_k), eq. (14), with δ_k from `hf_radius`; shape of V.

    gradient_pair(W_plus, W_minus) returns the two gradients (on the same data: D_h in Algorithm 3,
    the task's whole data in `exact_direction`). Where v = 0 the result is set to exactly 0, Algorithm
    3's value for every δ_k, so it holds even for a gradient whose two evaluations at the same point
    differ in the last bit (a batched kernel).
    """
    dk = hf_radius(V, delta, rule)[..., None]
    Gp, Gm = gradient_pair(W + dk * V, W - dk * V)
    return np.where((V == 0).all(axis=-1, keepdims=True), 0.0, (Gp - Gm) / (2.0 * dk))


def direction(problem: PoolProblem, algorithm: str, W: Array, batch: TaskBatch, alpha: float,
              delta: float | None = None, delta_rule: str = "scaled",
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


def exact_direction(tasks: ExactTasks, algorithm: str, w: Array, alpha: float, delta: float | None = None,
                    delta_rule: str = "scaled", parts: MetaParts | None = None) -> Array:
    """E_i G_i(w) with exact task gradients and HVPs (B, D_in, D_o, D_h → ∞), w of shape (..., d).

    maml, maml-hvp: ∇F(w) (eq. (30)); fo-maml: E_i ∇f_i(w − α∇f_i(w)) (eq. (9)); hf-maml:
    E_i [v_i − α d_i] with the central difference d_i of eq. (14) on the task's whole data and the
    radius rule of `hf_radius` (eq. (142)). `parts`: `meta_parts(tasks, w, alpha)` when the caller has it.
    """
    m = meta_parts(tasks, w, alpha) if parts is None else parts
    p = np.asarray(tasks.p, dtype=np.float64)[:, None]
    if algorithm in ("maml", "maml-hvp"):
        return m.grad_F
    if algorithm == "fo-maml":
        return (m.v * p).sum(axis=-2)
    if algorithm != "hf-maml":
        raise ValueError(f"unknown algorithm {algorithm!r}")
    W = np.broadcast_to(np.asarray(w, dtype=np.float64)[..., None, :], m.v.shape)
    d_vec = hf_difference(lambda Wp, Wm: (tasks.task_grad(Wp), tasks.task_grad(Wm)), W, m.v, delta, delta_rule)
    return ((m.v - alpha * d_vec) * p).sum(axis=-2)
