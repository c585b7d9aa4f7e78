"""Result store and the `simulate` command: caching, atomic writes, input errors, JSON contract."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mamltheory
from mamltheory.simulate import make_problem, runner
from mamltheory.store import ResultStore, config_key

QUICK = ["simulate", "--problem", "quadratic", "--param", "d=3", "--param", "n_tasks=4",
         "--param", "pool_size=20", "--iterations", "5", "--replicates", "2", "--seed", "3"]


def test_json_contract_and_planner_defaults(tmp_path: Path, run_cli) -> None:
    from mamltheory.bounds.planner import plan_kshot

    store = str(tmp_path / "r.sqlite")
    code, out, _ = run_cli(QUICK + ["--algorithm", "hf-maml", "--json", "--store", store])
    assert code == 0
    obj = json.loads(out)  # stdout is exactly one JSON object
    assert obj["problem"] == "quadratic" and obj["algorithm"] == "hf-maml"
    assert obj["k"] == list(range(6))
    assert len(obj["grad_norm"]) == 6 and all(len(row) == 2 for row in obj["grad_norm"])
    assert obj["diverged"] == []
    p = make_problem("quadratic", d=3, n_tasks=4, pool_size=20)
    plan = plan_kshot("hf-maml", p.constants, K=10)
    cfg = obj["config"]
    assert (cfg["B"], cfg["D_in"], cfg["D_o"], cfg["D_h"]) == tuple(plan.batch[k] for k in ("B", "D_in", "D_o", "D_h"))
    assert (cfg["B_prime"], cfg["D_beta"], cfg["step_divisor"]) == (plan.batch["B_prime"], plan.batch["D_beta"], 25)
    # δ of repaired H.1 (default theory): the plan's, which tests/test_api.py derives by hand from (δ′)
    assert cfg["alpha"] == plan.alpha and cfg["delta"] == pytest.approx(plan.delta, rel=1e-12)
    assert "planner" in obj["sources"]["batch"]
    # grad_norm[0] is the exact ‖∇F(w_0)‖
    assert obj["grad_norm"][0][0] == np.linalg.norm(p.meta_gradient(p.initial_point(), cfg["alpha"]))


def test_repeated_command_does_no_work(tmp_path: Path, run_cli, monkeypatch) -> None:
    store = str(tmp_path / "r.sqlite")
    argv = QUICK + ["--algorithm", "maml", "--json", "--store", store, "--batch", "3,2,2,2", "--step", "0.01"]
    code, first, _ = run_cli(argv)
    assert code == 0 and json.loads(first)["cached"] is False

    def boom(*a, **k):
        raise AssertionError("a stored run was recomputed")

    monkeypatch.setattr(runner, "run", boom)
    import mamltheory.simulate.cached as cached
    monkeypatch.setattr(cached, "run", boom)
    code, second, err = run_cli(argv)
    a, b = json.loads(first), json.loads(second)
    assert code == 0 and b["cached"] is True and "not recomputed" in err
    assert a["grad_norm"] == b["grad_norm"] and a["key"] == b["key"]
    with ResultStore(store) as s:
        assert len(s.keys()) == 1


def test_key_covers_configuration_and_code(monkeypatch) -> None:
    import mamltheory.store as store

    base = {"a": 1, "b": 0.1}
    k = config_key(base)
    assert config_key({"b": 0.1, "a": 1}) == k  # order-free
    assert config_key({"a": 1, "b": 0.1000000001}) != k
    assert config_key(base, kind="verify") != k
    monkeypatch.setattr(mamltheory, "__version__", "9.9.9")
    assert config_key(base) == k  # the version string is not the code
    monkeypatch.setattr(store, "code_hash", lambda kind: "0" * 64)
    assert config_key(base) != k


def test_killed_run_leaves_nothing_partial(tmp_path: Path) -> None:
    store = tmp_path / "kill.sqlite"
    argv = [sys.executable, "-m", "mamltheory.cli", "simulate", "--problem", "tanh-regression", "--algorithm",
            "maml", "--iterations", "100000", "--replicates", "4", "--batch", "20,10,10,10", "--step", "0.01",
            "--store", str(store)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not store.exists() and proc.poll() is None and time.time() < deadline:  # the store is opened before the run starts
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the run
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    con.close()
    with ResultStore(store) as s:  # and the store still works
        s.put("k", {"x": 1}, {"y": [1.0]})
        assert s.get("k") == {"y": [1.0]}


@pytest.mark.parametrize("extra,needle", [
    (["--problem", "nope"], "problem: must be one of"),
    (["--alpha", "-1"], "--alpha: must be a positive finite number"),
    (["--alpha", "nan"], "--alpha: must be a positive finite number"),
    (["--alpha", "1"], "--alpha: must lie in (0, 1/L]"),
    (["--iterations", "0"], "--iterations: must be an integer >= 1"),
    (["--replicates", "x"], "--replicates: must be an integer >= 1"),
    (["--seed", "-2"], "--seed: must be an integer in [0, 4294967295]"),
    (["--batch", "3,2,2"], "--batch: must be 4 comma-separated integers"),
    (["--batch", "3,0,2,2"], "--batch D_in: must be an integer >= 1"),
    (["--step", "-0.1"], "--step: must be a positive finite number"),
    (["--step", "inf"], "--step: must be a positive finite number"),
    (["--param", "d"], "--param: must be KEY=VALUE"),
    (["--param", "zz=1"], "'zz': not a parameter of 'quadratic'"),
    (["--param", "noise=-1"], "noise: must be >= 0"),
    (["--param", "d=nan"], "d: must be an integer"),
    (["--param", "pool_size=inf"], "pool_size: must be an integer"),
    (["--delta", "0"], "--delta: must be a positive finite number"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, run_cli, extra: list[str], needle: str) -> None:
    argv = QUICK + ["--algorithm", "hf-maml", "--store", str(tmp_path / "s.sqlite")]
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in argv and flag != "--param":
            i = argv.index(flag)
            argv = argv[:i] + argv[i + 2:]
    code, out, err = run_cli(argv + extra)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "s.sqlite").exists() or ResultStore(tmp_path / "s.sqlite").keys() == []
