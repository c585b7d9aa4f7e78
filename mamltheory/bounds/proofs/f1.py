"""Theorem F.1 (MAML, αL <= 1/6, β_k = β̃(w_k)/12, B >= 20), proof (88)-(112), as a chain of steps.

PAPER carries the paper's numbers; REPAIRED replaces (44) and (98) by the route through (56), and the
expectation of a minimum in (107) by Jensen on the convex envelope (107′), and carries exact values.
`sharp(choices)` (theory "sharp", docs/sharp-theorems.md) takes Jensen before the split (κ = 1), the optimal
Young weight in (102), and the free choices a_max, c, w, B_min as parameters; SHARP is it at the paper's.
"""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.proofs.chain import Chain, Step, ref
from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES, Choices
from mamltheory.bounds.proofs.extremum import a
from mamltheory.bounds.proofs.lemmas import (
    ENVELOPE_CHECKS,
    a2_repair,
    a_range,
    b,
    descent_tail,
    envelope_repair,
    lemma_4_11,
    lemma_4_12,
    lemma_a2,
    paren,
    step_size,
)
from mamltheory.bounds.proofs.sharp import CHECKS, exact_outputs, insert_after, jensen, positive

R = sp.Rational
A_MAX = R(1, 6)
PAPER_CHOICES = DEFAULT_CHOICES["F.1"]
OUTPUTS = {"K": "(108)", "decrease": "(107) decrease", "M": "(109)"}
JUSTIFY_96 = ("(94) writes E‖I − αĤ‖² = Var + ‖I − α∇²f_i‖², false for the operator norm (I − αĤ = I ± ½[[0, 1], "
              "[1, 0]]: 9/4 against 5/4); (95) needs only the vector form: for v independent of D_h (v is the "
              "D_in, D_o gradient), E‖(I − αĤ)v‖² = ‖(I − α∇²f_i)v‖² + α²E‖(Ĥ − ∇²f_i)v‖² <= ((1 + αL)² + "
              "α²σ_H²/D_h)‖v‖² by (18a) and (22), and D_h >= 2α²σ_H² gives α²σ_H²/D_h <= 1/2.")


