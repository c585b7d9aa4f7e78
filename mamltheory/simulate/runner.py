"""Replicate-batched runner: R independent runs of one algorithm as one array computation.

Randomness: replicate r draws from its own stream `SeedSequence(seed, spawn_key=(r,))`, the
r-th child of `SeedSequence(seed).spawn(R)`, so replicate r run alone (``replicates=[r]``)
reproduces the batched numbers bit for bit. Per iteration a replicate draws, in this order:
B task ids (i.i.d. from p: `draw_tasks`), B × (D_in + D_o + D_h) sample ids (uniform with
replacement, the three batches independent), then for the theorem's step size B' task ids and
B' × D_β ids.

The problem: a sampled problem (`simulate.tasks.Problem`: batches from `sample_data`) that is also a
finite exact-task family (`simulate.tasks.ExactTasks` with `ExactMeta`: p for the task draws, `meta_parts`
for the exact records) with `constants` (β̃, eq. (26), and the δ rule, eq. (142)): a pool family
(`make_problem`) or `adapters.torch.TorchTasks`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mamltheory.simulate.algorithms import USES_D_H, TaskBatch, beta_tilde, direction
from mamltheory.simulate.families import Array
from mamltheory.simulate.tasks import Problem

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
    delta_rule: str | None = None  # HF-MAML: "scaled" (δ_k = δ/‖v‖, eq. (142)) or "fixed"
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


def draw_tasks(rng: np.random.Generator, p: Array, size: int | tuple[int, ...]) -> Array:
    """`size` task ids i.i.d. from p.

    Uniform p (every pool family) keeps the historical draw `rng.integers(0, n, size)`, so stored runs
    and their replicate streams are unchanged; otherwise `rng.choice(n, size, p=p)` (inverse CDF).
    """
    p = np.asarray(p)
    if (p == p[0]).all():
        return rng.integers(0, p.shape[0], size=size)
    return rng.choice(p.shape[0], size=size, p=p)


class Sampler:
    """Draws each iteration's batches for a set of replicates through the problem's `sample_data`."""

    def __init__(self, problem: Problem, cfg: RunConfig) -> None:
        self.problem = problem
        self.cfg = cfg
        self.D_h = cfg.D_h if USES_D_H[cfg.algorithm] else 0
        self.D_tot = cfg.D_in + cfg.D_o + self.D_h
        self._bufs: dict[str, tuple[Array, Array]] = {}  # reused between iterations: one (R, B, D, ...) array each

    def _stacked(self, name: str, parts: Iterator[tuple[Array, Array]], R: int) -> tuple[Array, Array]:
        """The replicates' (X, y) written into one reused buffer as each is drawn (no second copy in memory)."""
        for j, (X, y) in enumerate(parts):
            bufs = self._bufs.get(name)
            if bufs is None or bufs[0].shape != (R, *X.shape) or bufs[1].shape != (R, *y.shape):
                bufs = self._bufs[name] = (np.empty((R, *X.shape), X.dtype), np.empty((R, *y.shape), y.dtype))
            bufs[0][j], bufs[1][j] = X, y
        return self._bufs[name]

    def draw(self, rngs: Sequence[np.random.Generator]) -> tuple[TaskBatch, tuple[Array, Array] | None]:
        """The replicates' batches (R, B, D, ...) split into D_in, D_o (, D_h) and, for the theorem's step, (R, B', D_β).

        Per replicate: B task ids from p, B × (D_in + D_o + D_h) samples in one draw, then B' ids and B' × D_β.
        """
        cfg, p, R = self.cfg, self.problem, len(rngs)
        beta: list[tuple[Array, Array]] = []

        def main() -> Iterator[tuple[Array, Array]]:
            for rng in rngs:
                yield p.sample_data(rng, draw_tasks(rng, p.p, cfg.B), self.D_tot)
                if cfg.step == "theorem":  # drawn after the replicate's main batch: its stream's order
                    beta.append(p.sample_data(rng, draw_tasks(rng, p.p, cfg.B_prime), cfg.D_beta))  # type: ignore[arg-type]

        Xg, yg = self._stacked("main", main(), R)
        a, b = cfg.D_in, cfg.D_in + cfg.D_o
        batch = TaskBatch(Xg[:, :, :a], yg[:, :, :a], Xg[:, :, a:b], yg[:, :, a:b],
                          *((Xg[:, :, b:], yg[:, :, b:]) if self.D_h else ()))
        return batch, (self._stacked("beta", iter(beta), R) if beta else None)


def meta_step(problem: Problem, cfg: RunConfig, sampler: Sampler, rngs: Sequence[np.random.Generator],
              W: Array) -> tuple[Array, Array, Array]:
    """One meta-iteration for the replicates of `rngs` at points W (R, d): (w_{k+1}, β_k, g_k).

    Sampling included: draw ids, gather from the pools, direction (Algorithms 1-3), step size.
    """
    batch, step_batch = sampler.draw(rngs)
    g = direction(problem, cfg.algorithm, W, batch, cfg.alpha, cfg.delta, cfg.delta_rule or "scaled", cfg.hessian_chunk)
    if step_batch is not None:
        beta = beta_tilde(problem, W, *step_batch, cfg.alpha) / cfg.step_divisor  # type: ignore[operator]
    else:
        beta = np.full(W.shape[0], float(cfg.beta))  # type: ignore[arg-type]
    return W - beta[:, None] * g, beta, g


def run(problem: Problem, cfg: RunConfig, replicates: Sequence[int] | None = None,
        progress: Callable[[int], None] | None = None, w0: Array | None = None) -> RunResult:
    """Run `cfg` for the replicates listed (default all), vectorised over them.

    Every iteration: draw batches (Sampler), direction g_k (algorithms.direction), step
    β_k (the theorem's rule or constant), w_{k+1} = w_k − β_k g_k. A replicate whose iterate, step or
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
                m = problem.meta_parts(W[active], cfg.alpha)
                F, norm = m.F, np.linalg.norm(m.grad_F, axis=-1)
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
