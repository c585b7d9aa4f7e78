"""`mamltheory report --sweep NAME`: table, plot, outside-theory marks in the store and the report."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
from sweeputil import BASE, reference, write_config

from mamltheory.simulate import make_problem
from mamltheory.sweep.worker import CRASH_ENV


def test_report_marks_outside_theory_and_failures(tmp_path: Path, monkeypatch, run_cli) -> None:
    top = 1 / (10 * make_problem("quadratic", **BASE["params"]).constants.L)  # Theorem G.1's largest α
    outside = round(top * 1.5, 4)
    doc = {"name": "rep", "base": {**BASE, "algorithm": "fo-maml", "iterations": 20},
           "grid": {"alpha": [0.01, 0.02, outside], "seed": [0, 1]}}
    config = write_config(tmp_path / "rep.toml", doc)
    store = tmp_path / "rep.sqlite"
    # without the flag, nothing runs and nothing is written
    code, _, err = run_cli(["sweep", config, "--store", str(store)])
    assert code == 2 and "grid.alpha[2]" in err and not store.exists()

    monkeypatch.setenv(CRASH_ENV, "1")  # the seed-1 runs die: recorded as failed
    code, out, _ = run_cli(["sweep", config, "--store", str(store), "--outside-theory", "--max-attempts", "1",
                            "--json"])
    assert code == 1
    runs = json.loads(out)["runs"]
    assert [r["status"] for r in runs] == ["computed", "failed"] * 3
    con = sqlite3.connect(store)
    marks = dict(con.execute("SELECT key, outside_theory FROM sweep_runs WHERE sweep = 'rep'"))
    con.close()
    assert [json.loads(marks[r["key"]]) if marks[r["key"]] else [] for r in runs] == [r["outside_theory"] for r in runs]
    assert [bool(marks[r["key"]]) for r in runs] == [False, False, False, False, True, True]

    out = tmp_path / "reports"
    code, printed, _ = run_cli(["report", "--sweep", "rep", "--store", str(store), "--out", str(out)])
    assert code == 0 and printed.strip() == f"report written to {out / 'sweep-rep.md'}"
    md = (out / "sweep-rep.md").read_text()
    png = out / "sweep-rep.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Regenerate with: `mamltheory report --sweep rep --store {store} --out {out}`" in md
    assert "**6 runs: 3 done, 3 failed, 0 not run yet; 2 outside the theory (run with `--outside-theory`).**" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 6
    # the final mean in the table is the mean over replicates of the directly computed last ‖∇F‖
    first = reference(runs[0]["config"])
    expected = float(np.mean(first["grad_norm"][-1]))
    assert rows[0].startswith(f"| 0 | 0.01 | 0 | done | {expected:.4g} |")
    # one start more if it first died next to another run (which of the two was then unknown)
    assert re.match(r"\| 1 \| 0\.01 \| 1 \| failed after [12] attempt\(s\): worker process died once running it "
                    r"\(killed, out of memory, or exited\) \| — \| — \| — \| — \|  \|$", rows[1]), rows[1]
    assert f"| 4 | {outside} | 0 | done |" in rows[4] and f"α = {outside} outside Theorem G.1's range" in rows[4]
    assert "outside Theorem G.1" not in rows[2]


def test_report_unknown_sweep_is_one_line(tmp_path: Path, run_cli) -> None:
    store = tmp_path / "none.sqlite"
    code, _, err = run_cli(["report", "--sweep", "x", "--store", str(store)])
    assert code == 2 and err.startswith("mamltheory report: --store:") and len(err.splitlines()) == 1 and not store.exists()
