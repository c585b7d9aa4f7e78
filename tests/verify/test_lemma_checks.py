"""Lemma checks: honest families hold, every check reports a violation when fed a broken ingredient, and the
observed quantities match closed forms derived by hand on least-squares pools."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mamltheory.simulate import make_problem
from mamltheory.simulate.families import PoolProblem, QuadraticProblem
from mamltheory.verify import lemma_checks as lc
from mamltheory.verify.check import CONTRADICTED, HOLDS, INCONCLUSIVE, VACUOUS

SMALL = {"d": 4, "n_tasks": 8, "pool_size": 40}


class DesignedQuadratic(QuadraticProblem):
    """A least-squares pool with hand-chosen data (φ(z; y) = ½(z − y)², so every quantity is a closed form)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, w_radius: float = 10.0) -> None:
        PoolProblem.__init__(self, np.asarray(X, float), np.asarray(y, float),
                             {"w_radius": w_radius, "rho_floor": 1e-6, "seed": 0})


class WrongHessian(QuadraticProblem):
    """The quadratic family whose Hessian-vector products are `scale` times too large (a broken simulator)."""

    scale = 20.0

    def hvp_on(self, W, V, Xg, yg):  # type: ignore[override]
        return self.scale * super().hvp_on(W, V, Xg, yg)


@pytest.fixture(scope="module")
def quick_run() -> list:
    """The quick families and points with a fifth of the Monte Carlo draws (3 s instead of 15 s); the quick
    sizes themselves run in tests/verify/test_verify_quick.py (`-m slow`)."""
    fewer_draws = dataclasses.replace(lc.QUICK, n_mc_points=6, beta_draws=2000, inner_draws=200)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lc, "QUICK", fewer_draws)
        return lc.lemma_checks(quick=True, seed=0)


def test_quick_run_holds_on_every_honest_family(quick_run: list) -> None:
    assert len(quick_run) == 4 * 10
    # ρ = 0 exactly on the quadratic families (the certified one and the low-noise one): Lemma 4.11 (β̃ ≡ 1/(4L)),
    # the bias of 4.12 and Theorem 4.13 (∇f_i affine) and (10) (bound 0) could not fail there for the paper and are
    # vacuous, never support (the runner's estimators are still measured there: a bug would be contradicted)
    vacuous = {r.name for r in quick_run if r.verdict == VACUOUS}
    assert vacuous == {f"{n} on {f}" for n in ("Lemma 4.11 (E β̃)", "Lemma 4.11 (E β̃²)", "Lemma 4.12 (bias)",
                                               "Theorem 4.13", "HVP finite difference (10)")
                       for f in ("quadratic", "low-noise-quadratic")}
    for r in quick_run:
        assert r.verdict in (HOLDS, VACUOUS), (r.name, r.ratio, r.details)
        assert r.verdict == VACUOUS or r.power <= 1.1
        assert 0 <= r.ratio <= 1 and r.evidence and r.details["family"] in r.name
        assert r.tight is False


def test_quick_run_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seeding does not depend on the sizes: checked on small ones, a second run of the full quick sizes costs
    # as much as the first. A different seed must give different numbers (the seed is really used).
    tiny = {name: {"d": 3, "n_tasks": 4, "pool_size": 16} for name in lc.QUICK.family_params}
    monkeypatch.setattr(lc, "QUICK", dataclasses.replace(lc.QUICK, family_params=tiny, n_points=20, n_traj=4,
                                                         n_mc_points=3, beta_draws=500, inner_draws=50))
    first = [r.ratio for r in lc.lemma_checks(quick=True, seed=0)]
    assert [r.ratio for r in lc.lemma_checks(quick=True, seed=0)] == first
    assert [r.ratio for r in lc.lemma_checks(quick=True, seed=1)] != first


def test_hvp_ratio_never_exceeds_taylor_half(quick_run: list) -> None:
    # ‖error‖ <= ρδ‖v‖²/2 by Taylor with a ρ-Lipschitz Hessian, so (10)'s ratio is at most 1/2.
    for r in quick_run:
        if r.name.startswith("HVP"):
            assert r.ratio <= 0.5


