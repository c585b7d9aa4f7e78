"""Sampled estimates of L, ρ, σ, σ̃, σ_H (Assumptions 4.3-4.6) for any problem of the protocol.

Each constant is a supremum over w ∈ R^d (and, for L, ρ, σ̃, σ_H, a maximum over tasks). An
estimate here is the largest value of the assumption's quantity over a finite set of points and
tasks, so it is a *sampled lower estimate of the supremum*, never a certificate:

* L (eq. (17)): max over points w and tasks i of ‖∇²f_i(w)‖, by power iteration with exact
  task HVPs. ‖H v‖/‖v‖ <= ‖H‖ for every v, so each value is below the true ‖∇²f_i(w)‖.
* ρ (eq. (19)): max over pairs (w, u) and tasks of ‖∇²f_i(w) − ∇²f_i(u)‖ / ‖w − u‖, by power
  iteration on v ↦ ∇²f_i(w)v − ∇²f_i(u)v (again below the true operator norm).
* σ (eq. (20)): max over points of (E_{i∼p} ‖∇f_i(w) − ∇f(w)‖²)^{1/2}; exact over a finite task set
  (all tasks with their weights p), else the unbiased sample variance over drawn tasks.
* σ̃ (eq. (21)): max over points and tasks of (E_θ ‖∇f_i(w, θ) − ∇f_i(w)‖²)^{1/2} over the task's
  reference data (its whole pool, or a quadrature grid).
* σ_H (eq. (22)): max over points and tasks of (E_θ ‖∇²f_i(w, θ) − ∇²f_i(w)‖²)^{1/2}, spectral norm,
  by power iteration run for every sample θ at once.

Points: w_0 and points around it (random directions, radii log-uniform in [0.01, 1] × radius), and
the iterates of a short MAML run from w_0 (exact task gradients and HVPs, eq. (30) on a few tasks per
step, step 1/(4L̂) as eq. (26) with the ρ-term dropped). With finitely many tasks, all sample pools
and power iteration, L, ρ, σ, σ̃ and σ_H are all below the true suprema up to rounding.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mamltheory.bounds.theorems import theorem
from mamltheory.simulate.protocol import Problem, ReferenceTasks, per_sample
from mamltheory.simulate.tasks import f_objective, meta_gradient, meta_objective

Array = np.ndarray
NAMES = ("L", "rho", "sigma", "sigma_tilde", "sigma_H")
STATEMENT = ("Each estimate is the largest value of its assumption's quantity over the points, pairs and tasks "
             "listed: a sampled lower estimate of the supremum the theory needs, not a certificate. The true "
             "constant can be larger elsewhere (farther from w_0, later in training, on tasks not drawn); "
             "power iteration approaches each norm from below. Plans built on these numbers inherit that.")
# Per-sample arrays are built in chunks of at most this many floats (memory, not speed).
_CHUNK_FLOATS = 4_000_000


@dataclass(frozen=True)
class EstimateConfig:
    """How many points, tasks, samples and power iterations an estimate uses."""

    points: int = 20              # total points: about half around w_0, half along the run
    seed: int = 0
    alpha: float | None = None    # inner step of the run and of F(w_0); default 1/(6 L̂(w_0)) (Thm 4.14's largest)
    radius: float | None = None   # sampling radius around w_0; default ½ max(1, ‖w_0‖)
    run_steps: int = 40           # length of the short MAML run
    run_tasks: int = 10           # tasks per run step
    power_iters: int = 30
    max_tasks: int = 64           # tasks per point: all of a finite family up to this many, else drawn
    max_samples: int = 256        # per-sample quantities: all reference samples up to this many, else drawn
    hessian_points: int = 8       # σ_H (one power iteration per sample) at the first this many points
    hessian_tasks: int = 64
    hessian_samples: int = 256


@dataclass
class ConstantEstimate:
    """One constant: the estimate, where it was attained, and what it rests on."""

    name: str
    estimate: float
    per_point: list[float]
    argmax: int
    points: int
    tasks: int
    samples: int | None
    method: str
    half_estimate: float  # the max over every second point: how much doubling the points moved it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Estimate:
    """All five estimates with their provenance (the JSON `mamltheory estimate` writes)."""

    problem: dict[str, Any]
    config: EstimateConfig
    constants: dict[str, ConstantEstimate]
    alpha: float
    point_kinds: list[str]
    point_offsets: list[float]
    f_w0: float
    F_w0: float
    exact_tasks: bool
    seconds: float
    certified: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    grad_norm_w0: list[dict[str, Any]] = field(default_factory=list)  # ‖∇F(w_0)‖ per α (grad_norms_at_w0)

    def values(self) -> dict[str, float]:
        """The five estimates by their code names."""
        return {k: c.estimate for k, c in self.constants.items()}

    def to_json(self) -> dict[str, Any]:
        """The `mamltheory estimate` JSON (read back by `plan --from-estimate`)."""
        import mamltheory

        out: dict[str, Any] = {
            "kind": "mamltheory-estimate",
            "version": mamltheory.__version__,
            "problem": self.problem,
            "constants": self.values(),
            "statement": STATEMENT,
            "points": len(self.point_kinds),
            "point_kinds": self.point_kinds,
            "point_offsets": self.point_offsets,
            "alpha": self.alpha,
            "f_w0": self.f_w0,
            "F_w0": self.F_w0,
            "initial_gap_bound": self.f_w0 if self.problem.get("nonnegative_loss") else None,
            # ε >= ‖∇F(w_0)‖ is met before any step: `plan --from-estimate` compares ε with these
            "grad_norm_w0": self.grad_norm_w0[0]["value"] if self.grad_norm_w0 else None,
            "grad_norm_w0_by_alpha": self.grad_norm_w0,
            "grad_norm_w0_exact": self.exact_tasks,
            "exact_tasks": self.exact_tasks,
            "config": asdict(self.config),
            "details": {k: c.to_json() for k, c in self.constants.items()},
            "seconds": self.seconds,
            "notes": self.notes,
        }
        if self.certified is not None:
            out["certified"] = self.certified
            out["ratio_to_certificate"] = {k: (self.values()[k] / v if v > 0 else None)
                                           for k, v in self.certified.items()}
        return out


# ---- power iteration --------------------------------------------------------------------------
def power_norm(apply: Any, V0: Array, iters: int) -> Array:
    """max-|eigenvalue| lower estimates ‖A v‖ (‖v‖ = 1) of symmetric operators, batched over V0's leading axes.

    `apply(V)` applies every operator to its own vector. The returned ‖A v_k‖ never exceeds ‖A‖.
    """
    V = V0 / np.linalg.norm(V0, axis=-1, keepdims=True)
    best = np.zeros(V.shape[:-1])
    for _ in range(max(1, iters)):
        AV = apply(V)
        n = np.linalg.norm(AV, axis=-1)
        best = np.maximum(best, n)  # every iterate is a valid lower bound; keep the largest
        ok = n > 0
        V = np.where(ok[..., None], AV / np.where(ok, n, 1.0)[..., None], V)
    return best


def _weighted_std(G: Array, w: Array, unbiased: bool) -> float:
    """(Σ_i w_i ‖G_i − Ḡ‖²)^{1/2} with Ḡ = Σ_i w_i G_i (× n/(n−1) when tasks were drawn)."""
    mean = (G * w[:, None]).sum(axis=0)
    var = float((w * ((G - mean) ** 2).sum(axis=-1)).sum())
    n = G.shape[0]
    if unbiased and n > 1:
        var *= n / (n - 1)
    return math.sqrt(max(var, 0.0))


class _Context:
    """Tasks, reference data and the sample subsets shared by every point."""

    def __init__(self, problem: Problem, cfg: EstimateConfig, rng: np.random.Generator) -> None:
        self.problem = problem
        all_tasks = getattr(problem, "all_tasks", None)
        if all_tasks is not None and len(all_tasks()[0]) <= cfg.max_tasks:
            self.tasks, self.weights = all_tasks()
            self.exact_tasks = True
        else:
            self.tasks = problem.sample_tasks(rng, cfg.max_tasks)
            self.weights = np.full(len(self.tasks), 1.0 / len(self.tasks))
            self.exact_tasks = False
        self.X, self.y = problem.task_data(self.tasks)  # (T, N, *x), (T, N)
        # The tasks as an exact-task family: with all_tasks, the finite family itself (weights p).
        self.family = ReferenceTasks(problem, self.X, self.y, self.weights)
        T, N = self.y.shape
        self.T, self.N = T, N
        # Per-sample subsets: every reference sample when there are few enough (exact E_θ).
        self.s_idx = self._subset(rng, N, cfg.max_samples)
        th = min(T, cfg.hessian_tasks)
        self.h_tasks = np.arange(T) if th == T else np.sort(rng.choice(T, th, replace=False))
        self.h_idx = self._subset(rng, N, cfg.hessian_samples)

    @staticmethod
    def _subset(rng: np.random.Generator, N: int, cap: int) -> Array | None:
        return None if N <= cap else np.sort(rng.choice(N, cap, replace=False))

    def samples(self, idx: Array | None, tasks: Array | None = None) -> tuple[Array, Array]:
        X, y = (self.X, self.y) if tasks is None else (self.X[tasks], self.y[tasks])
        return (X, y) if idx is None else (X[:, idx], y[:, idx])


def task_grads(problem: Problem, w: Array, X: Array, y: Array) -> Array:
    """∇f_i(w) over each task's reference data, (T, d)."""
    return problem.grad_on(w, X, y)


