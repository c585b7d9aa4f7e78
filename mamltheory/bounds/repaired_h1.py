"""Theorem H.1 (repaired) as `Bound`s: accuracy (131′), (131″), iterations (132′), the D_h condition (150′)-(152′)
and the δ condition (δ′); the constants are read off the repaired proof chain (bounds/proofs/h1.py), the
derivation is in docs/repaired-theorems.md.

With ν := ραδ (δ_k^i = δ/‖v‖, δ a length, ν dimensionless) and
S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in, S = S₀ + κν²(σ² + σ̃²/D_o):

    E‖∇F(w_ε)‖ <= max{√(K(1 + ρασ/L)S), K(ρα/L)S, ε}                         (131′)
    T = ⌊Δ·M / max{ε²/(L + ρα(σ + ε)), K·S/L}⌋ + 1                            (132′)
    under c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L:
    E‖∇F(w_ε)‖ <= max{√(K′(1 + ρασ/L)S₀), K′(ρα/L)S₀, ε}                      (131″)

K = 17, κ = 35, M = 2579, c = 1190, K′ = 34; α ∈ (0, 1/(6L)], B >= 20, D_h >= ⌈α²σ_H²⌉, ν <= 1/6,
β_k = β̃(w_k)/25 with (27).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from mamltheory.bounds.lemmas import step_batch_conditions
from mamltheory.bounds.proofs import get_chain
from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import (
    B, D_h, D_in, D_o, L, alpha, delta, eps, initial_gap, rho, sigma, sigma_H, sigma_tilde,
)

NAME = "Theorem H.1 (repaired)"
STEP_DIVISOR = 25      # β_k = β̃(w_k)/25: the paper's rule survives the repair
ALPHA_L_MAX = 6        # α ∈ (0, 1/(6L)]


@dataclass(frozen=True)
class RepairedH1:
    """The repaired theorem's constants (from its chain) and its bounds."""

    K: sp.Integer
    kappa: sp.Integer
    M: sp.Integer
    K_delta: sp.Integer
    delta_budget: sp.Integer
    D_h_factor: sp.Rational
    nu_max: sp.Rational
    accuracy: Bound
    accuracy_delta: Bound
    iterations: Bound
    D_h: Bound
    delta: Bound
    repairs: tuple[str, ...]


def nu_expr() -> sp.Expr:
    """ν = ραδ, the dimensionless finite-difference radius."""
    return rho * alpha * delta


def batch_noise() -> sp.Expr:
    """S₀ = σ²/B + σ̃²/(BD_o) + σ̃²/D_in."""
    return sigma**2 / B + sigma_tilde**2 / (B * D_o) + sigma_tilde**2 / D_in


def _accuracy(K: sp.Expr, S: sp.Expr) -> sp.Expr:
    return sp.Max(sp.sqrt(K * (1 + rho * alpha * sigma / L) * S), K * rho * alpha / L * S, eps, evaluate=False)


@cache
def repaired_h1() -> RepairedH1:
    """Build the bounds from the repaired chain of Theorem H.1 (evaluated once)."""
    result = get_chain("H.1", "repaired").result
    if not result.holds:  # a repaired theorem rests on no failing step
        raise RuntimeError(f"{NAME}: steps fail: {[r.key for r in result.failing]}")
    k = result.constants
    K, kappa, M, K_delta, budget = k["K"], k["kappa"], k["M"], k["K_delta"], k["delta_budget"]
    D_h_factor, nu_max = k["D_h_factor"], k["nu_max"]
    nu = nu_expr()
    bias = sigma**2 + sigma_tilde**2 / D_o
    S0 = batch_noise()
    S = S0 + kappa * nu**2 * bias
    D_h_min = sp.ceiling(D_h_factor * alpha**2 * sigma_H**2)
    amax = 1 / (ALPHA_L_MAX * L)
    base = (
        Condition(sp.Gt(alpha, 0), f"{NAME}: α ∈ (0, 1/(6L)]"),
        Condition(sp.Le(alpha, amax), f"{NAME}: α ∈ (0, 1/(6L)]"),
        Condition(sp.Ge(B, 20), f"{NAME}: B >= 20"),
        Condition(sp.Ge(D_h, D_h_min), f"{NAME}, step (150′): D_h >= ceil(α²σ_H²)"),
        Condition(sp.Le(nu, nu_max), f"{NAME}, step (142′): ν = ραδ <= {nu_max}"),
        *step_batch_conditions(f"{NAME} via Lemma 4.11, eq. (27), for β_k = β̃(w_k)/{STEP_DIVISOR}"),
    )
    delta_condition = Condition(sp.Le(budget * nu**2 * bias * (L + rho * alpha * (sigma + eps)), eps**2 * L),
                                f"{NAME}, condition (δ′): {budget}ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L")
    accuracy = Bound(
        name=f"{NAME} accuracy", source="repaired Theorem H.1, eq. (131′)",
        quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound", expr=_accuracy(K, S), preconditions=base,
        note=f"S = σ²/B + σ̃²/(BD_o) + σ̃²/D_in + {kappa}ν²(σ² + σ̃²/D_o), ν = ραδ: the ν² term is the "
             "finite-difference bias, which no batch size removes.")
    accuracy_delta = Bound(
        name=f"{NAME} accuracy under (δ′)", source="repaired Theorem H.1, eq. (131″)",
        quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound", expr=_accuracy(K_delta, S0),
        preconditions=(*base, delta_condition),
        note="Half the ε budget goes to the finite-difference bias: K′ = 2K.")
    iterations = Bound(
        name=f"{NAME} iterations", source="repaired Theorem H.1, eq. (132′)",
        quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound (131′)",
        expr=sp.floor(initial_gap * M / sp.Max(eps**2 / (L + rho * alpha * (sigma + eps)), K * S / L, evaluate=False)) + 1,
        preconditions=base)
    D_h_bound = Bound(
        name=f"{NAME} Hessian batch", source="repaired Theorem H.1, step (150′)",
        quantity="D_h, the samples of each finite-difference gradient pair", expr=D_h_min, kind="lower",
        preconditions=(Condition(sp.Gt(alpha, 0), f"{NAME}: α > 0"),),
        note="Var of d_k^i over D_h is at most σ_H²‖v‖²/D_h; (152′) needs α²σ_H²/D_h <= 1 (ασ_H is dimensionless).")
    delta_bound = Bound(
        name=f"{NAME} radius", source="repaired Theorem H.1, condition (δ′)",
        quantity="δ, with δ_k^i = δ/‖v_k^i‖",
        expr=sp.Min(nu_max, eps * sp.sqrt(L / (budget * bias * (L + rho * alpha * (sigma + eps)))), evaluate=False)
        / (rho * alpha),
        preconditions=(Condition(sp.Gt(alpha, 0), f"{NAME}: α > 0"),
                       Condition(sp.Gt(sigma**2 + sigma_tilde**2, 0),
                                 f"{NAME}, condition (δ′): σ > 0 or σ̃ > 0 (otherwise δ = 1/(6ρα))")),
        note="ν = ραδ <= min{1/6, ν_ε}: the finite-difference bias then fits in half the ε budget.")
    repairs = tuple(s.key for s in result.chain.steps if s.repairs)
    return RepairedH1(K, kappa, M, K_delta, budget, D_h_factor, nu_max, accuracy, accuracy_delta, iterations,
                      D_h_bound, delta_bound, repairs)
