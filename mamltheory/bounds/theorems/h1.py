"""Theorem H.1 (HF-MAML; the general Theorem 4.21): accuracy (131), iterations (132), the radius δ of (142),
under the paper's proof and the repaired one.

- paper: K = 36, M = 3200, δ = 1/(6ρα) (142), D_h >= ⌈36(αρσ_H)²⌉. The proof ends at "−1/(200 L_k)‖∇F‖² +
  (18σ² + 5σ̃²/D_o)/(1600LB) + σ̃²/D_in/(100L)"; (104)-(106) give 1/1600, halving gives M = 3200, and γ/(3200L) >=
  the noise holds with K = 36. Its steps (144), (145), (150), (152) fail, and with them the statement.
- repaired (docs/repaired-theorems.md): with ν := ραδ (δ_k^i = δ/‖v‖, δ a length, ν dimensionless),
  S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in and S = S₀ + κν²(σ² + σ̃²/D_o):

      E‖∇F(w_ε)‖ <= max{√(K(1 + ρασ/L)S), K(ρα/L)S, ε}                        (131′)
      T = ⌊Δ·M / max{ε²/(L + ρα(σ + ε)), K·S/L}⌋ + 1                           (132′)
      under (δ′) c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L:
      E‖∇F(w_ε)‖ <= max{√(K′(1 + ρασ/L)S₀), K′(ρα/L)S₀, ε}                     (131″)

  K = 17, κ = 35, M = 2579, c = 1190, K′ = 34; α ∈ (0, 1/(6L)], B >= 20, D_h >= ⌈α²σ_H²⌉, ν <= 1/6,
  β_k = β̃(w_k)/25 with (27). The statement planned with is (131″) at δ = ν/(ρα), ν = min{1/6, ν_ε}, with the
  count (132′) taken at S₀ (which only enlarges T, S >= S₀). Step (150′) needs common random numbers: the
  same D_h samples at w + δ_k v and w − δ_k v (eq. (12), as the simulator does).
- sharp (docs/sharp-theorems.md): the repaired proof with Taylor's ½ in (143♯), E‖G_i‖² bounded directly
  (152♯, 41/16 instead of 38/9) and κ = 1 ((106♯)-(107♯)); same statement shape, at the paper's choices
  K = 5, κ = 13, M = 1072, c = 130, K′ = 10; `theorems.sharp_theorem` builds it at other choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import sympy as sp

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.result import Bound, Condition, compile_expr, rational
from mamltheory.bounds.symbols import D_o, L, alpha, delta, eps, rho, sigma, sigma_H, sigma_tilde
from mamltheory.bounds.theorems.base import (
    LIMIT_BATCH,
    A2_NOTE,
    Theorem,
    accuracy_expr,
    batch_noise,
    iterations_expr,
    as_stated,
    plan_note,
)

_COMMON = dict(label="H.1", main="4.21", algorithm="hf-maml", alpha_L_max=6, step_divisor=25, hessian_batches=2,
               bias=sp.Integer(0))
# σ² + σ̃²/D_o: what the finite-difference bias scales with, in S (131′) and in the δ condition (δ′)
SPREAD = sigma**2 + sigma_tilde**2 / D_o
_RADIUS_FORM = "δ_k^i = δ/‖∇̃f_i(w_k − α∇̃f_i(w_k, D_in^i), D_o^i)‖ with δ"


# The paper's radius δ = 1/(6ρα), eq. (142); `paper_radius` is the same rule on numbers.
RADIUS_142 = 1 / (6 * rho * alpha)


def paper_radius(rho_value: float, alpha_value: float) -> float:
    """HF-MAML's finite-difference radius as the paper sets it: δ = 1/(6ρα), eq. (142) (δ_k^i = δ/‖v‖ per task)."""
    return 1.0 / (6.0 * rho_value * alpha_value)


