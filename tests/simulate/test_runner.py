"""Replicate-batched runner: exact reproducibility per replicate, randomness layout, divergence."""

from __future__ import annotations

import numpy as np
import pytest

from mamltheory.simulate import make_problem
from mamltheory.simulate.families import TanhRegression
from mamltheory.simulate.algorithms import TaskBatch, beta_tilde, direction
from mamltheory.simulate.runner import RunConfig, record_schedule, replicate_rng, run

SMALL = {"d": 6, "n_tasks": 8, "pool_size": 40}


def config(p, alg: str, step: str = "theorem", **kw) -> RunConfig:
    alpha = 1 / (6 * p.constants.L)
    base = dict(problem=p.name, problem_params=p.params, algorithm=alg, alpha=alpha, iterations=12,
                replicates=5, seed=11, B=4, D_in=3, D_o=5, D_h=2 if alg != "fo-maml" else 0, step=step,
                beta=0.05 if step == "constant" else None, step_divisor=12 if step == "theorem" else None,
                B_prime=2 if step == "theorem" else None, D_beta=3 if step == "theorem" else None,
                delta_rule="scaled" if alg == "hf-maml" else None,
                delta=1 / (6 * p.constants.rho * alpha) if alg == "hf-maml" else None)
    base.update(kw)
    return RunConfig(**base)


@pytest.mark.parametrize("alg", ["maml", "maml-hvp", "fo-maml", "hf-maml"])
@pytest.mark.parametrize("step", ["theorem", "constant"])
def test_batched_equals_one_replicate_at_a_time(alg: str, step: str) -> None:
    p = make_problem("nonconvex-logistic", **SMALL)
    cfg = config(p, alg, step)
    full = run(p, cfg)
    for r in range(cfg.replicates):
        alone = run(p, cfg, replicates=[r])
        for name in ("grad_norm", "F", "beta", "dir_norm"):
            a, b = getattr(full, name)[:, r], getattr(alone, name)[:, 0]
            assert np.array_equal(a, b, equal_nan=True), (name, r)
    assert not np.array_equal(full.grad_norm[-1, 0], full.grad_norm[-1, 1])  # replicates differ


def test_replicate_stream_is_the_spawned_child() -> None:
    child = np.random.SeedSequence(11).spawn(5)[3]
    a = np.random.Generator(np.random.PCG64(child)).integers(0, 1000, 20)
    assert np.array_equal(replicate_rng(11, 3).integers(0, 1000, 20), a)


def test_first_iteration_follows_the_documented_randomness_layout() -> None:
    # Rebuild iteration 0 of replicate 2 by hand from the documented draw order and compare w_1.
    p = make_problem("tanh-regression", **SMALL)
    cfg = config(p, "maml-hvp", iterations=1, replicates=3)
    res = run(p, cfg)
    rng = replicate_rng(cfg.seed, 2)
    tasks = rng.integers(0, p.n_tasks, size=cfg.B)
    s = rng.integers(0, p.pool_size, size=(cfg.B, cfg.D_in + cfg.D_o + cfg.D_h))
    tb = rng.integers(0, p.n_tasks, size=cfg.B_prime)
    sb = rng.integers(0, p.pool_size, size=(cfg.B_prime, cfg.D_beta))
    ids = tasks[:, None] * p.pool_size + s
    parts = np.split(ids, [cfg.D_in, cfg.D_in + cfg.D_o], axis=1)
    batch = TaskBatch(*[a[None] for part in parts for a in p.gather(part)])
    w0 = p.initial_point()[None]
    g = direction(p, "maml-hvp", w0, batch, cfg.alpha)
    Xb, yb = p.gather((tb[:, None] * p.pool_size + sb)[None])
    beta = beta_tilde(p, w0, Xb, yb, cfg.alpha)[0] / 12
    w1 = w0[0] - beta * g[0]
    assert res.beta[0, 2] == beta
    assert res.grad_norm[1, 2] == np.linalg.norm(p.meta_gradient(w1, cfg.alpha))
    assert res.F[1, 2] == p.meta_objective(w1, cfg.alpha)


def test_recorded_values_are_exact_meta_quantities_of_a_constant_step_run() -> None:
    # k = 0 is the same w_0 in every replicate: the recorded values are its exact F and ‖∇F‖.
    p = make_problem("quadratic", **SMALL)
    cfg = config(p, "fo-maml", "constant")
    res = run(p, cfg)
    w0 = p.initial_point()
    assert np.all(res.grad_norm[0] == np.linalg.norm(p.meta_gradient(w0, cfg.alpha)))
    assert np.all(res.F[0] == p.meta_objective(w0, cfg.alpha))
    assert np.all(np.isnan(res.beta[-1])) and np.all(res.beta[:-1] == 0.05)


