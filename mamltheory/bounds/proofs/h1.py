"""Theorem H.1 (HF-MAML, αL <= 1/6, β_k = β̃(w_k)/25, B >= 20, δ_k^i = δ/‖v‖), proof (133)-(157) and the end
"as in Theorem F.1", as a chain of steps; the derivation is written out in docs/repaired-theorems.md.

PAPER carries the paper's numbers (ν := ραδ = 1/6, D_h >= ⌈36(αρσ_H)²⌉): (144), (145), (150), (152), (44)
and (107) κ fail. REPAIRED replaces them — (144′) keeps the D_o noise, (145′) goes through (56), (51), (43),
(150′) is the variance σ_H²‖v‖²/D_h, (152′) uses D_h >= ⌈α²σ_H²⌉, (155′)/(44′) avoid (44), (107′) is Jensen on
the convex envelope — adds the finite-difference bias terms ν²σ² and ν²σ̃²/D_o that no batch size removes,
and carries exact values (except the Taylor constant of (143), kept at the paper's 1). Quantities are
dimensionless: a = αL, ν = ραδ, b = 1/B; a dimensional symbol left in a step makes it fail (units).
"""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.proofs.chain import Chain, Step, ref
from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES, Choices
from mamltheory.bounds.proofs.extremum import a
from mamltheory.bounds.proofs.lemmas import (
    a2_repair,
    a_range,
    b,
    descent_tail,
    envelope_repair,
    lemma_4_11,
    lemma_a2,
    step_size,
    young_text,
)
from mamltheory.bounds.proofs.sharp import CHECKS, exact_outputs, insert_after, jensen, positive, without
from mamltheory.bounds.symbols import alpha, delta

R = sp.Rational
A_MAX = R(1, 6)
NU_MAX = R(1, 6)                          # ν = ραδ: the paper's 1/6, the repaired theorem's largest
nu = sp.symbols("nu", positive=True)       # ν = ραδ (δ a length, so ν is dimensionless)
u = sp.symbols("u", positive=True)         # E_i‖∇F_i(w)‖ / ‖∇F(w)‖ on the witness of (145), in [1, ∞)
PAPER_CHOICES = DEFAULT_CHOICES["H.1"]
OUTPUTS = {"K": "(108)", "decrease": "(107) decrease", "M": "(109)"}
REPAIRED_OUTPUTS = {**OUTPUTS, "K_nu": "(108′) Kκ", "kappa": "(108′) κ", "K_delta": "(131″)",
                    "delta_budget": "(δ′)", "D_h_factor": "(152′) D_h", "nu_max": "(142′)"}
FINAL = "after (157)"                       # the unnumbered last inequality of Appendix H
CRN = ("the same D_h samples θ at w + δ_k v and w − δ_k v (common random numbers, as eq. (12) and the simulator "
       "do); with independent batches the gradient noises do not cancel and the variance is of order "
       "σ̃²‖v‖²/(D_hδ²), unbounded as ν → 0")
JUSTIFY_150 = ("Per sample the difference quotient is H_θv, H_θ = ½∫_{−1}^{1}∇²f_i(w + τδ_k v, θ)dτ, with " + CRN
               + "; E_θ‖(H_θ − H)v‖² <= ‖v‖²·½∫E_θ‖∇²f_i(·, θ) − ∇²f_i(·)‖²dτ <= σ_H²‖v‖² (Jensen, (22) along the "
               "segment); the mean of D_h i.i.d. samples divides it by D_h.")


def _ranges(a_max: sp.Expr, b_max: sp.Expr = R(1, 20)) -> tuple[dict, dict, dict]:
    """The ranges a ∈ (0, a_max]; with ν ∈ (0, NU_MAX]; with b = 1/B ∈ (0, b_max]."""
    A = a_range(a_max)
    return A, {**A, nu: (sp.Integer(0), NU_MAX)}, {**A, b: (sp.Integer(0), b_max)}


