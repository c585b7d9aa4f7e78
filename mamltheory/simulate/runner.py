"""Replicate-batched runner: R independent runs of one algorithm as one array computation.

Randomness: replicate r draws from its own stream `SeedSequence(seed, spawn_key=(r,))`, the
r-th child of `SeedSequence(seed).spawn(R)`, so replicate r run alone (``replicates=[r]``)
reproduces the batched numbers bit for bit. Per iteration a replicate draws, in this order:
B task ids (i.i.d. from p: `draw_tasks`), B × (D_in + D_o + D_h) sample ids (uniform with
replacement, the three batches independent), then for the theorem's step size B' task ids and
B' × D_β ids.

The problem: a pool family (`simulate.families.PoolProblem`) or anything with the same members
(`RunnerProblem`; `adapters.torch.TorchTasks` is one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from mamltheory.assumptions import ProblemConstants
from mamltheory.simulate.algorithms import USES_D_H, TaskBatch, beta_tilde, direction
from mamltheory.simulate.families import Array, PoolProblem

EVERY_MAX = 200  # "auto" records every iteration up to this many, log-spaced beyond
LOG_POINTS = 100


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (the result store hashes it)."""

    problem: str
    problem_params: dict[str, Any]
    algorithm: str
    alpha: float
    iterations: int
    replicates: int
    seed: int
    B: int
    D_in: int
    D_o: int
    D_h: int
    step: str  # "theorem": β_k = β̃(w_k)/c (eq. (26)); "constant": β_k = beta
    beta: float | None = None
    step_divisor: float | None = None
    B_prime: int | None = None
    D_beta: int | None = None
    delta_rule: str | None = None  # HF-MAML: "scaled" (δ_k^i = δ/‖v‖, eq. (142)) or "fixed"
    delta: float | None = None
    record: str = "auto"  # "every", "log" or "auto"
    hessian_chunk: int | None = field(default=None, compare=False)  # speed only, not in the key

    def key_dict(self) -> dict[str, Any]:
        """The fields that determine results (hessian_chunk does not: chunking is bit-exact)."""
        d = asdict(self)
        d.pop("hessian_chunk")
        # "auto" is resolved so that a change of the auto rule cannot reuse a stored run
        d["record"] = ("every" if self.iterations <= EVERY_MAX else "log") if self.record == "auto" else self.record
        return d


def record_schedule(iterations: int, mode: str = "auto") -> Array:
    """Iterations k at which exact F(w_k), ‖∇F(w_k)‖ are recorded.

    "every": 0..K; "log": 0..10, ~100 log-spaced points and K; "auto": every if K <= 200.
    """
    K = int(iterations)
    if mode == "auto":
        mode = "every" if K <= EVERY_MAX else "log"
    if mode == "every":
        return np.arange(K + 1)
    if mode == "log":
        pts = np.concatenate([np.arange(min(K, 10) + 1),
                              np.rint(np.geomspace(1, K, LOG_POINTS)).astype(int), [K]])
        return np.unique(pts)
    raise ValueError(f"unknown record mode {mode!r}")


def describe_schedule(iterations: int, mode: str = "auto") -> str:
    """One-line statement of the recording schedule (printed and stored)."""
    ks = record_schedule(iterations, mode)
    if len(ks) == iterations + 1:
        return f"every iteration k = 0..{iterations}"
    return f"{len(ks)} log-spaced iterations (all k <= 10, ~{LOG_POINTS} geometric points, k = {iterations})"


def replicate_rng(seed: int, r: int) -> np.random.Generator:
    """Replicate r's generator: the r-th spawned child of SeedSequence(seed)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(r,))))


@dataclass
class RunResult:
    """Recorded trajectories; arrays are (len(k), R) with NaN after a replicate diverged."""

    k: Array
    grad_norm: Array
    F: Array
    beta: Array
    dir_norm: Array
    diverged: dict[int, int]  # replicate -> first k whose w_k, step, direction, or recorded F / ‖∇F‖ is not finite
    replicates: list[int]
    seconds: float
    record_seconds: float
    schedule: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (NaN -> null)."""
        def clean(a: Array) -> list[list[float | None]]:
            return [[None if not math.isfinite(v) else float(v) for v in row] for row in a]

        return {
            "k": [int(x) for x in self.k],
            "grad_norm": clean(self.grad_norm),
            "F": clean(self.F),
            "beta": clean(self.beta),
            "dir_norm": clean(self.dir_norm),
            "diverged": sorted(self.diverged),
            "divergence": [{"replicate": r, "k": k} for r, k in sorted(self.diverged.items())],
            "replicates": list(self.replicates),
            "seconds": self.seconds,
            "record_seconds": self.record_seconds,
            "schedule": self.schedule,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunResult:
        """Inverse of to_json."""
        def arr(x: list[list[float | None]]) -> Array:
            return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)

        return cls(np.array(d["k"], dtype=int), arr(d["grad_norm"]), arr(d["F"]), arr(d["beta"]),
                   arr(d["dir_norm"]), {int(e["replicate"]): int(e["k"]) for e in d["divergence"]},
                   list(d["replicates"]), float(d["seconds"]), float(d["record_seconds"]),
                   d["schedule"])


