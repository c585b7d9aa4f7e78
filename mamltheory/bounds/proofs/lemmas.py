"""The lemma steps Theorems F.1 and G.1 use: Lemma A.2 (43)-(44), (51), Lemma 4.9's (56), Lemma 4.11
(Appendix C: (65), (28), (71)), Lemma 4.12 (Appendix D: (73), (75)), and the step-size bounds of β_k.

Each builder takes the theorem's range a = αL ∈ (0, a_max] (a lemma is used inside a theorem, so it is
judged over that theorem's range). Quantities are dimensionless: a = αL, b = 1/B.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps

import sympy as sp

from mamltheory.bounds.proofs.chain import Step, ref
from mamltheory.bounds.proofs.extremum import a

R = sp.Rational
b = sp.symbols("b", positive=True)    # b = 1/B, the inverse task batch
t = sp.symbols("t", positive=True)    # t = x·ρα/(L + ρασ): ‖∇F‖ in the units where (106)'s two branches meet
p = sp.symbols("p", positive=True)    # a probability (the witness of (107))

C1 = 1 / (1 - 2 * a - a**2)                 # Lemma A.2
C2 = (2 * a + a**2) / (1 - 2 * a - a**2)


def paren(x: sp.Expr) -> str:
    """`x` as text, in parentheses unless an integer (for "‖∇F‖²/10" and "‖∇F‖²/(5/2)")."""
    return sp.sstr(x) if sp.sympify(x).is_Integer else f"({sp.sstr(x)})"


def young_text(w: sp.Expr) -> str:
    """Young's inequality with weight w as the paper writes it at w = 1/4: "‖∇F‖²/4 + ‖r_k‖²"."""
    w = sp.sympify(w)
    r = "‖r_k‖²" if 4 * w == 1 else f"‖r_k‖²/{paren(4 * w)}"
    return f"‖∇F‖²/{paren(1 / w)} + {r}"


def _fresh_list(build: Callable[..., list[Step]]) -> Callable[..., list[Step]]:
    """Memoise a builder of steps (Steps are immutable; the chains at many free choices share these) and hand
    each caller its own list."""
    cached = lru_cache(maxsize=256)(lambda *args: tuple(build(*args)))

    @wraps(build)
    def fresh(*args: object) -> list[Step]:
        return list(cached(*args))
    return fresh


def a_range(a_max: sp.Expr) -> dict:
    return {a: (sp.Integer(0), sp.sympify(a_max))}


@_fresh_list
def lemma_a2(a_max: sp.Expr) -> list[Step]:
    """Lemma A.2: (49)-(50) give (43); (44) as the paper proves it; (51); Lemma 4.9's (56)."""
    A = a_range(a_max)
    return [
        Step("(49)", "‖I − A_i(w)A_i(w̃_i)‖ over αL", 2 * a + a**2, 2 * a + a**2, ranges=A,
             justification="I − A_i(w)A_i(w̃) = α∇²f_i(w) + α∇²f_i(w̃) − α²∇²f_i(w)∇²f_i(w̃); each Hessian has norm <= L (18a)."),
        Step("(51)", "E_i‖∇f_i(w) − ∇f(w)‖ over σ", 1, 1,
             justification="Jensen: E‖X‖ <= √(E‖X‖²) <= σ by Assumption 4.5."),
        Step("(43)", "C1: coefficient of ‖∇F(w)‖ in ‖∇f(w)‖ <= C1‖∇F(w)‖ + C2σ", C1, 1 / (1 - ref("(49)")),
             ranges=A, uses=("(49)", "(51)"), term="C1",
             justification="(50): ‖∇f‖ <= ‖∇F‖ + s(‖∇f‖ + σ) with s the bound of (49); move s‖∇f‖ left (s < 1)."),
        Step("(43)", "C2: coefficient of σ in ‖∇f(w)‖ <= C1‖∇F(w)‖ + C2σ", C2, ref("(49)") * ref("(51)") / (1 - ref("(49)")),
             ranges=A, uses=("(49)", "(51)"), term="C2",
             justification="As for C1: the σ of (51) enters multiplied by s."),
        Step("(44)", "λ: E_i‖∇F_i(w)‖² <= λ(2C1²‖∇F‖² + (2C2² + 1)σ²); the paper's λ = (1 + αL)²", (1 + a) ** 2,
             (1 + a) ** 4, ranges=A,
             justification="∇F_i = A_i(w)A_i(w̃_i)∇f_i(w) (47) with ‖A_i(w)‖, ‖A_i(w̃_i)‖ <= 1 + αL: the product of the "
                           "squares is (1 + αL)⁴, not the (1 + αL)² written (two-task witness in `mamltheory audit`)."),
        Step("(56)", "‖∇f_i(w − α∇f_i(w))‖ over ‖∇f_i(w)‖ (proof of Lemma 4.9)", 1 + a, 1 + a, ranges=A,
             justification="∇f_i(w − α∇f_i(w)) = (I − αH̄)∇f_i(w) with H̄ the mean Hessian on the segment, ‖H̄‖ <= L."),
    ]


