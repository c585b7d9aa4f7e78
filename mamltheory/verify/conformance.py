"""Conformance: the code the runner executes against the paper's definitions, exactly, on small finite families.

Each check calls the shipped code (`simulate.runner.Sampler`, `simulate.algorithms.direction`,
`simulate.runner.meta_step`, `simulate.config.run_config`) and compares it with a reference written here from
the definitions alone:

* per-sample derivatives ∇ℓ, ∇²ℓ by sympy from the family's loss formula (`LOSS`, not the family's hand-coded
  derivatives), the loss formula itself checked against the family's `sample_loss`;
* Algorithms 1-3's per-task directions from independent batches D_in, D_o, D_h (eq. (5)/(6b) MAML, (9) FO-MAML,
  (13)-(15) HF-MAML with δ_k = δ/‖v‖ and the same D_h samples at w ± δ_k v), for every draw of the batches
  (all sample ids of a one-task batch enumerated), and their expectation E_i E_D over tasks i ~ p;
* one meta-step w_{k+1} = w_k − β̃(w_k)/c · (1/B)Σ_i G_i with the step-size estimator of eq. (26) and the
  theorem's c (12, 18, 25), on the draws the runner made;
* the sampling law: B task ids i.i.d. from p, sample ids uniform on the task's pool and independent across
  the D_in, D_o, D_h slots (chi-square and frequency bounds over many draws of `Sampler.draw`).

The families are tiny (d = 2, three tasks of three samples) so that every draw can be enumerated: the
comparison is exact up to rounding, both ways, and a bug anywhere on that path changes the numbers.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats

from mamltheory.bounds import symbols as S
from mamltheory.bounds.theorems import theorem
from mamltheory.bounds.theorems.h1 import paper_radius
from mamltheory.bounds.theory import THEORIES
from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import USES_D_H, direction
from mamltheory.simulate.config import run_config
from mamltheory.simulate.families import PoolProblem
from mamltheory.simulate.runner import RunConfig, Sampler, draw_tasks, meta_step, replicate_rng
from mamltheory.verify.check import CONTRADICTED, EXACT_TOL, HOLDS, CheckResult
from mamltheory.verify.encoding import paper_form

Array = np.ndarray
Data = tuple[Array, Array]   # the samples of a batch: X (D, d), y (D,)
FAMILIES = {"tanh-regression": {"d": 2, "n_tasks": 3, "pool_size": 3, "seed": 0},
            "nonconvex-logistic": {"d": 2, "n_tasks": 3, "pool_size": 3, "seed": 0}}
BATCHES = {"D_in": 2, "D_o": 1, "D_h": 1}   # 3⁴ = 81 draws per task: every one enumerated
TOL = 1e-9                                  # relative: rounding of two independent evaluations, not evidence
# The step divisor c of β_k = β̃(w_k)/c as the paper states it: F.1 (102), G.1 (117), H.1 (136).
PAPER_DIVISOR = {"maml": 12, "maml-hvp": 12, "fo-maml": 18, "hf-maml": 25}
SAMPLING_DRAWS = 4000                       # Sampler.draw calls of the sampling-law check
ALGORITHMS_LABEL = "Algorithms 1-3"          # the result a check of the algorithms' definition names


# ---- the reference: derivatives of the loss formula, and the paper's directions ---------------------------------
def link_formula(name: str, z: sp.Symbol, y: sp.Symbol) -> sp.Expr:
    """φ(z; y), each family's per-sample data loss as its definition states it (simulate/families.py)."""
    if name == "tanh-regression":
        return (y - sp.tanh(z)) ** 2 / 2
    if name == "nonconvex-logistic":
        return sp.log(1 + sp.exp(-y * z))
    if name == "quadratic":
        return (z - y) ** 2 / 2
    raise KeyError(name)