class RunnerProblem(Protocol):
    """What the runner reads from a problem (a `PoolProblem` has all of it).

    Sampling: n_tasks, pool_size, p (task probabilities), flat_index(tasks, samples) -> ids,
    gather(ids, out_X=None) -> batch data. Model on gathered data: grad_on, hvp_on, grad2_on
    (hessian_on for "maml"). Exact recording: meta_parts(W, α) -> (F, ∇F) over the whole family
    weighted by p. Theory step and δ rule: constants (L, ρ; all five for the planner's defaults).
    """

    name: str
    d: int
    n_tasks: int
    pool_size: int
    p: Array
    constants: ProblemConstants
    params: dict[str, Any]

    def flat_index(self, tasks: Array, samples: Array) -> Array: ...

    def gather(self, idx: Array, out_X: Array | None = None) -> tuple[Array, Array]: ...

    def grad_on(self, W: Array, X: Array, y: Array) -> Array: ...

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array: ...

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array: ...

    def meta_parts(self, w: Array, alpha: float) -> tuple[Array, Array]: ...

    def initial_point(self) -> Array: ...


def draw_tasks(rng: np.random.Generator, p: Array, size: int) -> Array:
    """`size` task ids i.i.d. from p.

    Uniform p (every pool family) keeps the historical draw `rng.integers(0, n, size)`, so stored runs
    and their replicate streams are unchanged; otherwise `rng.choice(n, size, p=p)` (inverse CDF).
    """
    p = np.asarray(p)
    if (p == p[0]).all():
        return rng.integers(0, p.shape[0], size=size)
    return rng.choice(p.shape[0], size=size, p=p)


class Sampler:
    """Draws each iteration's batches for a set of replicates and gathers them from the pools."""

    def __init__(self, problem: RunnerProblem, cfg: RunConfig) -> None:
        self.problem = problem
        self.cfg = cfg
        # Pool families copy features into a reused buffer; a problem whose data are the ids (TorchTasks) copies nothing.
        self.buffered = isinstance(problem, PoolProblem)
        self.D_h = cfg.D_h if USES_D_H[cfg.algorithm] else 0
        self.D_tot = cfg.D_in + cfg.D_o + self.D_h
        self._buf: Array | None = None
        self._buf_beta: Array | None = None

    def draw(self, rngs: Sequence[np.random.Generator]) -> tuple[Array, Array | None]:
        """Flat sample ids (R, B, D_tot) and, for the theorem's step, (R, B', D_β)."""
        p, cfg = self.problem, self.cfg
        idx = np.empty((len(rngs), cfg.B, self.D_tot), dtype=np.intp)
        idx_b = None
        if cfg.step == "theorem":
            idx_b = np.empty((len(rngs), cfg.B_prime, cfg.D_beta), dtype=np.intp)  # type: ignore[arg-type]
        for j, rng in enumerate(rngs):
            tasks = draw_tasks(rng, p.p, cfg.B)
            idx[j] = p.flat_index(tasks, rng.integers(0, p.pool_size, size=(cfg.B, self.D_tot)))
            if idx_b is not None:
                tb = draw_tasks(rng, p.p, cfg.B_prime)  # type: ignore[arg-type]
                idx_b[j] = p.flat_index(tb, rng.integers(0, p.pool_size, size=(cfg.B_prime, cfg.D_beta)))
        return idx, idx_b

    def gather(self, idx: Array) -> TaskBatch:
        """One np.take of all three batches into a reused buffer; the batches are views of it."""
        shape = idx.shape + (self.problem.d,)
        if self.buffered and (self._buf is None or self._buf.shape != shape):
            self._buf = np.empty(shape)
        Xg, yg = self.problem.gather(idx, out_X=self._buf)
        a, b = self.cfg.D_in, self.cfg.D_in + self.cfg.D_o
        if self.D_h:
            return TaskBatch(Xg[:, :, :a], yg[:, :, :a], Xg[:, :, a:b], yg[:, :, a:b], Xg[:, :, b:], yg[:, :, b:])
        return TaskBatch(Xg[:, :, :a], yg[:, :, :a], Xg[:, :, a:b], yg[:, :, a:b])

    def gather_beta(self, idx_b: Array) -> tuple[Array, Array]:
        """The step-size batches (B' tasks × D_β samples)."""
        shape = idx_b.shape + (self.problem.d,)
        if self.buffered and (self._buf_beta is None or self._buf_beta.shape != shape):
            self._buf_beta = np.empty(shape)
        return self.problem.gather(idx_b, out_X=self._buf_beta)


