"""`mamltheory sweep CONFIG.toml`: validate a grid of runs, run the unfinished ones in parallel, store each."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import integer
from mamltheory.store import DEFAULT_STORE


def add_parser(sub: Any) -> None:
    """Register `sweep`."""
    p = sub.add_parser(
        "sweep", help="run a TOML grid of simulations on all cores or a Dask cluster (resumable)",
        description="Validate the whole config, then compute every run not yet in the store, in parallel; "
                    "each finished run is stored in one transaction, so a killed sweep resumes where it was.")
    p.add_argument("config", help="sweep config (TOML): [base], [grid] lists, [[runs]] tables")
    p.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite result store (default ./{DEFAULT_STORE})")
    p.add_argument("--workers", default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786; extra 'dask')")
    p.add_argument("--outside-theory", action="store_true",
                   help="allow α outside the theorem's range, a constant step β or a fixed δ (runs are marked)")
    p.add_argument("--max-attempts", default="3",
                   help="deaths of a run's worker before the run is recorded as failed (default 3; local pool)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


@dataclass
class Tally:
    """What happened to each run of this invocation, and where the parent's time went."""

    status: dict[str, str] = field(default_factory=dict)     # key -> stored | computed | failed
    failure: dict[str, str] = field(default_factory=dict)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> worker.final_stats
    store_seconds: float = 0.0
    worker_seconds: float = 0.0
    run_seconds: float = 0.0


# Local worker processes: each is a Python interpreter with numpy (~100 MB); beyond this, use --scheduler.
MAX_WORKERS = 1024


def _executor(args: argparse.Namespace) -> Any:
    from mamltheory.sweep.executors import DaskExecutor, LocalExecutor, check_address

    attempts = integer("--max-attempts", args.max_attempts, 1)
    if args.scheduler is not None:
        if args.workers is not None:
            raise InputError("--workers: not used with --scheduler (the cluster's workers run the sweep)")
        return DaskExecutor(check_address(args.scheduler))
    workers = None if args.workers is None else integer("--workers", args.workers, 1, MAX_WORKERS)
    return LocalExecutor(workers, attempts)


def _check_store(path: str) -> None:
    """The store must be a file path whose folder exists (SQLite would fail later, with a traceback)."""
    p = Path(path)
    if not path or p.is_dir():
        raise InputError(f"--store: must be a file path, got {path!r}")
    if not p.resolve().parent.is_dir():
        raise InputError(f"--store: the folder of {path!r} does not exist")


def _prepare(args: argparse.Namespace) -> tuple[Any, Any]:
    """The executor and the validated sweep, every bad input refused before the store is touched."""
    from mamltheory.sweep.config import load_sweep

    try:
        _check_store(args.store)
        executor = _executor(args)
        spec = load_sweep(args.config, args.outside_theory)
        if hasattr(executor, "connect"):
            executor.connect()  # an unreachable scheduler is bad input too: fail before the store is touched
    except InputError as err:
        # One line whatever a value or key contained (the CLI prints the message as is).
        raise InputError(" ".join(str(err).splitlines())) from None
    return executor, spec


def _pending(args: argparse.Namespace, spec: Any, store: Any, tally: Tally) -> tuple[list[Any], set[str]]:
    """Register the sweep; the runs to compute and the keys already stored (failures tallied)."""
    store.register(spec.name, args.config, spec.source, [(r.key, r.index, r.outside_theory) for r in spec.runs])
    keys = [r.key for r in spec.runs]
    done = store.finished(keys)
    failed = store.failed(keys)
    todo = [r for r in spec.runs if r.key not in done and (args.retry_failed or r.key not in failed)]
    for k in done:
        tally.status[k] = "stored"
    for k, f in failed.items():
        if k not in done and not args.retry_failed:
            tally.status[k], tally.failure[k] = "failed", f["reason"]
    return todo, done