def test_lemma_4_11_on_a_quadratic_is_exactly_0_8() -> None:
    # ρ is the 1e-6 floor, so β̃ = 1/(4L + O(1e-6)) and L(w) = 4L + O(1e-6): E β̃ · L(w) = 1 -> ratio 0.8, and
    # E β̃² L(w)² = 1 against 3.125 -> 0.32.
    p = make_problem("quadratic", **SMALL)
    W = lc.random_points(p, np.random.default_rng(1), 3)
    m1, m2 = lc.check_lemma_4_11(p, W, np.array([0.1]) / p.constants.L, np.random.default_rng(2), 2000)
    assert m1.ratio == pytest.approx(0.8, rel=1e-4) and m2.ratio == pytest.approx(0.32, rel=1e-4)


# ---- each check can fail -----------------------------------------------------------------------------------
def test_understated_L_breaks_lemma_4_9_and_corollary_4_10() -> None:
    # Lemma 4.9 has much slack on this family (ratio ≈ 0.045 honestly), so L must be understated 100-fold.
    p = make_problem("quadratic", **SMALL)
    bad = lc.with_constants(p, L=p.constants.L / 100)
    rng = np.random.default_rng(0)
    W = lc.random_points(p, rng, 30)
    Wp, Up = lc.make_pairs(p, W, rng)
    alphas = np.array([0.1, 1 / 6]) / p.constants.L  # the true α range; 1/L' would be out of the lemma's
    assert lc.check_lemma_4_9(p, Wp, Up, alphas).verdict == HOLDS
    assert lc.check_lemma_4_9(bad, Wp, Up, alphas).verdict == CONTRADICTED
    assert lc.check_corollary_4_10(bad, Wp, Up, alphas).verdict == CONTRADICTED


def test_wrong_hessian_breaks_lemma_4_9_corollary_4_10_and_hvp() -> None:
    p = WrongHessian(**SMALL)
    rng = np.random.default_rng(0)
    W = lc.random_points(p, rng, 30)
    Wp, Up = lc.make_pairs(p, W, rng)
    alphas = np.array([0.5, 1.0]) / p.constants.L
    assert lc.check_lemma_4_9(p, Wp, Up, alphas).verdict == HOLDS  # 20× is within Lemma 4.9's slack here
    p.scale = 1000.0
    assert lc.check_lemma_4_9(p, Wp, Up, alphas).verdict == CONTRADICTED
    p.scale = 20.0
    # ∇F no longer is F's gradient: the first-order remainder is O(‖u − w‖), far above L(w)‖u − w‖²/2.
    assert lc.check_corollary_4_10(p, Wp, Up, alphas).verdict == CONTRADICTED
    r = lc.check_hvp_fd(p, W, rng)
    assert r.verdict == CONTRADICTED and r.ratio > 1e6


def test_lemma_4_9_ratio_on_quadratic_is_top_eigenvalue_over_4L() -> None:
    # ∇F(w) − ∇F(u) = Q̄(w − u), Q̄ = Σ p_i (I − αM_i)M_i(I − αM_i); ρ = 0 (floor 1e-6) so the bound is 4L‖w − u‖.
    p = make_problem("quadratic", **SMALL)
    a = 0.5 / p.constants.L
    M, _, _, _ = p.normal_equations()
    A = np.eye(p.d) - a * M
    Q = np.einsum("n,nde->de", p.p, A @ M @ A)
    lam, vec = np.linalg.eigh(Q)
    w = np.zeros((1, p.d))
    r = lc.check_lemma_4_9(p, w, w + 0.5 * vec[:, -1][None, :], np.array([a]))
    assert r.ratio == pytest.approx(lam[-1] / (4 * p.constants.L), rel=1e-6)


def single_task_noise_pool(s: float = 1.0) -> DesignedQuadratic:
    """d = 1, two tasks, x = 1, y = ±s: ∇f_i(w) = w, ∇f_i(w, θ) = w ∓ s; L = 1, σ = 0, σ̃ = s."""
    return DesignedQuadratic(np.ones((2, 2, 1)), np.array([[s, -s], [s, -s]]))


