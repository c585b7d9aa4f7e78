"""`plan` faults: each is one line on stderr naming the flag, exit 2, or a plan that is right."""

from __future__ import annotations

import json

import pytest

CONSTANTS = ["--L", "1", "--rho", "1", "--sigma", "0.5", "--sigma-tilde", "1", "--sigma-h", "1"]
TARGET = ["--eps", "0.1", "--initial-gap", "10"]


def one_line(result: tuple[int, str, str], flag: str) -> str:
    """run_cli's result: exit 2 and one line on stderr naming FLAG; the line."""
    code, out, err = result
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and f"mamltheory plan: {flag}" in err, err
    return err


@pytest.mark.parametrize("change", [["--rho", "1e308"], ["--sigma", "1e308"], ["--sigma-tilde", "1e308"],
                                    ["--sigma-h", "1e308"], ["--L", "1e-320"], ["--L", "1e308"],
                                    ["--eps", "1e200"], ["--eps", "1e-300"], ["--initial-gap", "1e308"],
                                    ["--alpha", "1e-320"]])
def test_out_of_range_magnitudes_name_the_flag(run_cli, change):
    err = one_line(run_cli(["plan", *CONSTANTS, *TARGET, *change]), change[0])
    assert "must lie in" in err


def test_batches_beyond_any_computation_are_refused_with_the_number(run_cli):
    # MAML, repaired F.1 (K = 20, α = 1/(6L) = 1/6): S* = ε²/(20(1 + ρασ/L)) = 1e-16/(20·13/12) at ε = 1e-8,
    # so B > σ²/S* = 0.25·20·(13/12)·1e16 = 5.417e16 > 2^53 ≈ 9.0e15.
    err = one_line(run_cli(["plan", "--algorithm", "maml", *CONSTANTS, "--eps", "1e-8", "--initial-gap", "10",
                            "--theory", "repaired"]), "--eps")
    assert "5.42e+16 > 2^53" in err
    # the sharp theory at the paper's choices (K = 15): 0.25·15·(13/12)·1e16 = 4.06e16, refused before any search
    err = one_line(run_cli(["plan", "--algorithm", "maml", *CONSTANTS, "--eps", "1e-8", "--initial-gap", "10"]), "--eps")
    assert "4.06e+16 > 2^53" in err
    # D_h = ⌈2α²σ_H²⌉ with α = 1/(6L), σ_H = 1e20: 2·1e40/36 = 5.56e38; σ_H is what inflates it.
    err = one_line(run_cli(["plan", "--algorithm", "maml", *CONSTANTS, *TARGET, "--sigma-h", "1e20"]), "--sigma-h")
    assert "5.56e+38" in err
    # The same D_h from L = 1e-30 (α = 1e30/6) and σ_H = 1: the flag named is --L.
    one_line(run_cli(["plan", "--algorithm", "maml", *CONSTANTS, *TARGET, "--L", "1e-30"]), "--L")


def test_huge_eps_is_the_least_batch_plan(run_cli):
    # ε = 1e30: the noise at B = 20, D_in = D_o = 1 is far below S*, and every plan costs at least
    # B(D_in + D_o + h) >= 20(2 + h): the least batches are the cheapest plan.
    code, out, _ = run_cli(["plan", "--algorithm", "fo-maml", *CONSTANTS, "--eps", "1e30", "--initial-gap", "10",
                            "--json", "--theory", "repaired"])
    assert code == 0
    p = json.loads(out)
    assert p["feasible"] and (p["batch"]["B"], p["batch"]["D_in"], p["batch"]["D_o"]) == (20, 1, 1)
    # the sharp theory chooses its least task batch B_min too: the plan sits at B = B_min, D_in = D_o = 1
    code, out, _ = run_cli(["plan", "--algorithm", "fo-maml", *CONSTANTS, "--eps", "1e30", "--initial-gap", "10",
                            "--json"])
    p = json.loads(out)
    assert code == 0 and p["feasible"] and p["theory"] == "sharp"
    assert (p["batch"]["B"], p["batch"]["D_in"], p["batch"]["D_o"]) == (p["choices"]["chosen"]["B_min"], 1, 1)


@pytest.mark.parametrize("content,rule", [(b"\x00\xff\xfe\x89binary", "not UTF-8"),
                                          ("L = 1\n# r\xe9sum\xe9\n".encode("latin-1"), "not UTF-8"),
                                          (b"", "is empty"), (b"eps = 0.1\n", "--L: required")])
def test_constants_file_faults(tmp_path, run_cli, content, rule):
    f = tmp_path / "c.toml"
    f.write_bytes(content)
    flag = "--L" if rule.startswith("--L") else "--constants"
    err = one_line(run_cli(["plan", "--constants", str(f), *TARGET]), flag)
    assert rule in err


GOOD_ESTIMATE = {"kind": "mamltheory-estimate",
                 "constants": {"L": 1, "rho": 1, "sigma": 0.5, "sigma_tilde": 1, "sigma_H": 1}}


@pytest.mark.parametrize("text", [json.dumps({**GOOD_ESTIMATE, "problem": "quadratic"}),
                                  json.dumps({**GOOD_ESTIMATE, "config": [1, 2]}),
                                  json.dumps({**GOOD_ESTIMATE, "constants": [1, 2]}),
                                  "[" * 100_000 + "]" * 100_000,
                                  json.dumps({"a": {"b": 1}}) ])
def test_from_estimate_wrong_shape_or_deep_nesting(tmp_path, run_cli, text):
    f = tmp_path / "e.json"
    f.write_text(text, encoding="utf-8")
    one_line(run_cli(["plan", "--from-estimate", str(f), *TARGET]), "--from-estimate")


def test_alpha_and_batch_rules(run_cli):
    one_line(run_cli(["plan", *CONSTANTS, *TARGET, "--alpha", "-1"]), "--alpha")   # --algorithm all
    one_line(run_cli(["plan", *CONSTANTS, *TARGET, "--alpha", "0.2"]), "--alpha")  # above every 1/(cL), c >= 6
    one_line(run_cli(["plan", *CONSTANTS, *TARGET, "--batch", ""]), "--batch")
    # α = 0.12 lies in MAML's and HF-MAML's (0, 1/6] but not FO-MAML's (0, 1/10]: a plan, FO-MAML infeasible.
    code, out, _ = run_cli(["plan", *CONSTANTS, *TARGET, "--alpha", "0.12", "--json"])
    assert code == 0
    plans = {p["algorithm"]: p for p in json.loads(out)}
    assert plans["maml"]["feasible"] and plans["hf-maml"]["feasible"] and not plans["fo-maml"]["feasible"]
