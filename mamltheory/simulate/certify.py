"""Empirical check of a problem's certificates: the observed sup of each constant over sampled points.

For each sampled w (random directions, norms log-spaced in [0.01, max_norm]) the exact, pool-based
quantities of Assumptions 4.3-4.6 are computed and their maxima compared with the certificates;
`tightness` = observed / certified (<= 1 when the certificate holds; near 1 when it is tight).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mamltheory.simulate.families import Array, PoolProblem


@dataclass(frozen=True)
class Observation:
    """Largest observed value of one constant versus its certificate."""

    name: str
    observed: float
    certified: float

    @property
    def tightness(self) -> float:
        """observed / certified."""
        return self.observed / self.certified if self.certified > 0 else (0.0 if self.observed == 0 else np.inf)


def sample_points(rng: np.random.Generator, d: int, m: int, max_norm: float = 30.0) -> Array:
    """m points: uniform random directions with norms log-uniform in [0.01, max_norm]."""
    u = rng.standard_normal((m, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u * np.exp(rng.uniform(np.log(0.01), np.log(max_norm), (m, 1)))


def observe(problem: PoolProblem, rng: np.random.Generator, m: int = 50, m_hessian: int = 10,
            max_norm: float = 30.0, pair_scale: float = 0.3) -> dict[str, Observation]:
    """Observed maxima of L, ρ, σ, σ̃ (m points) and σ_H (m_hessian points; O(n N d²) each)."""
    W = sample_points(rng, problem.d, m, max_norm)
    c = problem.constants
    obs = {k: 0.0 for k in ("L", "rho", "sigma", "sigma_tilde", "sigma_H")}
    all_ids = np.arange(problem.n_tasks * problem.pool_size).reshape(problem.n_tasks, problem.pool_size)
    for j, w in enumerate(W):
        Wt = w[None, :]
        H = problem.task_hessian(Wt)  # (n, d, d)
        obs["L"] = max(obs["L"], float(np.abs(np.linalg.eigvalsh(H)).max()))
        # ρ: a nearby point in a random direction (the ratio is largest for close pairs)
        e = rng.standard_normal(problem.d)
        u = w + pair_scale * np.exp(rng.uniform(np.log(1e-3), 0.0)) * e / np.linalg.norm(e)
        dH = np.linalg.norm(H - problem.task_hessian(u[None, :]), ord=2, axis=(1, 2))
        obs["rho"] = max(obs["rho"], float(dH.max() / np.linalg.norm(w - u)))
        g = problem.task_grad(Wt)  # (n, d)
        gbar = (g * problem.p[:, None]).sum(axis=0)
        obs["sigma"] = max(obs["sigma"], float(np.sqrt(problem.p @ ((g - gbar) ** 2).sum(axis=1))))
        sg = problem.sample_grad(np.broadcast_to(w, (problem.n_tasks, problem.d)), all_ids)  # (n, N, d)
        var = ((sg - g[:, None, :]) ** 2).sum(axis=-1).mean(axis=1)
        obs["sigma_tilde"] = max(obs["sigma_tilde"], float(np.sqrt(var.max())))
        if j < m_hessian:
            Hs = problem.sample_hessian(np.broadcast_to(w, (problem.n_tasks, problem.d)), all_ids)
            dev = np.linalg.norm(Hs - H[:, None], ord=2, axis=(2, 3))  # (n, N) spectral norms
            obs["sigma_H"] = max(obs["sigma_H"], float(np.sqrt((dev**2).mean(axis=1).max())))
    return {k: Observation(k, v, getattr(c, k)) for k, v in obs.items()}