def test_undersized_D_beta_with_huge_rho_breaks_lemma_4_11_first_moment() -> None:
    p = single_task_noise_pool()
    assert p.constants.L == 1 and p.constants.sigma_tilde == pytest.approx(1.0)
    bad = lc.with_constants(p, rho=100.0)  # an over-stated ρ is still a valid certificate
    w0 = np.zeros((1, 1))
    # At w = 0 every task gradient is 0, so L(w) = 4 and the bound is 0.8/4 = 0.2; with D_β = 1 each
    # sample gradient has norm 1, β̃ = 1/(4 + 2·100·0.1·1) = 1/24 exactly: ratio 0.2·24 = 4.8.
    m1, _ = lc.check_lemma_4_11(bad, w0, np.array([0.1]), np.random.default_rng(0), 1000, D_beta=1)
    assert m1.verdict == CONTRADICTED
    assert m1.observed == pytest.approx(1 / 24, rel=1e-12) and m1.ratio == pytest.approx(4.8, rel=1e-12)
    # (27)'s D_β = ⌈(2·100·0.1·1/1)²⌉ = 400 restores it (E|mean of 400 signs| ≈ 0.04: E β̃ ≈ 1/4.8).
    assert lc.minimal_step_batches(bad, 0.1) == (1, 400)
    ok, _ = lc.check_lemma_4_11(bad, w0, np.array([0.1]), np.random.default_rng(0), 4000)
    assert ok.verdict == HOLDS and 0.9 < ok.ratio < 1 and ok.details["D_beta"] == 400


def test_undersized_B_prime_breaks_lemma_4_11_second_moment() -> None:
    # Ten tasks, one with gradient G = 10 at w = 0, the rest 0 (no sample noise): E_i‖∇f_i(0)‖ = 1.
    y = np.zeros((10, 1))
    y[0, 0] = -10.0
    p = lc.with_constants(DesignedQuadratic(np.ones((10, 1, 1)), y), rho=100.0)
    assert p.constants.sigma == pytest.approx(3.0)  # √(0.1·9² + 0.9·1²)
    w0 = np.zeros((1, 1))
    a = np.array([0.1])
    # B' = 1: β̃ = 1/4 w.p. 0.9, 1/204 w.p. 0.1; L(w) = 4 + 2·10·1 = 24.
    _, m2 = lc.check_lemma_4_11(p, w0, a, np.random.default_rng(0), 1000, B_prime=1)
    expected = 0.9 / 16 + 0.1 / 204**2
    assert m2.verdict == CONTRADICTED and m2.observed == pytest.approx(expected, rel=1e-12)
    assert m2.ratio == pytest.approx(expected / (3.125 / 24**2), rel=1e-12)
    # (27): B' = ⌈½(100·0.1·3/1)²⌉ = 450 restores it (Monte Carlo).
    assert lc.minimal_step_batches(p, 0.1)[0] == 450
    # 4000 draws: the Hoeffding half-width leaves power > 1.1, inconclusive; 60000 draws decide it
    _, weak = lc.check_lemma_4_11(p, w0, a, np.random.default_rng(0), 4000)
    assert weak.verdict == INCONCLUSIVE and weak.power > 1.1
    _, ok = lc.check_lemma_4_11(p, w0, a, np.random.default_rng(0), 60000)
    assert ok.verdict == HOLDS and ok.power <= 1.1


def test_understated_sigma_tilde_breaks_lemma_4_12_and_theorem_4_13() -> None:
    p = make_problem("tanh-regression", **SMALL)
    rng = np.random.default_rng(0)
    W = lc.random_points(p, rng, 3)
    alphas = np.array([1 / 6]) / p.constants.L
    bias, second = lc.check_lemma_4_12(p, W, alphas, rng, 300)
    assert bias.verdict == HOLDS and second.verdict == HOLDS
    bad = lc.with_constants(p, sigma_tilde=1e-4, sigma_H=1e-4)
    bias, second = lc.check_lemma_4_12(bad, W, alphas, rng, 300)
    assert bias.verdict == CONTRADICTED and second.verdict == CONTRADICTED
    assert lc.check_theorem_4_13(p, W, alphas, rng, 300).verdict == HOLDS
    assert lc.check_theorem_4_13(bad, W, alphas, rng, 300).verdict == CONTRADICTED


def meta_stationary_point(p: QuadraticProblem, alpha: float) -> np.ndarray:
    """w* with ∇F(w*) = Σ p_i Q_i (w* − w_i*) = 0, Q_i = (I − αM_i)M_i(I − αM_i)."""
    M, _, wstar, _ = p.normal_equations()
    A = np.eye(p.d) - alpha * M
    Q = A @ M @ A
    return np.linalg.solve(np.einsum("n,nde->de", p.p, Q), np.einsum("n,nde,ne->d", p.p, Q, wstar))


