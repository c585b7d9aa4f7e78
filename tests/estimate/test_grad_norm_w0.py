"""‖∇F(w_0)‖ in `estimate` and `plan --from-estimate`: a target ε already met at w_0.

The reference ∇F(w_0) is a central difference of F (eq. (3), `meta_objective`, which needs no Hessian),
independent of the meta-gradient (eq. (30)) the estimate evaluates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mamltheory.simulate import make_problem

FAMILY = {"d": 6, "n_tasks": 8}


@pytest.fixture(scope="module")
def estimate(tmp_path_factory, run_cli) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("gw0") / "e.json"
    code, out, err = run_cli(["estimate", "--problem", "tanh-regression", *(f"--param={k}={v}" for k, v in FAMILY.items()),
                              "--points", "4", "--out", str(path), "--json"])
    assert code == 0, err
    return path, json.loads(out)


def grad_norm_by_differences(alpha: float) -> float:
    """‖∇F(w_0)‖ by central differences of F along each coordinate (h = 1e-5: error about h²·F''' ≈ 1e-10)."""
    prob = make_problem("tanh-regression", **FAMILY)
    w0, h = prob.initial_point(), 1e-5
    g = [(prob.meta_objective(w0 + h * e, alpha) - prob.meta_objective(w0 - h * e, alpha)) / (2 * h)
         for e in np.eye(prob.d)]
    return float(np.linalg.norm(np.ravel(g)))


def test_estimate_json_holds_the_exact_grad_norm_at_each_alpha(estimate) -> None:
    _, obj = estimate
    rows = obj["grad_norm_w0_by_alpha"]
    L = obj["constants"]["L"]
    # the planner's 1/(cL) is the exact rational rounded once; 1/(c·L) in floats rounds twice: 1e-15 apart
    assert [r["alpha"] for r in rows] == pytest.approx([obj["alpha"], 1 / (6 * L), 1 / (10 * L)], rel=1e-15)
    assert rows[1]["rule"].endswith("Theorem F.1 and Theorem H.1") and rows[2]["rule"].endswith("Theorem G.1")
    assert obj["grad_norm_w0"] == rows[0]["value"] and obj["grad_norm_w0_exact"] is True
    for r in rows:
        assert r["value"] == pytest.approx(grad_norm_by_differences(r["alpha"]), rel=1e-7)


def test_estimate_prints_it(run_cli) -> None:
    code, out, err = run_cli(["estimate", "--problem", "tanh-regression", "--param", "d=6", "--param", "n_tasks=8",
                              "--points", "4"])
    assert code == 0, err
    text = " ".join(out.split())  # rich wraps lines at the terminal width
    assert "‖∇F(w_0)‖ = " in text and "a plan is meaningful only for ε < ‖∇F(w_0)‖" in text


def test_plan_refuses_an_eps_already_met_at_w0(estimate, run_cli) -> None:
    path, obj = estimate
    g = obj["grad_norm_w0_by_alpha"][1]  # at 1/(6L̂), the α of Theorem F.1's plan
    eps = round(1.01 * g["value"], 6)
    code, out, err = run_cli(["plan", "--from-estimate", str(path), "--eps", str(eps), "--algorithm", "maml"])
    assert (code, out) == (2, "")
    assert err == (f"mamltheory plan: --eps: ε = {eps:g} is already met at w_0: ‖∇F(w_0)‖ = {g['value']:.4g} (exact, "
                   f"{path}, α = {g['alpha']:.4g}), so a plan guarantees nothing; give ε < {g['value']:.4g}\n")


def test_plan_shows_it_next_to_eps(estimate, run_cli) -> None:
    path, obj = estimate
    g = obj["grad_norm_w0_by_alpha"][1]
    eps = round(0.5 * g["value"], 6)
    code, out, err = run_cli(["plan", "--from-estimate", str(path), "--eps", str(eps), "--algorithm", "maml", "--json"])
    assert code == 0, err
    w0 = json.loads(out)["grad_norm_w0"]
    assert (w0["value"], w0["alpha"], w0["exact"], w0["met_at_w0"], w0["target"]) == (g["value"], g["alpha"], True,
                                                                                    False, eps)
    code, out, err = run_cli(["plan", "--from-estimate", str(path), "--eps", str(eps), "--algorithm", "maml"])
    assert code == 0, err
    assert f"maml: ε = {eps:.4g}, ‖∇F(w_0)‖ = {g['value']:.4g} at α = {g['alpha']:.4g}" in out


def test_plan_at_another_alpha_warns_instead(estimate, run_cli) -> None:
    """‖∇F(w_0)‖ is not known at a user's own α: a warning, not a refusal."""
    path, obj = estimate
    alpha = 0.5 / (6 * obj["constants"]["L"])
    g = max(r["value"] for r in obj["grad_norm_w0_by_alpha"])
    code, out, err = run_cli(["plan", "--from-estimate", str(path), "--eps", str(2 * g), "--algorithm", "maml",
                              "--alpha", repr(alpha), "--json"])
    assert code == 0, err
    plan = json.loads(out)
    assert plan["grad_norm_w0"]["same_alpha"] is False and plan["grad_norm_w0"]["met_at_w0"] is True
    warnings = [n for n in plan["notes"] if n.startswith("warning: the accuracy")]
    assert len(warnings) == 1 and "(at the estimate's α, not this plan's): w_0 may already meet it" in warnings[0]


def test_an_estimate_file_without_it_still_plans(estimate, tmp_path: Path, run_cli) -> None:
    path, obj = estimate
    old = {k: v for k, v in obj.items() if not k.startswith("grad_norm_w0")}
    (tmp_path / "old.json").write_text(json.dumps(old))
    code, out, err = run_cli(["plan", "--from-estimate", str(tmp_path / "old.json"), "--eps", "0.01",
                              "--algorithm", "maml", "--json"])
    assert code == 0, err
    assert "grad_norm_w0" not in json.loads(out)
