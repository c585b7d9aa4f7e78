"""Sweep config: expansion, shared store keys with `simulate`, and file:line: key: rule errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sweeputil import BASE, PARAMS, write_config

from mamltheory.errors import InputError
from mamltheory.simulate import make_problem
from mamltheory.sweep.config import KeyLines, load_sweep

SIM = ["simulate", "--problem", "quadratic", *(a for k, v in PARAMS.items() for a in ("--param", f"{k}={v}")),
       "--iterations", "10", "--replicates", "2"]


def simulate_key(run_cli, store: Path, *extra: str) -> str:
    """The store key `mamltheory simulate` reports for the same run (it runs it: a few ms)."""
    code, out, err = run_cli([*SIM, *extra, "--store", str(store), "--json"])
    assert code == 0, err
    return json.loads(out)["key"]


def test_grid_and_runs_expand_in_order_with_simulate_keys(tmp_path: Path, run_cli) -> None:
    doc = {"name": "g", "base": dict(BASE),
           "grid": {"algorithm": ["fo-maml", "hf-maml"], "alpha": [0.01, 0.02], "seed": [0, 1]},
           "runs": [{"algorithm": "maml", "alpha": 0.015, "seed": 4}]}
    spec = load_sweep(write_config(tmp_path / "g.toml", doc))
    assert len(spec.runs) == 2 * 2 * 2 + 1 and spec.duplicates == 0
    # itertools.product order over the axes as written, explicit runs after the grid
    got = [(r.config.algorithm, r.config.alpha, r.config.seed) for r in spec.runs]
    assert got[:3] == [("fo-maml", 0.01, 0), ("fo-maml", 0.01, 1), ("fo-maml", 0.02, 0)]
    assert got[-1] == ("maml", 0.015, 4) and spec.runs[-1].origin == "runs[0]"
    assert spec.axes == ["algorithm", "alpha", "seed"]
    # a sweep run and the equivalent simulate command share one store key (and so one stored result)
    store = tmp_path / "sim.sqlite"
    batch = ["--batch", "4,5,5,2", "--step-batch", "2,3"]
    assert spec.runs[0].key == simulate_key(run_cli, store, "--algorithm", "fo-maml", "--alpha", "0.01", *batch)
    assert spec.runs[7].key == simulate_key(run_cli, store, "--algorithm", "hf-maml", "--alpha", "0.02",
                                            "--seed", "1", *batch)
    assert spec.runs[8].key == simulate_key(run_cli, store, "--algorithm", "maml", "--alpha", "0.015",
                                            "--seed", "4", *batch)


def test_planner_defaults_as_in_simulate(tmp_path: Path, run_cli) -> None:
    base = {k: v for k, v in BASE.items() if k not in ("batch", "step_batch")}
    doc = {"name": "p", "base": base, "grid": {"algorithm": ["fo-maml", "hf-maml"], "k_shot": [5, 10]}}
    spec = load_sweep(write_config(tmp_path / "p.toml", doc))
    assert len(spec.runs) == 4
    store = tmp_path / "sim.sqlite"
    assert spec.runs[0].key == simulate_key(run_cli, store, "--algorithm", "fo-maml", "--k-shot", "5")
    assert spec.runs[3].key == simulate_key(run_cli, store, "--algorithm", "hf-maml")
    assert spec.runs[3].config.D_in == spec.runs[3].config.D_o == 10  # the K-shot plan: D_in = D_o = K


def test_identical_configurations_are_merged(tmp_path: Path) -> None:
    # FO-MAML draws no D_h batch (D_h is set to 0), so the two batch values give one configuration.
    doc = {"name": "d", "base": {**BASE, "algorithm": "fo-maml", "alpha": 0.01},
           "grid": {"batch": [[4, 5, 5, 2], [4, 5, 5, 7]], "seed": [0, 1]}}
    spec = load_sweep(write_config(tmp_path / "d.toml", doc))
    assert len(spec.runs) == 2 and spec.duplicates == 2
    assert [r.config.D_h for r in spec.runs] == [0, 0]


CONFIG = """\
name = "lines"
[base]
problem = "quadratic"
params = { d = 3, n_tasks = 4, pool_size = 20 }
iterations = 10
batch = [4, 5, 5, 2]
step_batch = [2, 3]

[grid]
algorithm = ["fo-maml"]
alpha = [
  0.01,
  0.02,
]
seed = [0, 1]

[[runs]]
algorithm = "maml"
alpha = 0.01