def test_zero_sigma_breaks_lemma_a2_at_the_meta_stationary_point() -> None:
    p = make_problem("quadratic", **SMALL)
    a = 0.1 / p.constants.L
    ws = meta_stationary_point(p, a)[None, :]
    assert np.linalg.norm(p.meta_gradient(ws[0], a)) < 1e-9 and np.linalg.norm(ws) < p.params["w_radius"]
    assert all(r.verdict == HOLDS for r in lc.check_lemma_a2(p, ws, np.array([a])))
    # ∇F(w*) = 0, so with σ = 0 both bounds are 0 while ‖∇f(w*)‖ and E‖∇F_i(w*)‖² are not.
    r43, r44 = lc.check_lemma_a2(lc.with_constants(p, sigma=0.0), ws, np.array([a]))
    assert r43.verdict == CONTRADICTED and r44.verdict == CONTRADICTED and r43.ratio > 1e6


# ---- observed quantities against closed forms on least-squares pools --------------------------------------
def pool_moments(p: QuadraticProblem, w: np.ndarray) -> dict[str, np.ndarray]:
    """Per task: A_θ = xxᵀ, c_θ = yx, s_θ = A_θw − c_θ, g = E s_θ, Σ = Cov s_θ, E A², E[A c], E‖c‖², M, b."""
    X, y = p.X, p.y
    A = X[..., :, None] * X[..., None, :]                   # (n, N, d, d)
    c = y[..., None] * X
    s = np.einsum("nsde,e->nsd", A, w) - c
    g = s.mean(1)
    dev = s - g[:, None]
    return {"A": A, "c": c, "s": s, "g": g, "Sigma": np.einsum("nsd,nse->nde", dev, dev) / p.pool_size,
            "EA2": np.einsum("nsde,nsef->ndf", A, A) / p.pool_size,
            "EAc": np.einsum("nsde,nse->nd", A, c) / p.pool_size, "Ec2": (c**2).sum(-1).mean(1),
            "M": A.mean(1), "b": c.mean(1)}


@pytest.mark.parametrize("D_o", [1, 10])
def test_lemma_4_12_moments_match_closed_form_on_quadratic(D_o: int) -> None:
    # ∇f_i is affine, so the bias is 0; with u = w − αs_θ (D_in = 1), mean μ = w − αg and covariance α²Σ:
    # E‖∇f_i(u)‖² = ‖Mμ − b‖² + α² tr(MΣM), E S_i(u) = μᵀE[A²]μ + α² tr(E[A²]Σ) − 2μᵀE[Ac] + E‖c‖².
    p = make_problem("quadratic", **SMALL)
    a = 0.3 / p.constants.L
    w = np.array([0.3, -1.0, 0.5, 2.0])
    m = lc.inner_moments(p, w, a, 1, (D_o,), np.random.default_rng(0), 0)
    P = pool_moments(p, w)
    mu = w - a * P["g"]
    grad_mu = np.einsum("nde,ne->nd", P["M"], mu) - P["b"]
    MSM = np.einsum("nde,nef,nfg->ndg", P["M"], P["Sigma"], P["M"])
    e_grad2 = (grad_mu**2).sum(-1) + a**2 * np.trace(MSM, axis1=1, axis2=2)
    e_S = (np.einsum("nd,nde,ne->n", mu, P["EA2"], mu) + a**2 * np.einsum("nde,ned->n", P["EA2"], P["Sigma"])
           - 2 * (mu * P["EAc"]).sum(-1) + P["Ec2"])
    np.testing.assert_allclose(m["second"][D_o], e_grad2 * (1 - 1 / D_o) + e_S / D_o, rtol=1e-10)
    assert np.abs(m["bias"]).max() < 1e-10 * np.abs(grad_mu).max()
    np.testing.assert_allclose(m["g_adapted"], np.linalg.norm(grad_mu, axis=-1), rtol=1e-12)