def regulariser_weight(problem: PoolProblem) -> float:
    """λ of the separable regulariser λ Σ_j g(w_j), g(t) = t²/(1 + t²) (nonconvex-logistic; 0 for the others)."""
    return float(problem.params["reg"]) if problem.name == "nonconvex-logistic" else 0.0


def regulariser_formula(t: sp.Symbol) -> sp.Expr:
    """g(t) = t²/(1 + t²), the regulariser's per-coordinate term."""
    return t**2 / (1 + t**2)


def _loss_formula(name: str, problem: PoolProblem, w: list[sp.Symbol], x: list[sp.Symbol], y: sp.Symbol) -> sp.Expr:
    """ℓ(w; x, y) = φ(xᵀw; y) + λ Σ_j g(w_j)."""
    return (link_formula(name, sum(wi * xi for wi, xi in zip(w, x)), y)
            + sp.Float(regulariser_weight(problem)) * sum(regulariser_formula(wi) for wi in w))


@dataclass
class Reference:
    """Per-sample ℓ, ∇ℓ, ∇²ℓ of one family, differentiated by sympy from `_loss_formula`."""

    problem: PoolProblem
    loss: Callable[..., Any]
    grad: Callable[..., Any]
    hess: Callable[..., Any]

    @classmethod
    def of(cls, name: str, problem: PoolProblem) -> Reference:
        d = problem.d
        w, x, y = sp.symbols(f"w0:{d}"), sp.symbols(f"x0:{d}"), sp.Symbol("y")
        ell = _loss_formula(name, problem, list(w), list(x), y)
        grad = [sp.diff(ell, wi) for wi in w]
        hess = [[sp.diff(g, wj) for wj in w] for g in grad]
        args = (*w, *x, y)
        return cls(problem, sp.lambdify(args, ell, "math"), sp.lambdify(args, grad, "math"),
                   sp.lambdify(args, hess, "math"))

    def _each(self, fn: Callable[..., Any], w: Array, data: Data) -> Array:
        X, y = data
        return np.mean([np.array(fn(*w, *X[j], y[j]), dtype=float) for j in range(len(y))], axis=0)

    def g(self, w: Array, data: Data) -> Array:
        """∇f_i(w, D) = (1/|D|) Σ_θ∈D ∇ℓ(w; θ) over the samples (X, y) of D."""
        return self._each(self.grad, w, data)

    def H(self, w: Array, data: Data) -> Array:
        """∇²f_i(w, D)."""
        return self._each(self.hess, w, data)

    def rows(self, ids: tuple[int, ...]) -> Data:
        """The samples (X, y) of the pool ids."""
        idx = np.asarray(ids, dtype=np.intp)
        return self.problem.X_flat[idx], self.problem.y_flat[idx]

    def direction(self, algorithm: str, w: Array, alpha: float, d_in: Data, d_o: Data, d_h: Data | None,
                  delta: float | None) -> Array:
        """G_i(w) of Algorithms 1-3 with the batches D_in, D_o, D_h."""
        v = self.g(w - alpha * self.g(w, d_in), d_o)                      # eq. (5), (6b)/(9)/(13)
        if algorithm == "fo-maml":
            return v
        if algorithm in ("maml", "maml-hvp"):
            return v - alpha * self.H(w, d_h) @ v                          # eq. (6b)
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return v
        dk = delta / nv                                                    # δ_k^i = δ/‖v‖, eq. (142)
        d = (self.g(w + dk * v, d_h) - self.g(w - dk * v, d_h)) / (2 * dk)  # eq. (14), the same D_h twice
        return v - alpha * d                                               # eq. (15)


@lru_cache(maxsize=None)
def _family(name: str) -> tuple[PoolProblem, Reference]:
    problem = make_problem(name, **FAMILIES[name])
    return problem, Reference.of(name, problem)


def _point(problem: PoolProblem) -> Array:
    """A generic point (not the initial point, where a family may be symmetric)."""
    return problem.initial_point() + np.linspace(0.3, -0.2, problem.d)