def _steps(ch: Choices = PAPER_CHOICES) -> list[Step]:
    """The paper's steps, at the proof's free choices `ch` (the paper's by default: its chain as written)."""
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    a_max, c, w, B_min = ch.a_max, ch.step_divisor, ch.w, ch.B_min
    A, AN, AB = _ranges(a_max, ch.b_max)
    return [
        *lemma_a2(a_max), *lemma_4_11(),
        Step("(139)", "‖e_{i,k}‖ over αLσ̃/√D_in (Lemma 4.12, (31))", 1, 1,
             justification="(72)-(73): ∇f_i is L-Lipschitz; E‖∇̃f_i(w, D_in) − ∇f_i(w)‖ <= σ̃/√D_in (21), Jensen."),
        Step("(140)", "‖E_i[(I − α∇²f_i)e_{i,k}]‖ over σ̃/√D_in", None, (1 + a) * a * ref("(139)"), ranges=A,
             uses=("(139)",), justification="‖I − α∇²f_i‖ <= 1 + αL (18a) and (139)."),
        Step("(143)", "‖ẽ_k^i‖ over ρδ_k^i‖v‖² (eq. (10), Taylor with a ρ-Lipschitz Hessian)", 1, R(1, 2),
             justification="ẽ = ½∫_{−1}^{1}(∇²f_i(w) − ∇²f_i(w + τδ_k v))dτ·v, norm <= ½∫ρ|τ|δ_k dτ‖v‖² = ρδ_k‖v‖²/2. "
                           "With δ_k = δ/‖v‖: α‖ẽ‖ <= ν‖v‖ (constant 1, slack 2). (141) drops the square (a typo)."),
        Step("(144)", "E‖v‖ over ‖∇f_i(w − α∇f_i(w))‖ + αLσ̃/√D_in, on the witness f = Lw²/2, gradient noise ±s, "
             "w = 0, D_in = D_o = 1 (ratio 1/(αL))", 1, 1 / a, ranges=A, term="E‖v‖",
             justification="Lemma 4.12 (31) bounds ‖E v − ∇f_i(w − α∇f_i(w))‖, not E‖v‖: the D_o noise is dropped. "
                           "On the witness ∇f(0) = 0, v = ξ_o − αLξ_in, E|v| = s against αLs."),
        Step("(145)", "E_i‖∇F_i(w)‖ over ‖∇F(w)‖ (the paper: 1); witness f_i = Lw²/2 + (c ± 1)w, w = 0, c ∈ (0, 1]: "
             "ratio u = 1/c", 1, u, ranges={u: (sp.Integer(1), sp.oo)}, term="spread",
             justification="(144)→(145) replaces E_i‖(I − α∇²f_i)⁻¹∇F_i‖ by ‖∇F‖/(1 − αL): Jensen goes the other way "
                           "(E_i‖∇F_i‖ >= ‖∇F‖), the task spread is dropped; on the witness ∇F(0) = (1 − αL)²c while "
                           "E_i‖∇F_i(0)‖ = (1 − αL)², unbounded ratio as c → 0."),
        Step("(145)", "coefficient of ‖∇F‖ in E_i‖∇f_i(w − α∇f_i(w))‖: (145 spread)/(1 − αL)", 1 / (1 - a),
             ref("(145) spread") / (1 - a), ranges=A, uses=("(145) spread",),
             justification="‖(I − α∇²f_i)⁻¹‖ <= 1/(1 − αL), then (145 spread)."),
        Step("(147)", "coefficient of ‖∇F‖ in ‖s_k‖: ν·(143)·(145)", R(1, 5), nu * ref("(143)") * ref("(145)"),
             ranges=AN, uses=("(143)", "(145)"), term="‖∇F‖",
             justification="(138): α‖E ẽ‖ <= ν E‖v‖ by (143); (144), (145)."),
        Step("(147)", "coefficient of σ̃/√D_in in ‖s_k‖: (140) + ν·(143)·(144)·αL", R(3, 10),
             ref("(140)") + nu * ref("(143)") * ref("(144) E‖v‖") * a * ref("(139)"), ranges=AN,
             uses=("(140)", "(143)", "(144) E‖v‖", "(139)"), term="σ̃/√D_in",
             justification="(140) plus the αLσ̃/√D_in of (144) times ν."),
        Step("(148)", "coefficient of ‖∇F‖² in ‖E G_i‖²", R(11, 5), 2 + 4 * ref("(147) ‖∇F‖") ** 2,
             uses=("(147) ‖∇F‖",), term="‖∇F‖²",
             justification="‖E G‖² <= 2‖∇F‖² + 2‖s_k‖², ‖s_k‖² <= 2(147)²‖∇F‖² + 2(...)²."),
        Step("(148)", "coefficient of σ̃²/D_in in ‖E G_i‖²", R(2, 5), 4 * ref("(147) σ̃/√D_in") ** 2,
             uses=("(147) σ̃/√D_in",), term="σ̃²/D_in", justification="As for ‖∇F‖²: 2·2·(147)²."),
        Step("(150)", "D_h·Var_{D_h}(d_k^i)/σ_H² over the paper's 1/(δ_k^i)²: the true bound is ‖v‖², ratio δ² "
             "(δ = δ_k^i‖v‖, a length)", 1, delta**2,
             justification="The variance of the mean of D_h sample differences H_θv (H_θ the sample Hessian averaged "
                           "on the segment) is at most σ_H²‖v‖²/D_h (attained when the Hessian noise is constant on the "
                           "segment); σ_H²/(D_h(δ_k^i)²) is off by δ², a length squared."),
        Step("(151)", "α²·2L² over ‖v‖²-coefficient: 2(αL)²", None, 2 * a**2, ranges=A, term="L²",
             justification="‖∇²f_i v‖ <= L‖v‖ (18a); ‖∇²f_i v + ẽ‖² <= 2L²‖v‖² + 2‖ẽ‖²."),
        Step("(151)", "α²·2ρ²δ²: 2ν²(143)²", None, 2 * nu**2 * ref("(143)") ** 2, ranges={nu: (sp.Integer(0), NU_MAX)},
             uses=("(143)",), term="ρ²δ²", justification="(143): α‖ẽ‖ <= ν‖v‖."),
        Step("(152)", "σ_H²/(D_hδ²) under D_h >= 36(αρσ_H)², δ = 1/(6ρα)", 1, 1, term="D_h",
             justification="D_hδ² >= 36α²ρ²σ_H²/(36ρ²α²) = σ_H²."),
        Step("(152)", "E‖G_i‖² over E‖v‖²: 2 + 2α²(σ_H²/(D_hδ²)) + 2(151)", R(43, 10),
             2 + 2 * (ref("(151) L²") + ref("(151) ρ²δ²") + alpha**2 * ref("(150)") * ref("(152) D_h")),
             uses=("(151) L²", "(151) ρ²δ²", "(150)", "(152) D_h"),
             justification="(149): ‖G‖² <= 2‖v‖² + 2α²‖d‖², E‖d‖² <= ‖E d‖² + variance (150), (151). The variance term "
                           "is 2α² — α is a length²/loss, free over α <= 1/(6L): the bracket is unbounded (4.3 holds "
                           "only for L >= 0.164, e.g. at L = 1 its sup is 41/18)."),
        Step("(153)", "Lemma 4.12 (32), φ = 10: coefficient of ‖∇f_i(w − α∇f_i(w))‖²", R(11, 10), 1 + R(1, 10),
             term="grad", justification="(74): (x + y)² <= (1 + 1/φ)x² + (1 + φ)y²."),
        Step("(153)", "φ = 10: coefficient of α²L²σ̃²/D_in", 11, 1 + sp.Integer(10), term="D_in",
             justification="(75) with φ = 10 (the paper's 47.3 = 4.3·11)."),
        Step("(153)", "coefficient of σ̃²/D_o", 1, 1, term="D_o",
             justification="(74): the D_o batch is independent of D_in."),
        Step("(154)", "coefficient of ‖∇f_i(w − α∇f_i(w))‖² in E‖G_i‖²", 5, ref("(152)") * ref("(153) grad"),
             uses=("(152)", "(153) grad"), term="grad", justification="(152) times (153)."),
        Step("(154)", "coefficient of σ̃²/D_in in E‖G_i‖²", 5, ref("(152)") * ref("(153) D_in") * a**2, ranges=A,
             uses=("(152)", "(153) D_in"), term="σ̃²/D_in", justification="(152) times 11α²L²."),
        Step("(154)", "coefficient of σ̃²/D_o in E‖G_i‖²", 5, ref("(152)") * ref("(153) D_o"),
             uses=("(152)", "(153) D_o"), term="σ̃²/D_o", justification="(152) times (153)."),
        Step("(155)", "κ with ‖∇f_i(w − α∇f_i(w))‖² <= κ‖∇F_i(w)‖²", 1 / (1 - a) ** 2, 1 / (1 - a) ** 2, ranges=A,
             justification="∇F_i = (I − α∇²f_i)∇f_i(w − α∇f_i(w)) (45b), ‖(I − α∇²f_i)⁻¹‖ <= 1/(1 − αL)."),
        Step("(156)", "coefficient of ‖∇F‖² in E‖G_i‖²", 50, ref("(154) grad") * ref("(155)") * ref("(44)") * 2 * C1**2,
             ranges=A, uses=("(154) grad", "(155)", "(44)", "(43) C1"), term="‖∇F‖²",
             justification="(155) averaged over tasks, then (44)."),
        Step("(156)", "coefficient of σ² in E‖G_i‖²", 18, ref("(154) grad") * ref("(155)") * ref("(44)") * (2 * C2**2 + 1),
             ranges=A, uses=("(154) grad", "(155)", "(44)", "(43) C2"), term="σ²", justification="As for ‖∇F‖²."),
        Step("(157)", f"coefficient of ‖∇F‖² in ‖∇F‖‖s_k‖ <= {young_text(w).replace('r_k', 's_k')}", R(2, 5),
             w + 2 * ref("(147) ‖∇F‖") ** 2 / (4 * w), uses=("(147) ‖∇F‖",), term="Young ‖∇F‖²",
             justification="xy <= ½(x²/2 + 2y²), then ‖s_k‖² as in (148)."),
        Step("(157)", "coefficient of σ̃²/D_in in ‖∇F‖‖s_k‖", R(9, 50), 2 * ref("(147) σ̃/√D_in") ** 2 / (4 * w),
             uses=("(147) σ̃/√D_in",), term="Young σ̃²/D_in", justification="2(147)²."),
        *step_size(c, "(157)", {"Eb_low": R(4, 125), "Eb_up": R(1, 100), "Eb2": R(1, 400), "Eb2_L": R(1, 1600)}),
        Step(FINAL, f"L_k × the coefficient of −‖∇F(w_k)‖² (B >= {B_min})", R(1, 200),
             (1 - ref("(157) Young ‖∇F‖²")) * ref("(157) E[β] lower")
             - ref("(157) E[β²]") * (ref("(148) ‖∇F‖²") + ref("(156) ‖∇F‖²") * b),
             sense="lower", ranges=AB,
             uses=("(157) Young ‖∇F‖²", "(157) E[β] lower", "(157) E[β²]", "(148) ‖∇F‖²", "(156) ‖∇F‖²"),
             term="decrease",
             justification=f"(157): (1 − Young)E[β_k] − (L_k/2)E[β_k²]((148) + (156)/B), b = 1/B <= {ch.b_max}."),
        Step(FINAL, "coefficient of σ²/(LB)", R(18, 1600), ref("(156) σ²") * ref("(157) E[β²]·L"),
             uses=("(156) σ²", "(157) E[β²]·L"), term="σ²/(LB)", justification="(L_k/2)E[β_k²]·(156)σ²/B."),
        Step(FINAL, "coefficient of σ̃²/(D_o·LB)", R(5, 1600), ref("(154) σ̃²/D_o") * ref("(157) E[β²]·L"),
             uses=("(154) σ̃²/D_o", "(157) E[β²]·L"), term="σ̃²/(D_o LB)", justification="(L_k/2)E[β_k²]·(154)σ̃²/(D_oB)."),
        Step(FINAL, f"coefficient of σ̃²/(D_in·L) (B >= {B_min})", R(1, 100),
             ref("(157) E[β] upper") * ref("(157) Young σ̃²/D_in")
             + ref("(157) E[β²]·L") * (ref("(148) σ̃²/D_in") + ref("(154) σ̃²/D_in") * b), ranges=AB,
             uses=("(157) E[β] upper", "(157) Young σ̃²/D_in", "(157) E[β²]·L", "(148) σ̃²/D_in", "(154) σ̃²/D_in"),
             term="σ̃²/(D_in L)", justification="E[β_k]·(157) + (L_k/2)E[β_k²]((148) + (154)/B)."),
        *_tail(R(1, 1600), a_max),
        Step("(108)", "K of (131): K·c/2 must cover each noise coefficient, c the decrease of (107)", 36,
             2 * sp.Max(ref(f"{FINAL} σ²/(LB)"), ref(f"{FINAL} σ̃²/(D_o LB)"), ref(f"{FINAL} σ̃²/(D_in L)"))
             / ref("(107) decrease"),
             uses=(f"{FINAL} σ²/(LB)", f"{FINAL} σ̃²/(D_o LB)", f"{FINAL} σ̃²/(D_in L)", "(107) decrease"),
             justification="As (108) of F.1: if (131) fails, the decrease is at least c·γ/L, and half of it must "
                           "dominate the noise term by term."),
        Step("(109)", "M of (132): T <= M·Δ(L + ρα(σ + ε))/ε²", 3200, 2 / ref("(107) decrease"),
             uses=("(107) decrease",), justification="The other half of the decrease; (110)-(112)."),
    ]