def _steps(ch: Choices = PAPER_CHOICES) -> list[Step]:
    """The paper's steps, at the proof's free choices `ch` (the paper's by default: its chain as written)."""
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    a_max, c, w, B_min = ch.a_max, ch.step_divisor, ch.w, ch.B_min
    A = a_range(a_max)
    AB = {**A, b: (sp.Integer(0), ch.b_max)}
    return [
        *lemma_a2(a_max), *lemma_4_12(a_max), *lemma_4_11(),
        Step("(91)", "‖r_k‖ over σ̃/√D_in", R(1, 5), (1 + a) * a * ref("(73)"), ranges=A, uses=("(73)",),
             justification="(90): r_k = E_i[(I − α∇²f_i)e_{i,k}], ‖I − α∇²f_i‖ <= 1 + αL, ‖e_{i,k}‖ <= αLσ̃/√D_in."),
        Step("(92)", "coefficient of ‖∇F‖² in ‖E G_i‖²", 2, 2, term="‖∇F‖²",
             justification="‖E G_i‖ <= ‖∇F‖ + ‖r_k‖ and (x + y)² <= 2x² + 2y²."),
        Step("(92)", "coefficient of σ̃²/D_in in ‖E G_i‖²", R(2, 25), 2 * ref("(91)") ** 2, uses=("(91)",), term="σ̃²/D_in",
             justification="2‖r_k‖² with (91)."),
        Step("(96)", "E_{D_h}‖(I − α∇̃²f_i(w, D_h))v‖² over ‖v‖², v independent of D_h: ‖I − α∇²f_i‖² + α²σ_H²/D_h",
             2, (1 + a) ** 2 + R(1, 2), ranges=A, justification=JUSTIFY_96),
        Step("(98)", "κ: E_D‖∇̃f_i(w − α∇̃f_i(w, D_in), D_o)‖² <= κ‖∇F_i(w)‖² + ... (the paper's route)",
             2 / (1 - a) ** 2, ref("(75) grad") / (1 - a) ** 2, ranges=A, uses=("(75) grad",),
             justification="(75) with φ = 1, then ‖∇f_i(w − α∇f_i(w))‖ <= ‖∇F_i(w)‖/(1 − αL) by (45b), "
                           "‖I − α∇²f_i‖ >= 1 − αL."),
        Step("(99)", "coefficient of ‖∇F‖² in E‖G_i‖²", 40, ref("(96)") * ref("(98)") * ref("(44)") * 2 * C1**2,
             ranges=A, uses=("(96)", "(98)", "(44)", "(43) C1"), term="‖∇F‖²",
             justification="(97) and (98) averaged over tasks, then the bound on the averaged quantity ((44))."),
        Step("(99)", "coefficient of σ² in E‖G_i‖²", 14, ref("(96)") * ref("(98)") * ref("(44)") * (2 * C2**2 + 1),
             ranges=A, uses=("(96)", "(98)", "(44)", "(43) C2"), term="σ²", justification="As for ‖∇F‖²."),
        Step("(99)", "coefficient of σ̃²/D_o in E‖G_i‖²", 2, ref("(96)") * ref("(75) D_o"), uses=("(96)", "(75) D_o"),
             term="σ̃²/D_o", justification="(97) times the σ̃²/D_o of (75)."),
        Step("(99)", "coefficient of σ̃²/D_in in E‖G_i‖²", R(1, 6), ref("(96)") * ref("(75) D_in") * a**2, ranges=A,
             uses=("(96)", "(75) D_in"), term="σ̃²/D_in", justification="(97) times the 2α²L²σ̃²/D_in of (75)."),
        Step("(102)", f"coefficient of σ̃²/D_in in ‖∇F‖‖r_k‖ <= ‖∇F‖²/{paren(1 / w)} + {1 / w}‖r_k‖²", R(2, 5),
             ref("(91)") ** 2 / w, uses=("(91)",), term="Young",
             justification=f"Young's inequality with weight {1 / w}, then (91)."),
        *step_size(c, "(102)", {"Eb_low": R(1, 15), "Eb_up": R(1, 48), "Eb2": R(1, 92), "Eb2_L": R(1, 368)}),
        Step("(103)", f"L_k × the coefficient of −‖∇F(w_k)‖² (B >= {B_min})", R(1, 100),
             (1 - w) * ref("(102) E[β] lower") - ref("(102) E[β²]") * (ref("(92) ‖∇F‖²") + ref("(99) ‖∇F‖²") * b),
             sense="lower", ranges=AB, uses=("(102) E[β] lower", "(102) E[β²]", "(92) ‖∇F‖²", "(99) ‖∇F‖²"),
             term="decrease",
             justification=f"(102): ({1 - w})E[β_k] − (L_k/2)E[β_k²](2 + 40/B), b = 1/B <= {ch.b_max}."),
        Step("(103)", "coefficient of σ²/(LB)", R(14, 368), ref("(99) σ²") * ref("(102) E[β²]·L"),
             uses=("(99) σ²", "(102) E[β²]·L"), term="σ²/(LB)", justification="(L_k/2)E[β_k²]·14σ²/B."),
        Step("(103)", "coefficient of σ̃²/(D_o·LB)", R(2, 368), ref("(99) σ̃²/D_o") * ref("(102) E[β²]·L"),
             uses=("(99) σ̃²/D_o", "(102) E[β²]·L"), term="σ̃²/(D_o LB)", justification="(L_k/2)E[β_k²]·2σ̃²/(D_oB)."),
        Step("(103)", f"coefficient of σ̃²/(D_in·L) (B >= {B_min})", R(1, 96),
             ref("(102) E[β] upper") * ref("(102) Young")
             + ref("(102) E[β²]·L") * (ref("(92) σ̃²/D_in") + ref("(99) σ̃²/D_in") * b),
             ranges=AB, uses=("(102) E[β] upper", "(102) Young", "(102) E[β²]·L", "(92) σ̃²/D_in", "(99) σ̃²/D_in"),
             term="σ̃²/(D_in L)", justification="0.4E[β_k] + (L_k/2)E[β_k²](0.08 + (1/6)/B): the three D_in terms merged."),
        *descent_tail(a_max, "(103) decrease"),
        Step("(108)", "K of (86): K·c/2 must cover each noise coefficient of (103), c the decrease of (107)", 61,
             2 * sp.Max(ref("(103) σ²/(LB)"), ref("(103) σ̃²/(D_o LB)"), ref("(103) σ̃²/(D_in L)")) / ref("(107) decrease"),
             uses=("(103) σ²/(LB)", "(103) σ̃²/(D_o LB)", "(103) σ̃²/(D_in L)", "(107) decrease"),
             justification="If (86) fails, min{(E‖∇F‖)²/(L + ρασ), E‖∇F‖/(ρα)} >= γ/L with γ = K·S, and half the "
                           "decrease, (c/2)γ/L, must dominate the noise of (103) term by term."),
        Step("(109)", "M of (112): T <= M·Δ(L + ρα(σ + ε))/ε²", 1600, 2 / ref("(107) decrease"),
             uses=("(107) decrease",),
             justification="The other half of the decrease, c/2 = 1/M, with min{ε²/(L + ρασ), ε/(ρα)} >= "
                           "ε²/(L + ρα(σ + ε)); summing (110)-(112)."),
    ]