def _rel_dev(a: Array, b: Array) -> tuple[float, float]:
    """(max ‖a_j − b_j‖, max ‖b_j‖) over the rows: the deviation and its scale."""
    dev = float(np.max(np.linalg.norm(np.atleast_2d(a) - np.atleast_2d(b), axis=-1)))
    return dev, float(np.max(np.linalg.norm(np.atleast_2d(b), axis=-1)))


def _equality(name: str, source: str, dev: float, scale: float, evidence: str, details: dict[str, Any], *,
              id: str, result: str) -> CheckResult:  # noqa: A002 (CheckResult's field)
    """An exact two-sided comparison: contradicted when the deviation exceeds TOL of the scale."""
    bound = TOL * max(scale, 1e-300)
    ratio = dev / bound
    verdict = CONTRADICTED if ratio > 1 + EXACT_TOL else HOLDS
    return CheckResult(name=name, source=source, kind="conformance", id=id, result=result, verdict=verdict,
                       observed=dev, bound=bound,
                       ratio=ratio, power=1 + EXACT_TOL,
                       evidence=evidence + f"; max deviation {dev:.3g} against {TOL:g} × {scale:.4g}: any relative "
                                           f"deviation above {TOL:g} is caught (power {1 + EXACT_TOL:g})",
                       details=details)


# ---- the checks ----------------------------------------------------------------------------------------------
def loss_check(name: str) -> CheckResult:
    """The reference's loss formula is the family's: ℓ(w; θ) against `sample_loss` at every pool sample."""
    problem, ref = _family(name)
    w = _point(problem)
    ids = np.arange(problem.n_tasks * problem.pool_size)
    shipped = problem.sample_loss(w, ids)
    mine = np.array([ref.loss(*w, *problem.X_flat[i], problem.y_flat[i]) for i in ids])
    dev, scale = float(np.max(np.abs(shipped - mine))), float(np.max(np.abs(mine)))
    return _equality(f"conformance: {name} loss is the formula the reference differentiates",
                     "Section 2, eq. (2) (the family's per-sample loss)", dev, scale,
                     f"{len(ids)} pool samples at w = {np.round(w, 4).tolist()}", {"family": name},
                     id=f"conformance.loss.{name}", result=ALGORITHMS_LABEL)


def _draws(problem: PoolProblem, task: int, sizes: tuple[int, ...]) -> list[tuple[tuple[int, ...], ...]]:
    """Every draw of the batches (with replacement) of one task: tuples of flat sample ids per batch."""
    n = problem.pool_size
    total = sum(sizes)
    out = []
    for combo in itertools.product(range(n), repeat=total):
        flat = [task * n + s for s in combo]
        parts, a = [], 0
        for k in sizes:
            parts.append(tuple(flat[a:a + k]))
            a += k
        out.append(tuple(parts))
    return out


def _radius(algorithm: str, problem: PoolProblem, alpha: float) -> float | None:
    return paper_radius(problem.constants.rho, alpha) if algorithm == "hf-maml" else None


def _enumerating(problem: PoolProblem, task: int, draws: list[tuple[tuple[int, ...], ...]]) -> PoolProblem:
    """A copy of the family whose runner draws are the enumerated ones: p puts all mass on `task`, and the j-th
    `sample_data` call returns the samples of draw j (every batch in the order the runner splits them)."""
    proxy = copy.copy(problem)
    proxy.p = np.eye(problem.n_tasks)[task]
    queue = iter(draws)

    def sample_data(rng: np.random.Generator, tasks: Array, D: int) -> Data:
        ids = np.array([sum(next(queue), ()) for _ in np.atleast_1d(tasks)], dtype=np.intp)
        return problem.X_flat[ids], problem.y_flat[ids]

    proxy.sample_data = sample_data  # type: ignore[method-assign]
    return proxy