def test_meta_gradient_hat_matches_closed_form_on_quadratic() -> None:
    # The runner's MAML direction draws D_h independently of D_in, so (84)'s cross term E[e_G e_H] is zero, and on
    # a quadratic (∇f_i affine) E_{D_in}∇f_i(w − α∇̃f_i(w, D_in)) = ∇f_i(w − α∇f_i(w)): its expectation is ∇F exactly.
    p = make_problem("quadratic", **SMALL)
    a = 0.2 / p.constants.L
    w = np.array([1.0, 0.5, -0.5, 0.0])
    est, tr, top = lc.meta_gradient_hat(p, w, a, 1, np.random.default_rng(0), 0)
    assert tr == 0.0 and top == 0.0
    np.testing.assert_allclose(est, p.closed_form_meta(w, a)[1], rtol=1e-10, atol=1e-12)


def test_monte_carlo_meta_gradient_hat_within_its_radius_of_closed_form() -> None:
    p = make_problem("quadratic", **SMALL)
    a = 0.2 / p.constants.L
    w = np.array([1.0, 0.5, -0.5, 0.0])
    est, tr, top = lc.meta_gradient_hat(p, w, a, 4, np.random.default_rng(1), 4000)
    err = np.linalg.norm(est - p.closed_form_meta(w, a)[1])
    # within the 99% Gaussian-concentration radius of the Monte Carlo error (the test the check uses)
    assert 0 < top <= tr and 0 < err < float(lc.stats.gaussian_norm_radius(tr, top, 0.99))


def test_lemma_4_11_sizes_beyond_the_budget_are_refused_up_front() -> None:
    # A halved certificate of L makes (27)'s B', D_β grow 16x each: the Monte Carlo would run for hours, so the
    # check is refused up front and inconclusive with the reason, instead of running (the time budget)
    from dataclasses import replace

    import numpy as np

    from mamltheory.simulate import make_problem
    from mamltheory.verify import lemma_checks as lc

    p = make_problem("tanh-regression", **lc.QUICK.family_params["tanh-regression"])
    p.constants = replace(p.constants, L=p.constants.L / 2)
    alphas = np.array(lc.ALPHA_L) / p.constants.L
    out = lc.check_lemma_4_11(p, p.initial_point()[None, :], alphas, np.random.default_rng(0), lc.QUICK.beta_draws)
    assert [r.verdict for r in out] == ["inconclusive", "inconclusive"]
    assert "sizes refused" in out[0].evidence and out[0].id == "lemma.Lemma-4.11-first-moment.tanh-regression"


# ---- planted bugs in the runner's estimators: each reworked check turns contradicted -------------------------
def _low_noise() -> tuple[PoolProblem, np.ndarray]:
    """The planned-run family (σ̃ ≈ 0.007 against ‖∇f_i(w)‖ ≈ 1.5): a bias of the inner step is far above (31), (33)."""
    from mamltheory.verify.planned_runs import LowNoiseQuadratic

    p = LowNoiseQuadratic()
    return p, np.array([[0.0], [-1.0]])


def _half_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamltheory.simulate import algorithms

    real = algorithms.inner_points
    monkeypatch.setattr(algorithms, "inner_points", lambda problem, W, batch, alpha: real(problem, W, batch, alpha / 2))


