"""Task families with certified constants (Assumptions 4.3-4.6) and exact F, ∇F (eqs. (3), (30)).

Every family here is a *pool family*: task i is a finite pool of N samples θ = (x, y), the
per-sample loss is

    f_i(w, θ) = φ(xᵀw; y) + r(w),                                          (per-sample loss)

f_i(w) is the pool average (eq. (2) with θ uniform over the pool), tasks are drawn from p
(uniform over the n tasks) and batches are drawn uniformly with replacement from a pool, so
every batch gradient / Hessian is an unbiased estimate of the task's (eq. (2) and below).

Derivatives (z = xᵀw): ∇f(w, θ) = φ'(z) x + ∇r(w), ∇²f(w, θ) = φ''(z) x xᵀ + ∇²r(w).
The regulariser r is the same for every sample and task, so it cancels in every variance.

Certificates (s_k := sup over z ∈ ℝ and the pool's labels of |φ^(k)(z; y)|, M_i := X_iᵀX_i/N,
R_i := max_s ‖x_s‖ in task i, L_r, ρ_r the smoothness constants of r):

* L (eq. (17)-(18a)):  −s_2 M_i ⪯ (1/N) Σ_s φ''(z_s) x_s x_sᵀ ⪯ s_2 M_i, hence
  ‖∇²f_i(w)‖ <= s_2 λ_max(M_i) + L_r;  L := max_i of that.
* ρ (eq. (19)):  the data part of ∇²f_i(w) − ∇²f_i(u) is (1/N) Σ_s c_s x_s x_sᵀ with
  |c_s| = |φ''(x_sᵀw) − φ''(x_sᵀu)| <= s_3 |x_sᵀ(w − u)| <= s_3 R_i ‖w − u‖, hence
  ρ := max_i s_3 R_i λ_max(M_i) + ρ_r; bounding each rank-one term separately instead,
  ‖(1/N) Σ_s c_s x_s x_sᵀ‖ <= s_3 ‖w − u‖ E_θ‖x‖³, so the smaller of the two is used.
* σ (eq. (20)):  Var_i ∇f_i(w) <= E_i‖g_i(w)‖² with g_i the data part, and
  ‖g_i(w)‖ = sup_{‖u‖=1} (1/N) Σ_s φ'(z_s) x_sᵀu <= s_1 sup_u ((1/N) Σ_s (x_sᵀu)²)^{1/2}
  = s_1 λ_max(M_i)^{1/2} (Cauchy-Schwarz), hence σ² := s_1² Σ_i p_i λ_max(M_i).
* σ̃ (eq. (21)):  Var_θ <= E_θ‖φ'(z) x‖² <= s_1² E_θ‖x‖² = s_1² tr(M_i); σ̃² := max_i.
* σ_H (eq. (22), spectral norm):  Var_θ <= E_θ‖φ''(z) x xᵀ‖² <= s_2² E_θ‖x‖⁴; σ_H² := max_i.

All certificates hold for every w ∈ ℝ^d (the pools are finite, so every max is attained and
computed exactly), except for the least-squares family `quadratic`, whose gradient variances
grow with ‖w‖; its σ and σ̃ are certified on the ball ‖w‖ <= radius only (`constants_domain`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mamltheory.assumptions import ProblemConstants
from mamltheory.errors import InputError
from mamltheory.simulate import tasks as exact

Array = np.ndarray


def poly_sup_abs(coeffs: Array, lo: float = -1.0, hi: float = 1.0) -> float:
    """max_{t ∈ [lo, hi]} |P(t)| for the polynomial with coefficients `coeffs` (lowest degree first).

    Exact up to root-finding: the max of |P| on an interval is at an endpoint or at a real
    critical point (root of P').
    """
    p = np.polynomial.Polynomial(np.asarray(coeffs, dtype=float))
    cands = [lo, hi]
    if p.degree() >= 2:
        for r in p.deriv().roots():
            if abs(r.imag) <= 1e-12 and lo <= r.real <= hi:
                cands.append(float(r.real))
    return float(max(abs(p(c)) for c in cands))


CONSTANT_SYMBOLS = {"L": "L", "rho": "ρ", "sigma": "σ", "sigma_tilde": "σ̃", "sigma_H": "σ_H"}


@dataclass(frozen=True)
class Certificate:
    """One certified constant and where its value comes from."""

    name: str
    value: float
    formula: str


class PoolProblem(exact.ExactMeta, ABC):
    """A pool family: per-sample loss φ(xᵀw; y) + r(w) over n finite task pools (see module doc).

    Implements the exact-task protocol (`simulate.tasks.ExactTasks`: d, p, task_loss, task_grad,
    task_hvp on the full pools). Array conventions (used by the algorithms and the checks):
    * ``W``: points, shape (..., d); ``idx``: flat sample ids task * N + s, shape (..., D);
      ``tasks``: task ids. Leading dimensions broadcast, so (R, B, D) batches evaluate in one call.
    * ``Xg, yg``: gathered data (..., D, d), (..., D), from :meth:`gather`; the ``*_on`` methods
      work on gathered data so a batch drawn once can serve several evaluations.
    """

    name: ClassVar[str] = "pool"
    nonnegative_loss: ClassVar[bool] = True  # ½(y − tanh z)², logistic + λ Σ w²/(1 + w²), ½(z − y)²: all >= 0
    constants_domain: ClassVar[str] = "all of R^d"

    def __init__(self, X: Array, y: Array, params: dict[str, Any]) -> None:
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.n_tasks, self.pool_size, self.d = self.X.shape
        self.params = dict(params)
        self.p = np.full(self.n_tasks, 1.0 / self.n_tasks)
        # Flat views so that one np.take gathers a whole (R, B, D) batch.
        self.X_flat = self.X.reshape(self.n_tasks * self.pool_size, self.d)
        self.y_flat = self.y.reshape(-1)
        self.certificates = self._certified()
        self.constants = ProblemConstants(**{c.name: c.value for c in self.certificates})

    def _certified(self) -> list[Certificate]:
        """`_certify()`, refused (InputError without a field; make_problem names the parameters) unless finite.

        Extreme parameters (a huge radius, noise or spread) make a certificate exceed the float range:
        there the overflow is the honest value (+inf), so it is computed quietly and refused after.
        """
        if not (np.isfinite(self.X).all() and np.isfinite(self.y).all()):
            raise InputError("the task pools must be finite; generating them overflowed")
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                certificates = self._certify()
            except np.linalg.LinAlgError:  # eigvalsh of a second-moment matrix that overflowed
                raise InputError("the certified constants must be finite; got L = inf "
                                 "(the pools' second moments overflow)") from None
        bad = [c for c in certificates if not math.isfinite(c.value)]
        if bad:
            got = ", ".join(f"{CONSTANT_SYMBOLS[c.name]} = {c.value}" for c in bad)
            raise InputError(f"the certified constants must be finite; got {got}")
        return certificates

    # ---- link and regulariser (subclasses) -------------------------------------------------
    @abstractmethod
    def phi(self, z: Array, y: Array) -> Array:
        """φ(z; y), the per-sample data loss."""

    @abstractmethod
    def dphi(self, z: Array, y: Array, order: int) -> Array:
        """φ^(order)(z; y) for order 1, 2."""

    @abstractmethod
    def link_sups(self) -> tuple[float, float, float]:
        """(s_1, s_2, s_3): sup over z and the pool's labels of |φ'|, |φ''|, |φ'''|."""

    def reg(self, W: Array) -> Array:
        """r(w); zero unless overridden."""
        return np.zeros(W.shape[:-1])

    def reg_grad(self, W: Array) -> Array | float:
        """∇r(w)."""
        return 0.0

    def reg_hess_diag(self, W: Array) -> Array | float:
        """diag ∇²r(w) (every regulariser here is separable)."""
        return 0.0

    reg_L: ClassVar[float] = 0.0
    reg_rho: ClassVar[float] = 0.0

    # ---- certificates ---------------------------------------------------------------------
    def _pool_stats(self) -> dict[str, Array]:
        # λ_max of M_i = X_iᵀX_i/N equals that of the N×N Gram matrix X_iX_iᵀ/N: use the smaller one
        # (at d = 2048 with N = 64 the d×d route took over a minute).
        X = self.X
        if self.pool_size < X.shape[-1]:
            M = np.matmul(X, np.swapaxes(X, 1, 2)) / self.pool_size
        else:
            M = np.matmul(np.swapaxes(X, 1, 2), X) / self.pool_size
        sq = np.einsum("nsd,nsd->ns", X, X)
        return {
            "lam_max": np.linalg.eigvalsh(M)[:, -1],
            "trace": sq.mean(axis=1),
            "radius": np.sqrt(sq.max(axis=1)),
            "third": (sq**1.5).mean(axis=1),
            "fourth": (sq**2).mean(axis=1),
        }

    def _certify(self) -> list[Certificate]:
        s1, s2, s3 = self.link_sups()
        st = self._pool_stats()
        return [
            Certificate("L", float(s2 * st["lam_max"].max() + self.reg_L),
                        "s_2 max_i λ_max(M_i) + L_r"),
            Certificate("rho", float(s3 * np.minimum(st["radius"] * st["lam_max"], st["third"]).max()
                                     + self.reg_rho),
                        "s_3 max_i min(R_i λ_max(M_i), E_θ‖x‖³) + ρ_r"),
            Certificate("sigma", float(s1 * math.sqrt(float(self.p @ st["lam_max"]))),
                        "s_1 (Σ_i p_i λ_max(M_i))^{1/2}"),
            Certificate("sigma_tilde", float(s1 * math.sqrt(st["trace"].max())),
                        "s_1 (max_i tr M_i)^{1/2}"),
            Certificate("sigma_H", float(s2 * math.sqrt(st["fourth"].max())),
                        "s_2 (max_i E_θ‖x‖⁴)^{1/2}"),
        ]

    # ---- sampling ---------------------------------------------------------------------------
    def flat_index(self, tasks: Array, samples: Array) -> Array:
        """Flat pool ids task * N + s (tasks broadcast against samples' last axis)."""
        return np.asarray(tasks)[..., None] * self.pool_size + samples

    def gather(self, idx: Array, out_X: Array | None = None) -> tuple[Array, Array]:
        """The batch's data (X[idx], y[idx]); pools are indexed, never regenerated."""
        # mode="clip" lets np.take write straight into `out` (mode="raise" buffers a copy);
        # ids are always in range because they come from flat_index.
        Xg = np.take(self.X_flat, idx, axis=0, out=out_X, mode="clip")
        return Xg, np.take(self.y_flat, idx, mode="clip")

    # ---- the sampled-problem protocol (simulate.tasks.Problem): a task is an index, its data its pool ----
    def sample_tasks(self, rng: np.random.Generator, n: int) -> Array:
        """n task ids drawn from p (`rng.choice`; the runner draws its own, `runner.draw_tasks`)."""
        return rng.choice(self.n_tasks, size=n, p=self.p)

    def sample_data(self, rng: np.random.Generator, tasks: Array, D: int) -> tuple[Array, Array]:
        """D samples per task, uniformly with replacement from its pool: X (..., D, d), y (..., D)."""
        return self.gather(self.flat_index(tasks, rng.integers(0, self.pool_size, size=np.shape(tasks) + (int(D),))))

    def task_data(self, tasks: Array) -> tuple[Array, Array]:
        """Each task's whole pool, so pool means are the exact f_i, ∇f_i, ∇²f_i."""
        return self.X[tasks], self.y[tasks]

    def all_tasks(self) -> tuple[Array, Array]:
        """All task ids and their probabilities p."""
        return np.arange(self.n_tasks), self.p

    # ---- per-sample quantities, vectorised over a batch ------------------------------------
    @staticmethod
    def _z(Xg: Array, W: Array) -> Array:
        return np.matmul(Xg, W[..., :, None])[..., 0]

    def sample_loss(self, W: Array, idx: Array) -> Array:
        """f_i(w, θ) for every sample of the batch, shape (..., D)."""
        Xg, yg = self.gather(idx)
        return self.phi(self._z(Xg, W), yg) + self.reg(W)[..., None]

    def sample_grad(self, W: Array, idx: Array) -> Array:
        """∇f_i(w, θ) for every sample, shape (..., D, d)."""
        Xg, yg = self.gather(idx)
        c = self.dphi(self._z(Xg, W), yg, 1)
        reg = np.broadcast_to(np.asarray(self.reg_grad(W), dtype=float), W.shape)
        return c[..., None] * Xg + reg[..., None, :]

    def sample_hvp(self, W: Array, V: Array, idx: Array) -> Array:
        """∇²f_i(w, θ) v for every sample, shape (..., D, d)."""
        Xg, yg = self.gather(idx)
        c = self.dphi(self._z(Xg, W), yg, 2) * self._z(Xg, V)
        out = c[..., None] * Xg
        return out + (np.asarray(self.reg_hess_diag(W)) * V)[..., None, :]

    def sample_hessian(self, W: Array, idx: Array) -> Array:
        """∇²f_i(w, θ) for every sample, shape (..., D, d, d) (O(d²) memory; checks only)."""
        Xg, yg = self.gather(idx)
        c = self.dphi(self._z(Xg, W), yg, 2)
        H = c[..., None, None] * Xg[..., :, None] * Xg[..., None, :]
        diag = np.broadcast_to(np.asarray(self.reg_hess_diag(W), dtype=float), W.shape)
        return H + (diag[..., None, :] * np.eye(self.d))[..., None, :, :]

    # ---- batch means on gathered data (the hot path) -----------------------------------------
    def loss_on(self, W: Array, Xg: Array, yg: Array) -> Array:
        """f_i(w, D): mean loss over the gathered batch."""
        return self.phi(self._z(Xg, W), yg).mean(axis=-1) + self.reg(W)

    def grad_on(self, W: Array, Xg: Array, yg: Array) -> Array:
        """∇̃f_i(w, D) = (1/|D|) Σ_θ ∇f_i(w, θ), shape (..., d)."""
        c = self.dphi(self._z(Xg, W), yg, 1)
        g = np.matmul(c[..., None, :], Xg)[..., 0, :] / Xg.shape[-2]
        return g + self.reg_grad(W)

    def grad2_on(self, P: Array, Xg: Array, yg: Array) -> Array:
        """∇̃f_i at two (or k) points per batch: P (..., k, d) -> (..., k, d), one pass over Xg."""
        # One matrix-vector product per point: faster than one (D, d) @ (d, k) product with a
        # transposed operand, and the batch stays in cache between the k points.
        G = np.stack([self.grad_on(P[..., j, :], Xg, yg) for j in range(P.shape[-2])], axis=-2)
        return G

    def hvp_on(self, W: Array, V: Array, Xg: Array, yg: Array) -> Array:
        """∇̃²f_i(w, D) v without forming the Hessian (O(D d))."""
        c = self.dphi(self._z(Xg, W), yg, 2) * self._z(Xg, V)
        hv = np.matmul(c[..., None, :], Xg)[..., 0, :] / Xg.shape[-2]
        return hv + self.reg_hess_diag(W) * V

    def hessian_on(self, W: Array, Xg: Array, yg: Array) -> Array:
        """∇̃²f_i(w, D) as an explicit d×d matrix (O(D d²)), shape (..., d, d)."""
        c = self.dphi(self._z(Xg, W), yg, 2)
        H = np.matmul(np.swapaxes(Xg * c[..., None], -1, -2), Xg) / Xg.shape[-2]
        diag = np.broadcast_to(np.asarray(self.reg_hess_diag(W), dtype=float), W.shape)
        H[..., np.arange(self.d), np.arange(self.d)] += diag
        return H

    # ---- exact task quantities ---------------------------------------------------------------
    def task_loss(self, W: Array) -> Array:
        """f_i(w) for every task: W (..., n, d) or (..., 1, d) -> (..., n)."""
        return self.loss_on(W, self.X, self.y)

    def task_grad(self, W: Array) -> Array:
        """∇f_i(w) (full pool) for every task: W (..., n|1, d) -> (..., n, d)."""
        return self.grad_on(W, self.X, self.y)

    def task_hvp(self, W: Array, V: Array) -> Array:
        """∇²f_i(w) v (full pool, exact HVP) for every task."""
        return self.hvp_on(W, V, self.X, self.y)

    def task_hessian(self, W: Array) -> Array:
        """∇²f_i(w) for every task (d×d; checks only)."""
        return self.hessian_on(W, self.X, self.y)

    # F, ∇F, f: simulate.tasks.ExactMeta (one implementation, eq. (30) written once)

    def meta_objective_hat(self, w: Array, alpha: float, D_test: int, n_mc: int,
                           rng: np.random.Generator) -> tuple[float, Array]:
        """Monte Carlo estimates of F̂(w) and ∇F̂(w), eq. (4), over n_mc draws of (i, D_test).

        ∇F̂ = E (I − α∇̃²f_i(w, D_test)) ∇f_i(w − α∇̃f_i(w, D_test)): the outer gradient is the
        full task gradient, the inner one uses D_test (Theorem 4.13's setting).
        """
        w = np.asarray(w, dtype=np.float64)
        tasks = rng.choice(self.n_tasks, size=n_mc, p=self.p)
        idx = self.flat_index(tasks, rng.integers(0, self.pool_size, size=(n_mc, D_test)))
        Xg, yg = self.gather(idx)
        W = np.broadcast_to(w, (n_mc, self.d))
        U = W - alpha * self.grad_on(W, Xg, yg)
        Xt, yt = self.X[tasks], self.y[tasks]
        v = self.grad_on(U, Xt, yt)
        G = v - alpha * self.hvp_on(W, v, Xg, yg)
        return float(self.loss_on(U, Xt, yt).mean()), G.mean(axis=0)

    def initial_point(self) -> Array:
        """The fixed w_0 of every run on this problem: a unit vector drawn from the problem seed."""
        rng = np.random.default_rng([int(self.params.get("seed", 0)), 7])
        u = rng.standard_normal(self.d)
        return u / np.linalg.norm(u)

    def describe(self) -> dict[str, Any]:
        """Name, parameters, sizes and certificates (for output and the result store)."""
        return {
            "problem": self.name,
            "params": self.params,
            "d": self.d,
            "n_tasks": self.n_tasks,
            "pool_size": self.pool_size,
            "constants": self.constants.as_dict(),
            "constants_domain": self.constants_domain,
        }


def _features(rng: np.random.Generator, n: int, N: int, d: int, curvature_spread: float,
              radius: float, shift: Array | None = None) -> Array:
    """Task-specific anisotropic features, clipped to ‖x‖ <= radius.

    Each task scales coordinate j by exp(curvature_spread · η_ij) (η ~ N(0,1)), so tasks differ
    in their second moments M_i, hence in their Hessians (FO-MAML's bias needs that).
    """
    scales = np.exp(curvature_spread * rng.standard_normal((n, 1, d))) / math.sqrt(d)
    X = scales * rng.standard_normal((n, N, d))
    if shift is not None:
        X = X + shift[:, None, :]
    with np.errstate(over="ignore"):
        norms = np.linalg.norm(X, axis=-1, keepdims=True)
    factor = radius / np.maximum(norms, 1e-300)
    if not np.isfinite(norms).all():
        # Entries near the largest double overflow the plain norm (and would clip those rows to 0):
        # there, ‖x‖ = m·‖x/m‖ with m = max_j |x_j|, and the factor radius/‖x‖ = (radius/m)/‖x/m‖.
        peak = np.abs(X).max(axis=-1, keepdims=True)
        scaled = (radius / peak) / np.linalg.norm(X / peak, axis=-1, keepdims=True)
        factor = np.where(np.isfinite(norms), factor, scaled)
    return X * np.minimum(1.0, factor)


def _teachers(rng: np.random.Generator, n: int, d: int, norm: float, spread: float) -> Array:
    base = rng.standard_normal(d)
    base /= np.linalg.norm(base)
    return norm * (base + spread * rng.standard_normal((n, d)) / math.sqrt(d))


class TanhRegression(PoolProblem):
    """Nonconvex single-index regression: φ(z; y) = ½(y − tanh z)², tasks differ by teacher and features.

    With t = tanh z (so dt/dz = 1 − t²), φ and its derivatives are polynomials in t ∈ (−1, 1)
    that are linear in y:
        φ'   = −(y − t)(1 − t²)
        φ''  = (1 + 2yt − 3t²)(1 − t²)
        φ''' = [(2y − 6t)(1 − t²) − 2t(1 + 2yt − 3t²)](1 − t²)
    Being linear in y, |φ^(k)| is maximised at y ∈ {min y, max y} of the pools; for fixed y the
    sup over t ∈ [−1, 1] is at an endpoint or a root of the derivative (poly_sup_abs), so the
    s_k are exact. Labels y = tanh(θ_iᵀx) + noise·u, u ~ U(−1, 1), so |y| <= 1 + noise.
    """

    name = "tanh-regression"
    defaults: ClassVar[dict[str, Any]] = {
        "d": 20, "n_tasks": 50, "pool_size": 200, "task_spread": 1.0,
        "curvature_spread": 0.5, "noise": 0.3, "teacher_norm": 2.0, "radius": 3.0, "seed": 0,
    }

    def __init__(self, **params: Any) -> None:
        p = {**self.defaults, **params}
        rng = np.random.default_rng([int(p["seed"]), 1])
        n, N, d = int(p["n_tasks"]), int(p["pool_size"]), int(p["d"])
        X = _features(rng, n, N, d, p["curvature_spread"], p["radius"])
        theta = _teachers(rng, n, d, p["teacher_norm"], p["task_spread"])
        y = np.tanh(np.einsum("nsd,nd->ns", X, theta)) + p["noise"] * rng.uniform(-1, 1, (n, N))
        self.teachers = theta
        super().__init__(X, y, p)

    def phi(self, z: Array, y: Array) -> Array:
        return 0.5 * (y - np.tanh(z)) ** 2

    def dphi(self, z: Array, y: Array, order: int) -> Array:
        t = np.tanh(z)
        s = 1.0 - t * t
        if order == 1:
            return (t - y) * s
        if order == 2:
            return (1.0 + 2.0 * y * t - 3.0 * t * t) * s
        raise ValueError(order)

    @staticmethod
    def link_polys(y: float) -> tuple[Array, Array, Array]:
        """Coefficients (in t, lowest first) of φ', φ'', φ''' at label y (see class doc)."""
        one_m_t2 = np.polynomial.Polynomial([1.0, 0.0, -1.0])
        P1 = -np.polynomial.Polynomial([y, -1.0]) * one_m_t2
        inner = np.polynomial.Polynomial([1.0, 2.0 * y, -3.0])
        P2 = inner * one_m_t2
        P3 = P2.deriv() * one_m_t2
        return P1.coef, P2.coef, P3.coef

    def link_sups(self) -> tuple[float, float, float]:
        ys = (float(self.y.min()), float(self.y.max()))
        sups = [0.0, 0.0, 0.0]
        for yv in ys:
            for k, coef in enumerate(self.link_polys(yv)):
                sups[k] = max(sups[k], poly_sup_abs(coef))
        return sups[0], sups[1], sups[2]


# sup_t |g'''(t)| for g(t) = t²/(1+t²): g''' = 24 t (t² − 1)/(1 + t²)⁴, maximal at
# t² = 1 − 2/√5 (a root of g'''' ∝ 5t⁴ − 10t² + 1), value (105 + 45√5)√(5 − 2√5)/32.
NC_REG_G2_SUP = 2.0  # sup |g''|, at t = 0 (g'' = 2(1 − 3t²)/(1 + t²)³)
NC_REG_G3_SUP = (105.0 + 45.0 * math.sqrt(5.0)) * math.sqrt(5.0 - 2.0 * math.sqrt(5.0)) / 32.0


class NonconvexLogistic(PoolProblem):
    """Logistic loss log(1 + exp(−y xᵀw)) + λ Σ_j w_j²/(1 + w_j²); tasks differ by data distribution.

    y ∈ {−1, +1}. With s = σ(yz): φ' = −y(1 − s), φ'' = s(1 − s), φ''' = y s(1 − s)(1 − 2s), so
    s_1 = 1, s_2 = 1/4 and s_3 = max_s |s(1 − s)(1 − 2s)| = 1/(6√3) (at s = ½ ± 1/√12).
    The regulariser is separable: ∇²r = λ diag(g''(w_j)), so L_r = λ sup|g''| = 2λ and
    ρ_r = λ sup|g'''| (the diagonal's change is <= λ sup|g'''| ‖w − u‖_∞ <= ... ‖w − u‖).
    Task i's features are x = μ_i + anisotropic noise (mean shift and curvature per task),
    labels y = +1 with probability σ(θ_iᵀx).
    """

    name = "nonconvex-logistic"
    defaults: ClassVar[dict[str, Any]] = {
        "d": 20, "n_tasks": 50, "pool_size": 200, "task_spread": 1.0, "curvature_spread": 0.5,
        "teacher_norm": 3.0, "teacher_spread": 0.5, "reg": 0.1, "radius": 3.0, "seed": 0,
    }

    def __init__(self, **params: Any) -> None:
        p = {**self.defaults, **params}
        rng = np.random.default_rng([int(p["seed"]), 2])
        n, N, d = int(p["n_tasks"]), int(p["pool_size"]), int(p["d"])
        shift = p["task_spread"] * rng.standard_normal((n, d)) / math.sqrt(d)
        X = _features(rng, n, N, d, p["curvature_spread"], p["radius"], shift=shift)
        theta = _teachers(rng, n, d, p["teacher_norm"], p["teacher_spread"])
        prob = 1.0 / (1.0 + np.exp(-np.einsum("nsd,nd->ns", X, theta)))
        y = np.where(rng.uniform(size=(n, N)) < prob, 1.0, -1.0)
        self.lam = float(p["reg"])
        self.reg_L = NC_REG_G2_SUP * self.lam  # type: ignore[misc]
        self.reg_rho = NC_REG_G3_SUP * self.lam  # type: ignore[misc]
        super().__init__(X, y, p)

    def phi(self, z: Array, y: Array) -> Array:
        return np.logaddexp(0.0, -y * z)

    def dphi(self, z: Array, y: Array, order: int) -> Array:
        s = 0.5 * (1.0 + np.tanh(0.5 * y * z))  # σ(yz) without overflow
        if order == 1:
            return -y * (1.0 - s)
        if order == 2:
            return s * (1.0 - s)
        raise ValueError(order)

    def link_sups(self) -> tuple[float, float, float]:
        return 1.0, 0.25, 1.0 / (6.0 * math.sqrt(3.0))

    def reg(self, W: Array) -> Array:
        return self.lam * (W * W / (1.0 + W * W)).sum(axis=-1)

    def reg_grad(self, W: Array) -> Array:
        return self.lam * 2.0 * W / (1.0 + W * W) ** 2

    def reg_hess_diag(self, W: Array) -> Array:
        w2 = W * W
        return self.lam * 2.0 * (1.0 - 3.0 * w2) / (1.0 + w2) ** 3


class QuadraticProblem(PoolProblem):
    """Least squares φ(z; y) = ½(z − y)²: F and ∇F in closed form (the hand-derived test case).

    f_i(w) = ½ (w − w_i*)ᵀ M_i (w − w_i*) + f_i*, with w_i* = M_i⁻¹ b_i, b_i = X_iᵀy_i/N. Since
    w − α∇f_i(w) − w_i* = (I − αM_i)(w − w_i*):
        F_i(w)  = ½ (w − w_i*)ᵀ (I − αM_i) M_i (I − αM_i) (w − w_i*) + f_i*
        ∇F_i(w) = (I − αM_i) M_i (I − αM_i) (w − w_i*)
    (closed_form_meta). Certificates: s_1 is unbounded (φ' = z − y), so σ and σ̃ hold on the
    ball ‖w‖ <= radius only; φ'' = 1 gives L = max_i λ_max(M_i) exactly; φ''' = 0 gives ρ = 0
    exactly, certified as `rho_exact = 0.0`. `ProblemConstants` (Assumption 4.4 as the paper states it)
    needs ρ > 0, so `constants.rho` carries the parameter `rho_floor` (1e-6), which is not a constant of
    the family. The toolkit treats the family as ρ = 0: every verification claim that divides by ρ or
    only has content for ρ > 0 (Lemma 4.11's step size, whose β̃ is then 1/(4L) exactly, and the
    finite-difference error (10), whose bound is then 0) is reported vacuous, naming ρ = 0. HF-MAML's
    δ rule δ = 1/(6ρα) (eq. (142)) would be ∞; the stated fallback is δ = 1/(6·rho_floor·α): with ρ = 0
    the central difference is exact for every δ, so any finite δ gives the exact Hessian-vector product
    up to rounding;
    σ_H² = max_i E_θ‖x xᵀ − M_i‖² exactly (w-independent);
    σ² <= E_i (‖M_i − M̄‖ r + ‖b_i − b̄‖)², σ̃² <= max_i E_θ (‖x xᵀ − M_i‖ r + ‖y x − b_i‖)².
    """

    name = "quadratic"
    rho_exact: ClassVar[float] = 0.0  # ∇²f_i = M_i does not depend on w
    constants_domain = "the ball ||w|| <= radius (sigma, sigma_tilde); all of R^d (L, rho, sigma_H)"
    defaults: ClassVar[dict[str, Any]] = {
        "d": 5, "n_tasks": 10, "pool_size": 50, "task_spread": 1.0, "curvature_spread": 0.5,
        "noise": 0.3, "w_radius": 10.0, "rho_floor": 1e-6, "seed": 0,
    }

    def __init__(self, **params: Any) -> None:
        p = {**self.defaults, **params}
        rng = np.random.default_rng([int(p["seed"]), 3])
        n, N, d = int(p["n_tasks"]), int(p["pool_size"]), int(p["d"])
        X = _features(rng, n, N, d, p["curvature_spread"], radius=np.inf) * math.sqrt(d)
        theta = _teachers(rng, n, d, 1.0, p["task_spread"])
        y = np.einsum("nsd,nd->ns", X, theta) + p["noise"] * rng.standard_normal((n, N))
        super().__init__(X, y, p)

    def phi(self, z: Array, y: Array) -> Array:
        return 0.5 * (z - y) ** 2

    def dphi(self, z: Array, y: Array, order: int) -> Array:
        if order == 1:
            return z - y
        if order == 2:
            return np.ones_like(z + y)
        raise ValueError(order)

    def link_sups(self) -> tuple[float, float, float]:  # pragma: no cover - _certify overridden
        return math.inf, 1.0, 0.0

    def normal_equations(self) -> tuple[Array, Array, Array, Array]:
        """(M_i, b_i, w_i*, f_i*) for every task, from the normal equations."""
        N = self.pool_size
        M = np.einsum("nsd,nse->nde", self.X, self.X) / N
        b = np.einsum("nsd,ns->nd", self.X, self.y) / N
        wstar = np.linalg.solve(M, b[..., None])[..., 0]
        resid = np.einsum("nsd,nd->ns", self.X, wstar) - self.y
        return M, b, wstar, 0.5 * (resid**2).mean(axis=1)

    def closed_form_meta(self, w: Array, alpha: float) -> tuple[float, Array]:
        """F(w), ∇F(w) from the closed form in the class doc (independent of the sample code)."""
        M, _, wstar, fstar = self.normal_equations()
        A = np.eye(self.d) - alpha * M
        Q = A @ M @ A
        e = np.asarray(w)[None, :] - wstar
        Qe = np.einsum("nde,ne->nd", Q, e)
        F = 0.5 * np.einsum("nd,nd->n", e, Qe) + fstar
        return float(self.p @ F), self.p @ Qe

    def _certify(self) -> list[Certificate]:
        r = float(self.params["w_radius"])
        M, b, _, _ = self.normal_equations()
        lam = np.linalg.eigvalsh(M)[:, -1]
        Mbar, bbar = np.einsum("n,nde->de", self.p, M), self.p @ b
        dM = np.linalg.norm(M - Mbar, ord=2, axis=(1, 2))
        db = np.linalg.norm(b - bbar, axis=1)
        outer = self.X[..., :, None] * self.X[..., None, :] - M[:, None]
        dO = np.linalg.norm(outer, ord=2, axis=(2, 3))  # (n, N) spectral norms
        dyx = np.linalg.norm(self.y[..., None] * self.X - b[:, None], axis=-1)
        return [
            Certificate("L", float(lam.max()), "max_i λ_max(M_i) (φ'' = 1)"),
            Certificate("rho", float(self.params["rho_floor"]),
                        "0 exactly (rho_exact); rho_floor only because ProblemConstants needs ρ > 0"),
            Certificate("sigma", float(math.sqrt(self.p @ (dM * r + db) ** 2)),
                        "(E_i (‖M_i − M̄‖ r + ‖b_i − b̄‖)²)^{1/2} on ‖w‖ <= r"),
            Certificate("sigma_tilde", float(math.sqrt((((dO * r + dyx) ** 2).mean(axis=1)).max())),
                        "max_i (E_θ (‖xxᵀ − M_i‖ r + ‖yx − b_i‖)²)^{1/2} on ‖w‖ <= r"),
            Certificate("sigma_H", float(math.sqrt((dO**2).mean(axis=1).max())),
                        "max_i (E_θ ‖xxᵀ − M_i‖²)^{1/2} (exact)"),
        ]