def direction_check(name: str, algorithm: str) -> CheckResult:
    """Algorithm 1-3's direction through the runner (`Sampler.draw`, which splits a draw into D_in, D_o, D_h, and
    `algorithms.direction`) against the reference, at every draw of a one-task batch of every task, and in
    expectation over tasks ~ p."""
    problem, ref = _family(name)
    w = _point(problem)
    alpha = theorem(algorithm).alpha_max(problem.constants.L)
    delta = _radius(algorithm, problem, alpha)
    D_h = BATCHES["D_h"] if USES_D_H[algorithm] else 0
    sizes = (BATCHES["D_in"], BATCHES["D_o"]) + ((D_h,) if D_h else ())
    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm, alpha=alpha,
                    iterations=1, replicates=1, seed=0, B=1, D_in=BATCHES["D_in"], D_o=BATCHES["D_o"], D_h=D_h,
                    step="constant", beta=1.0, delta=delta)
    shipped, mine, weights = [], [], []
    for task in range(problem.n_tasks):
        draws = _draws(problem, task, sizes)
        proxy = _enumerating(problem, task, draws)
        batch, _ = Sampler(proxy, cfg).draw([replicate_rng(0, r) for r in range(len(draws))])
        shipped.append(direction(proxy, algorithm, np.tile(w, (len(draws), 1)), batch, alpha, delta))
        mine.append(np.array([ref.direction(algorithm, w, alpha, ref.rows(p[0]), ref.rows(p[1]),
                                            ref.rows(p[2]) if D_h else None, delta) for p in draws]))
        weights.append(np.full(len(draws), problem.p[task] / len(draws)))
    S, M, P = np.concatenate(shipped), np.concatenate(mine), np.concatenate(weights)
    dev, scale = _rel_dev(S, M)
    mean_dev, mean_scale = _rel_dev(P @ S, P @ M)
    worst = max(dev / max(scale, 1e-300), mean_dev / max(mean_scale, 1e-300))
    return _equality(
        f"conformance: {algorithm} direction on {name}, every draw and E_i E_D",
        {"maml": "Algorithm 1, eq. (6b)", "maml-hvp": "Algorithm 1, eq. (6b)", "fo-maml": "Algorithm 2, eq. (9)",
         "hf-maml": "Algorithm 3, eqs. (13)-(15), (142)"}[algorithm],
        worst * scale, scale,
        f"{len(S)} draws (3 tasks × every D_in = {sizes[0]}, D_o = {sizes[1]}"
        + (f", D_h = {D_h}" if D_h else "") + f" sample ids), α = {alpha:.4g}"
        + (f", δ = {delta:.4g} (δ_k = δ/‖v‖)" if delta else "")
        + f"; expectation over tasks ~ p: ‖E G‖ = {float(np.linalg.norm(P @ M)):.4g}",
        {"family": name, "algorithm": algorithm, "draws": len(S), "alpha": alpha, "delta": delta,
         "mean_deviation": mean_dev},
        id=f"conformance.direction.{algorithm}.{name}", result=theorem(algorithm).label)


