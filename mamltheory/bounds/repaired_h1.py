"""Theorem H.1 (repaired) as `Bound`s: accuracy (131′), (131″), iterations (132′), the D_h condition (150′)-(152′)
and the δ condition (δ′); the constants are read off the repaired proof chain (bounds/proofs/h1.py), the
derivation is in docs/repaired-theorems.md.

With ν := ραδ (δ_k^i = δ/‖v‖, δ a length, ν dimensionless) and
S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in, S = S₀ + κν²(σ² + σ̃²/D_o):

    E‖∇F(w_ε)‖ <= max{√(K(1 + ρασ/L)S), K(ρα/L)S, ε}                         (131′)
    T = ⌊Δ·M / max{ε²/(L + ρα(σ + ε)), K·S/L}⌋ + 1                            (132′)
    under c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L:
    E‖∇F(w_ε)‖ <= max{√(K′(1 + ρασ/L)S₀), K′(ρα/L)S₀, ε}                      (131″)

K = 17, κ = 35, M = 2579, c = 1190, K′ = 34 (read off the chain, not typed in); α ∈ (0, 1/(6L)], B >= 20,
D_h >= ⌈α²σ_H²⌉, ν <= 1/6, β_k = β̃(w_k)/25 with (27). `REPAIRED_H1` has the interface of
bounds.repaired.RepairedTheorem.
"""

from __future__ import annotations

from functools import cached_property

import sympy as sp

from mamltheory.bounds.lemmas import step_batch_conditions
from mamltheory.bounds.proofs import Chain, get_chain
from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import (
    B,
    D_h,
    D_in,
    D_o,
    L,
    alpha,
    delta,
    eps,
    initial_gap,
    rho,
    sigma,
    sigma_H,
    sigma_tilde,
)

NAME = "repaired Theorem H.1"
STEP_DIVISOR = 25      # β_k = β̃(w_k)/25: the paper's rule survives the repair
ALPHA_L_MAX = 6        # α ∈ (0, 1/(6L)]


def nu_expr() -> sp.Expr:
    """ν = ραδ, the dimensionless finite-difference radius (δ_k^i = δ/‖v‖, δ a length)."""
    return rho * alpha * delta


def batch_noise() -> sp.Expr:
    """S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in."""
    return sigma**2 / B + sigma_tilde**2 / (B * D_o) + sigma_tilde**2 / D_in


def _accuracy(K: sp.Expr, S: sp.Expr) -> sp.Expr:
    return sp.Max(sp.sqrt(K * (1 + rho * alpha * sigma / L) * S), K * rho * alpha / L * S, eps, evaluate=False)


