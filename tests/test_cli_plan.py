"""`mamltheory plan`: the JSON contract, the tables, and one-line exit-2 errors for every bad-input class."""

import json
import subprocess
import sys

import pytest

EXAMPLE = ["--L", "1", "--rho", "1", "--sigma", "0.5", "--sigma-tilde", "1", "--sigma-h", "1",
           "--eps", "0.1", "--initial-gap", "10"]
CONTRACT = {"algorithm", "alpha", "batch", "step_size", "iterations", "accuracy_bound", "samples_per_iteration",
            "feasible", "reason"}


def test_all_json_contract(run_cli):
    code, out, err = run_cli(["plan", "--algorithm", "all", *EXAMPLE, "--json"])
    assert code == 0
    plans = json.loads(out)
    assert [p["algorithm"] for p in plans] == ["maml", "fo-maml", "hf-maml"]
    for p in plans:
        assert CONTRACT <= set(p)
        if p["feasible"]:
            assert set(p["batch"]) == {"B", "D_in", "D_o", "D_h", "B_prime", "D_beta"}
            assert isinstance(p["iterations"], int)
            assert p["accuracy_bound"] == pytest.approx(0.1)
    assert plans[1]["feasible"] is False and "floor" in plans[1]["reason"]
    # the sharp theory (default) chooses c; the paper's is 12 (F.1) and 25 (H.1)
    assert all(p["step_size"]["c"] == p["choices"]["chosen"]["step_divisor"] for p in plans)
    code, out, err = run_cli(["plan", "--algorithm", "all", *EXAMPLE, "--json", "--theory", "repaired"])
    plans = json.loads(out)
    assert plans[0]["step_size"]["c"] == 12 and plans[2]["step_size"]["c"] == 25
    assert sum(p["cheapest"] for p in plans) == 1


def test_single_algorithm_json_is_an_object(run_cli):
    code, out, _ = run_cli(["plan", "--algorithm", "maml", *EXAMPLE, "--json"])
    assert code == 0 and json.loads(out)["algorithm"] == "maml"


def test_batch_mode_reports_preconditions(run_cli):
    code, out, _ = run_cli(["plan", "--algorithm", "maml", *EXAMPLE, "--batch", "10,100,10,1", "--json"])
    p = json.loads(out)
    assert code == 0 and p["mode"] == "evaluate" and not p["feasible"]
    assert [x["condition"] for x in p["preconditions"] if not x["holds"]] == ["B >= 20"]


def test_kshot_and_table_output(run_cli):
    code, out, _ = run_cli(["plan", "--k-shot", "5", *EXAMPLE[:10]])
    assert code == 0 and "K-shot" in out and "best accuracy" in out
    code, out, _ = run_cli(["plan"])
    assert code == 0 and "built-in example" in out and "hf-maml" in out


def test_constants_from_toml(tmp_path, run_cli):
    f = tmp_path / "c.toml"
    f.write_text("L = 1\nrho = 1\nsigma = 0.5\nsigma_tilde = 1\nsigma_H = 1\neps = 0.1\ninitial_gap = 10\n")
    code, out, _ = run_cli(["plan", "--algorithm", "hf-maml", "--constants", str(f), "--json"])
    code2, out2, _ = run_cli(["plan", "--algorithm", "hf-maml", *EXAMPLE, "--json"])
    assert code == code2 == 0 and json.loads(out) == json.loads(out2)


BAD = [
    (["--L", "-1"], "--L: must be > 0"),
    (["--sigma", "nan"], "--sigma: must be finite"),
    (["--rho", "abc"], "--rho: must be a number"),
    (["--eps", "0"], "--eps: must be a positive finite number"),
    (["--eps", "-0.1"], "--eps: must be a positive finite number"),
    (["--initial-gap", "inf"], "--initial-gap: must be finite"),
    (["--alpha", "0.5"], "--alpha: must lie in (0, 1/(6L)]"),
    (["--algorithm", "reptile"], "--algorithm: must be one of"),
    (["--batch", "20,1,1"], "--batch: must be 4 comma-separated integers B,D_in,D_o,D_h"),
    (["--batch", "20,0,1,1"], "--batch D_in: must be an integer >= 1, got 0"),
    (["--k-shot", "x"], "--k-shot: must be an integer"),
    (["--nonsense", "1"], "unrecognized arguments"),
]


@pytest.mark.parametrize("change,message", BAD)
def test_bad_input_one_line_exit_2(run_cli, change, message):
    args = dict(zip(EXAMPLE[::2], EXAMPLE[1::2]))
    extra = []
    for k, v in zip(change[::2], change[1::2]):
        if k in args:
            args[k] = v
        else:
            extra += [k, v]
    argv = ["plan", "--algorithm", "maml", *[x for kv in args.items() for x in kv], *extra]
    code, out, err = run_cli(argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_constant_and_bad_toml(tmp_path, run_cli):
    code, _, err = run_cli(["plan", "--L", "1", "--eps", "0.1", "--initial-gap", "1"])
    assert code == 2 and "--rho: required" in err
    f = tmp_path / "c.toml"
    f.write_text("L = 1\nrho = 1\nsigma = 0.5\nsigma_tilde = 1\nsigma_H = 1\nbeta = 2\n")
    code, _, err = run_cli(["plan", "--constants", str(f), "--eps", "0.1", "--initial-gap", "1"])
    assert code == 2 and "unknown key 'beta'" in err


def test_console_script_end_to_end():
    r = subprocess.run([sys.executable, "-m", "mamltheory.cli", "plan", "--algorithm", "all", *EXAMPLE, "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 3
    r = subprocess.run([sys.executable, "-m", "mamltheory.cli", "plan", "--sigma-h", "-2", *EXAMPLE[:8]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--sigma-h: must be >= 0" in r.stderr