@_fresh_list
def lemma_4_12(a_max: sp.Expr) -> list[Step]:
    """Lemma 4.12 (Appendix D): the bias (73) and the second moment (75) with φ = 1."""
    return [
        Step("(73)", "‖e_{i,k}‖ over αLσ̃/√D_in", 1, 1,
             justification="(72): ∇f_i is L-Lipschitz; E‖∇̃f_i − ∇f_i‖ <= σ̃/√D_in by Assumption 4.6 and Jensen."),
        Step("(75)", "coefficient of ‖∇f_i(w − α∇f_i(w))‖² with φ = 1", 2, 1 + 1 / sp.Integer(1), term="grad",
             justification="(74): (x + y)² <= (1 + 1/φ)x² + (1 + φ)y², φ = 1."),
        Step("(75)", "coefficient of α²L²σ̃²/D_in with φ = 1", 2, 1 + sp.Integer(1), term="D_in",
             justification="(75): the second term of (74) with the Lipschitz bound of (72)."),
        Step("(75)", "coefficient of σ̃²/D_o", 1, 1, term="D_o",
             justification="The outer batch D_o is independent of D_in: its variance adds σ̃²/D_o."),
    ]


@_fresh_list
def lemma_4_11() -> list[Step]:
    """Lemma 4.11 (Appendix C): the moments of β̃ = 1/(4L + 2ρα·mean‖∇̃f_j‖) under the batch rule (27)."""
    return [
        Step("(65)", "2σ_b²/(4L)²", R(25, 16), 2 * (8 + 1) / sp.Integer(16),
             justification="(68): σ_b² <= (2ρα)²(σ² + σ̃²/D_β)/B' <= 8L² + L² when B' >= (ρασ/L)²/2, D_β >= (2ρασ̃/L)² (27)."),
        Step("(28)", "L(w)²E[β̃(w)²]", R(25, 8), sp.Max(R(25, 16) + ref("(65)"), 2 * R(25, 16)), uses=("(65)",),
             term="E[β̃²]",
             justification="(64): a weighted mean of (5/4)² + 2σ_b²/(4L)² and 2(5/4)², so at most the larger."),
        Step("(71)", "L(w)E[β̃(w)]", R(4, 5), 1 / (R(1, 4) + 1), sense="lower", term="E[β̃]",
             justification="(69)-(70): Jensen, E[β̃] >= 1/(5L + 2ραE‖∇f_i‖) = 1/(L + L(w)), and L <= L(w)/4."),
    ]


def step_size(c: int, label: str, claimed: dict[str, sp.Expr]) -> list[Step]:
    """β_k = β̃(w_k)/c: the first and second moments in units of L_k = L(w_k) (Lemma 4.11) and of L."""
    return [
        Step(label, f"L_k·E[β_k] with β_k = β̃/{c}", claimed["Eb_low"], ref("(71) E[β̃]") / c, sense="lower",
             uses=("(71) E[β̃]",), term="E[β] lower", justification="First result of (28), divided by c."),
        Step(label, f"L·E[β_k] with β_k = β̃/{c}", claimed["Eb_up"], R(1, 4) / c, term="E[β] upper",
             justification="β̃ <= 1/(4L) by (26)."),
        Step(label, f"L_k·(L_k/2)E[β_k²] with β_k = β̃/{c}", claimed["Eb2"], ref("(28) E[β̃²]") / (2 * c**2),
             uses=("(28) E[β̃²]",), term="E[β²]", justification="Second result of (28), divided by 2c²."),
        Step(label, f"L·(L_k/2)E[β_k²] with β_k = β̃/{c}", claimed["Eb2_L"], ref(f"{label} E[β²]") / 4,
             uses=(f"{label} E[β²]",), term="E[β²]·L", justification="L_k >= 4L."),
    ]


