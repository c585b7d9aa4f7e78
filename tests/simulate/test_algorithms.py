"""Algorithms 1-3 on fixed samples: against a per-task reference loop written from eqs. (5)-(15)."""

from __future__ import annotations

import numpy as np
import pytest

from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import TaskBatch, beta_tilde, direction, inner_points, task_directions

SMALL = {"d": 6, "n_tasks": 8, "pool_size": 40}


def setup(name: str = "tanh-regression", R: int = 3, B: int = 4, D: tuple[int, int, int] = (5, 6, 7), seed: int = 0):
    p = make_problem(name, **SMALL)
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((R, p.d))
    tasks = rng.integers(0, p.n_tasks, (R, B))
    ids = [p.flat_index(tasks, rng.integers(0, p.pool_size, (R, B, n))) for n in D]
    batch = TaskBatch(*[a for i in ids for a in p.gather(i)])
    return p, W, tasks, ids, batch


def reference_direction(p, alg: str, W, ids, alpha: float, delta=None, rule="scaled"):
    """Algorithm 1/2/3 one task at a time, per-sample gradients and Hessians summed explicitly."""
    R, B = ids[0].shape[:2]
    out = np.zeros((R, p.d))
    for r in range(R):
        for b in range(B):
            w = W[r]
            g_in = p.sample_grad(w, ids[0][r, b]).mean(axis=0)  # ∇̃f_i(w_k, D_in)
            u = w - alpha * g_in  # eq. (5)
            v = p.sample_grad(u, ids[1][r, b]).mean(axis=0)  # ∇̃f_i(w_{k+1}^i, D_o)
            if alg == "fo-maml":
                G = v  # eq. (9)
            elif alg in ("maml", "maml-hvp"):
                H = p.sample_hessian(w, ids[2][r, b]).mean(axis=0)  # ∇̃²f_i(w_k, D_h)
                G = (np.eye(p.d) - alpha * H) @ v  # eq. (6b)
            else:
                dk = delta / np.linalg.norm(v) if rule == "scaled" else delta  # eq. (142) or fixed
                gp = p.sample_grad(w + dk * v, ids[2][r, b]).mean(axis=0)
                gm = p.sample_grad(w - dk * v, ids[2][r, b]).mean(axis=0)
                G = v - alpha * (gp - gm) / (2 * dk)  # eqs. (14)-(15)
            out[r] += G / B
    return out


@pytest.mark.parametrize("name", ["tanh-regression", "nonconvex-logistic"])
@pytest.mark.parametrize("alg", ["maml", "maml-hvp", "fo-maml", "hf-maml"])
def test_direction_matches_per_task_reference(name: str, alg: str) -> None:
    p, W, _, ids, batch = setup(name)
    alpha = 1 / (6 * p.constants.L)
    delta = 1 / (6 * p.constants.rho * alpha)
    got = direction(p, alg, W, batch, alpha, delta=delta)
    ref = reference_direction(p, alg, W, ids, alpha, delta=delta)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)


def test_inner_points_are_one_sgd_step() -> None:
    p, W, _, ids, batch = setup()
    U = inner_points(p, W, batch, 0.3)
    np.testing.assert_allclose(U[1, 2], W[1] - 0.3 * p.sample_grad(W[1], ids[0][1, 2]).mean(0), atol=1e-14)


def test_explicit_hessian_and_hvp_give_the_same_direction() -> None:
    p, W, _, _, batch = setup("nonconvex-logistic", R=4, B=5)
    alpha = 1 / (6 * p.constants.L)
    G_h = task_directions(p, "maml", W, batch, alpha)
    G_v = task_directions(p, "maml-hvp", W, batch, alpha)
    np.testing.assert_allclose(G_h, G_v, rtol=1e-12, atol=1e-15)
    # chunking the explicit Hessians is a memory knob only: bit-identical results
    for chunk in (1, 3, 7, 100):
        assert np.array_equal(task_directions(p, "maml", W, batch, alpha, hessian_chunk=chunk), G_h)