@dataclass(frozen=True)
class PaperH1(Theorem):
    """The paper's Theorem H.1: its radius is δ = 1/(6ρα), eq. (142)."""

    def radius(self, c: ProblemConstants, alpha_value: float, eps_value: Fraction | float,
               D_o_value: int) -> tuple[float, str]:
        d = paper_radius(c.rho, alpha_value)
        return d, f"{_RADIUS_FORM} = 1/(6ρα) = {d:.6g} (eq. (142))"


@dataclass(frozen=True)
class RepairedH1(Theorem):
    """Repaired Theorem H.1: (131″) with the radius of its δ condition (δ′); (131′) and (132′) at any ν."""

    @property
    def K(self) -> int:
        """K′ = 2K of (131″): half the ε budget goes to the finite-difference bias."""
        return int(self.chain_constants["K_delta"])

    @property
    def K_T(self) -> int:
        return int(self.chain_constants["K"])

    @property
    def kappa(self) -> int:
        return int(self.chain_constants["kappa"])

    @property
    def delta_budget(self) -> int:
        """c of the δ condition (δ′), c = 2Kκ."""
        return int(self.chain_constants["delta_budget"])

    @property
    def nu_max(self) -> sp.Rational:
        """The largest ν = ραδ the proof allows."""
        return self.chain_constants["nu_max"]

    @cached_property
    def nu(self) -> sp.Expr:
        """ν = ραδ, the dimensionless finite-difference radius (δ_k^i = δ/‖v‖, δ a length)."""
        return rho * alpha * delta

    @cached_property
    def nu_eps(self) -> sp.Expr:
        """ν_ε = ε√(L/(c(σ² + σ̃²/D_o)(L + ρα(σ + ε)))): the largest ν under (δ′)."""
        return eps * sp.sqrt(L / (self.delta_budget * SPREAD * (L + rho * alpha * (sigma + eps))))

    @cached_property
    def _nu_eps_fn(self) -> Any:
        return compile_expr(self.nu_eps, (L, rho, sigma, sigma_tilde, alpha, eps, D_o))

    def radius(self, c: ProblemConstants, alpha_value: float, eps_value: Fraction | float,
               D_o_value: int) -> tuple[float, str]:
        """δ = ν/(ρα) with ν = min{1/6, ν_ε} (δ′), ν_ε rounded down so that ν never exceeds it."""
        a, e = rational(alpha_value), rational(eps_value)
        nu_max = float(self.nu_max)
        if rational(c.sigma) ** 2 + rational(c.sigma_tilde) ** 2 / D_o_value == 0 or e <= 0:
            nu, why = nu_max, f"ν = {self.nu_max}: with σ = σ̃ = 0 the δ condition (δ′) is void"
        else:
            nu_eps = float(self._nu_eps_fn(rational(c.L), rational(c.rho), rational(c.sigma), rational(c.sigma_tilde), a, e,
                                           D_o_value)) * (1 - 1e-12)
            nu = min(nu_max, nu_eps)
            why = (f"ν = ραδ = min{{{self.nu_max}, ν_ε}} = {nu:.6g}, ν_ε = ε√(L/({self.delta_budget}(σ² + σ̃²/D_o)"
                   f"(L + ρα(σ + ε)))) = {nu_eps:.6g} (δ condition (δ′) at ε = {float(e):.4g})")
        d = nu / float(rational(c.rho) * a)
        return d, f"{_RADIUS_FORM} = ν/(ρα) = {d:.6g}; {why}"

    # ---- the bounds at a given radius ν = ραδ ------------------------------------------------------------

    @cached_property
    def S_at_radius(self) -> sp.Expr:
        """S = S₀ + κν²(σ² + σ̃²/D_o): the finite-difference bias enters like FO-MAML's α²L²σ² in (113)."""
        return batch_noise() + self.kappa * self.nu**2 * SPREAD

    @cached_property
    def radius_preconditions(self) -> tuple[Condition, ...]:
        return (*self.preconditions,
                Condition(sp.Le(self.nu, self.nu_max), f"{self.name}, step (142′): ν = ραδ <= {self.nu_max}"))

    @cached_property
    def delta_condition(self) -> Condition:
        """(δ′): c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L, c = 2Kκ."""
        c = self.delta_budget
        return Condition(sp.Le(c * self.nu**2 * SPREAD * (L + rho * alpha * (sigma + eps)),
                               eps**2 * L),
                         f"{self.name}, condition (δ′): {c}ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L")

    @cached_property
    def accuracy_at_radius(self) -> Bound:
        return Bound(
            name=f"{self.name} (131′) accuracy", source=f"{self.name}, eq. (131′)",
            quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound",
            expr=accuracy_expr(self.K_T, self.S_at_radius), preconditions=self.radius_preconditions,
            note=f"K = {self.K_T}, S = σ²/B + σ̃²/(BD_o) + σ̃²/D_in + {self.kappa}ν²(σ² + σ̃²/D_o), ν = ραδ: the ν² "
                 "term is the finite-difference bias, which no batch size removes "
                 "(`mamltheory audit --chain H.1 --theory repaired`).")

    @cached_property
    def iterations_at_radius(self) -> Bound:
        return Bound(
            name=f"{self.name} (132′) iterations", source=f"{self.name}, eq. (132′) at a radius",
            quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound (131′)",
            expr=iterations_expr(self.K_T, self.M, self.S_at_radius), preconditions=self.radius_preconditions,
            note=f"K = {self.K_T}, M = {self.M} from the repaired chain")

    @cached_property
    def D_h_bound(self) -> Bound:
        return Bound(
            name=f"{self.name} Hessian batch", source=f"{self.name}, step (150′)",
            quantity="D_h, the samples of each finite-difference gradient pair", expr=self.D_h_min, kind="lower",
            preconditions=(Condition(sp.Gt(alpha, 0), f"{self.name}: α > 0"),),
            note="Var of d_k^i over D_h is at most σ_H²‖v‖²/D_h; (152′) needs α²σ_H²/D_h <= 1 (ασ_H is dimensionless).")

    @cached_property
    def radius_bound(self) -> Bound:
        return Bound(
            name=f"{self.name} radius", source=f"{self.name}, condition (δ′)", quantity="δ, with δ_k^i = δ/‖v_k^i‖",
            expr=sp.Min(self.nu_max, self.nu_eps, evaluate=False) / (rho * alpha),
            preconditions=(Condition(sp.Gt(alpha, 0), f"{self.name}: α > 0"),
                           Condition(sp.Gt(sigma**2 + sigma_tilde**2, 0),
                                     f"{self.name}, condition (δ′): σ > 0 or σ̃ > 0 (otherwise δ = 1/(6ρα))")),
            note=f"ν = ραδ <= min{{{self.nu_max}, ν_ε}}: the finite-difference bias then fits in half the ε budget.")

    @property
    def bounds(self) -> tuple[Bound, ...]:
        return (self.accuracy, self.iterations, self.accuracy_at_radius, self.iterations_at_radius, self.D_h_bound,
                self.radius_bound)

    def limit_at_radius(self, c: ProblemConstants, alpha_value: float, eps_value: float, gap: float,
                        nu_value: float, huge: int = LIMIT_BATCH) -> tuple[float, float]:
        """(accuracy, T) as B, D → ∞ (σ̃ = σ_H = 0) at the radius δ = ν/(ρα): the least of (131′) and, where (δ′)
        holds at ε, (131″); T of (132′)."""
        vals = {**self.limit_values(c, alpha_value, eps_value, gap, huge=huge), "delta": nu_value / (c.rho * alpha_value)}
        pick = lambda b: {k: vals[k] for k in b.parameters}  # noqa: E731
        acc = float(self.accuracy_at_radius(**pick(self.accuracy_at_radius)))
        if self.delta_condition.holds(vals):
            acc = min(acc, float(self.accuracy.array(**pick(self.accuracy))))
        return acc, float(self.iterations_at_radius.exact(**pick(self.iterations_at_radius)))


