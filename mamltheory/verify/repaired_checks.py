"""The repaired theorems (docs/repaired-theorems.md) against exact runs on the opposed kinks.

* Falsification: repaired H.1 from the two starts of the paper's H.1 runs on the opposed kinks (the paper's
  HF-MAML fixed point w* and w_0 = −2.5) at the same ε = ‖∇F(w*)‖/2, with the δ of (δ′); and the repaired bias
  step (147′), ‖s_k‖ <= ν(1 + αL)C1(‖∇F(w)‖ + σ) (σ̃ = 0), at w* with the paper's radius, where (147) fails.
* `kinks_nu`: the repaired rule's ν_ε on the opposed kinks at ε = half the paper-δ floor (4.90e-4), the fixed
  radius at which the tightness rows hold repaired H.1 (`tightness.entries`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mamltheory.bounds.theory import REPAIRED, SHARP
from mamltheory.simulate.algorithms import exact_direction
from mamltheory.verify.check import CheckResult, judge
from mamltheory.verify.instances import opposed_kinks
from mamltheory.verify.theorem_checks import LIMIT, exact_delta, kinks_floor, instance_run

Array = np.ndarray


@lru_cache(maxsize=1)
def kinks_nu() -> float:
    """ν_ε of (δ′) on the opposed kinks at ε = half the paper-δ floor, α = 1/(6L), σ̃ = 0: 4.90e-4."""
    inst = opposed_kinks()
    a, _, floor = kinks_floor()
    delta, _ = exact_delta("hf-maml", REPAIRED, inst.constants, a, floor / 2, LIMIT)
    assert delta is not None
    return delta * inst.rho * a


def repaired_bias_step(nu: float, w: float, id: str) -> CheckResult:
    """(147′) with σ̃ = 0 on the opposed kinks: ‖s_k‖ = ‖E_i G_i(w) − ∇F(w)‖ <= b1(‖∇F(w)‖ + σ), b1 = ν(1 + αL)C1,
    C1 = 1/(1 − 2αL − α²L²) (Lemma A.2), exact expectations, radius δ = ν/(ρα)."""
    inst = opposed_kinks()
    (a, _, _), c = kinks_floor(), inst.constants
    aL = a * inst.L
    b1 = nu * (1 + aL) / (1 - 2 * aL - aL**2)
    x = np.array([w])
    gF = inst.grad_F(x, a)
    s = float(np.linalg.norm(exact_direction(inst, "hf-maml", x, a, nu / (inst.rho * a)) - gF))
    bnd = b1 * (float(np.linalg.norm(gF)) + c.sigma)
    return judge(f"repaired Theorem H.1 proof, (147′): finite-difference bias at ν = {nu:.4g}",
                 "repaired Theorem H.1, step (147′)", "lemma", s, bnd, id=id, result="H.1",
                 evidence=(f"opposed kinks at w = {w:.6g} (the paper's HF-MAML fixed point), αL = 1/6, exact "
                           f"expectations, σ̃ = 0: ‖s_k‖ = {s:.6g} vs ν(1 + αL)C1(‖∇F(w)‖ + σ) = {b1:.4g}·"
                           f"({float(np.linalg.norm(gF)):.4g} + {c.sigma:g}) = {bnd:.6g}; (147′) keeps the task "
                           "spread σ that (145) dropped"),
                 details={"instance": inst.to_dict(), "alpha": a, "w": [w], "nu": nu, "b1": b1})


def falsification_runs(cap: int) -> list[CheckResult]:
    """Repaired and sharp H.1 on the opposed kinks from the paper's two starts (w* and −2.5) at ε = ‖∇F(w*)‖/2, and (147′)
    at w* with the paper's ν = 1/6 and with the repaired ν."""
    inst = opposed_kinks()
    a, w_star, floor = kinks_floor()
    eps = floor / 2
    extra = {"paper_floor": floor, "paper_fixed_point": w_star}
    out = [repaired_bias_step(1 / 6, w_star, "falsify.H.1.repaired.147′-bias.paper-nu"),
           repaired_bias_step(kinks_nu(), w_star, "falsify.H.1.repaired.147′-bias.repaired-nu")]
    fixed = f"opposed kinks, w_0 = HF-MAML fixed point {w_star:.6g} (‖∇F‖ = {floor:.4g})"
    for w0, label, where in ((w_star, fixed, ".from-fixed-point"), (-2.5, "opposed kinks, w_0 = −2.5", "")):
        for theory in (REPAIRED, SHARP):
            out.append(instance_run(inst, a, np.array([w0]), eps, cap, label,
                                    f"falsify.exact.H.1.{theory}.opposed-kinks{where}", extra, theory=theory))
    return out


def cap_for(quick: bool) -> int:
    """Iteration cap of the falsification runs: repaired H.1 from −2.5 needs 1015 iterations."""
    return 3_000 if quick else 20_000
