"""`simulate` states the accuracy its theorem guarantees at the run's α and batches.

The reference bound is written out here from the theorem's statement, max{√(K(1+ρασ/L)S), (Kρα/L)S} with
S = σ²/B + σ̃²/(B·D_o) + σ̃²/D_in (+ 20α²L²σ² for FO-MAML, eq. (113)), K the theorem's constant.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mamltheory.bounds.theorems import theorem as theorem_for
from mamltheory.simulate import make_problem
from mamltheory.simulate.command import guarantee
from mamltheory.simulate.config import run_config


def bound_by_hand(algorithm: str, c: dict, alpha: float, B: int, D_in: int, D_o: int) -> float:
    K = theorem_for(algorithm).K
    S = c["sigma"] ** 2 / B + c["sigma_tilde"] ** 2 / (B * D_o) + c["sigma_tilde"] ** 2 / D_in
    if algorithm == "fo-maml":
        S += 20 * alpha**2 * c["L"] ** 2 * c["sigma"] ** 2
    return max(math.sqrt(K * (1 + c["rho"] * alpha * c["sigma"] / c["L"]) * S), K * c["rho"] * alpha / c["L"] * S)


@pytest.mark.parametrize("algorithm, batch", [("maml", "30,12,9,3"), ("fo-maml", "25,10,10,1"),
                                              ("hf-maml", "40,20,6,5")])
def test_simulate_reports_the_theorem_bound_at_its_batches(algorithm: str, batch: str, tmp_path: Path,
                                                           run_cli) -> None:
    code, out, err = run_cli(["simulate", "--problem", "tanh-regression", "--algorithm", algorithm, "--batch", batch,
                              "--iterations", "3", "--replicates", "2", "--store", str(tmp_path / "s.sqlite"),
                              "--json"])
    assert code == 0, err
    res = json.loads(out)
    g = res["guarantee"]
    B, D_in, D_o, _ = map(int, batch.split(","))
    want = bound_by_hand(algorithm, res["constants"], res["config"]["alpha"], B, D_in, D_o)
    assert g["accuracy_bound"] == pytest.approx(want, rel=1e-12)  # exact rationals in the planner, floats here
    assert g["theorem"] == theorem_for(algorithm).name and g["theory"] == "sharp"
    assert g["grad_norm_w0"] == res["grad_norm"][0][0]
    assert g["vacuous"] is (want >= res["grad_norm"][0][0])
    assert g["applies"] is (g["reason"] is None)
    text = " ".join(err.split())  # the report goes to stderr with --json; rich wraps it
    assert f"E‖∇F(w)‖ <= {g['accuracy_bound']:.4g} against ‖∇F(w_0)‖ = {g['grad_norm_w0']:.4g}" in text
    assert ("vacuous: w_0 already meets it, so the run could not have failed it" in text) is g["vacuous"]


def _result(g0: float) -> SimpleNamespace:
    return SimpleNamespace(k=np.array([0, 1]), grad_norm=np.array([[g0, g0], [g0, g0]]))


def test_vacuous_exactly_when_the_bound_reaches_grad_norm_w0() -> None:
    prob = make_problem("tanh-regression")
    cfg, _ = run_config(prob, "maml", iterations=2, replicates=2)
    bound = guarantee(prob, cfg, _result(1.0), "repaired")["accuracy_bound"]
    assert guarantee(prob, cfg, _result(bound), "repaired")["vacuous"] is True
    assert guarantee(prob, cfg, _result(np.nextafter(bound, np.inf)), "repaired")["vacuous"] is False


def test_a_run_outside_the_theorem_says_why() -> None:
    prob = make_problem("tanh-regression")
    cfg, _ = run_config(prob, "maml", iterations=2, replicates=2, step=0.01)
    g = guarantee(prob, cfg, _result(1.0), "repaired")
    assert g["applies"] is False and g["reason"].startswith("the theorem needs the step β_k = β̃(w_k)/12")
    L = prob.constants.L
    cfg, _ = run_config(prob, "maml", iterations=2, replicates=2, alpha=0.5 / L, batch=(20, 10, 10, 1),
                        step_batch=(1, 1))
    g = guarantee(prob, cfg, _result(1.0), "repaired")  # α in (1/(6L), 1/L]: the lemmas', not the theorem's
    assert g["accuracy_bound"] is None and g["applies"] is False and g["reason"].startswith("must lie in (0, 1/(6L)]")