def step_check(name: str, algorithm: str, seed: int) -> CheckResult:
    """One meta-step of the runner (`meta_step` on the configuration `run_config` builds, the theorem's step
    rule): its direction (1/B)Σ G_i and step β̃(w)/c recomputed from the same draws (c the paper's divisor),
    and w_{k+1} = w_k − β_k g_k."""
    problem, ref = _family(name)
    cfg, _ = run_config(problem, algorithm, iterations=1, replicates=1, seed=seed, batch=(3, 2, 1, 1),
                        step_batch=(2, 2))
    w = _point(problem)
    rngs = [replicate_rng(cfg.seed, 0)]
    D_h = cfg.D_h if USES_D_H[algorithm] else 0
    # the draws meta_step makes, in the stream order the runner documents: B task ids from p, B × (D_in + D_o + D_h)
    # samples in one draw (the batches in that order), then B' task ids and B' × D_β samples
    rng = copy.deepcopy(rngs[0])
    X, y = problem.sample_data(rng, draw_tasks(rng, problem.p, cfg.B), cfg.D_in + cfg.D_o + D_h)
    Xb, yb = problem.sample_data(rng, draw_tasks(rng, problem.p, cfg.B_prime), cfg.D_beta)
    W_new, beta, g = meta_step(problem, cfg, Sampler(problem, cfg), rngs, w[None, :])
    a, b = cfg.D_in, cfg.D_in + cfg.D_o
    G = [ref.direction(algorithm, w, cfg.alpha, (X[i, :a], y[i, :a]), (X[i, a:b], y[i, a:b]),
                       (X[i, b:], y[i, b:]) if D_h else None, cfg.delta) for i in range(cfg.B)]
    c = problem.constants
    norms = [float(np.linalg.norm(ref.g(w, (Xb[j], yb[j])))) for j in range(len(yb))]
    beta_tilde = 1.0 / (4 * c.L + 2 * c.rho * cfg.alpha * float(np.mean(norms)))      # eq. (26)
    beta_ref = beta_tilde / PAPER_DIVISOR[algorithm]
    g_ref = np.mean(G, axis=0)                                                         # (1/B) Σ_i G_i
    dev, scale = _rel_dev(g[0], g_ref)
    beta_dev = abs(float(beta[0]) - beta_ref) / beta_ref
    step_dev = float(np.linalg.norm(W_new[0] - (w - beta[0] * g[0]))) / max(float(np.linalg.norm(w)), 1e-300)
    worst = max(dev / max(scale, 1e-300), beta_dev, step_dev)
    return _equality(
        f"conformance: {algorithm} meta-step on {name} (β̃/{PAPER_DIVISOR[algorithm]}, eq. (26))",
        "Algorithms 1-3 with the step of eq. (26)", worst * scale, scale,
        f"run_config's defaults (theorem step, δ rule), B = {cfg.B}, D_in = {cfg.D_in}, D_o = {cfg.D_o}, D_h = {D_h}, "
        f"B' = {cfg.B_prime}, D_β = {cfg.D_beta}; β_k = {float(beta[0]):.6g} against β̃/c = {beta_ref:.6g}",
        {"family": name, "algorithm": algorithm, "beta": float(beta[0]), "beta_reference": beta_ref,
         "step_divisor": cfg.step_divisor, "delta": cfg.delta},
        id=f"conformance.step.{algorithm}.{name}", result=theorem(algorithm).label)


def _chi2(counts: Array, probs: Array) -> float:
    """The chi-square test's p-value of `counts` against `probs` (categories with probability 0 must be empty)."""
    if np.any(counts[probs == 0] > 0):
        return 0.0
    keep = probs > 0
    return float(stats.chisquare(counts[keep], counts[keep].sum() * probs[keep]).pvalue)


def _law_pvalues(problem: Any, cfg: RunConfig, seed: int) -> tuple[float, float, float, bool, int]:
    """(p tasks, p samples per slot, p pairs of slots, ids in their task's pool, task slots drawn) of
    SAMPLING_DRAWS calls of the runner's `Sampler.draw`."""
    sampler = Sampler(problem, cfg)
    rng = replicate_rng(seed, 0)
    n, N = problem.n_tasks, problem.pool_size
    where = {row.tobytes(): i for i, row in enumerate(problem.X_flat)}   # a pool sample by its features (distinct)
    ids = []
    for _ in range(SAMPLING_DRAWS):
        batch, _ = sampler.draw([rng])
        X = np.concatenate([batch.X_in, batch.X_o] + ([batch.X_h] if batch.X_h is not None else []), axis=2)[0]
        ids.append([[where.get(x.tobytes(), -1) for x in task] for task in X])
    ids = np.concatenate(ids)                                                              # (draws·B, D_tot)
    if (ids < 0).any():
        return 0.0, 0.0, 0.0, False, len(ids)   # a drawn sample that is not in the family's pools
    tasks, samples = ids // N, ids % N
    same_task = bool(np.all(tasks == tasks[:, :1]))
    p_task = _chi2(np.bincount(tasks[:, 0], minlength=n).astype(float), np.asarray(problem.p, float))
    p_samples = min(_chi2(np.bincount(samples[:, j], minlength=N).astype(float), np.full(N, 1 / N))
                    for j in range(samples.shape[1]))
    pairs = [samples[:, i] * N + samples[:, j] for i, j in itertools.combinations(range(samples.shape[1]), 2)]
    p_pairs = min(_chi2(np.bincount(q, minlength=N * N).astype(float), np.full(N * N, 1 / N**2)) for q in pairs)
    return p_task, p_samples, p_pairs, same_task, len(tasks)