def estimate_L(problem: Problem, w: Array, X: Array, y: Array, rng: np.random.Generator,
               iters: int) -> Array:
    """Per task, a power-iteration lower estimate of ‖∇²f_i(w)‖ (eq. (17)), shape (T,)."""
    V0 = rng.standard_normal((y.shape[0], problem.d))
    return power_norm(lambda V: problem.hvp_on(w, V, X, y), V0, iters)


def estimate_rho(problem: Problem, w: Array, u: Array, X: Array, y: Array, rng: np.random.Generator,
                 iters: int) -> Array:
    """Per task, ‖∇²f_i(w) − ∇²f_i(u)‖ / ‖w − u‖ from below (eq. (19)), shape (T,)."""
    V0 = rng.standard_normal((y.shape[0], problem.d))
    dist = float(np.linalg.norm(w - u))
    return power_norm(lambda V: problem.hvp_on(w, V, X, y) - problem.hvp_on(u, V, X, y), V0, iters) / dist


def estimate_sigma_tilde(problem: Problem, w: Array, X: Array, y: Array) -> Array:
    """Per task, (E_θ‖∇f_i(w, θ) − ∇f_i(w)‖²)^{1/2} over the given samples (eq. (21)), shape (T,)."""
    T, N = y.shape
    step = max(1, _CHUNK_FLOATS // max(1, N * problem.d))
    out = np.empty(T)
    for a in range(0, T, step):  # chunks of tasks, each one vectorised call over tasks × samples
        Xs, ys = per_sample(X[a:a + step], y[a:a + step])
        G = problem.grad_on(w, Xs, ys)  # (t, N, d) per-sample gradients
        out[a:a + step] = np.sqrt(((G - G.mean(axis=1, keepdims=True)) ** 2).sum(axis=-1).mean(axis=1))
    return out


def estimate_sigma_H(problem: Problem, w: Array, X: Array, y: Array, Xs: Array, ys: Array,
                     rng: np.random.Generator, iters: int) -> Array:
    """Per task, (E_θ ‖∇²f_i(w, θ) − ∇²f_i(w)‖²)^{1/2} (eq. (22)) with one power iteration per sample.

    X, y: each task's reference data (for ∇²f_i(w)); Xs, ys: the samples θ averaged over. The
    operator of sample s is A_s = ∇²f_i(w, θ_s) − ∇²f_i(w); all S operators iterate at once:
    A_s v_s = hvp(w, v_s; θ_s) − hvp(w, v_s; task data), the second as one broadcast call.
    """
    T, S = ys.shape
    N = y.shape[1]
    step = max(1, _CHUNK_FLOATS // max(1, S * max(N, problem.d)))  # bound memory: chunks of tasks
    out = np.empty(T)
    for a in range(0, T, step):
        Xp, yp = per_sample(Xs[a:a + step], ys[a:a + step])  # (t, S, 1, *x)
        Xt, yt = np.expand_dims(X[a:a + step], 1), y[a:a + step, None, :]  # (t, 1, N, *x): task data per sample
        V0 = rng.standard_normal((yp.shape[0], S, problem.d))
        norms = power_norm(lambda V: problem.hvp_on(w, V, Xp, yp) - problem.hvp_on(w, V, Xt, yt), V0, iters)
        out[a:a + step] = np.sqrt((norms**2).mean(axis=1))
    return out


def _maml_run(problem: Problem, ctx: _Context, w0: Array, alpha: float, beta: float, steps: int, tasks_per_step: int,
              keep: int, rng: np.random.Generator) -> list[Array]:
    """`keep` evenly spaced iterates of a short MAML run with exact task gradients and HVPs (eq. (30))."""
    if keep <= 0:
        return []
    marks = set(np.unique(np.linspace(1, steps, keep).round().astype(int)).tolist())
    out: list[Array] = []
    w = w0.copy()
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            t = rng.choice(ctx.T, size=min(ctx.T, tasks_per_step), replace=False)
            drawn = ReferenceTasks(problem, ctx.X[t], ctx.y[t], np.full(len(t), 1.0 / len(t)))
            w = w - beta * meta_gradient(drawn, w, alpha)  # eq. (30) on the drawn tasks
            if not np.isfinite(w).all():
                break
            if k in marks:
                out.append(w.copy())
    while len(out) < keep:  # a run that left the finite range: sample around w_0 instead
        out.append(w0 + 1e-2 * rng.standard_normal(w0.shape))
    return out


def grad_norms_at_w0(family: ReferenceTasks, w0: Array, alpha: float, L: float) -> list[dict[str, Any]]:
    """‖∇F(w_0)‖ (eq. (30), on the estimate's tasks) at the estimate's α and at each theorem's default α at L̂.

    `plan --from-estimate` reads the entry of its own α: the planner's default is the largest α its theorem
    allows, 1/(cL) (c = 6 for F.1 and H.1, 10 for G.1), computed here exactly as the planner does.
    """
    from fractions import Fraction

    from mamltheory.bounds.result import rational
    from mamltheory.bounds.theorems import all_theorems

    rules = {"the estimate's α": alpha}
    for c in sorted({t.alpha_L_max for t in all_theorems()}):
        names = sorted({f"Theorem {t.label}" for t in all_theorems() if t.alpha_L_max == c})
        rules[f"1/({c}L) at the estimated L, the largest α of {' and '.join(names)}"] = float(Fraction(1, c) / rational(L))
    with np.errstate(all="ignore"):
        return [{"alpha": a, "value": float(np.linalg.norm(meta_gradient(family, w0, a))), "rule": rule}
                for rule, a in rules.items()]


def _notes(problem: Problem, ctx: _Context, constants: dict[str, ConstantEstimate]) -> list[str]:
    """What the reader of an estimate must know: a failing assumption, drawn tasks, maxima still moving."""
    notes = []
    warning = getattr(problem, "assumption_warning", None)  # a torch model with ReLU and the like
    if warning:
        notes.append(warning)
    if not ctx.exact_tasks:
        notes.append(f"tasks drawn ({ctx.T}): σ is an unbiased sample variance and σ̃, σ_H maxima over the drawn "
                     "tasks, so sampling noise can move them either way")
    for k in NAMES:
        c = constants[k]
        if c.half_estimate < 0.8 * c.estimate:
            notes.append(f"{k}: every second point gives {c.half_estimate:.3g} against {c.estimate:.3g} for all: "
                         "the maximum is still moving; more points (--points) may raise it")
    return notes


def _points(problem: Problem, ctx: _Context, cfg: EstimateConfig, w0: Array, alpha: float, L0: float,
            radius: float, r_points: np.random.Generator, r_run: np.random.Generator) -> tuple[list[Array], list[str]]:
    """The points the constants are measured at, and their kind: w_0, then points sampled around it and points
    along a short MAML run, interleaved so every second point (`half_estimate`) covers both kinds."""
    d = problem.d
    n_run = cfg.points // 2
    n_samp = cfg.points - n_run - 1
    u = r_points.standard_normal((max(n_samp, 0), d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    sampled = [w0 + radius * math.exp(r) * ui for r, ui in zip(r_points.uniform(math.log(1e-2), 0.0, n_samp), u)]
    beta = 1.0 / (4.0 * L0) if L0 > 0 else 1e-3
    run_pts = _maml_run(problem, ctx, w0, alpha, beta, cfg.run_steps, cfg.run_tasks, n_run, r_run)
    points, kinds = [w0], ["w0"]
    for j in range(max(len(sampled), len(run_pts))):
        if j < len(sampled):
            points.append(sampled[j])
            kinds.append("sampled")
        if j < len(run_pts):
            points.append(run_pts[j])
            kinds.append("run")
    return points, kinds


def _methods(ctx: _Context, cfg: EstimateConfig, n_points: int) -> dict[str, tuple[int, int | None, str]]:
    """Per constant: (tasks, samples per task, how it is measured), eqs. (17)-(22)."""
    n_s = ctx.N if ctx.s_idx is None else len(ctx.s_idx)
    n_h = ctx.N if ctx.h_idx is None else len(ctx.h_idx)
    task_word = "all tasks, weights p" if ctx.exact_tasks else f"{ctx.T} drawn tasks"
    return {
        "L": (ctx.T, None, f"max over points and tasks of ‖∇²f_i(w)‖ by {cfg.power_iters} power iterations "
                           "on exact task HVPs (eq. (17))"),
        "rho": (ctx.T, None, "max over pairs (w, u), ‖w − u‖ in [1e-4, 0.1]·radius, and tasks of "
                             "‖∇²f_i(w) − ∇²f_i(u)‖/‖w − u‖, power iteration on the HVP difference (eq. (19))"),
        "sigma": (ctx.T, None, f"(E_i‖∇f_i(w) − ∇f(w)‖²)^½ over {task_word}, max over points (eq. (20))"),
        "sigma_tilde": (ctx.T, n_s, f"max over points and tasks of (E_θ‖∇f_i(w,θ) − ∇f_i(w)‖²)^½ over {n_s} "
                                    "samples per task (eq. (21))"),
        "sigma_H": (len(ctx.h_tasks), n_h, f"max over the first {min(cfg.hessian_points, n_points)} points and "
                                           f"{len(ctx.h_tasks)} tasks of (E_θ‖∇²f_i(w,θ) − ∇²f_i(w)‖²)^½, spectral "
                                           f"norm by power iteration per sample, {n_h} samples (eq. (22))"),
    }


def estimate_constants(problem: Problem, cfg: EstimateConfig | None = None, w0: Array | None = None) -> Estimate:
    """Sampled lower estimates of L, ρ, σ, σ̃, σ_H (see the module doc), with provenance.

    w0: the centre of the sampled points and start of the run (default `problem.initial_point()`),
    e.g. a trained model to see the constants where training ended.
    """
    cfg = cfg or EstimateConfig()
    t_start = time.perf_counter()
    ss = np.random.SeedSequence(cfg.seed)
    r_tasks, r_points, r_run, r_power = (np.random.default_rng(s) for s in ss.spawn(4))
    ctx = _Context(problem, cfg, r_tasks)
    w0 = np.asarray(problem.initial_point() if w0 is None else w0, dtype=float)
    d = problem.d
    radius = cfg.radius if cfg.radius is not None else 0.5 * max(1.0, float(np.linalg.norm(w0)))

    L0 = float(estimate_L(problem, w0, ctx.X, ctx.y, r_power, cfg.power_iters).max())
    alpha = cfg.alpha if cfg.alpha is not None else (theorem("maml").alpha_max(L0) if L0 > 0 else 0.1)

    points, kinds = _points(problem, ctx, cfg, w0, alpha, L0, radius, r_points, r_run)

    Xs, ys = ctx.samples(ctx.s_idx)
    Xh_t, yh_t = ctx.X[ctx.h_tasks], ctx.y[ctx.h_tasks]
    Xh_s, yh_s = ctx.samples(ctx.h_idx, ctx.h_tasks)
    vals = {k: [] for k in NAMES}
    with np.errstate(all="ignore"):
        for j, w in enumerate(points):
            vals["L"].append(float(estimate_L(problem, w, ctx.X, ctx.y, r_power, cfg.power_iters).max()))
            e = r_points.standard_normal(d)
            pair = w + 0.1 * radius * math.exp(r_points.uniform(math.log(1e-3), 0.0)) * e / np.linalg.norm(e)
            vals["rho"].append(float(estimate_rho(problem, w, pair, ctx.X, ctx.y, r_power, cfg.power_iters).max()))
            G = task_grads(problem, w, ctx.X, ctx.y)
            vals["sigma"].append(_weighted_std(G, ctx.weights, unbiased=not ctx.exact_tasks))
            vals["sigma_tilde"].append(float(estimate_sigma_tilde(problem, w, Xs, ys).max()))
            if j < cfg.hessian_points:
                vals["sigma_H"].append(float(estimate_sigma_H(problem, w, Xh_t, yh_t, Xh_s, yh_s, r_power,
                                                              cfg.power_iters).max()))

    methods = _methods(ctx, cfg, len(points))
    constants = {}
    for k in NAMES:
        v = vals[k]
        tasks, samples, method = methods[k]
        constants[k] = ConstantEstimate(k, float(max(v)), v, int(np.argmax(v)), len(v), tasks, samples, method,
                                        float(max(v[::2])))
    f0, F0 = float(f_objective(ctx.family, w0)), float(meta_objective(ctx.family, w0, alpha))
    grad_w0 = grad_norms_at_w0(ctx.family, w0, float(alpha), constants["L"].estimate)
    notes = _notes(problem, ctx, constants)
    desc = problem.describe() if hasattr(problem, "describe") else {"problem": getattr(problem, "name", "user")}
    desc = {**desc, "nonnegative_loss": bool(getattr(problem, "nonnegative_loss", False)), "d": d}
    certified = None
    if getattr(problem, "constants", None) is not None:
        certified = problem.constants.as_dict()  # type: ignore[union-attr]
    offsets = [float(np.linalg.norm(p - w0)) for p in points]
    return Estimate(desc, cfg, constants, float(alpha), kinds, offsets, f0, F0, ctx.exact_tasks,
                    time.perf_counter() - t_start, certified, notes, grad_w0)
