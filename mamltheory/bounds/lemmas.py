"""Lemmas 4.9, 4.11, 4.12, A.2, Corollary 4.10, Theorem 4.13 and the HVP error of eq. (10), encoded as stated."""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import (
    B_prime, D_beta, D_in, D_o, D_test, L, alpha, delta, dist, grad_adapted, grad_F, grad_u, grad_w,
    phi, rho, sigma, sigma_H, sigma_tilde, v_norm,
)

ALPHA_AT_MOST_1_OVER_L = sp.Le(alpha * L, 1)


def local_smoothness(grad_norm: sp.Expr = grad_w) -> sp.Expr:
    """L(w) = 4L + 2ρα E_i‖∇f_i(w)‖ (Corollary 4.10, eq. (24); Lemma 4.9, eq. (23))."""
    return 4 * L + 2 * rho * alpha * grad_norm


# Lemmas 4.9-4.12 (smoothness of F, the step size β̃) hold for α ∈ (0, 1/L]: the widest α any run uses.
LEMMA_ALPHA_L_MAX = 1


def lemma_alpha_max(L_value: float) -> float:
    """1/L: the largest α of Lemmas 4.9-4.12, outside which F's smoothness bound (Lemma 4.9) is not stated."""
    return 1.0 / (LEMMA_ALPHA_L_MAX * L_value)


def step_batch_conditions(source: str) -> tuple[Condition, Condition]:
    """Lemma 4.11's batch conditions (27): B' >= ⌈½(ρασ/L)²⌉, D_β >= ⌈(2ρασ̃/L)²⌉."""
    return (
        Condition(sp.Ge(B_prime, sp.ceiling(sp.Rational(1, 2) * (rho * alpha * sigma / L) ** 2)), source),
        Condition(sp.Ge(D_beta, sp.ceiling((2 * rho * alpha * sigma_tilde / L) ** 2)), source),
    )


LEMMA_4_9 = Bound(
    name="Lemma 4.9",
    source="Lemma 4.9, eq. (23)",
    quantity="‖∇F(w) − ∇F(u)‖",
    expr=(4 * L + 2 * rho * alpha * sp.Min(grad_w, grad_u, evaluate=False)) * dist,
    preconditions=(Condition(ALPHA_AT_MOST_1_OVER_L, "Lemma 4.9: α ∈ [0, 1/L]"),),
)

LOCAL_SMOOTHNESS = Bound(
    name="Corollary 4.10 (L(w))",
    source="Corollary 4.10, definition below eq. (24)",
    quantity="smoothness parameter L(w) of ∇F at w",
    expr=local_smoothness(),
    preconditions=(Condition(ALPHA_AT_MOST_1_OVER_L, "Corollary 4.10: α ∈ [0, 1/L]"),),
    kind="definition",
)

COROLLARY_4_10 = Bound(
    name="Corollary 4.10",
    source="Corollary 4.10, eq. (24)",
    quantity="|F(u) − F(w) − ∇F(w)ᵀ(u − w)|",
    expr=local_smoothness() / 2 * dist**2,
    preconditions=(Condition(ALPHA_AT_MOST_1_OVER_L, "Corollary 4.10: α ∈ [0, 1/L]"),),
)

_LEMMA_4_11_CONDITIONS = (
    Condition(ALPHA_AT_MOST_1_OVER_L, "Lemma 4.11: α ∈ [0, 1/L]"),
    *step_batch_conditions("Lemma 4.11, eq. (27)"),
)

LEMMA_4_11_MEAN = Bound(
    name="Lemma 4.11 (first moment)",
    source="Lemma 4.11, eq. (28), left",
    quantity="E[β̃(w)]",
    expr=sp.Rational(4, 5) / local_smoothness(),
    preconditions=_LEMMA_4_11_CONDITIONS,
    kind="lower",
)

LEMMA_4_11_SECOND_MOMENT = Bound(
    name="Lemma 4.11 (second moment)",
    source="Lemma 4.11, eq. (28), right",
    quantity="E[β̃(w)²]",
    expr=sp.Rational(25, 8) / local_smoothness() ** 2,
    preconditions=_LEMMA_4_11_CONDITIONS,
)