class RepairedH1:
    """Theorem H.1 restated from its repaired chain: the constants and the bounds (built on first use).

    The same interface as bounds.repaired.RepairedTheorem (name, chain, repairs, K, M, provenance, accuracy,
    iterations), plus κ, the δ condition, the D_h condition and the accuracy under the δ condition.
    """

    theorem = "H.1"
    algorithm = "hf-maml"
    name = NAME

    @cached_property
    def chain(self) -> Chain:
        chain = get_chain(self.theorem, "repaired")
        if not chain.result.holds:  # a repaired theorem rests on no failing step
            raise RuntimeError(f"{NAME}: steps fail: {[r.key for r in chain.result.failing]}")
        return chain

    @cached_property
    def constants(self) -> dict[str, sp.Expr]:
        return self.chain.result.constants

    @cached_property
    def repairs(self) -> tuple[str, ...]:
        """The repaired steps (their keys), in proof order."""
        return tuple(s.key for s in self.chain.steps if s.repairs)

    @property
    def K(self) -> int:
        return int(self.constants["K"])

    @property
    def M(self) -> int:
        return int(self.constants["M"])

    @property
    def kappa(self) -> int:
        return int(self.constants["kappa"])

    @property
    def K_delta(self) -> int:
        return int(self.constants["K_delta"])

    @property
    def delta_budget(self) -> int:
        return int(self.constants["delta_budget"])

    @property
    def provenance(self) -> str:
        labels = list(dict.fromkeys(k.split(" ")[0] for k in self.repairs))
        return f"{NAME}, steps {', '.join(labels)}"

    @cached_property
    def S(self) -> sp.Expr:
        """S = S₀ + κν²(σ² + σ̃²/D_o): the finite-difference bias enters like FO-MAML's α²L²σ² in (113)."""
        return batch_noise() + self.kappa * nu_expr() ** 2 * (sigma**2 + sigma_tilde**2 / D_o)

    @cached_property
    def D_h_min(self) -> sp.Expr:
        return sp.ceiling(self.constants["D_h_factor"] * alpha**2 * sigma_H**2)

    @cached_property
    def preconditions(self) -> tuple[Condition, ...]:
        amax = 1 / (ALPHA_L_MAX * L)
        nu_max = self.constants["nu_max"]
        return (
            Condition(sp.Gt(alpha, 0), f"{NAME}: α ∈ (0, 1/(6L)]"),
            Condition(sp.Le(alpha, amax), f"{NAME}: α ∈ (0, 1/(6L)]"),
            Condition(sp.Ge(B, 20), f"{NAME}: B >= 20"),
            Condition(sp.Ge(D_h, self.D_h_min), f"{NAME}, step (150′): D_h >= ceil(α²σ_H²)"),
            Condition(sp.Le(nu_expr(), nu_max), f"{NAME}, step (142′): ν = ραδ <= {nu_max}"),
            *step_batch_conditions(f"{NAME} via Lemma 4.11, eq. (27), for β_k = β̃(w_k)/{STEP_DIVISOR}"),
        )

    @cached_property
    def delta_condition(self) -> Condition:
        """(δ′): c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L, c = 2Kκ."""
        c = self.delta_budget
        return Condition(sp.Le(c * nu_expr() ** 2 * (sigma**2 + sigma_tilde**2 / D_o) * (L + rho * alpha * (sigma + eps)),
                               eps**2 * L),
                         f"{NAME}, condition (δ′): {c}ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L")

    @cached_property
    def accuracy(self) -> Bound:
        return Bound(
            name=f"{NAME} accuracy", source=f"{self.provenance}; eq. (131′)",
            quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound", expr=_accuracy(self.K, self.S),
            preconditions=self.preconditions,
            note=f"K = {self.K}, S = σ²/B + σ̃²/(BD_o) + σ̃²/D_in + {self.kappa}ν²(σ² + σ̃²/D_o), ν = ραδ: the ν² "
                 "term is the finite-difference bias, which no batch size removes "
                 "(`mamltheory audit --chain H.1 --theory repaired`).")

    @cached_property
    def accuracy_delta(self) -> Bound:
        return Bound(
            name=f"{NAME} accuracy under (δ′)", source=f"{self.provenance}; eq. (131″)",
            quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound",
            expr=_accuracy(self.K_delta, batch_noise()), preconditions=(*self.preconditions, self.delta_condition),
            note=f"Half the ε budget goes to the finite-difference bias: K′ = 2K = {self.K_delta}.")

    @cached_property
    def iterations(self) -> Bound:
        dec = sp.Max(eps**2 / (L + rho * alpha * (sigma + eps)), self.K * self.S / L, evaluate=False) / self.M
        return Bound(
            name=f"{NAME} iterations", source=f"{self.provenance}; eq. (132′)",
            quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound (131′)",
            expr=sp.floor(initial_gap / dec) + 1, preconditions=self.preconditions,
            note=f"K = {self.K}, M = {self.M} from the repaired chain")

    @cached_property
    def D_h(self) -> Bound:
        return Bound(
            name=f"{NAME} Hessian batch", source=f"{NAME}, step (150′)",
            quantity="D_h, the samples of each finite-difference gradient pair", expr=self.D_h_min, kind="lower",
            preconditions=(Condition(sp.Gt(alpha, 0), f"{NAME}: α > 0"),),
            note="Var of d_k^i over D_h is at most σ_H²‖v‖²/D_h; (152′) needs α²σ_H²/D_h <= 1 (ασ_H is dimensionless).")

    @cached_property
    def delta(self) -> Bound:
        c, nu_max = self.delta_budget, self.constants["nu_max"]
        bias = sigma**2 + sigma_tilde**2 / D_o
        nu_eps = eps * sp.sqrt(L / (c * bias * (L + rho * alpha * (sigma + eps))))
        return Bound(
            name=f"{NAME} radius", source=f"{NAME}, condition (δ′)", quantity="δ, with δ_k^i = δ/‖v_k^i‖",
            expr=sp.Min(nu_max, nu_eps, evaluate=False) / (rho * alpha),
            preconditions=(Condition(sp.Gt(alpha, 0), f"{NAME}: α > 0"),
                           Condition(sp.Gt(sigma**2 + sigma_tilde**2, 0),
                                     f"{NAME}, condition (δ′): σ > 0 or σ̃ > 0 (otherwise δ = 1/(6ρα))")),
            note=f"ν = ραδ <= min{{{nu_max}, ν_ε}}: the finite-difference bias then fits in half the ε budget.")


REPAIRED_H1 = RepairedH1()
