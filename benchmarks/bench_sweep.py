"""Sweep throughput: runs per second with 1 and 2 local workers, executor and store overhead per run.

Goals: >= 1.8x speedup from 1 to 2 workers on small runs; store writes < 5% of run time.
Run: python benchmarks/bench_sweep.py [--tiny 300] [--small 100] [--repeats 3]   (about 1 min on 2 cores)

For each run size, N runs (seeds 0..N-1 of one FO-MAML configuration on tanh-regression, theory step):
- serial: `worker.compute` called in this process one after another (no executor, no store): the
  pure compute time t_run per run;
- 1 and 2 workers: `LocalExecutor` (spawned process pool, one task per worker in flight), each
  finished run written to a `ResultStore` in one transaction by this process, exactly as
  `mamltheory sweep` does. Wall time includes starting the pool.
Executor overhead per run = wall(1 worker)/N - t_run; store share = time in `put_run` / Σ run time.
Each number is the best of --repeats measurements (the machine may be shared).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from mamltheory.sweep import worker
from mamltheory.sweep.config import load_sweep
from mamltheory.sweep.executors import LocalExecutor, Task
from mamltheory.store import ResultStore

SIZES = {
    # name: (problem params, iterations, replicates); batches B=10, D_in=D_o=10, B'=5, D_β=10
    "tiny": ("{ d = 10, n_tasks = 20, pool_size = 100 }", 40, 4),
    "small": ("{ d = 20 }", 30, 4),
}


def tasks_for(size: str, n: int, folder: Path) -> list[Task]:
    params, iterations, replicates = SIZES[size]
    path = folder / f"{size}.toml"
    path.write_text(f'name = "{size}"\n[base]\nproblem = "tanh-regression"\nparams = {params}\n'
                    f'algorithm = "fo-maml"\niterations = {iterations}\nreplicates = {replicates}\n'
                    f"batch = [10, 10, 10, 1]\nstep_batch = [5, 10]\n[grid]\nseed = {list(range(n))}\n")
    spec = load_sweep(str(path))
    return [Task(r.key, {**r.config.key_dict(), "hessian_chunk": None}) for r in spec.runs]


def serial(tasks: list[Task]) -> float:
    """Mean seconds per run computed in this process (after one warm-up run)."""
    worker.single_thread_blas()  # as in the workers
    worker.compute(tasks[0].key, tasks[0].config)
    t0 = time.perf_counter()
    for t in tasks:
        worker.compute(t.key, t.config)
    return (time.perf_counter() - t0) / len(tasks)


def pooled(tasks: list[Task], workers: int, folder: Path) -> dict[str, Any]:
    """Wall time, store time and summed run time of the tasks on `workers` local workers."""
    store_path = folder / f"bench-{workers}-{time.time_ns()}.sqlite"
    stats = {"store": 0.0, "run": 0.0, "n": 0}
    with ResultStore(store_path) as store:
        def on_done(out: Any) -> None:
            t0 = time.perf_counter()
            store.put_run(out.key, {"key": out.key}, out.result_json)
            stats["store"] += time.perf_counter() - t0
            stats["run"] += out.run_seconds
            stats["n"] += 1

        t0 = time.perf_counter()
        LocalExecutor(workers).run(tasks, on_done)
        stats["wall"] = time.perf_counter() - t0
    assert stats["n"] == len(tasks)
    return stats


def pool_start(workers: int) -> float:
    """Seconds to start `workers` spawned workers and run one trivial task on each."""
    ex = LocalExecutor(workers)
    t0 = time.perf_counter()
    pool = ex._pool(workers)
    list(pool.map(time.sleep, [0.0] * workers))
    pool.shutdown()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", type=int, default=300, help="number of tiny runs")
    ap.add_argument("--small", type=int, default=100, help="number of small runs")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many measurements (default 3)")
    args = ap.parse_args()
    start = statistics.median(pool_start(2) for _ in range(3))
    print(f"pool start (2 spawned workers, numpy + mamltheory imported): {start:.2f} s")
    header = (f"{'runs':>6} {'size':>6} {'t_run':>8} {'1 worker':>10} {'2 workers':>10} {'speedup':>8} "
              f"{'executor/run':>13} {'store/run':>10} {'store share':>12}")
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size, n in (("tiny", args.tiny), ("small", args.small)):
            tasks = tasks_for(size, n, folder)
            # Best of --repeats for each measurement: other jobs on a shared machine only slow it down.
            t_run = min(serial(tasks) for _ in range(args.repeats))
            one = min((pooled(tasks, 1, folder) for _ in range(args.repeats)), key=lambda r: r["wall"])
            two = min((pooled(tasks, 2, folder) for _ in range(args.repeats)), key=lambda r: r["wall"])
            rate1, rate2 = n / one["wall"], n / two["wall"]
            overhead = one["wall"] / n - t_run
            print(f"{n:>6} {size:>6} {1e3 * t_run:>6.1f}ms {rate1:>6.1f} r/s {rate2:>6.1f} r/s {rate2 / rate1:>7.2f}x "
                  f"{1e3 * overhead:>11.2f}ms {1e3 * two['store'] / n:>8.2f}ms "
                  f"{100 * (one['store'] + two['store']) / (one['run'] + two['run']):>11.2f}%")


if __name__ == "__main__":
    main()
