"""Theorem G.1 (FO-MAML, αL <= 1/10, β_k = β̃(w_k)/18, B >= 20), proof (115)-end, as a chain of steps.

PAPER carries the paper's numbers; REPAIRED bounds (122) and (128)-(129) through (56) instead of (44),
replaces the expectation of a minimum in (107) by (107′), and carries exact values. `sharp(choices)` (theory
"sharp", docs/sharp-theorems.md) bounds (122) exactly through (45b) ((122♯)), takes Jensen before the split
(κ = 1), and has a_max, c, the Young weight of (130) and B_min as parameters; SHARP is it at the paper's.
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
    step_size,
    young_text,
)
from mamltheory.bounds.proofs.sharp import CHECKS, exact_outputs, insert_after, jensen, positive

R = sp.Rational
A_MAX = R(1, 10)
PAPER_CHOICES = DEFAULT_CHOICES["G.1"]
OUTPUTS = {"K": "(113)", "decrease": "(107) decrease", "M": "(114)"}
END = "end of G.1"


def _steps(ch: Choices = PAPER_CHOICES) -> list[Step]:
    """The paper's steps, at the proof's free choices `ch` (the paper's by default: its chain as written)."""
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    a_max, c, w, B_min = ch.a_max, ch.step_divisor, ch.w, ch.B_min
    A = a_range(a_max)
    AB = {**A, b: (sp.Integer(0), ch.b_max)}
    return [
        *lemma_a2(a_max), *lemma_4_12(a_max), *lemma_4_11(),
        Step("(122)", "coefficient of ‖∇F‖ in ‖Σ_j α^j E_i[(∇²f_i)^j ∇F_i]‖", R(22, 100),
             a / (1 - a) * sp.sqrt(ref("(44)")) * sp.sqrt(2) * C1, ranges=A, uses=("(44)", "(43) C1"), term="‖∇F‖",
             justification="Σ_j (αL)^j = αL/(1 − αL); E_i‖∇F_i‖ <= √(E_i‖∇F_i‖²) and (44), √(x + y) <= √x + √y."),
        Step("(122)", "coefficient of αLσ in the same bound", 2,
             sp.sqrt(ref("(44)")) * sp.sqrt(2 * C2**2 + 1) / (1 - a), ranges=A, uses=("(44)", "(43) C2"), term="αLσ",
             justification="As for ‖∇F‖."),
        Step("(123)", "‖E_i e_{i,k}‖ over αLσ̃/√D_in", 1, ref("(73)"), uses=("(73)",),
             justification="A norm bound that holds for every i holds for the mean (Lemma 4.12)."),
        Step("(124)", "coefficient of σ̃/√D_in in ‖r_k‖", R(1, 10), a * ref("(123)"), ranges=A, uses=("(123)",),
             justification=f"(121) with (122), (123); αL <= {a_max}."),
        Step("(125)", "coefficient of ‖∇F‖² in ‖r_k‖²", R(15, 100), 3 * ref("(122) ‖∇F‖") ** 2, uses=("(122) ‖∇F‖",),
             term="‖∇F‖²", justification="(x + y + z)² <= 3(x² + y² + z²)."),
        Step("(125)", "coefficient of α²L²σ² in ‖r_k‖²", 12, 3 * ref("(122) αLσ") ** 2, uses=("(122) αLσ",),
             term="α²L²σ²", justification="As above."),
        Step("(125)", "coefficient of σ̃²/D_in in ‖r_k‖²", R(3, 100), 3 * ref("(124)") ** 2, uses=("(124)",),
             term="σ̃²/D_in", justification="As above."),
        Step("(126)", "coefficient of ‖∇F‖² in ‖E G_i‖²", R(23, 10), 2 + 2 * ref("(125) ‖∇F‖²"), uses=("(125) ‖∇F‖²",),
             term="‖∇F‖²", justification="(119) and (x + y)² <= 2x² + 2y²."),
        Step("(126)", "coefficient of α²L²σ² in ‖E G_i‖²", 24, 2 * ref("(125) α²L²σ²"), uses=("(125) α²L²σ²",),
             term="α²L²σ²", justification="As above."),
        Step("(126)", "coefficient of σ̃²/D_in in ‖E G_i‖²", R(6, 100), 2 * ref("(125) σ̃²/D_in"), uses=("(125) σ̃²/D_in",),
             term="σ̃²/D_in", justification="As above."),
        Step("(128)", "κ: E_D‖∇̃f_i(w − α∇̃f_i(w, D_in), D_o)‖² <= κ‖∇F_i(w)‖² + ... (the paper's route)",
             2 / (1 - a) ** 2, ref("(75) grad") / (1 - a) ** 2, ranges=A, uses=("(75) grad",),
             justification="(75) with φ = 1, then (45b) with ‖I − α∇²f_i‖ >= 1 − αL."),
        Step("(129)", "coefficient of ‖∇F‖² in E‖G_i‖²", 20, ref("(128)") * ref("(44)") * 2 * C1**2, ranges=A,
             uses=("(128)", "(44)", "(43) C1"), term="‖∇F‖²", justification="(127), (128) and the task average ((44))."),
        Step("(129)", "coefficient of σ² in E‖G_i‖²", 7, ref("(128)") * ref("(44)") * (2 * C2**2 + 1), ranges=A,
             uses=("(128)", "(44)", "(43) C2"), term="σ²", justification="As above."),
        Step("(129)", "coefficient of σ̃²/D_o in E‖G_i‖²", 1, ref("(75) D_o"), uses=("(75) D_o",), term="σ̃²/D_o",
             justification="(75)."),
        Step("(129)", "coefficient of σ̃²/D_in in E‖G_i‖²", R(2, 100), ref("(75) D_in") * a**2, ranges=A,
             uses=("(75) D_in",), term="σ̃²/D_in", justification="(75): 2α²L²σ̃²/D_in."),
        Step("(130)", f"coefficient of ‖∇F‖² in ‖∇F‖‖r_k‖ <= {young_text(w)}", R(4, 10),
             w + ref("(125) ‖∇F‖²") / (4 * w), uses=("(125) ‖∇F‖²",), term="‖∇F‖²",
             justification="Young's inequality, then (125); the decrease factor is 1 − this."),
        Step("(130)", "coefficient of α²L²σ² there", 12, ref("(125) α²L²σ²") / (4 * w), uses=("(125) α²L²σ²",),
             term="α²L²σ²", justification="(125)."),
        Step("(130)", "coefficient of σ̃²/D_in there", R(3, 100), ref("(125) σ̃²/D_in") / (4 * w),
             uses=("(125) σ̃²/D_in",), term="σ̃²/D_in", justification="(125)."),
        # The paper prints no numbers for β_k = β̃/18 ("with similar analysis as Theorem F.1"): exact values.
        *step_size(c, "after (130)", {"Eb_low": None, "Eb_up": None, "Eb2": None, "Eb2_L": None}),
        Step(END, f"L_k × the coefficient of −‖∇F(w_k)‖² (B >= {B_min})", R(1, 100),
             (1 - ref("(130) ‖∇F‖²")) * ref("after (130) E[β] lower")
             - ref("after (130) E[β²]") * (ref("(126) ‖∇F‖²") + ref("(129) ‖∇F‖²") * b),
             sense="lower", ranges=AB,
             uses=("(130) ‖∇F‖²", "after (130) E[β] lower", "after (130) E[β²]", "(126) ‖∇F‖²", "(129) ‖∇F‖²"),
             term="decrease", justification="0.6E[β_k] − (L_k/2)E[β_k²](2.3 + 20/B), b = 1/B <= 1/20."),
        Step(END, "coefficient of σ²/(LB)", R(7, 828), ref("(129) σ²") * ref("after (130) E[β²]·L"),
             uses=("(129) σ²", "after (130) E[β²]·L"), term="σ²/(LB)", justification="(L_k/2)E[β_k²]·7σ²/B."),
        Step(END, "coefficient of α²Lσ²", R(1, 6),
             ref("after (130) E[β²]·L") * ref("(126) α²L²σ²") + ref("after (130) E[β] upper") * ref("(130) α²L²σ²"),
             uses=("after (130) E[β²]·L", "(126) α²L²σ²", "after (130) E[β] upper", "(130) α²L²σ²"), term="α²Lσ²",
             justification="(L_k/2)E[β_k²]·24α²L²σ² + E[β_k]·12α²L²σ² with (L_k/2)E[β_k²] <= 25/(20736L), "
                           "E[β_k] <= 1/(72L): 169/864 > 1/6; carried into (113) it would need K >= 15.65."),
        Step(END, "coefficient of σ̃²/(D_o·LB)", R(1, 828), ref("(129) σ̃²/D_o") * ref("after (130) E[β²]·L"),
             uses=("(129) σ̃²/D_o", "after (130) E[β²]·L"), term="σ̃²/(D_o LB)", justification="(L_k/2)E[β_k²]σ̃²/(D_oB)."),
        Step(END, f"coefficient of σ̃²/(D_in·L) (B >= {B_min})", R(1, 600),
             ref("after (130) E[β²]·L") * (ref("(129) σ̃²/D_in") * b + ref("(126) σ̃²/D_in"))
             + ref("after (130) E[β] upper") * ref("(130) σ̃²/D_in"),
             ranges=AB, uses=("after (130) E[β²]·L", "(129) σ̃²/D_in", "(126) σ̃²/D_in", "after (130) E[β] upper",
                              "(130) σ̃²/D_in"), term="σ̃²/(D_in L)",
             justification="(L_k/2)E[β_k²](0.02/B + 0.06) + 0.03E[β_k]."),
        *descent_tail(a_max, f"{END} decrease"),
        Step("(113)", "K of (113): K·c/2 must cover each noise coefficient (the α²Lσ² one over 20)", 14,
             2 * sp.Max(ref(f"{END} σ²/(LB)"), ref(f"{END} α²Lσ²") / 20, ref(f"{END} σ̃²/(D_o LB)"),
                        ref(f"{END} σ̃²/(D_in L)")) / ref("(107) decrease"),
             uses=(f"{END} σ²/(LB)", f"{END} α²Lσ²", f"{END} σ̃²/(D_o LB)", f"{END} σ̃²/(D_in L)", "(107) decrease"),
             justification="As (108): S = σ²(1/B + 20α²L²) + σ̃²/(BD_o) + σ̃²/D_in, so the α²Lσ² noise is covered "
                           "by K·20α²L²σ²·c/(2L)."),
        Step("(114)", "M of the iteration bound: T <= M·Δ(L + ρα(σ + ε))/ε²", 1600, 2 / ref("(107) decrease"),
             uses=("(107) decrease",), justification="As (109)-(112)."),
    ]


PAPER = Chain("G.1", "paper", tuple(_steps()), OUTPUTS)


def _repaired_122(a_max: sp.Expr = A_MAX) -> list[Step]:
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    A = a_range(a_max)
    return [
        Step("(122′)", "coefficient of ‖∇F‖ in ‖Σ_j α^j E_i[(∇²f_i)^j ∇F_i]‖ (through (56))", None,
             a / (1 - a) * ref("(56)") ** 2 * C1, ranges=A, uses=("(56)", "(43) C1", "(51)"), term="‖∇F‖",
             repairs="(122) ‖∇F‖",
             justification="E_i‖∇F_i‖ <= (1 + αL)E_i‖∇f_i(w − α∇f_i(w))‖ <= (1 + αL)²E_i‖∇f_i(w)‖ by (45b), (56); "
                           "E_i‖∇f_i‖ <= ‖∇f‖ + σ by (51) and (43): no second moment, no (44)."),
        Step("(122′)", "coefficient of αLσ in the same bound (through (56))", None,
             ref("(56)") ** 2 * (C2 + ref("(51)")) / (1 - a), ranges=A, uses=("(56)", "(43) C2", "(51)"), term="αLσ",
             repairs="(122) αLσ", justification="As for ‖∇F‖: (1 + αL)²(C2 + 1)σ/(1 − αL)."),
    ]


def _repaired_128(a_max: sp.Expr = A_MAX) -> Step:
    return Step("(128′)", "κ: E_D‖∇̃f_i(w − α∇̃f_i(w, D_in), D_o)‖² <= κ‖∇f_i(w)‖² + ... (through (56))", None,
                ref("(75) grad") * ref("(56)") ** 2, ranges=a_range(a_max), uses=("(75) grad", "(56)"), repairs="(128)",
                justification="(75) with φ = 1, then (56); the task average of ‖∇f_i(w)‖² is bounded by (44′).")


def _a2_route(a_max: sp.Expr) -> list[tuple[str, list[Step]]]:
    """(44) avoided: (122) through (56) and the first moment; (128)-(129) through (56) and (44′)."""
    r122 = _repaired_122(a_max)
    return [("(44)", [a2_repair(a_max)]), ("(122) ‖∇F‖", [r122[0]]), ("(122) αLσ", [r122[1]]),
            ("(128)", [_repaired_128(a_max)])]


A2_ROUTE = _a2_route(A_MAX)
ENVELOPE = [("(107) κ", envelope_repair())]
PAPER_WITHOUT_44 = PAPER.replace_all(A2_ROUTE)
REPAIRED = PAPER.replace_all(A2_ROUTE + ENVELOPE).exact(keep=ENVELOPE_CHECKS).rounded_up(("(113)", "(114)"))


def _sharp_122(a_max: sp.Expr) -> list[tuple[str, list[Step]]]:
    """(122♯): r_k's first term is exactly αE_i[∇²f_i(w)∇f_i(w − α∇f_i(w))] (no Neumann series)."""
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    A = a_range(a_max)
    why = ("By (45b) ∇F_i = (I − α∇²f_i(w))∇f_i(w − α∇f_i(w)), so ((I − α∇²f_i)⁻¹ − I)∇F_i = "
           "α∇²f_i(w)∇f_i(w − α∇f_i(w)) exactly: its norm is at most αL·(56)·E_i‖∇f_i(w)‖ <= "
           "αL(1 + αL)(C1‖∇F‖ + (C2 + 1)σ) by (56), (51), (43); the series Σ_j (αL)^j = αL/(1 − αL) and the "
           "factor ‖A_i(w)‖ <= 1 + αL of (122′) are not needed.")
    return [
        ("(122) ‖∇F‖", [Step("(122♯)", "coefficient of ‖∇F‖ in ‖αE_i[∇²f_i(w)∇f_i(w − α∇f_i(w))]‖", None,
                             a * ref("(56)") * C1, ranges=A, uses=("(56)", "(43) C1", "(51)"), term="‖∇F‖",
                             repairs="(122) ‖∇F‖", justification=why)]),
        ("(122) αLσ", [Step("(122♯)", "coefficient of αLσ in the same bound", None,
                            ref("(56)") * (C2 + ref("(51)")), ranges=A, uses=("(56)", "(43) C2", "(51)"), term="αLσ",
                            repairs="(122) αLσ", justification="As for ‖∇F‖: (1 + αL)(C2 + 1)σ, times αL.")]),
    ]


def sharp(choices: Choices) -> Chain:
    """Theorem G.1 under theory "sharp" at `choices`: the repaired chain with (122♯) and κ = 1 ((106♯)-(107♯)),
    the Young weight of (130) and a_max, c, B_min as parameters, exact values, and K, M also unrounded
    (outputs K_exact, M_exact); docs/sharp-theorems.md."""
    a_max = choices.a_max
    route = [("(44)", [a2_repair(a_max)]), *_sharp_122(a_max), ("(128)", [_repaired_128(a_max)])]
    ch = Chain("G.1", "sharp", tuple(_steps(choices)), OUTPUTS).replace_all(route + jensen(), theory="sharp")
    ch = insert_after(ch, "(107) decrease", positive()).exact("sharp", keep=CHECKS)
    return exact_outputs(ch, {"K": "(113)", "M": "(114)"}).rounded_up(("(113)", "(114)"))


SHARP = sharp(DEFAULT_CHOICES["G.1"])
