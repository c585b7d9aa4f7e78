"""The repaired theorems (docs/repaired-theorems.md) against exact runs: tightness rows and falsification runs.

* Tightness (`verify.tightness` registry): repaired F.1 and G.1 with the constants of their chains
  (`bounds.statements.convergence_theorem(algorithm, "repaired")`: K = 20, M = 860; K = 9, M = 1247), the same
  step rules (β̃/12, β̃/18) and αL. Repaired H.1 at a fixed radius ν = ραδ: the registry traces one trajectory per
  setting and evaluates the bound on a grid of ε, so its δ cannot depend on ε. The theorem holds at every fixed
  ν <= 1/6: its bound is (131′), S = κν²σ² at B, D → ∞ (K = 17, κ = 35), and at those ε where the δ condition
  (δ′) holds also (131″), S₀ → 0, i.e. ε; T is (132′) with S. The radius registered, `KINKS_NU`, is the
  repaired rule's ν_ε on the opposed kinks at ε = half the paper-δ floor (4.90e-4): there (131″) applies for
  ε >= 0.0222, (131′) below. The ε-dependent rule itself is exercised per ε by the theorem and falsification
  checks (`theorem_checks.kinks_below_floor`, `falsification_runs`).
* Falsification: repaired H.1 from the two starts of the paper's H.1 runs on the opposed kinks (the paper's
  HF-MAML fixed point w* and w_0 = −2.5) at the same ε = ‖∇F(w*)‖/2, with the δ of (δ′); and the repaired bias
  step (147′), ‖s_k‖ <= ν(1 + αL)C1(‖∇F(w)‖ + σ) (σ̃ = 0), at w* with the paper's radius, where (147) fails.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.theorems import alpha_max, hf_delta
from mamltheory.simulate.algorithms import exact_direction
from mamltheory.verify import falsify
from mamltheory.verify.check import CheckResult, judge
from mamltheory.verify.instances import opposed_kinks
from mamltheory.verify.theorem_checks import LIMIT, exact_delta, repaired_instance_run, theorem_of
from mamltheory.verify.tightness import TheoremEntry, paper_step, register_theorem

Array = np.ndarray


def repaired_bound(algorithm: str):  # -> tightness.BoundFn
    """(accuracy, T) of repaired F.1 / G.1 at B = D = 10¹² (σ̃ = σ_H = 0), as tightness.paper_bound."""
    def bound(c: ProblemConstants, alpha: float, eps: float, gap: float) -> tuple[float, float]:
        th = theorem_of(algorithm, "repaired")
        vals = dict(L=c.L, rho=c.rho, sigma=c.sigma, sigma_tilde=0.0, sigma_H=0.0, alpha=alpha, eps=eps,
                    B=falsify.HUGE, D_in=falsify.HUGE, D_o=falsify.HUGE, D_h=1, B_prime=falsify.HUGE, D_beta=1,
                    initial_gap=gap)
        return (float(th.accuracy(**{k: vals[k] for k in th.accuracy.parameters})),
                float(th.iterations.exact(**{k: vals[k] for k in th.iterations.parameters})))
    return bound


def h1_fixed_radius_bound(nu: float):  # -> tightness.BoundFn
    """Repaired H.1 at the radius δ = ν/(ρα): min of (131′) and, where (δ′) holds at ε, (131″); T of (132′)."""
    def bound(c: ProblemConstants, alpha: float, eps: float, gap: float) -> tuple[float, float]:
        from mamltheory.bounds.repaired_h1 import REPAIRED_H1 as R  # evaluates the chain once (~3 s)

        vals = dict(L=c.L, rho=c.rho, sigma=c.sigma, sigma_tilde=0.0, sigma_H=0.0, alpha=alpha, eps=eps,
                    delta=nu / (c.rho * alpha), B=falsify.HUGE, D_in=falsify.HUGE, D_o=falsify.HUGE, D_h=1,
                    B_prime=falsify.HUGE, D_beta=1, initial_gap=gap)
        pick = lambda b: {k: vals[k] for k in b.parameters}  # noqa: E731
        acc = float(R.accuracy(**pick(R.accuracy)))
        if R.delta_condition.holds(vals):
            acc = min(acc, float(R.accuracy_delta.array(**pick(R.accuracy_delta))))
        return acc, float(R.iterations.exact(**pick(R.iterations)))
    return bound


@lru_cache(maxsize=1)
def kinks_floor() -> tuple[float, float, float]:
    """(α = 1/(6L), the paper's HF-MAML fixed point w* on the opposed kinks, ‖∇F(w*)‖ = the paper-δ floor)."""
    inst = opposed_kinks()
    a = alpha_max("hf-maml", inst.L)
    w = falsify.fixed_point_1d(inst, "hf-maml", a, -3.0, 3.0, hf_delta(inst.rho, a))
    return a, w, float(abs(inst.grad_F(np.array([w]), a)[0]))


def kinks_nu() -> float:
    """ν_ε of (δ′) on the opposed kinks at ε = half the paper-δ floor, α = 1/(6L), σ̃ = 0: 4.90e-4."""
    inst = opposed_kinks()
    a, _, floor = kinks_floor()
    delta, _ = exact_delta("hf-maml", "repaired", inst.constants, a, floor / 2, LIMIT)
    assert delta is not None
    return delta * inst.rho * a


KINKS_NU = kinks_nu()
REGISTERED: list[str] = []   # the results this module adds to the tightness registry
RECIPE_IMPORT = "import mamltheory.verify.repaired_checks  # registers the repaired theorems' rows\n"

for _alg, _aL in (("maml", 1 / 6), ("fo-maml", 1 / 10)):
    _th = theorem_of(_alg, "repaired")
    REGISTERED.append(_th.name)
    register_theorem(TheoremEntry(
        result=_th.name, source=f"{_th.accuracy.source} (K = {_th.K}, M = {_th.M})", algorithm=_alg,
        bound=repaired_bound(_alg), step=paper_step(_alg),  # the repaired chains keep β̃/12 and β̃/18
        delta=lambda rho, alpha: None, alpha_L=_aL))
REGISTERED.append(f"repaired Theorem H.1, fixed ν = ραδ = {KINKS_NU:.3g}")
register_theorem(TheoremEntry(
    result=REGISTERED[-1],
    source="repaired Theorem H.1, eqs. (131′), (131″) under (δ′), (132′) (K = 17, κ = 35, M = 2579, K′ = 34)",
    algorithm="hf-maml", bound=h1_fixed_radius_bound(KINKS_NU), step=paper_step("hf-maml"),  # β̃/25 kept
    delta=lambda rho, alpha: KINKS_NU / (rho * alpha), alpha_L=1 / 6))


def reproducible(rows: list[CheckResult]) -> list[CheckResult]:
    """The tightness rows with this module's import prepended to the recipes of the rows it registered (the
    recipe looks the entry up in `tightness.REGISTRY`, where only this import puts it)."""
    for r in rows:
        if r.details.get("result") in REGISTERED and r.details.get("recipe"):
            r.details["recipe"] = RECIPE_IMPORT + r.details["recipe"]
            r.evidence = r.evidence.replace("Reproduce:\n", "Reproduce:\n" + RECIPE_IMPORT, 1)
    return rows


def repaired_bias_step(nu: float, w: float) -> CheckResult:
    """(147′) with σ̃ = 0 on the opposed kinks: ‖s_k‖ = ‖E_i G_i(w) − ∇F(w)‖ <= b1(‖∇F(w)‖ + σ), b1 = ν(1 + αL)C1,
    C1 = 1/(1 − 2αL − α²L²) (Lemma A.2), exact expectations, radius δ = ν/(ρα)."""
    inst = opposed_kinks()
    a, c = alpha_max("hf-maml", inst.L), inst.constants
    aL = a * inst.L
    b1 = nu * (1 + aL) / (1 - 2 * aL - aL**2)
    x = np.array([w])
    gF = inst.grad_F(x, a)
    s = float(np.linalg.norm(exact_direction(inst, "hf-maml", x, a, nu / (inst.rho * a)) - gF))
    bnd = b1 * (float(np.linalg.norm(gF)) + c.sigma)
    return judge(f"repaired Theorem H.1 proof, (147′): finite-difference bias at ν = {nu:.4g}",
                 "repaired Theorem H.1, step (147′)", "lemma", s, bnd,
                 evidence=(f"opposed kinks at w = {w:.6g} (the paper's HF-MAML fixed point), αL = 1/6, exact "
                           f"expectations, σ̃ = 0: ‖s_k‖ = {s:.6g} vs ν(1 + αL)C1(‖∇F(w)‖ + σ) = {b1:.4g}·"
                           f"({float(np.linalg.norm(gF)):.4g} + {c.sigma:g}) = {bnd:.6g}; (147′) keeps the task "
                           "spread σ that (145) dropped"),
                 details={"instance": inst.to_dict(), "alpha": a, "w": [w], "nu": nu, "b1": b1})


def falsification_runs(cap: int) -> list[CheckResult]:
    """Repaired H.1 on the opposed kinks from the paper's two starts (w* and −2.5) at ε = ‖∇F(w*)‖/2, and (147′)
    at w* with the paper's ν = 1/6 and with the repaired ν."""
    inst = opposed_kinks()
    a, w_star, floor = kinks_floor()
    eps = floor / 2
    extra = {"paper_floor": floor, "paper_fixed_point": w_star}
    out = [repaired_bias_step(1 / 6, w_star), repaired_bias_step(KINKS_NU, w_star)]
    for w0, label in ((w_star, f"opposed kinks, w_0 = HF-MAML fixed point {w_star:.6g} (‖∇F‖ = {floor:.4g})"),
                      (-2.5, "opposed kinks, w_0 = −2.5")):
        out.append(repaired_instance_run(inst, a, np.array([w0]), eps, cap, label, extra))
    return out


def cap_for(quick: bool) -> int:
    """Iteration cap of the falsification runs: repaired H.1 from −2.5 needs 1015 iterations."""
    return 3_000 if quick else 20_000
