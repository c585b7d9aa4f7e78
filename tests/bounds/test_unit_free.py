"""Plans are unit-free: the same problem written in other units gets the same plan.

Rescaling g(u) = t·f(s·u) (w = s·u a length, f a loss) maps the constants as
L → ts²L, ρ → ts³ρ, σ, σ̃, ε → tsσ, tsσ̃, tsε, σ_H → ts²σ_H, Δ → tΔ, α → α/(ts²), δ → δ/s
(each derivative of g is t·s^k times f's). A theorem whose conditions are dimensionless gives the same
batch sizes, the same iteration count and the same ν = ραδ. s and t are powers of 2, so the rescaled
floats are exact and the planner's exact arithmetic sees the same rationals.
"""

from __future__ import annotations

import pytest

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.planner import plan, plan_kshot

BASE = dict(L=2.0, rho=3.0, sigma=0.5, sigma_tilde=1.25, sigma_H=40.0)
EPS, GAP = 0.05, 10.0


def rescaled(s: float, t: float) -> tuple[ProblemConstants, float, float]:
    c = BASE
    return (ProblemConstants(L=t * s**2 * c["L"], rho=t * s**3 * c["rho"], sigma=t * s * c["sigma"],
                             sigma_tilde=t * s * c["sigma_tilde"], sigma_H=t * s**2 * c["sigma_H"]),
            t * s * EPS, t * GAP)


SCALES = [(1.0, 1.0), (2.0, 1.0), (0.5, 4.0), (8.0, 0.25)]


def signature(algorithm: str, theory: str, s: float, t: float, kshot: bool = False) -> tuple:
    """What must not depend on the units: batches, T, feasibility and ν = ραδ (HF-MAML)."""
    c, eps, gap = rescaled(s, t)
    p = plan_kshot(algorithm, c, 4, initial_gap=gap, theory=theory) if kshot else \
        plan(algorithm, c, eps, gap, theory=theory)
    nu = None if p.delta is None else round(p.delta * p.alpha * c.rho, 12)
    return (p.batch, p.iterations, p.feasible, nu)


def plans_at(algorithm: str, theory: str, s: float, t: float):
    c, eps, gap = rescaled(s, t)
    return plan(algorithm, c, eps, gap, theory=theory)


@pytest.mark.parametrize("theory", ["repaired", "sharp"])
@pytest.mark.parametrize("kshot", [False, True])
@pytest.mark.parametrize("algorithm", ["maml", "fo-maml", "hf-maml"])
def test_repaired_and_sharp_plans_are_unit_free(algorithm: str, kshot: bool, theory: str) -> None:
    """The sharp plan's search sees only unit-free quantities (αL, the totals), so it chooses the same proof."""
    ref = signature(algorithm, theory, 1.0, 1.0, kshot)
    for s, t in SCALES[1:]:
        assert signature(algorithm, theory, s, t, kshot) == ref, (s, t)
    if theory == "sharp" and not kshot:
        assert len({str(plans_at(algorithm, theory, s, t).choices["chosen"]) for s, t in SCALES}) == 1


@pytest.mark.parametrize("algorithm", ["maml", "fo-maml"])
def test_paper_maml_and_fo_maml_plans_are_unit_free(algorithm: str) -> None:
    ref = signature(algorithm, "paper", 1.0, 1.0)
    for s, t in SCALES[1:]:
        assert signature(algorithm, "paper", s, t) == ref, (s, t)


def test_paper_hf_maml_plan_is_not_unit_free() -> None:
    """The paper's D_h >= ⌈36(αρσ_H)²⌉: αρσ_H scales by ts³ (units loss/length³), so D_h changes."""
    d_h = {(s, t): plans_at("hf-maml", "paper", s, t).batch["D_h"] for s, t in SCALES}
    # By hand: α = 1/(6L) = 1/12, ρσ_H = 120, so 36(αρσ_H)² = 36·100 = 3600 at s = t = 1, times (ts³)².
    assert d_h[(1.0, 1.0)] == 3600
    assert d_h[(2.0, 1.0)] == 3600 * 64
    assert d_h[(0.5, 4.0)] == 3600 * (4 * 0.125) ** 2
    assert d_h[(8.0, 0.25)] == 3600 * (0.25 * 512) ** 2