@_fresh_list
def descent_tail(a_max: sp.Expr, decrease_key: str) -> list[Step]:
    """(104)-(107): from the decrease −(c/L_k)‖∇F‖² to c'·min{‖∇F‖²/(L + ρασ), ‖∇F‖/(ρα)} in expectation."""
    A = a_range(a_max)
    return [
        Step("(104)", "coefficient of σ in E_i‖∇f_i(w)‖ <= ‖∇f(w)‖ + σ", 1, ref("(51)"), uses=("(51)",),
             justification="Triangle inequality and (51)."),
        Step("(105)", "C1 of Lemma A.2 over the theorem's range", 2, ref("(43) C1"), ranges=A, uses=("(43) C1",), term="C1",
             justification="(43) at the largest αL of the theorem."),
        Step("(105)", "C2 of Lemma A.2 over the theorem's range", 1, ref("(43) C2"), ranges=A, uses=("(43) C2",), term="C2",
             justification="(43) at the largest αL of the theorem."),
        Step("(106)", "c with (1/L_k)‖∇F‖² >= (1/c)·min{‖∇F‖²/(L + ρασ), ‖∇F‖/(ρα)}", 8,
             sp.Max(2 * sp.Max(4, 2 * (ref("(104)") + ref("(105) C2"))), 4 * ref("(105) C1")),
             uses=("(104)", "(105) C1", "(105) C2"),
             justification="L_k <= 4L + 2(1 + C2)ρασ + 2C1ρα‖∇F‖ <= 2·max{c'(L + ρασ), 2C1ρα‖∇F‖}, "
                           "c' = max{4, 2(1 + C2)}; x/(2 max{u, v}) = min{x/(2u), x/(2v)}."),
        Step("(107)", "κ with E[min{X²/u, X/v}] >= κ·min{E[X²]/u, E[X]/v} (the paper takes κ = 1)", 1,
             (3 - p) / (4 - 2 * p), sense="lower", ranges={p: (sp.Integer(0), R(1, 3))}, term="κ",
             justification="Taking the expectation of (106) swaps E and min, but E[min] <= min E. Witness (u = v = 1): "
                           "X = 1/2 w.p. 1 − p, 1/(2p) w.p. p gives E[min{X², X}] = 3/4 − p/4 and, for p <= 1/3 "
                           "(where E X² >= E X), min{E X², E X} = 1 − p/2; their ratio (3 − p)/(4 − 2p) tends to 3/4."),
        Step("(107)", "c with E[F(w_{k+1})] <= E[F(w_k)] − c·min{E‖∇F‖²/(L + ρασ), E‖∇F‖/(ρα)} + noise",
             R(1, 800), ref(decrease_key) * ref("(107) κ") / ref("(106)"), sense="lower",
             uses=(decrease_key, "(107) κ", "(106)"), term="decrease",
             justification="The per-iteration decrease over L_k times (106), in expectation (tower rule)."),
    ]


# Steps of (107′) that are checks, not values: an exact chain keeps their claimed bound.
ENVELOPE_CHECKS = ("(107′) ψ <= h on [1/2, 1]", "(107′) ψ <= h on [1, ∞)")


@_fresh_list
def envelope_repair() -> list[Step]:
    """(107′): Jensen on the convex envelope ψ of h(x) = min{x²/u, x/v} gives κ = 3/4 (in t = xv/u)."""
    half, one = R(1, 2), sp.Integer(1)
    return [
        Step("(107′)", "ψ/h on t ∈ [1/2, 1] must be <= 1 (ψ lies below h)", 1, (t - R(1, 4)) / t**2,
             ranges={t: (half, one)}, term="ψ <= h on [1/2, 1]",
             justification="In units u/v² and t = xv/u: h = min{t², t}, ψ = t² (t <= 1/2), t − 1/4 (t >= 1/2), "
                           "the tangent of t² at 1/2 continued with slope 1; on [1/2, 1] ψ/h = (t − 1/4)/t² <= 1 "
                           "as (t − 1/2)² >= 0; on [1, ∞) ψ/h = 1 − 1/(4t) < 1."),
        Step("(107′)", "ψ/h on t ∈ [1, ∞) must be <= 1", 1, 1 - 1 / (4 * t), ranges={t: (one, sp.oo)},
             term="ψ <= h on [1, ∞)", justification="h = t there and ψ = t − 1/4."),
        Step("(107′)", "inf ψ/h on t ∈ [1/2, 1]", None, (t - R(1, 4)) / t**2, sense="lower", ranges={t: (half, one)},
             term="middle", justification="h = t² there; ψ/h decreases from 1 to 3/4."),
        Step("(107′)", "inf ψ/h on t ∈ [1, ∞)", None, 1 - 1 / (4 * t), sense="lower", ranges={t: (one, sp.oo)},
             term="linear", justification="h = t there; ψ/h = 1 − 1/(4t) increases from 3/4 to 1."),
        Step("(107′)", "κ with E[h(X)] >= κ·min{(E X)²/u, E X/v}", None,
             sp.Min(ref("(107′) middle"), ref("(107′) linear")), sense="lower",
             uses=(*ENVELOPE_CHECKS, "(107′) middle", "(107′) linear"), term="κ", repairs="(107) κ",
             justification="ψ is convex and ψ <= h, so E h(X) >= E ψ(X) >= ψ(E X) (Jensen) >= κ·h(E X) with "
                           "κ = inf ψ/h = 3/4 at t = 1 (the best uniform constant). Later steps use only E‖∇F‖, "
                           "so (E X)² in place of E[X²] costs nothing more."),
    ]


def a2_repair(a_max: sp.Expr) -> Step:
    """(44′): the quantity the theorems need, bounded without (44)."""
    return Step("(44′)", "λ: E_i‖∇f_i(w)‖² <= λ(2C1²‖∇F‖² + (2C2² + 1)σ²)", None, sp.Integer(1),
                ranges=a_range(a_max), uses=("(43) C1", "(43) C2", "(51)"), repairs="(44)",
                justification="E_i‖∇f_i‖² = ‖∇f‖² + E_i‖∇f_i − ∇f‖² <= ‖∇f‖² + σ² and ‖∇f‖² <= 2C1²‖∇F‖² + 2C2²σ² by "
                              "(43). The factor (1 + αL)² moves to the inner-step bound (56).")
