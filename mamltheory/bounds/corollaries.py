"""Corollaries 4.16 and 4.19 (and 4.16's HF-MAML analogue) with explicit constants C1, C2.

Derived from the paper's general Theorems F.1, G.1, H.1 (`mamltheory.bounds.theorems`), whose constants they use.
"""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import B, D_in, D_o, L, alpha, eps, initial_gap, rho, sigma, sigma_tilde
from mamltheory.bounds.theorems import f1, g1, h1
from mamltheory.bounds.theorems.base import Theorem


def _corollary_4_16(thm: Theorem, name: str) -> tuple[sp.Expr, Bound, Bound]:
    """C (= C1 = C2) of Corollary 4.16 for `thm`, and its accuracy and iteration bounds.

    With B >= Cσ²/ε², D_in >= Cσ̃²/ε², B·D_o >= Cσ̃²/ε² each of the three terms of S is <= ε²/C, so
    S <= 3ε²/C; the theorem's bound is <= ε iff S <= ε²/(K(1 + ρασ/L)) and S <= εL/(Kρα), so
    C = 3K·max{1 + ρασ/L, ραε/L} suffices (a constant under Assumption 4.7, ρα/L = O(1), σ = O(1), ε < 1).
    Then dec >= ε²/(M(L + ρα(σ + ε))) gives T = ⌊MΔ(L + ρα(σ + ε))/ε²⌋ + 1 = Δ·O(L/ε²).
    """
    C = 3 * thm.K * sp.Max(1 + rho * alpha * sigma / L, rho * alpha * eps / L, evaluate=False)
    conditions = thm.preconditions + (
        Condition(sp.Ge(B, C * sigma**2 / eps**2), f"{name}, eq. (36): B >= C1 σ²/ε²"),
        Condition(sp.Ge(D_in, C * sigma_tilde**2 / eps**2), f"{name}, eq. (36): D_in >= C2 σ̃²/ε²"),
        Condition(sp.Ge(B * D_o, C * sigma_tilde**2 / eps**2), f"{name}, eq. (36): B·D_o >= C2 σ̃²/ε²"),
    )
    accuracy = Bound(
        name=f"{name} accuracy", source=f"{name}, eq. (36) with C1 = C2 = 3K·max{{1 + ρασ/L, ραε/L}}, K = {thm.K}",
        quantity="E‖∇F(w_ε)‖", expr=eps, preconditions=conditions,
    )
    iterations = Bound(
        name=f"{name} iterations", source=f"{name}: Δ·O(L/ε²) with the constant of {thm.name}",
        quantity="iterates among which one is an ε-FOSP",
        expr=sp.floor(thm.M * initial_gap * (L + rho * alpha * (sigma + eps)) / eps**2) + 1,
        preconditions=conditions,
    )
    return C, accuracy, iterations


COROLLARY_4_16_C, COROLLARY_4_16_ACCURACY, COROLLARY_4_16_ITERATIONS = _corollary_4_16(f1.PAPER, "Corollary 4.16")
# Section 4.5: "similar results to the ones in Corollary 4.16 also hold for HF-MAML".
_, HF_COROLLARY_ACCURACY, HF_COROLLARY_ITERATIONS = _corollary_4_16(h1.PAPER, "Corollary 4.16 for HF-MAML")

# Corollary 4.19 with C1 = C2 = 1: B >= 1/(α²L²), D_in, B·D_o >= σ̃²/(α²σ²L²) make
# S = σ²(1/B + 20α²L²) + σ̃²/(BD_o) + σ̃²/D_in <= (20 + 1/C1 + 2/C2)α²L²σ² = 23α²L²σ²; any C1, C2 > 0
# work with 23 replaced by 20 + 1/C1 + 2/C2. Since S >= 20α²L²σ², dec >= 14·20α²L²σ²/(1600L) and
# T <= ⌊40Δ/(7α²σ²L)⌋ + 1 = Δ·O(1/(α²σ²L)).
_S_4_19 = 23 * alpha**2 * L**2 * sigma**2
_CONDITIONS_4_19 = g1.PAPER.preconditions + (
    Condition(sp.Ge(B, 1 / (alpha**2 * L**2)), "Corollary 4.19, eq. (39): B >= C1/(α²L²), C1 = 1"),
    Condition(sp.Ge(D_in, sigma_tilde**2 / (alpha**2 * sigma**2 * L**2)),
              "Corollary 4.19, eq. (39): D_in >= C2 σ̃²/(α²σ²L²), C2 = 1"),
    Condition(sp.Ge(B * D_o, sigma_tilde**2 / (alpha**2 * sigma**2 * L**2)),
              "Corollary 4.19, eq. (39): B·D_o >= C2 σ̃²/(α²σ²L²), C2 = 1"),
)
COROLLARY_4_19_ACCURACY = Bound(
    name="Corollary 4.19 accuracy", source="Corollary 4.19 with C1 = C2 = 1, via (113)",
    quantity="E‖∇F(w†)‖ (O(ασL) in the statement)",
    expr=sp.Max(sp.sqrt(14 * (1 + rho * alpha * sigma / L) * _S_4_19), 14 * rho * alpha / L * _S_4_19, evaluate=False),
    preconditions=_CONDITIONS_4_19,
)
COROLLARY_4_19_ITERATIONS = Bound(
    name="Corollary 4.19 iterations", source="Corollary 4.19: Δ·O(1/(α²σ²L)) with the constant of Theorem G.1",
    quantity="iterates among which one meets the accuracy bound",
    expr=sp.floor(sp.Rational(40, 7) * initial_gap / (alpha**2 * sigma**2 * L)) + 1,
    preconditions=_CONDITIONS_4_19,
)

COROLLARIES: tuple[Bound, ...] = (COROLLARY_4_16_ACCURACY, COROLLARY_4_16_ITERATIONS, HF_COROLLARY_ACCURACY,
                                  HF_COROLLARY_ITERATIONS, COROLLARY_4_19_ACCURACY, COROLLARY_4_19_ITERATIONS)