def _tail(decrease: sp.Expr, a_max: sp.Expr) -> list[Step]:
    """(104)-(107) with the decrease of Appendix H (the builder's claimed number is F.1's)."""
    return [s.with_claimed(decrease) if s.key == "(107) decrease" else s for s in descent_tail(a_max, f"{FINAL} decrease")]


PAPER = Chain("H.1", "paper", tuple(_steps()), OUTPUTS)


# ---- the repair ------------------------------------------------------------------------------------------------
def _repaired_steps(a_max: sp.Expr = A_MAX, w: sp.Expr = R(1, 4)) -> dict[str, tuple[Step, ...]]:
    """Replacements, by the key of the paper's step they repair (supporting steps first); a_max and the Young
    weight w of (157) are the paper's by default."""
    C1, C2 = ref("(43) C1"), ref("(43) C2")
    A = a_range(a_max)
    return {
        "(144) E‖v‖": (
            Step("(144′)", "coefficient of σ̃/√D_o in E‖v‖", None, sp.Integer(1), term="D_o",
                 justification="Conditional on u = w − α∇̃f_i(w, D_in), E_{D_o}‖v − ∇f_i(u)‖ <= σ̃/√D_o (21), Jensen."),
            Step("(144′)", "E‖v‖ <= ‖∇f_i(w − α∇f_i(w))‖ + αLσ̃/√D_in + (144′ D_o)σ̃/√D_o: coefficient", None,
                 sp.Integer(1), term="E‖v‖", uses=("(144′) D_o",), repairs="(144) E‖v‖",
                 justification="E‖v‖ <= E‖∇f_i(u)‖ + σ̃/√D_o and ‖∇f_i(u)‖ <= ‖∇f_i(w − α∇f_i(w))‖ + αL‖∇̃f_i(w, D_in) "
                               "− ∇f_i(w)‖, whose mean is at most αLσ̃/√D_in."),
        ),
        "(145) spread": (
            Step("(145′)", "E_i‖∇f_i(w)‖ over ‖∇f(w)‖ + (51)σ: the spread is kept", None, sp.Integer(1), term="spread",
                 uses=("(51)",), repairs="(145) spread",
                 justification="Triangle inequality: E_i‖∇f_i‖ <= ‖∇f‖ + E_i‖∇f_i − ∇f‖ <= ‖∇f‖ + σ by (51)."),
        ),
        "(145)": (
            Step("(145′)", "coefficient of σ in E_i‖∇f_i(w − α∇f_i(w))‖: (56)·(C2 + (51))", None,
                 ref("(56)") * ref("(145) spread") * (C2 + ref("(51)")), ranges=A,
                 uses=("(56)", "(145) spread", "(43) C2", "(51)"), term="σ",
                 justification="(56), then E_i‖∇f_i‖ <= ‖∇f‖ + σ (51), then (43); C2 + 1 = C1."),
            Step("(145′)", "coefficient of ‖∇F‖ in E_i‖∇f_i(w − α∇f_i(w))‖: (56)·C1", None,
                 ref("(56)") * ref("(145) spread") * C1, ranges=A, uses=("(56)", "(145) spread", "(43) C1", "(145′) σ"),
                 repairs="(145)",
                 justification="E_i‖∇f_i(w − α∇f_i(w))‖ <= (1 + αL)E_i‖∇f_i(w)‖ <= (1 + αL)(C1‖∇F‖ + (C2 + 1)σ)."),
        ),
        "(148) σ̃²/D_in": (
            Step("(148′)", "coefficient of σ̃²/D_in in ‖E G_i‖² (three noise terms)", None,
                 12 * ref("(147) σ̃/√D_in") ** 2, uses=("(147) σ̃/√D_in",), term="σ̃²/D_in", repairs="(148) σ̃²/D_in",
                 justification="‖s_k‖ <= (147)‖∇F‖ + t, t the sum of three terms: 2‖s_k‖² <= 4(147)²‖∇F‖² + 12(each²)."),
        ),
        "(150)": (
            Step("(150′)", "D_h·Var_{D_h}(d_k^i)/(σ_H²‖v‖²)", None, sp.Integer(1), repairs="(150)",
                 justification=JUSTIFY_150),
        ),
        "(152) D_h": (
            Step("(152′)", "α²σ_H²/D_h under D_h >= ⌈α²σ_H²⌉", None, sp.Integer(1), term="D_h", repairs="(152) D_h",
                 justification="ασ_H is dimensionless: the condition is unit-free."),
        ),
        "(152)": (
            Step("(152′)", "E‖G_i‖² over E‖v‖²: 2 + 2(151) + 2α²σ_H²/D_h·(150′)", None,
                 2 + 2 * (ref("(151) L²") + ref("(151) ρ²δ²") + ref("(150)") * ref("(152) D_h")),
                 uses=("(151) L²", "(151) ρ²δ²", "(150)", "(152) D_h"), repairs="(152)",
                 justification="(149), E‖d‖² = ‖E d‖² + Var d, (150′), (151)."),
        ),
        "(155)": (
            Step("(155′)", "κ with ‖∇f_i(w − α∇f_i(w))‖² <= κ‖∇f_i(w)‖²: (56)²", None, ref("(56)") ** 2, ranges=A,
                 uses=("(56)",), repairs="(155)",
                 justification="(56) squared; the task average of ‖∇f_i(w)‖² is bounded by (44′), so (44) is not used."),
        ),
        "(157) Young σ̃²/D_in": (
            Step("(157′)", "coefficient of σ̃²/D_in in ‖∇F‖‖s_k‖ (three noise terms)", None,
                 6 * ref("(147) σ̃/√D_in") ** 2 / (4 * w), uses=("(147) σ̃/√D_in",), term="Young σ̃²/D_in",
                 repairs="(157) Young σ̃²/D_in", justification="‖∇F‖²/4 + ‖s_k‖², 2t² <= 6(each²)."),
        ),
    }


