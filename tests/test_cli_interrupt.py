"""Ctrl-C: one line on stderr naming what was kept, exit 130, no traceback, the store intact.

Each command runs as a subprocess in its own process group; once it is working (its store exists, for a
sweep both workers have begun a run, plus a moment), SIGINT goes to the whole group, as a terminal's
Ctrl-C does (sweep workers receive it too).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mamltheory.sweep.worker import TRACE_ENV

ROOT = Path(__file__).resolve().parents[1]


def interrupt(args: list[str], cwd: Path, store: Path, settle: float = 0.5,
              working: Callable[[], bool] = lambda: True, env: dict[str, str] | None = None) -> tuple[int, str]:
    """SIGINT to the command's process group once its store exists and `working()` holds, plus `settle` s."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "mamltheory.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (store.exists() and working()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(settle)
    assert proc.poll() is None, f"finished before the interrupt: {proc.stderr.read()}"
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, err


def check(code: int, err: str, store: Path, command: str) -> None:
    assert code == 130, err
    # The command's own progress lines may precede it; the interrupt adds exactly one line, the last.
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert sum("interrupted" in line for line in lines) == 1, err
    assert lines[-1].startswith(f"mamltheory {command}: interrupted") and str(store) in lines[-1], err
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_simulate_interrupted(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    code, err = interrupt(["simulate", "--problem", "quadratic", "--algorithm", "maml", "--iterations", "2000000", "--replicates", "4",
                           "--store", str(store)], tmp_path, store)
    check(code, err, store, "simulate")
    assert "rerun the same command" in err


def test_sweep_interrupted_workers_quiet(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    runs = "\n".join(f"[[runs]]\nseed = {s}\n" for s in range(4))
    (tmp_path / "long.toml").write_text(
        'name = "long"\n[base]\nproblem = "quadratic"\nalgorithm = "fo-maml"\niterations = 2000000\n'
        f"replicates = 2\n{runs}", encoding="utf-8")
    trace = tmp_path / "trace"  # each worker appends "start KEY PID" as it begins a run

    def both_workers_running() -> bool:
        lines = trace.read_text().splitlines() if trace.exists() else []
        return len({line.split()[2] for line in lines if line.startswith("start ")}) == 2

    code, err = interrupt(["sweep", "long.toml", "--workers", "2", "--store", str(store)], tmp_path, store,
                          working=both_workers_running, env={TRACE_ENV: str(trace)})
    check(code, err, store, "sweep")
    assert "finished runs are kept" in err


@pytest.mark.parametrize("command", [["verify", "--only", "lemma"], ["report"]])
def test_verify_and_report_interrupted(tmp_path: Path, command: list[str]) -> None:
    store = tmp_path / "s.sqlite"
    code, err = interrupt([*command, "--store", str(store)], tmp_path, store)
    check(code, err, store, command[0])
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.md"))
