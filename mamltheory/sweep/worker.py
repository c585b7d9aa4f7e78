"""What a worker process (local pool or Dask) does for one run: build the problem, run, return JSON.

The worker never touches the store: the parent writes each finished run in one transaction, so a
worker killed at any point leaves nothing behind. Results depend only on the run's configuration
(each replicate is seeded from it), and BLAS runs single-threaded in every worker so that the
floating-point reduction order, hence every bit, is the same whichever executor ran the run.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import threading
import time
from typing import Any

# Test hooks (used by tests/sweep, inert unless set): a run whose seed equals SEED makes its worker
# process die with os._exit, either always ("SEED") or while fewer than N marker files exist in DIR
# ("SEED:N:DIR", one file written per death).
CRASH_ENV = "MAMLTHEORY_SWEEP_TEST_CRASH"
# If set, every computation appends "start KEY PID" and "end KEY PID" lines to this file.
TRACE_ENV = "MAMLTHEORY_SWEEP_TRACE"

_problems: dict[str, Any] = {}
_lock = threading.Lock()
_blas_done = False


def single_thread_blas() -> None:
    """Pin every loaded OpenBLAS to one thread (env variables act only before numpy is imported).

    Dask workers may be threads of a process whose BLAS was started multi-threaded; a threaded
    reduction may sum in a different order, so pin it at run time too (Linux; a no-op elsewhere).
    """
    global _blas_done
    if _blas_done:
        return
    _blas_done = True
    try:
        with open("/proc/self/maps") as fh:
            paths = [line.split()[-1] for line in fh if len(line.split()) >= 6]
    except OSError:
        return
    libs = {p for p in paths if "blas" in os.path.basename(p).lower() and ".so" in p}
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_set_num_threads", "openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(1)


def _problem(config: dict[str, Any]) -> Any:
    """The run's problem, built once per worker process (building it is deterministic in its params)."""
    from mamltheory.simulate import make_problem
    from mamltheory.store import canonical_json

    key = canonical_json([config["problem"], config["problem_params"]])
    with _lock:
        if key not in _problems:
            _problems[key] = make_problem(config["problem"], **config["problem_params"])
        return _problems[key]


def _trace(event: str, key: str) -> None:
    path = os.environ.get(TRACE_ENV)
    if path:
        # One short O_APPEND write per line: lines of concurrent workers never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{event} {key} {os.getpid()}\n".encode())
        finally:
            os.close(fd)


def _maybe_crash(config: dict[str, Any]) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    seed, _, rest = spec.partition(":")
    if int(seed) != config["seed"]:
        return
    if rest:
        count, _, folder = rest.partition(":")
        done = len(os.listdir(folder))
        if done >= int(count):
            return
        with open(os.path.join(folder, f"crash-{done}-{os.getpid()}"), "w"):
            pass
    os._exit(17)


def compute(key: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration (RunConfig fields) and return its RunResult JSON plus worker timings."""
    import mamltheory.simulate  # noqa: F401  (the families, and any BLAS they load, before pinning it)
    from mamltheory.simulate.runner import RunConfig, run
    from mamltheory.store import code_hash

    t0 = time.perf_counter()
    single_thread_blas()
    _trace("start", key)
    _maybe_crash(config)
    cfg = RunConfig(**config)
    problem = _problem(config)
    result = run(problem, cfg).to_json()
    _trace("end", key)
    # Serialised here, not in the sweep process: the parent only stores the text, so it stays
    # light and does not compete with the workers for a core.
    return {"result_json": json.dumps(result), "final": final_stats(result), "run_seconds": result["seconds"],
            "worker_seconds": time.perf_counter() - t0, "pid": os.getpid(), "code": code_hash("simulate")}


def final_stats(result: dict[str, Any]) -> dict[str, Any]:
    """Mean, min, max of the last recorded ‖∇F(w_k)‖ over the replicates where it is finite.

    `diverged` counts the replicates the runner stopped (non-finite iterate, step, direction, F or
    ‖∇F‖), which are exactly those without a finite final value; `report --sweep` counts the same.
    """
    last = [v for v in result["grad_norm"][-1] if v is not None and math.isfinite(v)]
    R = len(result["replicates"])
    return {"k": result["k"][-1], "mean": sum(last) / len(last) if last else None,
            "min": min(last) if last else None, "max": max(last) if last else None,
            "diverged": len(result["diverged"]), "replicates": R}