def _new_terms(w: sp.Expr = R(1, 4)) -> list[tuple[str, tuple[Step, ...]]]:
    """The finite-difference bias terms ν²σ², ν²σ̃²/D_o (per ν²) the paper's (147) omits, after the step they follow."""
    return [
        ("(143)", (
            Step("(142′)", "ν = ραδ at most (the range of every step below)", None, NU_MAX,
                 justification="ν <= 1/6 keeps the decrease of (157) positive; a smaller ν only shrinks the bias."),
        )),
        ("(147) σ̃/√D_in", (
            Step("(147′)", "coefficient of νσ in ‖s_k‖: (143)·(145′ σ)", None, ref("(143)") * ref("(145′) σ"),
                 uses=("(143)", "(145′) σ"), term="νσ", justification="ν E_i‖∇f_i(w − α∇f_i(w))‖, its σ part."),
            Step("(147′)", "coefficient of νσ̃/√D_o in ‖s_k‖: (143)·(144′ D_o)", None, ref("(143)") * ref("(144′) D_o"),
                 uses=("(143)", "(144′) D_o"), term="νσ̃/√D_o", justification="ν times the D_o noise of (144′)."),
        )),
        ("(148′) σ̃²/D_in", (
            Step("(148′)", "coefficient of ν²σ² in ‖E G_i‖²", None, 12 * ref("(147′) νσ") ** 2, uses=("(147′) νσ",),
                 term="ν²σ²", justification="12(147′)²."),
            Step("(148′)", "coefficient of ν²σ̃²/D_o in ‖E G_i‖²", None, 12 * ref("(147′) νσ̃/√D_o") ** 2,
                 uses=("(147′) νσ̃/√D_o",), term="ν²σ̃²/D_o", justification="12(147′)²."),
        )),
        ("(157′) Young σ̃²/D_in", (
            Step("(157′)", "coefficient of ν²σ² in ‖∇F‖‖s_k‖", None, 6 * ref("(147′) νσ") ** 2 / (4 * w),
                 uses=("(147′) νσ",),
                 term="Young ν²σ²", justification="6(147′)²."),
            Step("(157′)", "coefficient of ν²σ̃²/D_o in ‖∇F‖‖s_k‖", None, 6 * ref("(147′) νσ̃/√D_o") ** 2 / (4 * w),
                 uses=("(147′) νσ̃/√D_o",), term="Young ν²σ̃²/D_o", justification="6(147′)²."),
        )),
        (f"{FINAL} σ̃²/(D_in L)", (
            Step(FINAL, "coefficient of ν²σ²/L (no 1/B: a bias)", None,
                 ref("(157) E[β] upper") * ref("(157′) Young ν²σ²") + ref("(157) E[β²]·L") * ref("(148′) ν²σ²"),
                 uses=("(157) E[β] upper", "(157′) Young ν²σ²", "(157) E[β²]·L", "(148′) ν²σ²"), term="ν²σ²/L",
                 justification="E[β_k]·(157′) + (L_k/2)E[β_k²]·(148′): like FO-MAML's α²L²σ² in (113)."),
            Step(FINAL, "coefficient of ν²σ̃²/(D_o L) (no 1/B)", None,
                 ref("(157) E[β] upper") * ref("(157′) Young ν²σ̃²/D_o") + ref("(157) E[β²]·L") * ref("(148′) ν²σ̃²/D_o"),
                 uses=("(157) E[β] upper", "(157′) Young ν²σ̃²/D_o", "(157) E[β²]·L", "(148′) ν²σ̃²/D_o"),
                 term="ν²σ̃²/(D_o L)", justification="As for ν²σ²."),
        )),
        ("(109)", (
            Step("(108′)", "K·κ: the constant of ν²(σ² + σ̃²/D_o) inside γ", None,
                 2 * sp.Max(ref(f"{FINAL} ν²σ²/L"), ref(f"{FINAL} ν²σ̃²/(D_o L)")) / ref("(107) decrease"),
                 uses=(f"{FINAL} ν²σ²/L", f"{FINAL} ν²σ̃²/(D_o L)", "(107) decrease"), term="Kκ exact",
                 justification="As (108), for the bias terms."),
            Step("(108′)", "κ: S = σ²/B + σ̃²/(BD_o) + σ̃²/D_in + κν²(σ² + σ̃²/D_o), γ = K·S", None,
                 ref("(108′) Kκ exact") / ref("(108)"), uses=("(108′) Kκ exact", "(108)"), term="κ",
                 justification="The bias constant per unit of K (rounded up below)."),
            Step("(108′)", "K·κ as stated", None, ref("(108)") * ref("(108′) κ"), uses=("(108)", "(108′) κ"), term="Kκ",
                 justification="K and κ as rounded; >= the exact requirement."),
            Step("(131″)", "K under the δ condition: half the ε budget to the bias", None, 2 * ref("(108)"),
                 uses=("(108)",), justification="If (1 + ρασ/L)Y <= ε²/2 and (ρα/L)Y <= ε/2 (Y the bias part of γ), "
                                                 "then max{√((1 + ρασ/L)(X + Y)), (ρα/L)(X + Y), ε} <= "
                                                 "max{√(2(1 + ρασ/L)X), 2(ρα/L)X, ε}."),
            Step("(δ′)", "c in (δ′): c·ν²(σ² + σ̃²/D_o)(L + ρα(σ + ε)) <= ε²L", None, 2 * ref("(108′) Kκ"),
                 uses=("(108′) Kκ",),
                 justification="Y = Kκν²(σ² + σ̃²/D_o) <= ε²L/(2(L + ρα(σ + ε))) gives (1 + ρασ/L)Y <= ε²/2 and, as "
                               "ε²/(L + ρα(σ + ε)) <= ε/(ρα), (ρα/L)Y <= ε/2."),
        )),
    ]


