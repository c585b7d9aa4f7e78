"""The public API in a notebook-like flow, each number checked against the paper's formula by hand."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import mamltheory as mt
from mamltheory.errors import InputError

API = ["ProblemConstants", "plan", "plan_all", "make_problem", "run_config", "run", "RunConfig", "RunResult",
       "verify", "bounds"]


def test_import_is_cheap_and_names_are_documented() -> None:
    # `import mamltheory` must not pull in numpy or sympy (the plan command's cold start is benchmarked).
    code = "import sys, mamltheory; print('numpy' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    assert set(API) <= set(mt.__all__)
    for name in API:
        assert (getattr(mt, name).__doc__ or "").strip(), name


def test_plan_matches_theorem_f1_by_hand() -> None:
    c = mt.ProblemConstants(L=1, rho=1, sigma=0.5, sigma_tilde=1, sigma_H=1)
    p = mt.plan("maml", c, eps=0.1, initial_gap=10, theory="paper")
    assert p.feasible and p.alpha == pytest.approx(1 / 6)  # Theorem F.1: α = 1/(6L)
    b = p.batch
    # Preconditions by hand: D_h >= ⌈2α²σ_H²⌉ = ⌈1/18⌉ = 1; B' >= ⌈½(ρασ/L)²⌉ = 1; D_β >= ⌈(2ρασ̃/L)²⌉ = 1.
    assert (b["D_h"], b["B_prime"], b["D_beta"]) == (1, 1, 1) and b["B"] >= 20
    # (86): max{√(61(1 + ρασ/L)S), (61ρα/L)S, ε} with S = σ²/B + σ̃²/(B D_o) + σ̃²/D_in must be ε.
    a, eps, L, rho, s = Fraction(1, 6), Fraction(1, 10), 1, 1, Fraction(1, 2)
    S = s**2 / b["B"] + Fraction(1, b["B"] * b["D_o"]) + Fraction(1, b["D_in"])
    assert math.sqrt(61 * (1 + rho * a * s / L) * S) <= 0.1 * (1 + 1e-12)
    assert 61 * rho * a / L * S <= eps
    assert p.accuracy_bound == pytest.approx(0.1)
    # (87) with the proof's constant: T = ⌊Δ/dec⌋ + 1, dec = max{ε²/(L + ρα(σ + ε)), 61 S/L}/1600.
    dec = max(eps**2 / (L + rho * a * (s + eps)), 61 * S / L) / 1600
    assert p.iterations == math.floor(Fraction(10) / dec) + 1
    plans = mt.plan_all(c, eps=0.1, initial_gap=10, theory="paper")
    assert [q.algorithm for q in plans] == ["maml", "fo-maml", "hf-maml"]
    # every paper proof has a failing step, but F.1's and G.1's statements survive by the repaired chains; of those
    # only MAML's plan exists here (FO-MAML's floor is above ε), so it is the one recommended
    assert [q.cheapest for q in plans] == [True, False, False]
    hf = plans[2]
    assert hf.delta == pytest.approx(1 / (6 * 1 * (1 / 6)))  # eq. (142): δ = 1/(6ρα) = 1 here


def test_problem_run_config_and_run_against_the_closed_form() -> None:
    problem = mt.make_problem("quadratic", d=3, n_tasks=4, pool_size=10)
    c = problem.constants
    cfg, sources = mt.run_config(problem, "hf-maml", iterations=2, replicates=2, batch=(2, 3, 3, 4),
                                 step_batch=(2, 2), theory="paper")
    assert isinstance(cfg, mt.RunConfig)
    assert cfg.alpha == pytest.approx(1 / (6 * c.L))            # Theorem H.1's largest α
    assert cfg.delta == pytest.approx(1 / (6 * c.rho * cfg.alpha))  # eq. (142)
    assert cfg.step_divisor == 25 and sources["alpha"].startswith("planner")

    alpha = 0.05
    cfg, _ = mt.run_config(problem, "fo-maml", alpha=alpha, iterations=3, replicates=2, batch=(2, 3, 3, 5), step=0.01)
    assert cfg.D_h == 0 and cfg.step == "constant" and cfg.beta == 0.01
    result = mt.run(problem, cfg)
    assert isinstance(result, mt.RunResult) and result.grad_norm.shape == (4, 2)
    # ‖∇F(w_0)‖ from the closed form ∇F_i = (I − αM_i)M_i(I − αM_i)(w − w_i*) (QuadraticProblem's docstring).
    X, y = problem.X, problem.y
    M = np.einsum("nsd,nse->nde", X, X) / X.shape[1]
    wstar = np.linalg.solve(M, np.einsum("nsd,ns->nd", X, y)[..., None] / X.shape[1])[..., 0]
    A = np.eye(3) - alpha * M
    grad = np.mean([A[i] @ M[i] @ A[i] @ (problem.initial_point() - wstar[i]) for i in range(4)], axis=0)
    assert result.grad_norm[0] == pytest.approx([np.linalg.norm(grad)] * 2, rel=1e-10)


def test_run_config_errors_name_the_field() -> None:
    problem = mt.make_problem("quadratic", d=3, n_tasks=4, pool_size=10)
    cases = [({"alpha": 2 / problem.constants.L}, "alpha"), ({"iterations": 0}, "iterations"),
             ({"iterations": 10**30}, "iterations"), ({"replicates": 2.5}, "replicates"),
             ({"batch": (1, 2)}, "batch"), ({"step": "fast"}, "step"), ({"delta": -1.0}, "delta"),
             ({"record": "sometimes"}, "record"), ({"step_batch": (0, 1)}, "step_batch")]
    for options, field in cases:
        with pytest.raises(InputError) as err:
            mt.run_config(problem, "hf-maml", **options)
        assert err.value.field == field, options
        assert str(err.value).startswith("--" + field.replace("_", "-")), str(err.value)


def test_verify_and_bounds() -> None:
    record = mt.verify(quick=True, seed=0, sections=("audit",))
    assert record["provenance"]["seed"] == 0 and record["checks"]
    # Theorem G.1's proof: the α²Lσ² coefficient the audit derives is 169/864 (> the paper's 1/6).
    assert any("169/864" in (c["details"].get("derived") or "") for c in record["checks"])
    assert mt.bounds.theorem("maml", "paper").K == 61 and mt.bounds.theorem("hf-maml").step_divisor == 25
    assert mt.bounds.theorem("maml", "repaired").K == 20
    assert mt.bounds.theorem("maml").K == 15  # the default theory is the sharp one: ⌈14.514⌉ (docs/sharp-theorems.md)


def test_run_config_repaired_delta_by_hand() -> None:
    """Repaired H.1: δ = ν/(ρα), ν = min{1/6, ν_ε}, ν_ε = ε√(L/(1190(σ² + σ̃²/D_o)(L + ρα(σ + ε))))
    with ε the (131″) accuracy max{√(34(1 + ρασ/L)S₀), 34(ρα/L)S₀} at the given batches (docs/repaired-theorems.md)."""
    problem = mt.make_problem("tanh-regression", d=3, n_tasks=4, pool_size=10)
    c = problem.constants
    B, D_in, D_o = 20, 3, 5
    cfg, _ = mt.run_config(problem, "hf-maml", iterations=2, replicates=1, batch=(B, D_in, D_o, 4), step_batch=(2, 2),
                           theory="repaired")
    a = 1 / (6 * c.L)
    S0 = c.sigma**2 / B + c.sigma_tilde**2 / (B * D_o) + c.sigma_tilde**2 / D_in
    r = c.rho * a / c.L
    eps = max(math.sqrt(34 * (1 + r * c.sigma) * S0), 34 * r * S0)
    nu_eps = eps * math.sqrt(c.L / (1190 * (c.sigma**2 + c.sigma_tilde**2 / D_o) * (c.L + c.rho * a * (c.sigma + eps))))
    assert cfg.delta == pytest.approx(min(1 / 6, nu_eps) / (c.rho * a), rel=1e-9)
    # the sharp H.1 (default) at the paper's choices: K′ = 10 in (131″) and the budget 130 in (δ′)
    # (docs/sharp-theorems.md; pinned by hand in tests/bounds/test_sharp.py)
    cfg, _ = mt.run_config(problem, "hf-maml", iterations=2, replicates=1, batch=(B, D_in, D_o, 4), step_batch=(2, 2))
    eps = max(math.sqrt(10 * (1 + r * c.sigma) * S0), 10 * r * S0)
    nu_eps = eps * math.sqrt(c.L / (130 * (c.sigma**2 + c.sigma_tilde**2 / D_o) * (c.L + c.rho * a * (c.sigma + eps))))
    assert cfg.delta == pytest.approx(min(1 / 6, nu_eps) / (c.rho * a), rel=1e-9)
