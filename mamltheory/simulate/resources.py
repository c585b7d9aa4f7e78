"""Memory a problem or a run will need, estimated from its sizes, and the refusal of what cannot fit.

Inputs that need more memory than the process can get now (available memory, the cgroup's limit and
RLIMIT_AS, whichever is least; not total RAM) are refused with the estimate before anything is
allocated (a run of 10⁷ replicates otherwise grows for minutes before a MemoryError). The estimates
count the float64 arrays the code allocates, term by term (see each function); they are checked
against measured allocation peaks in tests/simulate/test_resources.py.
"""

from __future__ import annotations

import os
from typing import Any

from mamltheory.errors import InputError

FLOAT = 8  # bytes of a float64 or an intp
# A replicate's random generator (np.random.Generator over PCG64, with its SeedSequence): measured
# with tracemalloc at about 1.06 KB each.
GENERATOR_BYTES = 1_100


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (what can be allocated without swapping), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """The cgroup v2 limit minus what the cgroup already uses (containers), or None without a limit."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        if not limit.isdigit():
            return None  # "max": no limit
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def _vm_size() -> int:
    """This process's address space now (VmSize of /proc/self/status), 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    except (OSError, ValueError):
        return 0


def _address_space_room() -> int | None:
    """RLIMIT_AS (ulimit -v) minus this process's current address space, or None without a limit."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(soft - _vm_size(), 0)


def memory_room() -> tuple[int, str]:
    """Bytes a new allocation can get now, and which limit that is, for messages.

    The least of: available memory (MemAvailable, not total RAM: other processes hold the rest), the
    cgroup's remaining limit, and the room left under the process's address-space limit (RLIMIT_AS).
    """
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    found = [(total, "physical memory"), (_meminfo_available(), "available memory (MemAvailable)"),
             (_cgroup_room(), "room left under the cgroup's memory.max"),
             (_address_space_room(), "room left under the address-space limit (RLIMIT_AS, ulimit -v)")]
    return min(((int(n), what) for n, what in found if n is not None), key=lambda x: x[0])


def available_bytes() -> int:
    """Bytes a new allocation can get now (`memory_room`)."""
    return memory_room()[0]


def gib(n: float) -> str:
    """Bytes as GiB, for messages."""
    return f"{n / 2**30:.3g} GiB"


def refuse_above_memory(need: float, field: str, label: str, what: str, limit: int | None = None,
                        which: str = "memory limit") -> None:
    """InputError on `field` (shown as `label`) with the estimate and the limit when `need` exceeds memory
    (`limit`, named `which`; default `memory_room()`)."""
    if limit is None:
        limit, which = memory_room()
    if need > limit:
        raise InputError(f"{label}: {what} needs about {gib(need)} of memory (estimate), more than the "
                         f"{gib(limit)} of {which}; use smaller sizes", field=field)


def problem_bytes(name: str, params: dict[str, Any]) -> float:
    """Peak bytes of building the pool family `name` with n tasks, N samples per pool and dimension d.

    The features are drawn as (n, N, d) arrays, scaled and clipped (about 3 copies alive at once); the
    certificates form per-task second-moment matrices of size min(N, d)² (plus an eigenvalue workspace).
    The quadratic family's certificates also form every sample's d×d matrix x xᵀ − M_i (n·N·d², with a
    temporary of the same size and the spectral-norm workspace).
    """
    n, N, d = (float(params[k]) for k in ("n_tasks", "pool_size", "d"))
    if name == "quadratic":
        return FLOAT * (4 * n * N * d + 3 * n * N * d * d + 3 * n * d * d + 6 * n * N)
    return FLOAT * (3 * n * N * d + 2 * n * min(N, d) ** 2 + 6 * n * N)


def check_problem_memory(name: str, params: dict[str, Any]) -> None:
    """Refuse (InputError on the largest of d, n_tasks, pool_size) a family too large for this machine."""
    need = problem_bytes(name, params)
    big = max(("d", "n_tasks", "pool_size"), key=lambda k: params[k])
    sizes = ", ".join(f"{k} = {params[k]}" for k in ("n_tasks", "pool_size", "d"))
    refuse_above_memory(need, f"params.{big}", big, f"problem {name!r} with {sizes}")


def run_bytes(n_tasks: int, pool_size: int, d: int, cfg: Any) -> dict[str, float]:
    """Peak bytes of `simulate.runner.run(problem, cfg)` beyond the problem itself, by the field that drives them.

    Per replicate (field "replicates"): its generator and the exact ∇F at the recorded iterations,
    which evaluates every task's full pool (about six (n, N) and six (n, d) arrays). Per replicate and
    batch size ("batch"): one iteration's gathered batches B·(D_in + D_o + D_h) and B'·D_β (ids, labels
    and d features each, with per-sample temporaries) and ten (B, d) arrays of directions. Per replicate
    and recorded iteration ("iterations"): four recorded trajectories. MAML with explicit Hessians
    ("hessian_chunk"): one chunk of d×d matrices (HESSIAN_CHUNK_BYTES, or `hessian_chunk` tasks).
    """
    from mamltheory.simulate.algorithms import HESSIAN_CHUNK_BYTES
    from mamltheory.simulate.runner import EVERY_MAX, record_schedule

    R, B = float(cfg.replicates), float(cfg.B)
    D_h = cfg.D_h if cfg.algorithm != "fo-maml" else 0
    D_tot = float(cfg.D_in + cfg.D_o + D_h)
    beta_batch = float(cfg.B_prime * cfg.D_beta) if cfg.step == "theorem" else 0.0
    K = int(cfg.iterations)
    every = cfg.record == "every" or (cfg.record == "auto" and K <= EVERY_MAX)
    n_recorded = K + 1 if every else len(record_schedule(K, "log"))
    parts = {
        "replicates": R * (GENERATOR_BYTES + FLOAT * (6 * n_tasks * pool_size + 6 * n_tasks * d + 4 * d)),
        "batch": R * FLOAT * ((B * D_tot + beta_batch) * (d + 6) + 10 * B * d),
        "iterations": FLOAT * n_recorded * (4 * R + 1),
        "hessian_chunk": 0.0,
    }
    if cfg.algorithm == "maml":
        matrices = (cfg.hessian_chunk if cfg.hessian_chunk is not None
                    else max(1, HESSIAN_CHUNK_BYTES // (FLOAT * d * d)))
        parts["hessian_chunk"] = FLOAT * min(R * B, matrices) * (2 * d * d + cfg.D_h * d)
    return parts


def check_run_memory(problem: Any, cfg: Any, limit: int | None = None) -> None:
    """Refuse a run too large for this machine, naming --replicates when one replicate would fit
    (with how many fit), else the field that drives a single replicate's memory."""
    import dataclasses

    limit, which = memory_room() if limit is None else (limit, "memory limit")
    parts = run_bytes(problem.n_tasks, problem.pool_size, problem.d, cfg)
    need = sum(parts.values())
    if need <= limit:
        return
    one = sum(run_bytes(problem.n_tasks, problem.pool_size, problem.d, dataclasses.replace(cfg, replicates=1)).values())
    sizes = (f"B = {cfg.B} tasks × {cfg.D_in + cfg.D_o + cfg.D_h} samples, {cfg.iterations} iterations, "
             f"{problem.n_tasks} tasks × {problem.pool_size} samples, d = {problem.d}")
    if one <= limit:
        per = (need - one) / max(cfg.replicates - 1, 1)
        fit = max(1, int((limit - one) // per) + 1) if per > 0 else cfg.replicates
        refuse_above_memory(need, "replicates", "--replicates",
                            f"a run of R = {cfg.replicates} replicates ({sizes}; at most about {fit} fit)", limit, which)
    field = max(parts, key=lambda k: parts[k])
    refuse_above_memory(one, field, "--" + field.replace("_", "-"), f"even one replicate ({sizes})", limit, which)