def repaired() -> Chain:
    """The repaired chain: replacements, the bias terms, (44′), (107′), exact values (Taylor's 1 kept), the
    statement's constants rounded up."""
    ch = PAPER.replace_all([("(44)", [a2_repair(A_MAX)]), *((k, list(v)) for k, v in _repaired_steps().items()),
                            ("(107) κ", envelope_repair())])
    for key, steps in _new_terms():
        ch = insert_after(ch, key, *steps)
    ch = Chain("H.1", "repaired", ch.steps, REPAIRED_OUTPUTS).exact(keep=("(143)",))
    return ch.rounded_up(("(108)", "(109)", "(108′) κ"))


REPAIRED = repaired()


# ---- the sharp chain (docs/sharp-theorems.md) --------------------------------------------------------------------
def _taylor() -> Step:
    """(143♯): the finite-difference bias with Taylor's constant ½ (the repaired chain keeps the paper's 1)."""
    return Step("(143♯)", "‖ẽ_k^i‖ over ρδ_k^i‖v‖² (Taylor's constant)", None, R(1, 2), repairs="(143)",
                justification="ẽ = ½∫_{−1}^{1}(∇²f_i(w) − ∇²f_i(w + τδ_k v))dτ·v, norm <= ½∫_{−1}^{1}ρ|τ|δ_k dτ‖v‖² = "
                              "ρδ_k‖v‖²/2, so α‖ẽ‖ <= (ν/2)‖v‖ with δ_k = δ/‖v‖. Attained: f_i = ρ|w|³/6 at w = 0 "
                              "(∇²f_i = ρ|w|) gives |ẽ| = ρδ_k v²/2 exactly; no constant below ½ holds.")