_REPAIRS = ("(44′)", "(144′) E‖v‖", "(145′) spread", "(145′)", "(148′) σ̃²/D_in", "(150′)", "(152′) D_h", "(152′)",
            "(155′)", "(157′) Young σ̃²/D_in", "(107′) κ")
# (150′)'s hypothesis, in the notes of the repaired and the sharp statement.
CRN_NOTE = ("Theorem H.1: step (150′) assumes common random numbers: the same D_h samples at w + δ_k v and "
            "w − δ_k v (as eq. (12) and the simulator do); with independent batches the variance of d_k^i grows like "
            "σ̃²‖v‖²/(D_hδ²) and blows up as ν → 0, and the bound does not hold.")
REPAIRED = RepairedH1(
    theory="repaired", failing=(), repairs=_REPAIRS, notes=(plan_note("H.1", "repaired", _REPAIRS), CRN_NOTE),
    chain_constants={"K": 17, "M": 2579, "kappa": 35, "K_delta": 34, "delta_budget": 1190, "D_h_factor": 1,
                     "nu_max": sp.Rational(1, 6)},
    D_h_min=sp.ceiling(1 * alpha**2 * sigma_H**2), accuracy_eq="131″", iterations_eq="132′", **_COMMON)

_SHARP_REPAIRS = ("(44′)", "(143♯)", "(144′) E‖v‖", "(145′) spread", "(145′)", "(148′) σ̃²/D_in", "(150′)",
                  "(152′) D_h", "(152♯)", "(155′)", "(157′) Young σ̃²/D_in", "(106♯)", "(107♯) κ")