def test_schedule() -> None:
    assert np.array_equal(record_schedule(5), np.arange(6))
    ks = record_schedule(100000)
    assert ks[0] == 0 and ks[-1] == 100000 and np.all(np.diff(ks) > 0)
    assert set(range(11)) <= set(ks.tolist()) and len(ks) < 130
    assert len(record_schedule(50, "log")) < 51


def test_diverged_replicates_stop_and_the_others_are_unaffected() -> None:
    class Poisoned(TanhRegression):
        """Task 0's labels read as NaN in sampled batches only (exact F, ∇F stay finite)."""

        def gather(self, idx, out_X=None):
            Xg, yg = super().gather(idx, out_X)
            return Xg, np.where(idx < self.pool_size, np.nan, yg)

    p = Poisoned(d=4, n_tasks=10, pool_size=30)
    cfg = config(p, "fo-maml", "constant", iterations=6, replicates=8, B=1, D_in=1, D_o=1, D_h=0)
    res = run(p, cfg)
    assert 0 < len(res.diverged) < cfg.replicates  # some, not all
    for r in range(cfg.replicates):
        alone = run(p, cfg, replicates=[r])
        assert np.array_equal(res.grad_norm[:, r], alone.grad_norm[:, 0], equal_nan=True)
        if r in res.diverged:
            k = res.diverged[r]
            assert alone.diverged == {r: k}
            assert np.all(np.isnan(res.grad_norm[k:, r])) and np.all(np.isfinite(res.grad_norm[:k, r]))
        else:
            assert np.all(np.isfinite(res.grad_norm[:, r]))


def test_constant_step_descends_on_average() -> None:
    # Sanity of the whole loop: FO-MAML with a small constant step lowers F on the quadratic family.
    p = make_problem("quadratic", **SMALL)
    cfg = config(p, "maml-hvp", "constant", iterations=200, beta=0.2 / p.constants.L, D_in=20, D_o=20, D_h=20, B=8)
    res = run(p, cfg)
    assert res.F[-1].mean() < 0.5 * res.F[0].mean()


def test_non_uniform_p_draws_tasks_from_p() -> None:
    """Tasks i.i.d. from p (eq. (1)): a non-uniform p is drawn by rng.choice(n, B, p=p), in the documented order."""
    from mamltheory.simulate.runner import draw_tasks

    p = make_problem("tanh-regression", **SMALL)
    p.p = np.array([0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.0])  # F, ∇F and the draws all read p
    cfg = config(p, "fo-maml", iterations=1, replicates=2)
    res = run(p, cfg)
    rng = replicate_rng(cfg.seed, 1)
    tasks = rng.choice(p.n_tasks, size=cfg.B, p=p.p)
    s = rng.integers(0, p.pool_size, size=(cfg.B, cfg.D_in + cfg.D_o))
    tb = rng.choice(p.n_tasks, size=cfg.B_prime, p=p.p)
    sb = rng.integers(0, p.pool_size, size=(cfg.B_prime, cfg.D_beta))
    ids = tasks[:, None] * p.pool_size + s
    parts = np.split(ids, [cfg.D_in], axis=1)
    batch = TaskBatch(*[a[None] for part in parts for a in p.gather(part)])
    w0 = p.initial_point()[None]
    g = direction(p, "fo-maml", w0, batch, cfg.alpha)
    Xb, yb = p.gather((tb[:, None] * p.pool_size + sb)[None])
    beta = beta_tilde(p, w0, Xb, yb, cfg.alpha)[0] / 12
    w1 = w0[0] - beta * g[0]
    assert res.beta[0, 1] == beta
    assert res.grad_norm[1, 1] == np.linalg.norm(p.meta_gradient(w1, cfg.alpha))
    # frequencies: within 4 standard errors of p, and a task of probability 0 is never drawn
    n = 40000
    counts = np.bincount(draw_tasks(np.random.default_rng(0), p.p, n), minlength=p.n_tasks)
    assert counts[-1] == 0
    assert (np.abs(counts / n - p.p) <= 4 * np.sqrt(p.p * (1 - p.p) / n) + 1e-12).all(), counts / n
    # uniform p keeps the historical stream: rng.integers(0, n, size)
    u = np.full(5, 0.2)
    assert np.array_equal(draw_tasks(np.random.default_rng(3), u, 50), np.random.default_rng(3).integers(0, 5, 50))