def _direct_152(a_max: sp.Expr) -> tuple[Step, Step]:
    """(152♯): E‖G_i‖² bounded through ‖(I − α∇²f_i)v + αẽ‖ directly, not through ‖G‖² <= 2‖v‖² + 2α²‖d‖²."""
    _, AN, _ = _ranges(a_max)
    return (
        Step("(152♯)", "‖(I − α∇²f_i(w))v + αẽ‖ over ‖v‖: 1 + αL + (143)ν", None, 1 + a + ref("(143)") * nu,
             ranges=AN, uses=("(143)",), term="mean",
             justification="‖I − α∇²f_i(w)‖ <= 1 + αL (18a) and α‖ẽ‖ <= (143)ν‖v‖ (143)."),
        Step("(152♯)", "E‖G_i‖² over E‖v‖²: (152♯ mean)² + α²σ_H²/D_h·(150′)", None,
             ref("(152♯) mean") ** 2 + ref("(150)") * ref("(152) D_h"), uses=("(152♯) mean", "(150)", "(152) D_h"),
             repairs="(152)",
             justification="G_i = v − αd_k^i, and conditional on v (independent of D_h) E_{D_h}‖G_i‖² = ‖v − αE d‖² + "
                           "α²Var d exactly; v − αE d = (I − α∇²f_i(w))v + αẽ (152♯ mean), and α²Var d <= "
                           "(150′)(α²σ_H²/D_h)‖v‖² (common random numbers). The paper's 2‖v‖² + 2α²‖d‖² doubles both."),
    )