LEMMA_4_12_BIAS = Bound(
    name="Lemma 4.12 (bias)",
    source="Lemma 4.12, eq. (31)",
    quantity="‖e_{i,k}‖ = ‖E[∇̃f_i(w − α∇̃f_i(w, D_in), D_o)] − ∇f_i(w − α∇f_i(w))‖",
    expr=alpha * L * sigma_tilde / sp.sqrt(D_in),
    preconditions=(Condition(ALPHA_AT_MOST_1_OVER_L, "Lemma 4.12: α ∈ [0, 1/L]"),),
)

LEMMA_4_12_SECOND_MOMENT = Bound(
    name="Lemma 4.12 (second moment)",
    source="Lemma 4.12, eq. (32)",
    quantity="E‖∇̃f_i(w − α∇̃f_i(w, D_in), D_o)‖²",
    expr=(1 + 1 / phi) * grad_adapted**2 + (1 + phi) * alpha**2 * L**2 * sigma_tilde**2 / D_in
    + sigma_tilde**2 / D_o,
    preconditions=(Condition(ALPHA_AT_MOST_1_OVER_L, "Lemma 4.12: α ∈ [0, 1/L]"),),
)

THEOREM_4_13 = Bound(
    name="Theorem 4.13",
    source="Theorem 4.13, eq. (33)",
    quantity="‖∇F̂(w) − ∇F(w)‖",
    expr=2 * alpha * L * sigma_tilde / sp.sqrt(D_test) + alpha**2 * L * sigma_H * sigma_tilde / D_test,
    preconditions=(
        Condition(sp.Gt(alpha, 0), "Theorem 4.13: α ∈ (0, 1/L]"),
        Condition(ALPHA_AT_MOST_1_OVER_L, "Theorem 4.13: α ∈ (0, 1/L]"),
    ),
)

# Lemma A.2's constants, stated below eq. (44).
C1_A2 = 1 / (1 - 2 * alpha * L - alpha**2 * L**2)
C2_A2 = (2 * alpha * L + alpha**2 * L**2) / (1 - 2 * alpha * L - alpha**2 * L**2)
_A2_RANGE = Condition(sp.Le(alpha * L, sp.sqrt(2) - 1), "Lemma A.2: α ∈ [0, (√2 − 1)/L]")

LEMMA_A2_GRADIENT = Bound(
    name="Lemma A.2 (43)",
    source="Lemma A.2, eq. (43)",
    quantity="‖∇f(w)‖",
    expr=C1_A2 * grad_F + C2_A2 * sigma,
    preconditions=(_A2_RANGE,),
    note="At αL = √2 − 1, inside the stated closed range, 1 − 2αL − α²L² = 0 and C1, C2 are undefined.",
)

LEMMA_A2_SECOND_MOMENT = Bound(
    name="Lemma A.2 (44)",
    source="Lemma A.2, eq. (44)",
    quantity="E_i‖∇F_i(w)‖²",
    expr=2 * (1 + alpha * L) ** 2 * C1_A2**2 * grad_F**2 + (1 + alpha * L) ** 2 * (2 * C2_A2**2 + 1) * sigma**2,
    preconditions=(_A2_RANGE,),
    note="The proof bounds ‖A_i(w)‖²‖A_i(w̃)‖² by (1 + αL)², where the two factors give (1 + αL)⁴.",
)

HVP_FINITE_DIFFERENCE = Bound(
    name="HVP finite difference (10)",
    source="Section 3, eq. (10)",
    quantity="‖∇²φ(w)v − [∇φ(w + δv) − ∇φ(w − δv)]/(2δ)‖",
    expr=rho * delta * v_norm**2,
    note="Taylor's theorem with a ρ-Lipschitz Hessian gives ρδ‖v‖²/2; the stated bound has a factor 2 of slack.",
)

LEMMAS: tuple[Bound, ...] = (
    LEMMA_4_9, COROLLARY_4_10, LOCAL_SMOOTHNESS, LEMMA_4_11_MEAN, LEMMA_4_11_SECOND_MOMENT,
    LEMMA_4_12_BIAS, LEMMA_4_12_SECOND_MOMENT, THEOREM_4_13, LEMMA_A2_GRADIENT, LEMMA_A2_SECOND_MOMENT,
    HVP_FINITE_DIFFERENCE,
)