def sampling_check(name: str, seed: int) -> CheckResult:
    """`Sampler.draw` (the runner's draws): task ids i.i.d. from p (the family's uniform p, and a skewed p on a
    copy of it), sample ids uniform on the task's pool, the D_in, D_o, D_h slots independent (pairs of slots
    uniform on pairs). Chi-square tests at level 1e-4 each."""
    problem, _ = _family(name)
    cfg, _ = run_config(problem, "maml", iterations=1, replicates=1, seed=seed, batch=(2, 1, 1, 1), step_batch=(1, 1))
    skewed = copy.copy(problem)
    skewed.p = np.array([0.5, 0.3, 0.2])
    laws = {"uniform p": _law_pvalues(problem, cfg, seed), "p = (0.5, 0.3, 0.2)": _law_pvalues(skewed, cfg, seed)}
    level = 1e-4
    p_min = min(min(v[:3]) for v in laws.values())
    same_task = all(v[3] for v in laws.values())
    m, N = min(v[4] for v in laws.values()), problem.pool_size
    q = 1 / (N * N)   # the sparsest category: a pair of slots
    # a category probability off by a factor 1 + z·√((1 − q)/(q m)) is detected at least half the time
    power = 1 + float(stats.norm.isf(level / 2)) * math.sqrt((1 - q) / (q * m))
    text = "; ".join(f"{k}: tasks {v[0]:.3g}, samples {v[1]:.3g}, pairs {v[2]:.3g}" for k, v in laws.items())
    return CheckResult(
        name=f"conformance: sampling law of the runner on {name}", kind="conformance",
        id=f"conformance.sampling.{name}", result=ALGORITHMS_LABEL,
        source="Algorithm 1, lines 3-5 (B tasks ~ p; independent batches D_in, D_o, D_h)",
        verdict=HOLDS if same_task and p_min >= level else CONTRADICTED, observed=p_min, bound=level,
        ratio=level / max(p_min, 1e-300), power=power,
        evidence=(f"{SAMPLING_DRAWS} draws of B = {cfg.B} tasks × {cfg.D_in + cfg.D_o + cfg.D_h} sample ids per law; "
                  f"chi-square p-values ({text}); every id in its task's pool: {same_task}; contradicted below "
                  f"p = {level:g}; a probability off by a factor {power:.3g} in the sparsest category (a pair of "
                  f"slots, q = 1/{N * N}) is caught at least half the time"),
        details={"family": name, "p_values": {k: list(v[:3]) for k, v in laws.items()}, "same_task": same_task})


def divisor_check(algorithm: str) -> CheckResult:
    """The step divisor the runner uses (run_config) and the theorem's (every theory; the sharp one at the paper's
    free choices, which a run uses) are the paper's c."""
    problem, _ = _family("tanh-regression")
    used = {th: run_config(problem, algorithm, iterations=1, replicates=1, theory=th)[0].step_divisor
            for th in THEORIES}
    stated = {th: theorem(algorithm, th).step_divisor for th in THEORIES}
    c = PAPER_DIVISOR[algorithm]
    off = max(abs(float(v) - c) for v in (*used.values(), *stated.values()))
    return CheckResult(
        name=f"conformance: {algorithm} step divisor c = {c}", kind="conformance",
        id=f"conformance.divisor.{algorithm}", result=theorem(algorithm).label,
        source="Theorems F.1 (102), G.1 (117), H.1 (136): β_k = β̃(w_k)/c", verdict=CONTRADICTED if off else HOLDS,
        observed=off, bound=0.0, ratio=math.inf if off else 0.0, power=1 + EXACT_TOL,
        evidence=(f"run_config's step_divisor {used}, the theorem objects' {stated}, the paper's c = {c}: an exact "
                  "comparison (any other divisor is caught)"),
        details={"algorithm": algorithm, "run": used, "theorem": stated})