def _mean_over_d_plus_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner batch mean divided by D_in + 1 instead of D_in (∇̃f_i(w, D_in) scaled by D_in/(D_in + 1))."""
    from mamltheory.simulate import algorithms

    def inner(problem, W, batch, alpha):  # type: ignore[no-untyped-def]
        D = batch.X_in.shape[-2]
        Wb = np.broadcast_to(W[:, None, :], batch.X_in.shape[:2] + (W.shape[-1],))
        return Wb - alpha * problem.grad_on(Wb, batch.X_in, batch.y_in) * D / (D + 1)

    monkeypatch.setattr(algorithms, "inner_points", inner)


@pytest.mark.parametrize("plant", [_half_step, _mean_over_d_plus_1])
def test_lemma_4_12_measures_the_runner_inner_step(monkeypatch: pytest.MonkeyPatch, plant) -> None:  # type: ignore[no-untyped-def]
    p, W = _low_noise()
    alphas = np.array([0.5 / p.constants.L])
    honest = lc.check_lemma_4_12(p, W, alphas, np.random.default_rng(0), 200)
    assert [r.verdict for r in honest] == [HOLDS, HOLDS]
    plant(monkeypatch)
    bias, _ = lc.check_lemma_4_12(p, W, alphas, np.random.default_rng(0), 200)
    assert bias.verdict == CONTRADICTED and bias.ratio > 10


def test_theorem_4_13_measures_the_runner_maml_direction(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamltheory.simulate import algorithms

    p, W = _low_noise()
    alphas = np.array([0.5 / p.constants.L])
    assert lc.check_theorem_4_13(p, W, alphas, np.random.default_rng(0), 200).verdict == HOLDS
    # MAML without its Hessian term (the runner's direction becomes FO-MAML's): E g − ∇F = αE_i∇²f_i v_i
    real = algorithms.task_directions
    monkeypatch.setattr(algorithms, "task_directions",
                        lambda problem, alg, *a, **k: real(problem, "fo-maml" if alg.startswith("maml") else alg, *a, **k))
    r = lc.check_theorem_4_13(p, W, alphas, np.random.default_rng(0), 200)
    assert r.verdict == CONTRADICTED and r.ratio > 10
    monkeypatch.undo()
    _half_step(monkeypatch)
    assert lc.check_theorem_4_13(p, W, alphas, np.random.default_rng(0), 200).verdict == CONTRADICTED


def test_lemma_4_11_measures_the_runner_step_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamltheory.simulate import algorithms

    p = make_problem("tanh-regression", **SMALL)
    W = p.initial_point()[None, :]
    alphas = np.array([0.1 / p.constants.L])
    # (27) gives B' = 1, D_β = 2 here: Monte Carlo through the runner's step-size batch draw
    assert [r.verdict for r in lc.check_lemma_4_11(p, W, alphas, np.random.default_rng(0), 3000)] == [HOLDS, HOLDS]
    # β̃ with 2L in place of 4L (eq. (26)): its second moment exceeds 3.125/L(w)² ((28))
    real = algorithms.beta_tilde
    monkeypatch.setattr(algorithms, "beta_tilde", lambda problem, *a: 1 / (1 / real(problem, *a) - 2 * problem.constants.L))
    _, second = lc.check_lemma_4_11(p, W, alphas, np.random.default_rng(0), 3000)
    assert second.verdict == CONTRADICTED
    # the exact route (B' = D_β = 1, every (task, sample) pair) catches it too
    _, second = lc.check_lemma_4_11(p, W, alphas * 0.2, np.random.default_rng(0), 10)
    assert second.verdict == CONTRADICTED and "exact" in second.evidence


def test_lemma_4_12_and_4_13_oversize_draws_refused_up_front() -> None:
    # a billion draws per task: the estimate would run for hours; refused before any draw, inconclusive with the sizes
    p = make_problem("tanh-regression", **SMALL)
    W, alphas = p.initial_point()[None, :], np.array([0.1 / p.constants.L])
    out = lc.check_lemma_4_12(p, W, alphas, np.random.default_rng(0), 10**9)
    assert [r.verdict for r in out] == [INCONCLUSIVE, INCONCLUSIVE] and "sizes refused" in out[0].evidence
    assert out[1].id == "lemma.Lemma-4.12-second-moment.tanh-regression"
    r = lc.check_theorem_4_13(p, W, alphas, np.random.default_rng(0), 10**9)
    assert r.verdict == INCONCLUSIVE and "sizes refused" in r.evidence and r.id == "lemma.Theorem-4.13.tanh-regression"


def test_a_sampler_that_never_draws_a_task_is_refused_not_drawn_forever(monkeypatch):
    """Planted bug (mutant "tasks drawn from half the family"): the runner's draw_tasks never returns the upper
    half of the tasks. `sampler_batches` used to keep drawing until every task had its batches, and grew until
    the operating system killed it; now it stops after MAX_SAMPLER_ROUNDS draws and names the task and its law."""
    from mamltheory.simulate import runner

    problem = make_problem("tanh-regression", d=2, n_tasks=4, pool_size=5)
    monkeypatch.setattr(runner, "draw_tasks", lambda rng, p, size: rng.integers(0, p.shape[0] // 2, size=size))
    with pytest.raises(ValueError, match=r"gave task 2 0 of the 10 batches wanted in 20 draws"):
        lc.sampler_batches(problem, 2, np.random.default_rng(0), 10)
