"""Theorems F.1, G.1, H.1 (general versions of 4.14, 4.18, 4.21) and Corollaries 4.16, 4.19, with explicit constants.

Each theorem bounds E‖∇F(w_ε)‖ by max{√(K(1 + ρασ/L)·S), (Kρα/L)·S, ε} with a batch-noise term S, and
states its iteration count with O(1). The explicit count comes from where each proof ends: a per-iteration
decrease E[F(w_{k+1})] <= E[F(w_k)] − dec while the bound fails, with

    dec = (1/M) · max{ ε²/(L + ρα(σ + ε)),  K·S/L },

the first term from (109), the second from the step above it (γ/(M·L) with γ = K·S). Summing as in
(110)-(112): if the bound failed at k = 0..T−1 then T·dec <= Δ, so among the first T = ⌊Δ/dec⌋ + 1
iterates w_0..w_{T−1} at least one meets it.

- F.1 (MAML): K = 61, M = 1600, from (103)-(112) directly.
- G.1 (FO-MAML): the proof ends at "−1/(100 L_k)‖∇F‖² + σ²(7/(828LB) + α²L/6) + σ̃²/D_o/(828LB) +
  σ̃²/D_in/(600L)", the same decrease factor as (103); (104)-(106) give 1/800, and halving it needs
  γ/(1600L) >= the noise, which K = 14 satisfies term by term (14/1600 >= 7/828, 280/1600 >= 1/6,
  14/1600 >= 1/828, 14/1600 >= 1/600). So M = 1600.
- H.1 (HF-MAML): the proof ends at "−1/(200 L_k)‖∇F‖² + (18σ² + 5σ̃²/D_o)/(1600LB) + σ̃²/D_in/(100L)";
  (104)-(106) give 1/1600, halving gives M = 3200, and γ/(3200L) >= the noise holds with K = 36
  (36/3200 = 18/1600 exactly, 36/3200 >= 5/1600, 36/3200 >= 1/100).

The O(1)-forms (87), (114), (132) follow: L/(K·S) <= (1/K)(LB/σ² + L(BD_o + D_in)/σ̃²) (and with
σ²(1/B + 20α²L²) in place of σ²/B for G.1), so their O(1) is M for the first term and M/K for the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from mamltheory.bounds.lemmas import step_batch_conditions
from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import (
    B, D_h, D_in, D_o, L, alpha, eps, initial_gap, rho, sigma, sigma_H, sigma_tilde,
)


def batch_noise(bias: sp.Expr = sp.Integer(0)) -> sp.Expr:
    """S = σ²/B + σ̃²/(B·D_o) + σ̃²/D_in (+ FO-MAML's bias σ²·20α²L²), the term inside (86), (113), (131)."""
    return sigma**2 / B + sigma_tilde**2 / (B * D_o) + sigma_tilde**2 / D_in + bias


def accuracy_expr(K: int, S: sp.Expr) -> sp.Expr:
    """max{√(K(1 + ρασ/L)S), (Kρα/L)S, ε}: the common shape of (86), (113), (131)."""
    return sp.Max(sp.sqrt(K * (1 + rho * alpha * sigma / L) * S), K * rho * alpha / L * S, eps, evaluate=False)


def decrease_expr(K: int, M: int, S: sp.Expr) -> sp.Expr:
    """Guaranteed E[F] decrease per iteration while the bound fails (see the module docstring)."""
    return sp.Max(eps**2 / (L + rho * alpha * (sigma + eps)), K * S / L, evaluate=False) / M


@dataclass(frozen=True)
class ConvergenceTheorem:
    """A general convergence theorem: its constants, preconditions, accuracy and iteration bounds."""

    name: str
    algorithm: str
    short_name: str            # the main-text theorem it generalises
    alpha_L_max: int           # α ∈ (0, 1/(alpha_L_max·L)]
    step_divisor: int          # c in β_k = β̃(w_k)/c
    K: int                     # constant in the accuracy bound
    M: int                     # constant in the iteration bound
    bias: sp.Expr              # α-dependent floor inside S (FO-MAML only)
    D_h_min: sp.Expr           # D_h >= this
    hessian_batches: int       # D_h-sized batches drawn per task: 1 (Hessian), 0 (none), 2 (two gradients)
    accuracy_eq: str
    iterations_eq: str
    delta: sp.Expr | None = None  # HF-MAML's δ of (142)
    notes: tuple[str, ...] = ()   # where the statement or its proof does not hold as written
    theory: str = "paper"         # "paper" (as stated) or "repaired" (bounds/statements.py)
    failing: tuple[str, ...] = ()  # steps of its proof chain that fail (bounds/proofs): empty = guaranteed
    repairs: tuple[str, ...] = ()  # the repaired steps it rests on (repaired theory only)
    K_T: int | None = None        # K inside the iteration count when it differs from the accuracy's K
    delta_budget: int | None = None  # repaired H.1: c of the δ condition (δ′), ν <= ε√(L/(c(σ² + σ̃²/D_o)(L + ρα(σ + ε))))
    nu_max: sp.Rational | None = None  # repaired H.1: the largest ν = ραδ its proof allows

    @property
    def guaranteed(self) -> bool:
        """Whether every step of its proof chain holds (`mamltheory audit --chain`)."""
        return not self.failing

    @property
    def alpha_max(self) -> sp.Expr:
        return 1 / (self.alpha_L_max * L)

    @cached_property
    def S(self) -> sp.Expr:
        return batch_noise(self.bias)

    @cached_property
    def preconditions(self) -> tuple[Condition, ...]:
        stmt = f"{self.name}"
        return (
            Condition(sp.Gt(alpha, 0), f"{stmt}: α ∈ (0, {sp.sstr(self.alpha_max)}]"),
            Condition(sp.Le(alpha, self.alpha_max), f"{stmt}: α ∈ (0, {sp.sstr(self.alpha_max)}]"),
            Condition(sp.Ge(B, 20), f"{stmt}: B >= 20"),
            *(() if self.D_h_min == 0 else  # no Hessian batch (repaired G.1: FO-MAML draws none)
              (Condition(sp.Ge(D_h, self.D_h_min), f"{stmt}: D_h >= {sp.sstr(self.D_h_min).replace('ceiling', 'ceil')}"),)),
            *step_batch_conditions(f"{stmt} via Lemma 4.11, eq. (27), for β_k = β̃(w_k)/{self.step_divisor}"),
        )

    @cached_property
    def accuracy(self) -> Bound:
        return Bound(
            name=f"{self.name} accuracy",
            source=f"{self.name}, eq. ({self.accuracy_eq})",
            quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound",
            expr=accuracy_expr(self.K, self.S),
            preconditions=self.preconditions,
        )

    @cached_property
    def iterations(self) -> Bound:
        return Bound(
            name=f"{self.name} iterations",
            source=f"{self.name}, eq. ({self.iterations_eq}) with the explicit constant of its proof",
            quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound",
            expr=sp.floor(initial_gap / decrease_expr(self.K_T or self.K, self.M, self.S)) + 1,
            preconditions=self.preconditions,
        )


# Findings of `mamltheory audit` that affect a plan; the plan keeps the paper's constants and says so.
A2_NOTE = ("cites Lemma A.2 (44), which is false (its proof drops a factor (1 + αL)²; a two-task 1-D "
           "counterexample violates it), but the step follows without it from (56) and (43):")

THEOREM_F1 = ConvergenceTheorem(
    name="Theorem F.1", algorithm="maml", short_name="Theorem 4.14",
    alpha_L_max=6, step_divisor=12, K=61, M=1600, bias=sp.Integer(0),
    D_h_min=sp.ceiling(2 * alpha**2 * sigma_H**2), hessian_batches=1,
    accuracy_eq="86", iterations_eq="87", notes=("Theorem F.1: (99) " + A2_NOTE + " its 40 and 14 hold (26.68 and 8.92 at αL = 1/6).",
           "Theorem F.1: (107) takes the expectation of a minimum as the minimum of the expectations, which is "
           "invalid (E[min] <= min E); Jensen on the convex envelope costs a factor 3/4 (`mamltheory audit --chain F.1`)."),
)

THEOREM_G1 = ConvergenceTheorem(
    name="Theorem G.1", algorithm="fo-maml", short_name="Theorem 4.18",
    alpha_L_max=10, step_divisor=18, K=14, M=1600, bias=20 * alpha**2 * L**2 * sigma**2,
    D_h_min=sp.ceiling(2 * alpha**2 * sigma_H**2), hessian_batches=0,
    accuracy_eq="113", iterations_eq="114",
    notes=("Theorem G.1 states D_h >= ⌈2α²σ_H²⌉, but FO-MAML draws no D_h batch; the plan reports the stated "
           "minimum and counts no Hessian samples.",
           "Theorem G.1: the last step of the proof bounds the α²Lσ² noise by 1/6, but the terms it collects sum to "
           "169/864 ≈ 0.196, so with the proof's own rounded numbers the constant 14 of (113) would need 15.65 "
           "(`mamltheory audit --chain G.1`).",
           "Theorem G.1: (122) " + A2_NOTE + " its 0.22 and 2 hold (0.170 and 1.70 at αL = 1/10).",
           "Theorem G.1: (107) repeats F.1's expectation of a minimum (a factor 3/4)."),
)

THEOREM_H1 = ConvergenceTheorem(
    name="Theorem H.1", algorithm="hf-maml", short_name="Theorem 4.21",
    alpha_L_max=6, step_divisor=25, K=36, M=3200, bias=sp.Integer(0),
    D_h_min=sp.ceiling(36 * (alpha * rho * sigma_H) ** 2), hessian_batches=2,
    accuracy_eq="131", iterations_eq="132", delta=1 / (6 * rho * alpha),  # eq. (142); numeric: hf_delta
    notes=("Theorem H.1: D_h >= ⌈36(αρσ_H)²⌉ is not dimensionless (αρσ_H has units loss·length⁻³, those of ρ: 36(αρσ_H)² has units loss²·length⁻⁶); it comes from the "
           "variance term σ_H²/(D_h(δ_k^i)²) of (150), which should read σ_H²‖v‖²/D_h; with that term (152) "
           "needs only D_h >= α²σ_H²·2/(4.3 − 2 − 8/36).",
           "Theorem H.1: step (144)-(145) replaces E_i‖∇F_i(w)‖ by ‖∇F(w)‖ (and (144) drops the D_o noise); with "
           "δ = 1/(6ρα) the finite-difference bias does not shrink with the batch sizes, and (131) is false: on two "
           "opposed-kink tasks HF-MAML stalls at ‖∇F‖ = 0.0445 where (131) promises 0.0222 (`mamltheory audit`).",
           "Theorem H.1: (156) " + A2_NOTE + " its 50 and 18 hold (33.35 and 11.15 at αL = 1/6)."),
)

THEOREMS: dict[str, ConvergenceTheorem] = {t.algorithm: t for t in (THEOREM_F1, THEOREM_G1, THEOREM_H1)}

# Lemmas 4.9-4.12 (smoothness of F, the step size β̃) hold for α ∈ (0, 1/L]: the widest α any run uses.
LEMMA_ALPHA_L_MAX = 1


def theorem_for_algorithm(algorithm: str) -> ConvergenceTheorem:
    """The general theorem of `algorithm`; "maml-hvp" (Algorithm 1 with exact HVPs) is covered by F.1."""
    return THEOREMS["maml" if algorithm == "maml-hvp" else algorithm]


def alpha_max(algorithm: str, L: float) -> float:
    """The largest inner step α the theorem of `algorithm` allows: 1/(6L) (F.1, H.1), 1/(10L) (G.1)."""
    return 1.0 / (theorem_for_algorithm(algorithm).alpha_L_max * L)


def lemma_alpha_max(L: float) -> float:
    """1/L: the largest α of Lemmas 4.9-4.12, outside which F's smoothness bound (Lemma 4.9) is not stated."""
    return 1.0 / (LEMMA_ALPHA_L_MAX * L)


def step_divisor(algorithm: str) -> int:
    """c of β_k = β̃(w_k)/c (eq. (26)) in the theorem of `algorithm`: 12 (F.1), 18 (G.1), 25 (H.1)."""
    return theorem_for_algorithm(algorithm).step_divisor


def hf_delta(rho: float, alpha: float) -> float:
    """HF-MAML's finite-difference radius δ = 1/(6ρα), eq. (142) (δ_k^i = δ/‖v‖ per task)."""
    return 1.0 / (6.0 * rho * alpha)