def radius_check(theory: str) -> CheckResult:
    """The δ an HF-MAML run uses (`run_config`'s default) against its theorem's rule, written here from the
    statements: the paper's δ = 1/(6ρα) (eq. (142)); repaired and sharp H.1's ρα·δ = min{1/6, ν_ε} with
    ν_ε = ε√(L/(c(σ² + σ̃²/D_o)(L + ρα(σ + ε)))) (δ′), ε the accuracy (131″) guarantees at the run's batches,
    max{√(K′(1 + ρασ/L)S₀), K′(ρα/L)S₀}, S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in."""
    problem, _ = _family("tanh-regression")
    B, D_in, D_o = 20, 10, 5
    cfg, _ = run_config(problem, "hf-maml", iterations=1, replicates=1, batch=(B, D_in, D_o, 1), theory=theory)
    c, a = problem.constants, cfg.alpha
    t = theorem("hf-maml", theory)
    if theory == "paper":
        expected, rule = 1.0 / (6.0 * c.rho * a), "δ = 1/(6ρα), eq. (142)"
    else:
        at = {S.L: c.L, S.rho: c.rho, S.sigma: c.sigma, S.sigma_tilde: c.sigma_tilde, S.alpha: a, S.eps: 0,
              S.B: B, S.D_in: D_in, S.D_o: D_o}
        eps = float(paper_form(t)[0].subs(at))   # (131″) as the statement writes it, without its ε term
        noise = c.sigma**2 + c.sigma_tilde**2 / D_o
        nu_eps = eps * math.sqrt(c.L / (t.delta_budget * noise * (c.L + c.rho * a * (c.sigma + eps))))
        expected = min(1 / 6, nu_eps) / (c.rho * a)
        rule = f"ρα·δ = min{{1/6, ν_ε}}, ν_ε = {nu_eps:.6g} at ε = {eps:.4g} (δ′), c = {t.delta_budget}"
    dev = abs(float(cfg.delta) - expected)
    return _equality(
        f"conformance: hf-maml radius under the {theory} theory", f"{t.name}, " + ("eq. (142)" if theory == "paper"
                                                                                  else "condition (δ′)"),
        dev, expected, f"run_config(tanh-regression, hf-maml, batches B = {B}, D_in = {D_in}, D_o = {D_o}) uses "
                       f"δ = {float(cfg.delta):.8g}; the rule {rule} gives {expected:.8g}",
        {"theory": theory, "delta": float(cfg.delta), "expected": expected},
        id=f"conformance.radius.{theory}", result=t.label)


def conformance(quick: bool = True, seed: int = 0, progress: Callable[[str], None] | None = None) -> list[CheckResult]:
    """Every conformance check (verify section `conformance`); the same in quick and full mode (exact)."""
    say = progress or (lambda _m: None)
    out: list[CheckResult] = []
    for name in FAMILIES:
        say(f"conformance on {name}")
        out.append(loss_check(name))
        for algorithm in ("maml", "maml-hvp", "fo-maml", "hf-maml"):
            out.append(direction_check(name, algorithm))
            out.append(step_check(name, algorithm, seed))
        out.append(sampling_check(name, seed))
    out += [divisor_check(a) for a in ("maml", "fo-maml", "hf-maml")]
    out += [radius_check(th) for th in THEORIES]
    return out