PAPER = Chain("F.1", "paper", tuple(_steps()), OUTPUTS)


def _repaired_98(a_max: sp.Expr = A_MAX) -> Step:
    return Step("(98′)", "κ: E_D‖∇̃f_i(w − α∇̃f_i(w, D_in), D_o)‖² <= κ‖∇f_i(w)‖² + ... (through (56))", None,
                ref("(75) grad") * ref("(56)") ** 2, ranges=a_range(a_max), uses=("(75) grad", "(56)"), repairs="(98)",
                justification="(75) with φ = 1, then (56): ‖∇f_i(w − α∇f_i(w))‖ <= (1 + αL)‖∇f_i(w)‖; the task "
                               "average of ‖∇f_i(w)‖² is bounded by (44′), so (44) is not needed.")


def _a2_route(a_max: sp.Expr) -> list[tuple[str, list[Step]]]:
    return [("(44)", [a2_repair(a_max)]), ("(98)", [_repaired_98(a_max)])]


# (44) avoided: what (98)-(99) need is E_i‖∇f_i(w − α∇f_i(w))‖², which (56) bounds without (44).
A2_ROUTE = _a2_route(A_MAX)
# E[min] <= min E: Jensen on the convex envelope instead, κ = 3/4.
ENVELOPE = [("(107) κ", envelope_repair())]
# The paper's numbers, (44) routed around: shows which final constants (44) touches (none).
PAPER_WITHOUT_44 = PAPER.replace_all(A2_ROUTE)
REPAIRED = PAPER.replace_all(A2_ROUTE + ENVELOPE).exact(keep=ENVELOPE_CHECKS).rounded_up(("(108)", "(109)"))


def _young(w: sp.Expr) -> Step:
    """(102♯): the optimal Young inequality ‖∇F‖‖r_k‖ <= w‖∇F‖² + ‖r_k‖²/(4w)."""
    return Step("(102♯)", f"coefficient of σ̃²/D_in in ‖∇F‖‖r_k‖ <= w‖∇F‖² + ‖r_k‖²/(4w), w = {w}", None,
                ref("(91)") ** 2 / (4 * w), uses=("(91)",), term="Young", repairs="(102) Young",
                justification=f"xy <= wx² + y²/(4w) ((√w x − y/(2√w))² >= 0), w = {w}; the paper's "
                              f"‖∇F‖²/{paren(1 / w)} + {1 / w}‖r_k‖² is 4 times looser in ‖r_k‖²; then (91).")


def sharp(choices: Choices) -> Chain:
    """Theorem F.1 under theory "sharp" at `choices`: the repaired chain with κ = 1 ((106♯)-(107♯)), the optimal
    Young weight (102♯), exact values, and K, M also unrounded (outputs K_exact, M_exact); docs/sharp-theorems.md."""
    steps = _a2_route(choices.a_max) + [("(102) Young", [_young(choices.w)])] + jensen()
    ch = Chain("F.1", "sharp", tuple(_steps(choices)), OUTPUTS).replace_all(steps, theory="sharp")
    ch = insert_after(ch, "(107) decrease", positive()).exact("sharp", keep=CHECKS)
    return exact_outputs(ch, {"K": "(108)", "M": "(109)"}).rounded_up(("(108)", "(109)"))


SHARP = sharp(DEFAULT_CHOICES["F.1"])