def meta_step(problem: RunnerProblem, cfg: RunConfig, sampler: Sampler, rngs: Sequence[np.random.Generator],
              W: Array) -> tuple[Array, Array, Array]:
    """One meta-iteration for the replicates of `rngs` at points W (R, d): (w_{k+1}, β_k, g_k).

    Sampling included: draw ids, gather from the pools, direction (Algorithms 1-3), step size.
    """
    idx, idx_b = sampler.draw(rngs)
    g = direction(problem, cfg.algorithm, W, sampler.gather(idx), cfg.alpha,
                  cfg.delta, cfg.delta_rule or "scaled", cfg.hessian_chunk)
    if cfg.step == "theorem":
        Xb, yb = sampler.gather_beta(idx_b)  # type: ignore[arg-type]
        beta = beta_tilde(problem, W, Xb, yb, cfg.alpha) / cfg.step_divisor  # type: ignore[operator]
    else:
        beta = np.full(W.shape[0], float(cfg.beta))  # type: ignore[arg-type]
    return W - beta[:, None] * g, beta, g


def run(problem: RunnerProblem, cfg: RunConfig, replicates: Sequence[int] | None = None,
        progress: Callable[[int], None] | None = None, w0: Array | None = None) -> RunResult:
    """Run `cfg` for the replicates listed (default all), vectorised over them.

    Every iteration: draw batches (Sampler), direction g_k (algorithms.direction), step
    β_k (theory rule or constant), w_{k+1} = w_k − β_k g_k. A replicate whose iterate, step or
    direction is not finite is stopped and recorded as diverged; the others continue.
    Exact F(w_k) and ‖∇F(w_k)‖ are computed on the recording schedule, all replicates at once; a
    replicate whose F(w_k) or ‖∇F(w_k)‖ overflows there diverges at k too (w_k may still be finite:
    ‖∇F‖ squares its entries), so a null norm always belongs to a diverged replicate.
    """
    reps = list(range(cfg.replicates)) if replicates is None else [int(r) for r in replicates]
    ks = record_schedule(cfg.iterations, cfg.record)
    slot = {int(k): j for j, k in enumerate(ks)}
    R = len(reps)
    out = {name: np.full((len(ks), R), np.nan) for name in ("grad_norm", "F", "beta", "dir_norm")}
    rngs = [replicate_rng(cfg.seed, r) for r in reps]
    W = np.tile(problem.initial_point() if w0 is None else np.asarray(w0, float), (R, 1))
    active = np.arange(R)
    diverged: dict[int, int] = {}
    sampler = Sampler(problem, cfg)
    t_start = time.perf_counter()
    t_record = 0.0
    with np.errstate(all="ignore"):  # overflow/NaN is an outcome (divergence), not a crash
        for k in range(cfg.iterations + 1):
            j = slot.get(k)
            if j is not None and active.size:
                t0 = time.perf_counter()
                F, gF = problem.meta_parts(W[active], cfg.alpha)
                norm = np.linalg.norm(gF, axis=-1)
                out["F"][j, active] = F
                out["grad_norm"][j, active] = norm
                t_record += time.perf_counter() - t0
                finite = np.isfinite(F) & np.isfinite(norm)
                for a in active[~finite]:
                    diverged[reps[a]] = k
                active = active[finite]
            if k == cfg.iterations or not active.size:
                break
            W_new, beta, g = meta_step(problem, cfg, sampler, [rngs[a] for a in active], W[active])
            if j is not None:
                out["beta"][j, active] = beta
                out["dir_norm"][j, active] = np.linalg.norm(g, axis=-1)
            ok = np.isfinite(W_new).all(axis=1) & np.isfinite(g).all(axis=1) & np.isfinite(beta)
            W[active] = W_new
            for a in active[~ok]:
                diverged[reps[a]] = k + 1
            active = active[ok]
            if progress is not None:
                progress(k + 1)
    return RunResult(ks, out["grad_norm"], out["F"], out["beta"], out["dir_norm"], diverged, reps,
                     time.perf_counter() - t_start, t_record, describe_schedule(cfg.iterations, cfg.record))
