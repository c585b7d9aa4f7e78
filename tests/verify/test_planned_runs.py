"""The planned-run theorem checks (verify/planned_runs.py): the planner's plan run by the runner can fail.

Each test plants one violation in the code the check exercises (the runner's step rule, its direction, the
planner's T) and shows the check turns contradicted; the unplanted check holds; oversize plans are refused.
"""

import numpy as np
import pytest

from mamltheory.bounds import planner
from mamltheory.simulate import runner
from mamltheory.verify.check import CONTRADICTED, HOLDS, INCONCLUSIVE
from mamltheory.verify.planned_runs import RunBudget, LowNoiseQuadratic, exact_gap, planned_run_check

FAST = {"eps_fraction": 0.9}   # ε = 0.9‖∇F(w_0)‖: the same family, a plan with T ≈ 800 (fast tests)


def test_low_noise_family_certificates_and_gap():
    p = LowNoiseQuadratic()
    c = p.constants
    g0 = float(np.linalg.norm(p.meta_gradient(p.initial_point(), 0.1)))
    assert c.sigma_H == 0 and c.sigma < 0.01 * g0 and c.sigma_tilde < 0.01 * g0 and c.L == pytest.approx(1.0)
    # Δ by a fine grid of the exact F (1-D): the Newton step lands on the minimum
    grid = np.linspace(-3, 4, 70001)[:, None]
    F = p.meta_objective(grid, 0.1)
    assert exact_gap(p, p.initial_point(), 0.1) == pytest.approx(float(p.meta_objective(p.initial_point(), 0.1)
                                                                        - F.min()), rel=1e-6)


@pytest.mark.parametrize("algorithm", ["maml", "fo-maml", "hf-maml"])
def test_plan_run_holds_with_power(algorithm):
    r = planned_run_check(algorithm, **FAST)
    assert r.verdict == HOLDS and r.power < 1.01 and r.details["batch"]["B"] >= 1
    assert r.id == f"theorem.planned.{ {'maml': 'F.1', 'fo-maml': 'G.1', 'hf-maml': 'H.1'}[algorithm]}.repaired." \
                   "low-noise-quadratic"


def test_runner_step_rule_too_large_is_caught(monkeypatch):
    """The runner's β_k = β̃(w_k)/c with c much too small (here: β̃ 300x too large): the iterates oscillate outwards."""
    real = runner.beta_tilde
    monkeypatch.setattr(runner, "beta_tilde", lambda *a, **k: 300.0 * real(*a, **k))
    r = planned_run_check("maml", **FAST)
    assert r.verdict == CONTRADICTED and min(r.details["min_grad_norm"]) > r.bound


def test_runner_wrong_direction_is_caught(monkeypatch):
    """A sign error in the runner's meta-direction: the iterates walk away from the minimum."""
    real = runner.direction
    monkeypatch.setattr(runner, "direction", lambda *a, **k: -real(*a, **k))
    r = planned_run_check("fo-maml", **FAST)
    assert r.verdict == CONTRADICTED and r.details["covered_T"]


def test_planner_iterations_cut_is_caught(monkeypatch):
    """The planner's T cut to 1: only w_0 is allowed, and ‖∇F(w_0)‖ > ε."""
    real = planner.plan

    def cut(*a, **k):
        p = real(*a, **k)
        p.iterations = 1
        return p

    monkeypatch.setattr(planner, "plan", cut)
    r = planned_run_check("hf-maml", **FAST)
    assert r.verdict == CONTRADICTED and r.details["T"] == 1


def test_oversize_plan_refused_up_front(monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "run", lambda *a, **k: calls.append(a))
    r = planned_run_check("maml", budget=RunBudget(iterations=10, samples=1e9))
    assert r.verdict == INCONCLUSIVE and "sizes refused" in r.evidence and not calls
    r = planned_run_check("maml", budget=RunBudget(iterations=10**6, samples=100))
    assert r.verdict == INCONCLUSIVE and "sizes refused" in r.evidence and not calls