def sharp(choices: Choices) -> Chain:
    """Theorem H.1 under theory "sharp" at `choices`: the repaired chain with Taylor's ½ (143♯), E‖G_i‖² bounded
    directly (152♯), κ = 1 ((106♯)-(107♯)), a_max, c, the Young weight of (157) and B_min as parameters, exact values,
    and K, M also unrounded (outputs K_exact, M_exact); docs/sharp-theorems.md."""
    a_max, w = choices.a_max, choices.w
    route = {**_repaired_steps(a_max, w), "(152)": _direct_152(a_max)}
    ch = Chain("H.1", "sharp", tuple(_steps(choices)), OUTPUTS).replace_all(
        [("(44)", [a2_repair(a_max)]), ("(143)", [_taylor()]), *((k, list(v)) for k, v in route.items()), *jensen()],
        theory="sharp")
    for key, steps in _new_terms(w):
        ch = insert_after(ch, "(143♯)" if key == "(143)" else key, *steps)
    ch = insert_after(without(ch, "(151) L²", "(151) ρ²δ²"), "(107) decrease", positive())
    ch = Chain("H.1", "sharp", ch.steps, REPAIRED_OUTPUTS).exact("sharp", keep=CHECKS)
    return exact_outputs(ch, {"K": "(108)", "M": "(109)"}).rounded_up(("(108)", "(109)", "(108′) κ"))


SHARP = sharp(DEFAULT_CHOICES["H.1"])