def test_fo_maml_is_maml_without_the_hessian_term() -> None:
    p, W, _, ids, batch = setup()
    alpha = 1 / (6 * p.constants.L)
    G_fo = task_directions(p, "fo-maml", W, batch, alpha)
    G_m = task_directions(p, "maml", W, batch, alpha)
    # the Hessian term α ∇̃²f_i(w_k, D_h) v, from per-sample Hessians
    H = p.sample_hessian(np.broadcast_to(W[:, None, :], ids[2].shape[:2] + (p.d,)), ids[2]).mean(axis=2)
    hv = np.einsum("rbde,rbe->rbd", H, G_fo)
    np.testing.assert_allclose(G_m, G_fo - alpha * hv, rtol=0, atol=1e-14)
    assert np.abs(alpha * hv).max() > 1e-3  # the removed term is not negligible here


def test_hf_maml_converges_to_maml_within_eq_10_error() -> None:
    p, W, _, ids, batch = setup("tanh-regression", R=3, B=4)
    alpha = 1 / (6 * p.constants.L)
    G_m = task_directions(p, "maml-hvp", W, batch, alpha)
    V = task_directions(p, "fo-maml", W, batch, alpha)
    vnorm2 = (V**2).sum(-1)
    # ρ of the D_h-batch average f_i(·, D_h) (same derivation as the certificate, on the batch):
    Xh = batch.X_h
    sq = (Xh**2).sum(-1)
    lam = np.linalg.eigvalsh(np.einsum("rbsd,rbse->rbde", Xh, Xh) / Xh.shape[2])[..., -1]
    s3 = p.link_sups()[2]
    rho_b = s3 * np.minimum(np.sqrt(sq.max(-1)) * lam, (sq**1.5).mean(-1))
    errors = []
    for delta in (1e-1, 1e-2, 1e-3, 1e-4):
        G_hf = task_directions(p, "hf-maml", W, batch, alpha, delta=delta, delta_rule="fixed")
        # ‖α d_k − α ∇̃²f v‖ <= α ρ δ ‖v‖² (eq. (10)) per task
        err = np.linalg.norm(G_hf - G_m, axis=-1)
        assert np.all(err <= alpha * rho_b * delta * vnorm2 * (1 + 1e-9) + 1e-13)
        errors.append(err.max())
    # central differences: the error falls like δ² until rounding
    assert errors[1] < errors[0] / 50 and errors[2] < errors[1] / 50
    # the δ rule (142): δ_k^i = δ/‖v‖ makes the bound αρδ‖v‖ (eq. (143))
    delta = 1 / (6 * p.constants.rho * alpha)
    G_t = task_directions(p, "hf-maml", W, batch, alpha, delta=delta, delta_rule="scaled")
    err = np.linalg.norm(G_t - G_m, axis=-1)
    assert np.all(err <= alpha * rho_b * delta * np.sqrt(vnorm2) * (1 + 1e-9))


def test_hf_maml_is_exact_on_quadratics_for_any_delta() -> None:
    # ∇f is affine, so the central difference (10) is exact: HF-MAML = MAML.
    p, W, _, _, batch = setup("quadratic")
    alpha = 1 / (6 * p.constants.L)
    G_m = task_directions(p, "maml", W, batch, alpha)
    for delta in (1e-3, 1.0, 1e3):
        G_hf = task_directions(p, "hf-maml", W, batch, alpha, delta=delta, delta_rule="fixed")
        np.testing.assert_allclose(G_hf, G_m, rtol=1e-9, atol=1e-9)


def test_hf_maml_zero_vector_gives_zero_correction() -> None:
    from mamltheory.simulate.algorithms import hf_radius
    V = np.array([[[0.0, 0.0], [3.0, 4.0]]])
    np.testing.assert_array_equal(hf_radius(V, 2.0, "scaled"), [[2.0, 0.4]])


def test_beta_tilde_by_hand() -> None:
    p, W, _, ids, batch = setup(R=2, B=3)
    alpha = 0.1
    got = beta_tilde(p, W, batch.X_o, batch.y_o, alpha)
    c = p.constants
    for r in range(2):
        norms = [np.linalg.norm(p.sample_grad(W[r], ids[1][r, j]).mean(0)) for j in range(3)]
        assert got[r] == pytest.approx(1 / (4 * c.L + 2 * c.rho * alpha * np.mean(norms)), rel=1e-14)