# K, M, κ rounded up (the statement's integers), K·κ, K′ = 2K, c = 2Kκ from them; K_exact, M_exact exact.
SHARP = RepairedH1(
    theory="sharp", failing=(), repairs=_SHARP_REPAIRS, notes=(plan_note("H.1", "sharp", _SHARP_REPAIRS), CRN_NOTE),
    chain_constants={"K": 5, "M": 1072, "K_nu": 65, "kappa": 13, "K_delta": 10, "delta_budget": 130, "D_h_factor": 1,
                     "nu_max": sp.Rational(1, 6), "K_exact": sp.Rational(31933055, 7585374),
                     "M_exact": sp.Rational(1354240000, 1264229)},
    D_h_min=sp.ceiling(1 * alpha**2 * sigma_H**2), accuracy_eq="131″", iterations_eq="132′", **_COMMON)

_PAPER = PaperH1(
    theory="paper", chain_constants={"K": 36, "M": 3200}, repairs=(),
    failing=("(44)", "(144) E‖v‖", "(145) spread", "(150)", "(152)", "(107) κ"),
    D_h_min=sp.ceiling(36 * (alpha * rho * sigma_H) ** 2), accuracy_eq="131", iterations_eq="132",
    notes=("Theorem H.1: D_h >= ⌈36(αρσ_H)²⌉ is not dimensionless (αρσ_H has units loss·length⁻³, those of ρ: "
           "36(αρσ_H)² has units loss²·length⁻⁶); it comes from the variance term σ_H²/(D_h(δ_k^i)²) of (150), "
           "which should read σ_H²‖v‖²/D_h; with that term (152) needs only D_h >= α²σ_H²·2/(4.3 − 2 − 8/36).",
           "Theorem H.1: step (144)-(145) replaces E_i‖∇F_i(w)‖ by ‖∇F(w)‖ (and (144) drops the D_o noise); with "
           "δ = 1/(6ρα) the finite-difference bias does not shrink with the batch sizes, and (131) is false: on two "
           "opposed-kink tasks HF-MAML stalls at ‖∇F‖ = 0.0445 where (131) promises 0.0222 (`mamltheory audit`).",
           "Theorem H.1: (156) " + A2_NOTE + " its 50 and 18 hold (33.35 and 11.15 at αL = 1/6)."),
    **_COMMON)
PAPER = as_stated(_PAPER, REPAIRED, "as the repaired H.1 needs a different D_h condition and a δ that shrinks "
                                   "with ε (`--theory repaired`)")
