"""Theorem G.1 (FO-MAML; the general Theorem 4.18): accuracy (113), iterations (114), under the paper's proof and
the repaired one.

- paper: K = 14, M = 1600. The proof ends at "−1/(100 L_k)‖∇F‖² + σ²(7/(828LB) + α²L/6) + σ̃²/D_o/(828LB) +
  σ̃²/D_in/(600L)", the same decrease factor as (103); (104)-(106) give 1/800, and halving it needs γ/(1600L) >=
  the noise, which K = 14 satisfies term by term. Its last step collects 169/864 > 1/6 of α²Lσ², it cites the
  false (44) at (122), and repeats F.1's (107).
- repaired: (44′), (122′), (128′), (107′) with exact values carried: K = 9, M = 1247; no D_h condition (FO-MAML
  draws no Hessian batch). The paper's statement survives.
- sharp: (122♯) bounds r_k's first term exactly as αE_i[∇²f_i(w)∇f_i(w − α∇f_i(w))] (11/79, 110/79), and κ = 1
  ((106♯)-(107♯)), at the paper's choices: K = 5 >= 4.062, M = 857 >= 856.89 (docs/sharp-theorems.md).
"""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.symbols import L, alpha, sigma, sigma_H
from mamltheory.bounds.theorems.base import (
    A2_NOTE,
    Theorem,
    as_stated,
    plan_note,
)

_COMMON = dict(label="G.1", main="4.18", algorithm="fo-maml", alpha_L_max=10, step_divisor=18, hessian_batches=0,
               bias=20 * alpha**2 * L**2 * sigma**2, accuracy_eq="113", iterations_eq="114")

_REPAIRS = ("(44′)", "(122′) ‖∇F‖", "(122′) αLσ", "(128′)", "(107′) κ")
REPAIRED = Theorem(theory="repaired", chain_constants={"K": 9, "M": 1247}, failing=(), repairs=_REPAIRS,
                   D_h_min=sp.Integer(0), notes=(plan_note("G.1", "repaired", _REPAIRS),), **_COMMON)

_SHARP_REPAIRS = ("(44′)", "(122♯) ‖∇F‖", "(122♯) αLσ", "(128′)", "(106♯)", "(107♯) κ")
# K, M rounded up (the statement's integers); K_exact, M_exact the chain's exact values.
SHARP = Theorem(theory="sharp", failing=(), repairs=_SHARP_REPAIRS, D_h_min=sp.Integer(0),
                notes=(plan_note("G.1", "sharp", _SHARP_REPAIRS),),
                chain_constants={"K": 5, "M": 857, "K_exact": sp.Rational(3067350, 755137),
                                 "M_exact": sp.Rational(647066880, 755137)}, **_COMMON)

_PAPER = Theorem(
    theory="paper", chain_constants={"K": 14, "M": 1600}, failing=("(44)", "end of G.1 α²Lσ²", "(107) κ"),
    repairs=(), D_h_min=sp.ceiling(2 * alpha**2 * sigma_H**2),
    notes=("Theorem G.1 states D_h >= ⌈2α²σ_H²⌉, but FO-MAML draws no D_h batch; the plan reports the stated "
           "minimum and counts no Hessian samples.",
           "Theorem G.1: the last step of the proof bounds the α²Lσ² noise by 1/6, but the terms it collects sum to "
           "169/864 ≈ 0.196, so with the proof's own rounded numbers the constant 14 of (113) would need 15.65 "
           "(`mamltheory audit --chain G.1`).",
           "Theorem G.1: (122) " + A2_NOTE + " its 0.22 and 2 hold (0.170 and 1.70 at αL = 1/10).",
           "Theorem G.1: (107) repeats F.1's expectation of a minimum (a factor 3/4)."),
    **_COMMON)
PAPER = as_stated(_PAPER, REPAIRED)
