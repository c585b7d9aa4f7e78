"""`mamltheory estimate` and `plan --from-estimate`: JSON, labels, the docs' walk-through, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds import planner

OWN_PROBLEM = Path(__file__).resolve().parents[2] / "docs" / "your-own-problem.md"


@pytest.fixture(scope="module")
def estimate_file(tmp_path_factory, run_cli) -> Path:
    path = tmp_path_factory.mktemp("est") / "e.json"
    code, _, err = run_cli(["estimate", "--problem", "tanh-regression", "--param", "d=6", "--param", "n_tasks=8",
                            "--points", "4", "--out", str(path), "--json"])
    assert code == 0, err
    return path


def test_estimate_json_and_plan_from_it(estimate_file: Path, run_cli) -> None:
    obj = json.loads(estimate_file.read_text())
    assert obj["kind"] == "mamltheory-estimate" and obj["points"] == 4
    assert "not a certificate" in obj["statement"]
    code, out, _ = run_cli(["plan", "--from-estimate", str(estimate_file), "--eps", "0.1",
                            "--algorithm", "maml", "--json"])
    assert code == 0
    plan = json.loads(out)
    assert plan["constants_source"]["kind"] == "estimate" and plan["constants_source"]["points"] == 4
    assert "sampled estimates" in plan["notes"][0] and "not certificates" in plan["notes"][0]
    # the plan is the planner's on the estimated constants, with Δ = f(w_0) (losses are nonnegative)
    same = planner.plan("maml", ProblemConstants(**obj["constants"]), 0.1, obj["f_w0"])
    assert plan["batch"] == same.batch and plan["iterations"] == same.iterations
    assert obj["initial_gap_bound"] == obj["f_w0"]


def test_flags_override_the_estimate(estimate_file: Path, run_cli) -> None:
    obj = json.loads(estimate_file.read_text())
    code, out, _ = run_cli(["plan", "--from-estimate", str(estimate_file), "--eps", "0.1",
                            "--initial-gap", "3", "--rho", "2", "--algorithm", "hf-maml", "--json"])
    assert code == 0
    plan = json.loads(out)
    assert plan["constants_source"]["overridden"] == ["rho"] and "--rho" in plan["notes"][0]
    c = ProblemConstants(**{**obj["constants"], "rho": 2.0})
    assert plan["batch"] == planner.plan("hf-maml", c, 0.1, 3.0).batch
    assert not any("Δ = f(w_0)" in n for n in plan["notes"])  # Δ was given


def test_text_output_labels_estimates(estimate_file: Path, run_cli) -> None:
    code, out, _ = run_cli(["plan", "--from-estimate", str(estimate_file), "--eps", "0.1"])
    assert code == 0 and "sampled estimates" in out and "not certificates" in out


def _readme_problem() -> str:
    text = OWN_PROBLEM.read_text(encoding="utf-8")
    return re.search(r"```python file=myproblem.py\n(.*?)```", text, re.S).group(1)


def test_readme_walkthrough_runs(tmp_path: Path, run_cli) -> None:
    """docs/your-own-problem.md's problem file, then its two commands."""
    (tmp_path / "myproblem.py").write_text(_readme_problem())
    out_json = tmp_path / "my-estimate.json"
    code, out, err = run_cli(["estimate", "--problem", f"{tmp_path / 'myproblem.py'}:make_problem",
                              "--points", "4", "--out", str(out_json)])
    assert code == 0, err
    assert "lower estimate" in out and out_json.exists()
    est = json.loads(out_json.read_text())
    assert est["problem"]["hvp"] == "central differences of the gradient"
    assert all(v > 0 for v in est["constants"].values())
    code, out, err = run_cli(["plan", "--from-estimate", str(out_json), "--eps", "0.1", "--json"])
    assert code == 0, err
    assert all(p["constants_source"]["kind"] == "estimate" for p in json.loads(out))


BAD = [
    (["estimate", "--problem", "nope"], "problem: must be one of"),
    (["estimate", "--problem", "quadratic", "--points", "1"], "--points: must be an integer in [2, 1000000]"),
    (["estimate", "--problem", "quadratic", "--points", "x"], "--points: must be an integer"),
    (["estimate", "--problem", "quadratic", "--alpha", "-1"], "--alpha: must be a positive finite number"),
    (["estimate", "--problem", "quadratic", "--radius", "nan"], "--radius: must be a positive finite number"),
    (["estimate", "--problem", "quadratic", "--param", "d"], "--param: must be KEY=VALUE"),
    (["estimate", "--problem", "quadratic", "--param", "d=abc"], "d: must be an integer"),
    (["estimate", "--problem", "quadratic", "--param", "width=3"], "not a parameter of 'quadratic'"),
    (["estimate", "--problem", "sinusoid", "--param", "activation=relu"], "activation: must be one of tanh, softplus"),
    (["estimate", "--problem", "sinusoid", "--param", "hidden=0"], "hidden: must be an integer >= 1"),
    (["estimate", "--problem", "/no/such/file.py:make"], "--problem: no file"),
    (["estimate", "--problem", "quadratic", "--out", "/no/such/dir/e.json"], "--out: directory"),
    (["plan", "--from-estimate", "/no/such/file.json", "--eps", "0.1"], "--from-estimate: cannot read"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, run_cli) -> None:
    code, out, err = run_cli(argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_not_an_estimate_and_two_sources(tmp_path: Path, estimate_file: Path, run_cli) -> None:
    other = tmp_path / "x.json"
    other.write_text('{"L": 1}')
    code, _, err = run_cli(["plan", "--from-estimate", str(other), "--eps", "0.1"])
    assert code == 2 and err.count("\n") == 1 and "is not the JSON of `mamltheory estimate`" in err
    toml = tmp_path / "c.toml"
    toml.write_text("L = 1\n")
    code, _, err = run_cli(["plan", "--from-estimate", str(estimate_file), "--constants", str(toml),
                            "--eps", "0.1"])
    assert code == 2 and err.count("\n") == 1 and "cannot be combined with --constants" in err


def test_user_object_without_the_protocol(tmp_path: Path, run_cli) -> None:
    (tmp_path / "bad.py").write_text("class P:\n    d = 3\n\ndef make():\n    return P()\n")
    code, _, err = run_cli(["estimate", "--problem", f"{tmp_path / 'bad.py'}:make"])
    assert code == 2 and err.count("\n") == 1 and "does not implement the problem protocol" in err