[[runs]]
algorithm = "hf-maml"
params = { noise = 0.2 }
"""


def test_key_lines() -> None:
    lines = KeyLines(CONFIG).lines
    assert lines[("base", "params", "n_tasks")] == 4
    assert lines[("grid", "alpha")] == 11 and lines[("grid", "seed")] == 15  # after a multi-line array
    assert lines[("runs", 0, "alpha")] == 19 and lines[("runs", 1)] == 21
    assert lines[("runs", 1, "params", "noise")] == 23


def _bad(tmp_path: Path, old: str, new: str) -> str:
    assert old in CONFIG
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        load_sweep(str(path))
    return str(err.value).replace(str(path), "bad.toml")


@pytest.mark.parametrize("old,new,expected", [
    ("seed = [0, 1]", "sed = [0, 1]", "bad.toml:15: grid.sed: unknown key (allowed: problem, params,"),
    ("  0.02,", "  \"0.02\",", "bad.toml:11: grid.alpha[1]: must be a number, got a string"),
    ("seed = [0, 1]", "seed = []", "bad.toml:15: grid.seed: must be a non-empty array of values"),
    ("seed = [0, 1]", "seed = [0, -1]", "bad.toml:15: grid.seed[1]: must be an integer in [0, 4294967295], got -1"),
    ("seed = [0, 1]", "seed = [0, 1.5]", "bad.toml:15: grid.seed[1]: must be an integer, got a float 1.5"),
    ("iterations = 10", "iterations = 0", "bad.toml:5: base.iterations: must be an integer >= 1, got 0"),
    ("batch = [4, 5, 5, 2]", "batch = [4, 0, 5, 2]", "bad.toml:6: base.batch: D_in: must be an integer >= 1, got 0"),
    ("batch = [4, 5, 5, 2]", "batch = [4, 5, 5]", "bad.toml:6: base.batch: must be an array of 4 integers"),
    ("alpha = 0.01\n", "alpha = nan\n", "bad.toml:19: runs[0].alpha: must be a positive finite number, got nan"),
    ("alpha = 0.01\n", "alpha = -inf\n", "bad.toml:19: runs[0].alpha: must be a positive finite number, got -inf"),
    ("alpha = 0.01\n", "alpha = true\n", "bad.toml:19: runs[0].alpha: must be a number, got a boolean"),
    ("params = { noise = 0.2 }", "params = { noise = -0.2 }",
     "bad.toml:23: runs[1].params.noise: must be >= 0 for problem 'quadratic', got -0.2"),
    ("params = { noise = 0.2 }", "params = { nois = 0.2 }", "bad.toml:23: runs[1].params.nois: not a parameter"),
    ("params = { d = 3,", "params = { d = 2.5,", "bad.toml:4: base.params.d: must be an integer"),
    ("params = { d = 3,", "params = { d = inf,", "bad.toml:4: base.params.d: must be finite, got inf"),
    ('algorithm = "hf-maml"', 'algorithm = "reptile"', "bad.toml:22: runs[1].algorithm: must be one of maml,"),
    ('algorithm = "hf-maml"\n', "\n", "bad.toml:21: runs[1].algorithm: required"),
    ('problem = "quadratic"', 'problem = "sine"', "bad.toml:3: base.problem: must be one of"),
    ('name = "lines"', 'name = "two words"', "bad.toml:1: name: must be 1-64 characters"),
    ('name = "lines"', 'name = "x"\ncolour = 1', "bad.toml:2: colour: unknown key (allowed: name, description,"),
    ("iterations = 10", "iterations = 10\nstep = 0.1",
     "bad.toml:6: base.step: a constant step is outside Theorem G.1 (β_k = β̃(w_k)/18, eq. (26)); "
     "pass --outside-theory"),
    ("iterations = 10", "iterations = 10\nstep = \"theory\"",
     "bad.toml:6: base.step: 'theory' is now spelled 'theorem' (the theorem's rule); give 'theorem' or a positive "
     "number"),
    ("iterations = 10", "iterations = 10\ndelta = \"theorem\"\nstep = \"rule\"",
     "bad.toml:7: base.step: must be 'theorem' or a positive finite number, got 'rule'"),
    ("iterations = 10", "iterations = ", "bad.toml: not valid TOML: Invalid value (at line 5, column 14)"),
])
def test_error_names_line_key_and_rule(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert _bad(tmp_path, old, new).startswith(expected)


def test_alpha_outside_the_theorem_range(tmp_path: Path) -> None:
    L = make_problem("quadratic", **PARAMS).constants.L
    top = 1 / (10 * L)  # Theorem G.1: α ∈ (0, 1/(10L)]
    msg = _bad(tmp_path, "  0.02,", f"  {top * 1.01!r},")
    assert msg.startswith(f"bad.toml:11: grid.alpha[1]: α must lie in (0, 1/(10L)] = (0, {top:.6g}] for "
                          f"Theorem G.1, got {top * 1.01!r}")
    assert "pass --outside-theory" in msg and "(run algorithm='fo-maml'" in msg
    # with --outside-theory the run is kept and says why it lies outside
    path = tmp_path / "outside.toml"
    path.write_text(CONFIG.replace("  0.02,", f"  {top * 1.01!r},"))
    spec = load_sweep(str(path), outside_theory=True)
    marked = [r for r in spec.runs if r.outside_theory]
    assert [(r.config.alpha, r.config.seed) for r in marked] == [(top * 1.01, 0), (top * 1.01, 1)]
    assert marked[0].outside_theory[0].startswith(f"α = {top * 1.01!r} outside Theorem G.1's range")


def test_empty_or_missing_grid(tmp_path: Path) -> None:
    for text, expected in [('name = "e"\n[grid]\n', "e.toml:2: grid: empty grid"),
                           ('name = "e"\n[base]\nseed = 1\n', "e.toml: config: no runs"),
                           ('name = "e"\nruns = []\n', "e.toml:2: runs: must be a non-empty array of tables"),
                           ('name = "e"\n[grid]\nparams = {}\n', "e.toml:3: grid.params: must be a non-empty table")]:
        path = tmp_path / "e.toml"
        path.write_text(text)
        with pytest.raises(InputError) as err:
            load_sweep(str(path))
        assert str(err.value).replace(str(path), "e.toml").startswith(expected)
