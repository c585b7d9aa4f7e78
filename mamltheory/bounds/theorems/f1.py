"""Theorem F.1 (MAML; the general Theorem 4.14): accuracy (86), iterations (87), under the paper's proof and the
repaired one.

- paper: K = 61, M = 1600, from (103)-(112); the proof cites the false (44) and takes E[min] as min E at (107).
- repaired: (44) routed around through (56) ((44′), (98′)), and (107′) Jensen on the convex envelope (κ = 3/4);
  exact values carried through: K = 20, M = 860 (docs/repaired-theorems.md). The paper's statement survives.
- sharp: the repaired proof with Jensen before the split (κ = 1, (106♯)-(107♯)) and the optimal Young weight
  (102♯), at the paper's choices: K = 15 >= 14.514, M = 645 >= 644.37 (docs/sharp-theorems.md);
  `theorems.sharp_theorem` builds it at other choices.
"""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.symbols import alpha, sigma_H
from mamltheory.bounds.theorems.base import (
    A2_NOTE,
    Theorem,
    as_stated,
    plan_note,
)

_COMMON = dict(label="F.1", main="4.14", algorithm="maml", alpha_L_max=6, step_divisor=12, hessian_batches=1,
               D_h_min=sp.ceiling(2 * alpha**2 * sigma_H**2), bias=sp.Integer(0), accuracy_eq="86", iterations_eq="87")

_REPAIRS = ("(44′)", "(98′)", "(107′) κ")
REPAIRED = Theorem(theory="repaired", chain_constants={"K": 20, "M": 860}, failing=(), repairs=_REPAIRS,
                   notes=(plan_note("F.1", "repaired", _REPAIRS),), **_COMMON)

_SHARP_REPAIRS = ("(44′)", "(98′)", "(102♯) Young", "(106♯)", "(107♯) κ")
# K, M rounded up (the statement's integers); K_exact, M_exact the chain's exact values.
SHARP = Theorem(theory="sharp", failing=(), repairs=_SHARP_REPAIRS, notes=(plan_note("F.1", "sharp", _SHARP_REPAIRS),),
                chain_constants={"K": 15, "M": 645, "K_exact": sp.Rational(592991875, 40856346),
                                 "M_exact": sp.Rational(487526400, 756599)}, **_COMMON)

_PAPER = Theorem(
    theory="paper", chain_constants={"K": 61, "M": 1600}, failing=("(44)", "(107) κ"), repairs=(),
    notes=("Theorem F.1: (99) " + A2_NOTE + " its 40 and 14 hold (26.68 and 8.92 at αL = 1/6).",
           "Theorem F.1: (107) takes the expectation of a minimum as the minimum of the expectations, which is "
           "invalid (E[min] <= min E); Jensen on the convex envelope costs a factor 3/4 (`mamltheory audit --chain F.1`)."),
    **_COMMON)
PAPER = as_stated(_PAPER, REPAIRED)