def _compute(spec: Any, todo: list[Any], executor: Any, store: Any, tally: Tally, err: Any) -> None:
    """Run `todo` on the executor with a progress bar, storing each run (or its failure) as it finishes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mamltheory.sweep.executors import Task

    by_key = {r.key: r for r in spec.runs}
    with Progress(TextColumn(f"sweep {spec.name}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=not err.is_terminal) as prog:
        bar = prog.add_task("runs", total=len(spec.runs), completed=len(spec.runs) - len(todo))

        def on_done(out: Any) -> None:
            cfg = by_key[out.key].config
            t0 = time.perf_counter()
            if out.result_json is not None:
                store.put_run(out.key, cfg.key_dict(), out.result_json)
                tally.status[out.key] = "computed"
                tally.final[out.key] = out.final
                tally.worker_seconds += out.worker_seconds
                tally.run_seconds += out.run_seconds
            else:
                store.put_failure(out.key, cfg.key_dict(), out.failure, out.attempts)
                tally.status[out.key], tally.failure[out.key] = "failed", out.failure
            tally.store_seconds += time.perf_counter() - t0
            prog.advance(bar)

        try:
            if todo:
                executor.run([Task(r.key, {**r.config.key_dict(), "hessian_chunk": r.config.hessian_chunk})
                              for r in todo], on_done)
        finally:
            executor.close()


def run(args: argparse.Namespace) -> int:
    """Validate everything, then compute what is missing; exit 1 if any run failed."""
    from rich.console import Console

    from mamltheory.store import ResultStore
    from mamltheory.sweep.worker import final_stats

    executor, spec = _prepare(args)
    err = Console(stderr=True)
    tally = Tally()
    t_start = time.perf_counter()
    with ResultStore(args.store) as store:
        todo, done = _pending(args, spec, store, tally)
        err.print(f"sweep [bold]{spec.name}[/bold]: {len(spec.runs)} runs"
                  + (f" ({spec.duplicates} duplicate configurations merged)" if spec.duplicates else "")
                  + f", {len(done)} already stored, {len(tally.failure)} recorded as failed"
                  + (" (--retry-failed runs them again)" if tally.failure else "")
                  + f", {len(todo)} to compute on {executor.description}")
        _compute(spec, todo, executor, store, tally, err)
        for k in done:
            got = store.get(k)
            if got is not None:
                tally.final[k] = final_stats(got)
    wall = time.perf_counter() - t_start
    rows = _rows(spec, tally)
    out = Console(stderr=True) if args.json else Console()
    if not out.is_terminal:
        out.width = 160  # piped or logged: rich's default 80 columns would truncate the table
    _print_summary(out, spec, rows, tally, wall, args.store)
    if args.json:
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("stored", "computed", "failed")}
        payload = {"sweep": spec.name, "config": args.config, "store": args.store,
                   "executor": executor.description, "axes": spec.axes, "counts": counts,
                   "duplicates": spec.duplicates, "wall_seconds": wall, "store_seconds": tally.store_seconds,
                   "runs": rows}
        sys.stdout.write(json.dumps(payload) + "\n")
    return 1 if any(r["status"] == "failed" for r in rows) else 0


def _rows(spec: Any, tally: Tally) -> list[dict[str, Any]]:
    from mamltheory.sweep.config import flatten

    rows = []
    for r in spec.runs:
        flat = flatten(r.config.key_dict())

        rows.append({"index": r.index, "key": r.key, "config": r.config.key_dict(),
                     "axes": {a: flat.get(a) for a in spec.axes}, "status": tally.status.get(r.key, "missing"),
                     "final_grad_norm": tally.final.get(r.key),
                     "outside_theory": list(r.outside_theory), "failure": tally.failure.get(r.key)})
    return rows


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _print_summary(console: Any, spec: Any, rows: list[dict[str, Any]], tally: Tally, wall: float,
                   store_path: str, limit: int = 40) -> None:
    from rich.table import Table

    table = Table(title=f"sweep {spec.name}: final exact ‖∇F(w_K)‖ over the replicates that did not diverge")
    for col in ("#", *spec.axes, "status", "mean", "min", "max", "diverged", "outside theory"):
        table.add_column(col, justify="right" if col not in ("status", "outside theory") else "left")
    for row in rows[:limit]:
        f = row["final_grad_norm"] or {}
        div = f"{f['diverged']}/{f['replicates']}" if f else "—"
        mark = "yes" if row["outside_theory"] else ""
        status = row["status"] if not row["failure"] else f"failed: {row['failure']}"
        table.add_row(str(row["index"]), *(_fmt(v) for v in row["axes"].values()), status,
                      _fmt(f.get("mean")), _fmt(f.get("min")), _fmt(f.get("max")), div, mark)
    console.print(table)
    if len(rows) > limit:
        console.print(f"… {len(rows) - limit} more runs (all of them: --json, or "
                      f"mamltheory report --sweep {spec.name})")
    n = {s: sum(1 for r in rows if r["status"] == s) for s in ("stored", "computed", "failed")}
    outside = sum(1 for r in rows if r["outside_theory"])
    console.print(f"{len(rows)} runs: {n['computed']} computed, {n['stored']} loaded from the store, "
                  f"{n['failed']} failed" + (f"; {outside} outside the theory (--outside-theory)" if outside else ""))
    if n["computed"]:
        share = tally.store_seconds / tally.run_seconds if tally.run_seconds > 0 else 0.0
        console.print(f"wall {wall:.2f} s; run time in workers {tally.run_seconds:.2f} s; store writes "
                      f"{tally.store_seconds:.3f} s ({100 * share:.2f}% of run time); store {store_path}")
