"""Executors: bit-for-bit results whatever ran them (1 or 2 local workers, a Dask LocalCluster), worker deaths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sweeputil import BASE, numbers, reference, stored, write_config

from mamltheory.sweep.config import load_sweep
from mamltheory.sweep.executors import LocalExecutor, Outcome, Task
from mamltheory.sweep.worker import CRASH_ENV

GRID = {"name": "exec", "base": {**BASE, "iterations": 30},
        "grid": {"algorithm": ["maml", "fo-maml", "hf-maml", "maml-hvp"], "alpha": [0.01, 0.02], "seed": [0, 1]}}


def tasks_of(tmp_path: Path, doc: dict) -> list[Task]:
    spec = load_sweep(write_config(tmp_path / "exec.toml", doc))
    return [Task(r.key, {**r.config.key_dict(), "hessian_chunk": None}) for r in spec.runs]


def collect(executor: LocalExecutor, tasks: list[Task]) -> dict[str, Outcome]:
    got: dict[str, Outcome] = {}
    executor.run(tasks, lambda o: got.__setitem__(o.key, o))
    return got


def test_local_pool_matches_direct_runs_bit_for_bit(tmp_path: Path) -> None:
    tasks = tasks_of(tmp_path, GRID)
    one = collect(LocalExecutor(1), tasks)
    two = collect(LocalExecutor(2), tasks)
    assert set(one) == set(two) == {t.key for t in tasks}
    for t in tasks:
        expected = numbers(reference(t.config))  # the runner in this process, no executor
        assert numbers(one[t.key].result) == expected  # JSON floats: equal means equal bits
        assert numbers(two[t.key].result) == expected
        assert one[t.key].failure is None and one[t.key].attempts == 1


def test_dask_local_cluster_gives_the_local_results(tmp_path: Path, run_cli, monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    import dask

    doc = {**GRID, "grid": {**GRID["grid"], "seed": [3]}}
    config = write_config(tmp_path / "exec.toml", doc)
    local_store, dask_store = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    assert run_cli(["sweep", config, "--store", str(local_store), "--workers", "2"])[0] == 0
    # The workers inherit the crash hook (seed 1 only, absent from the first sweep); the scheduler
    # gives up on a task after one worker death.
    monkeypatch.setenv(CRASH_ENV, "1")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                     worker_dashboard_address=None) as cluster:
        code, out, _ = run_cli(["sweep", config, "--store", str(dask_store), "--scheduler", cluster.scheduler_address,
                                "--json"])
        assert code == 0
        obj = json.loads(out)
        assert obj["executor"].startswith("Dask cluster at tcp://") and obj["counts"]["computed"] == 8
        local, remote = stored(local_store), stored(dask_store)
        assert set(local) == set(remote) and len(local) == 8
        for key in local:
            assert local[key][0] == remote[key][0]
            assert numbers(local[key][1]) == numbers(remote[key][1])
        # a run whose worker dies is recorded as failed with the reason; the others are stored
        crash = write_config(tmp_path / "crash.toml", {**GRID, "name": "crash",
                                                        "grid": {"algorithm": ["fo-maml"], "alpha": [0.01],
                                                                 "seed": [0, 1]}})
        code, out, _ = run_cli(["sweep", crash, "--store", str(dask_store), "--scheduler", cluster.scheduler_address,
                                "--json"])
        assert code == 1
        runs = json.loads(out)["runs"]
    assert [r["status"] for r in runs] == ["computed", "failed"]
    assert runs[1]["failure"] == "worker process died once running it (the Dask scheduler's allowed-failures = 0)"


def test_dead_worker_is_retried_then_recorded_as_failed(tmp_path: Path, monkeypatch) -> None:
    tasks = tasks_of(tmp_path, {**GRID, "grid": {"algorithm": ["fo-maml"], "alpha": [0.01], "seed": [0, 1, 2, 3]}})
    monkeypatch.setenv(CRASH_ENV, "2")  # the run with seed 2 kills its worker process on every attempt
    got = collect(LocalExecutor(2, max_attempts=3), tasks)
    bad = next(t for t in tasks if t.config["seed"] == 2)
    # three deaths while it ran alone; one more start if it first died next to another run
    assert got[bad.key].result is None and got[bad.key].attempts in (3, 4)
    assert got[bad.key].failure == "worker process died 3 times running it (killed, out of memory, or exited)"
    for t in tasks:
        if t is not bad:  # the other runs, in flight with it or not, are unaffected
            assert numbers(got[t.key].result) == numbers(reference(t.config))


def test_worker_death_once_is_retried_with_identical_result(tmp_path: Path, monkeypatch) -> None:
    tasks = tasks_of(tmp_path, {**GRID, "grid": {"algorithm": ["hf-maml"], "alpha": [0.01], "seed": [0, 1]}})
    marks = tmp_path / "deaths"
    marks.mkdir()
    monkeypatch.setenv(CRASH_ENV, f"1:1:{marks}")  # seed 1 dies the first time only
    got = collect(LocalExecutor(2), tasks)
    assert len(list(marks.iterdir())) == 1
    again = next(t for t in tasks if t.config["seed"] == 1)
    assert got[again.key].attempts == 2 and got[again.key].failure is None
    assert numbers(got[again.key].result) == numbers(reference(again.config))


def test_failed_run_in_store_exit_1_and_skipped_until_retry(tmp_path: Path, monkeypatch, run_cli) -> None:
    doc = {**GRID, "grid": {"algorithm": ["fo-maml"], "alpha": [0.01], "seed": [0, 1]}}
    config = write_config(tmp_path / "f.toml", doc)
    store = tmp_path / "f.sqlite"
    monkeypatch.setenv(CRASH_ENV, "1")
    code, out, _ = run_cli(["sweep", config, "--store", str(store), "--workers", "2", "--max-attempts", "2", "--json"])
    assert code == 1
    obj = json.loads(out)
    assert [r["status"] for r in obj["runs"]] == ["computed", "failed"]
    assert obj["runs"][1]["failure"] == "worker process died 2 times running it (killed, out of memory, or exited)"
    assert len(stored(store)) == 1
    # a second invocation does not recompute the failed run (nor the stored one) ...
    code, out, _ = run_cli(["sweep", config, "--store", str(store), "--json"])
    assert code == 1
    obj = json.loads(out)
    assert [r["status"] for r in obj["runs"]] == ["stored", "failed"]
    # ... until asked to; once it succeeds its failure record is gone
    monkeypatch.delenv(CRASH_ENV)
    code, out, _ = run_cli(["sweep", config, "--store", str(store), "--retry-failed", "--json"])
    assert code == 0
    obj = json.loads(out)
    assert [r["status"] for r in obj["runs"]] == ["stored", "computed"] and obj["runs"][1]["failure"] is None
    assert len(stored(store)) == 2


def test_divergence_is_an_outcome_not_a_failure(tmp_path: Path, run_cli) -> None:
    # A constant step far above 1/L blows the iterates up: every replicate diverges, the run is stored.
    doc = {"name": "div", "base": {**BASE, "algorithm": "fo-maml", "alpha": 0.01, "step": 1e6, "iterations": 100}}
    doc["runs"] = [{"seed": 0}]
    config = write_config(tmp_path / "div.toml", doc)
    code, out, _ = run_cli(["sweep", config, "--store", str(tmp_path / "d.sqlite"), "--outside-theory", "--json"])
    assert code == 0
    run = json.loads(out)["runs"][0]
    assert run["status"] == "computed" and run["failure"] is None
    assert run["final_grad_norm"]["diverged"] == 2 and run["final_grad_norm"]["mean"] is None
    # w_k overflows at k = 51; F(w_k) ~ ‖w_k‖² overflows at about half that exponent, k = 26,
    # while w_k is still finite: that is where the replicate diverges.
    assert numbers(stored(tmp_path / "d.sqlite")[run["key"]][1])["divergence"] == [{"replicate": 0, "k": 26},
                                                                                   {"replicate": 1, "k": 26}]
    assert run["outside_theory"] == ["constant step β = 1000000.0: Theorem G.1 takes β_k = β̃(w_k)/18 (eq. (26))"]
