"""Fault tolerance: SIGKILL a sweep mid-way and resume it; two sweeps writing one store at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sweeputil import BASE, numbers, reference, stored, write_config

from mamltheory.sweep.worker import TRACE_ENV

# 24 runs, in grid order: 12 short ones (25 iterations, ~0.02 s each), then 12 long ones (200
# iterations, ~0.15 s each). A kill once 12 are stored leaves the 12 long ones, about 6 × 0.15 s of
# work on 2 workers: a window that a faster machine narrows but does not close, and that costs a
# slower one nothing (the kill waits for the count, not for a time).
DOC = {"name": "resume", "base": {**BASE, "record": "every"},
       "grid": {"iterations": [25, 200], "algorithm": ["fo-maml", "hf-maml"], "alpha": [0.01, 0.02],
                "seed": [0, 1, 2]}}


def sweep_cmd(config: str, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mamltheory.cli", "sweep", config, "--store", str(store), "--workers", "2", *extra]


def count_runs(store: Path) -> int:
    if not store.exists():
        return 0
    con = sqlite3.connect(store, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the table is being created
        return 0
    finally:
        con.close()


def traced(path: Path, event: str) -> Counter[str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line.split()[1] for line in lines if line.split()[0] == event)


def traced_pids(path: Path) -> set[int]:
    """The worker processes that traced a computation ("start KEY PID" lines)."""
    lines = path.read_text().splitlines() if path.exists() else []
    return {int(line.split()[2]) for line in lines}


def wait_gone(pids: set[int], timeout: float) -> None:
    """Wait until none of these processes runs any more (gone, or a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = set()
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue  # gone
            if state != "Z":
                alive.add(pid)
        if not alive:
            return
        assert time.monotonic() < deadline, f"orphaned workers {sorted(alive)} still running after {timeout} s"
        time.sleep(0.05)


@pytest.mark.parametrize("kill_after", [0, 12])  # stored runs at the kill: none yet (just registered), half
def test_sigkill_midway_then_resume_loses_nothing_and_recomputes_only_unfinished(tmp_path: Path,
                                                                                  kill_after: int) -> None:
    config = write_config(tmp_path / "resume.toml", DOC)
    store = tmp_path / "r.sqlite"
    trace1, trace2 = tmp_path / "trace1", tmp_path / "trace2"
    proc = subprocess.Popen(sweep_cmd(config, store), env={**os.environ, TRACE_ENV: str(trace1)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (store.exists() and count_runs(store) >= kill_after) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    first = stored(store)
    assert kill_after <= len(first) < 24
    # The killed sweep's orphaned workers notice their parent is gone and exit (0.5 s watchdog);
    # whatever they were computing is never stored (only the parent writes). Wait for them to go.
    wait_gone(traced_pids(trace1), timeout=60)
    started_1 = traced(trace1, "start")

    done = subprocess.run(sweep_cmd(config, store, "--json"), env={**os.environ, TRACE_ENV: str(trace2)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    final = stored(store)
    keys = {r["key"] for r in out["runs"]}
    assert len(keys) == 24 and set(final) == keys  # no run lost
    assert stored(store).keys() == final.keys() and count_runs(store) == 24  # one row per run
    started_2 = traced(trace2, "start")
    # none computed twice: the restart computed exactly the runs not stored before, each once
    assert set(started_2) == keys - set(first) and set(started_2.values()) == {1}
    assert set(first) <= set(started_1)
    assert {r["key"]: r["status"] for r in out["runs"]} == {k: "stored" if k in first else "computed" for k in keys}
    # none partial: every stored run, from either invocation, is the complete run computed directly
    for key, (config_, result) in final.items():
        assert first.get(key, (config_, result))[1] == result  # the first invocation's rows are untouched
        assert numbers(result) == numbers(reference(config_))


def test_two_sweeps_on_one_store_at_once(tmp_path: Path) -> None:
    # Overlapping grids (seeds 0-3 and 2-5) started together on one store.
    store = tmp_path / "shared.sqlite"
    grid = {"algorithm": ["fo-maml", "hf-maml"], "alpha": [0.01, 0.02]}
    base = {**BASE, "iterations": 100, "record": "every"}
    a = write_config(tmp_path / "a.toml", {"name": "a", "base": base, "grid": {**grid, "seed": [0, 1, 2, 3]}})
    b = write_config(tmp_path / "b.toml", {"name": "b", "base": base, "grid": {**grid, "seed": [2, 3, 4, 5]}})
    procs = [subprocess.Popen(sweep_cmd(c, store, "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    runs = [json.loads(o[0])["runs"] for o in outs]
    keys = {r["key"] for rs in runs for r in rs}
    assert len(keys) == 24 and all(len(rs) == 16 for rs in runs)
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    members = dict(con.execute("SELECT sweep, COUNT(*) FROM sweep_runs GROUP BY sweep"))
    con.close()
    assert members == {"a": 16, "b": 16}
    final = stored(store)
    assert set(final) == keys
    for config_, result in final.values():
        assert numbers(result) == numbers(reference(config_))


def test_stores_opened_at_the_same_instant(tmp_path: Path) -> None:
    # Regression: switching a fresh file to WAL failed at once with "database is locked" when another
    # connection opened it at the same moment (about 1 in 10 here without the retry).
    from mamltheory.store import ResultStore

    errors: list[str] = []
    for i in range(150):
        path = tmp_path / f"{i}.sqlite"
        barrier = threading.Barrier(4)

        def open_and_write(n: int, path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                with ResultStore(path) as s:
                    s.put_run(f"k{n}", {"n": n}, {"n": n})
            except Exception as err:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(err))

        threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(stored(path)) == 4
