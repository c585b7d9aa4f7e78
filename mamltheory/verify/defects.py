"""The paper's defects, each root cause once, and which checks of a verify record each one explains.

A verify record counts checks; several checks often witness the same error of the paper (Lemma A.2's
(44) alone is contradicted by the audit's counterexample, two falsification searches, three named
counterexamples and a tightness row). This registry lists every root cause once: its source, what is
wrong, how much damage it does (`severity`), a witness a reader can reproduce, the checks and audit
findings it explains (named by data: the label of the result they check and a prefix of their stable id,
or their kind; never by their prose), and where the repaired proof replaces the step
(docs/repaired-theorems.md, step labels like "(150′)").

`explain(checks)` assigns every contradicted check and every failing audit finding to exactly one
defect, or lists it as unexplained; `annotate(record)` adds `defects` and `unexplained` to a record.
A defect explains a failing check only if it predicts a violation of that size there: each consequence that
predicts a violation carries `size`, the largest ratio (observed/bound, the check's own orientation) the
defect's finding implies at the check, computed from that finding (Lemma A.2 (44)'s missing (1 + αL)², the
HF-MAML floor its δ rule leaves); a measured ratio above it (by more than SIZE_TOL) is unexplained.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy as sp

from mamltheory.bounds.proofs import a  # a = αL
from mamltheory.verify.audit import C1, C2  # Lemma A.2
from mamltheory.verify.check import CONTRADICTED

BREAKS = "breaks a conclusion"          # a theorem's conclusion is false, or does not follow from its hypotheses
CONSTANT = "only a constant"            # a constant must change; the statement's form survives
STEP_ONLY = "a proof step is wrong; the statement survives"  # the repaired chain proves the paper's constants
LEMMA_ONLY = "a lemma statement is false; no final constant of F.1/G.1/H.1 depends on it"
COSMETIC = "cosmetic/vacuous"           # slack or an unused hypothesis: nothing to repair in the conclusions
SEVERITIES = (BREAKS, CONSTANT, STEP_ONLY, LEMMA_ONLY, COSMETIC)

REPAIRS = "docs/repaired-theorems.md"


SIZE_TOL = 1e-6   # relative: a measured ratio this far above the predicted size is still that size (rounding)


def measured_ratio(check: dict[str, Any]) -> float | None:
    """The check's violation ratio as a float (a record keeps ±inf as a string), None when it has none."""
    r = check.get("ratio")
    return None if r is None else float(r)


@dataclass(frozen=True)
class Consequence:
    """Checks a defect bears on: those of result `result` whose id is one of `ids` or extends one by ".…" (any id
    when `ids` is empty) and, when given, whose kind is `kind`. `predicts`: what the defect does to them,
    "violation" (it makes them fail: it explains their contradiction) or "slack" (it makes the bound loose: a
    looseness cannot explain a violation, so a failing check it matches stays unexplained).

    `size(check)`: the largest violation ratio the defect predicts at a matched check (None: no measured violation
    predicted there); `size_why` says where it comes from. A failing check with a measured ratio is explained only
    when that ratio is at most its predicted size; one without a ratio (an exact audit finding, the defect's own
    derivation) by its id alone."""

    what: str
    result: str                   # the label of the checked result, as `bounds.theorems.by_label` knows it
    ids: tuple[str, ...] = ()     # ids or id prefixes ending at a "." (verify/check.py CheckResult.id)
    kind: str | None = None
    predicts: str = "violation"   # "violation" | "slack"
    size: Callable[[dict[str, Any]], float | None] | None = None
    size_why: str = ""

    def matches(self, check: dict[str, Any]) -> bool:
        """Whether `check` (a record's check) is one of these."""
        cid = str(check.get("id", ""))
        return (check.get("result") == self.result
                and (not self.ids or any(cid == p or cid.startswith(p + ".") for p in self.ids))
                and (self.kind is None or check.get("kind") == self.kind))

    def fits(self, check: dict[str, Any]) -> tuple[bool, str]:
        """(whether the defect predicts this violation's size, why not): see the class doc."""
        measured = measured_ratio(check)
        if measured is None:
            return True, ""
        predicted = self.size(check) if self.size is not None else None
        if predicted is None:
            return False, f"ratio {measured:.4g}, where the defect predicts no measured violation"
        if measured <= predicted * (1 + SIZE_TOL):
            return True, ""
        return False, f"ratio {measured:.4g} exceeds the {predicted:.4g} the defect predicts ({self.size_why})"


def a2_44_size(check: dict[str, Any]) -> float:
    """(44) lacks a factor (1 + αL)²: its left side is at most (1 + αL)² times its right side, and (1 + αL)² < 2 on the
    lemma's range αL < √2 − 1."""
    return (1 + (math.sqrt(2) - 1)) ** 2


def trapped_floor_size(check: dict[str, Any]) -> float | None:
    """HF-MAML with the paper's δ stops at a fixed point w* with ‖∇F(w*)‖ = its floor (the check's `future_floor`,
    `paper_floor` or `floor`): the accuracy ratio it predicts is floor/bound; for an iteration claim (k_first/T)
    a floor above the bound predicts k_first = ∞."""
    d = check.get("details") or {}
    floor = next((d[k] for k in ("future_floor", "paper_floor", "floor") if isinstance(d.get(k), (int, float))), None)
    if floor is None:
        return None
    if d.get("claim") == "iterations":
        return math.inf if floor > float(d.get("bound", math.inf)) else None
    bound = float(d.get("bound", check.get("bound") or 0.0))
    return floor / bound if bound > 0 else None


def floor_cap_size(check: dict[str, Any]) -> float | None:
    """The bias floor of HF-MAML's exact fixed point against its tolerance: at most the largest floor the paper's
    finite difference allows (`scaling.hf_floor_cap`, the check's `floor_cap`) over that tolerance."""
    caps, bound = (check.get("details") or {}).get("floor_cap"), check.get("bound")
    return max(caps) / float(bound) if caps and bound else None


@dataclass(frozen=True)
class Defect:
    """One root cause in the paper; `result` is the label of the result it is in ("H.1", "Lemma A.2")."""

    id: str
    result: str
    source: str
    wrong: str                 # one line: what is wrong
    severity: str              # one of SEVERITIES
    damage: str                # exactly the damage the proofs suffer, with the numbers
    witness: str               # reproducible in a few lines, or "" when the defect is a matter of logic/units
    repair: str                # pointer into the repaired theorems
    consequences: tuple[Consequence, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "result": self.result, "source": self.source, "wrong": self.wrong,
                "severity": self.severity,
                "damage": self.damage, "witness": self.witness, "repair": self.repair,
                "consequences": [c.what for c in self.consequences]}


# --- Lemma A.2 (44): the route that avoids it -------------------------------------------------------------


@lru_cache(maxsize=1)
def a2_route() -> tuple[dict[str, Any], ...]:
    """The constants of (99), (122), (129), (156) derived without (44), against the paper's numbers.

    Route: (56) ‖∇f_i(w − α∇f_i(w))‖ <= (1 + αL)‖∇f_i(w)‖; Assumption 4.5 E_i‖∇f_i(w)‖² <= ‖∇f(w)‖² + σ²
    (and E_i‖∇f_i(w)‖ <= ‖∇f(w)‖ + σ by (51)); (43) ‖∇f(w)‖ <= C1‖∇F(w)‖ + C2σ with (x + y)² <= 2x² + 2y².
    Hence E_i‖∇f_i(w − α∇f_i(w))‖² <= (1 + αL)²(2C1²‖∇F‖² + (2C2² + 1)σ²), which the proofs use in
    place of (44) divided by (1 − αL)²: (98) has 2·that inside (97)'s factor 2, (128) 2·that, (154) 5·that.
    For (122), r_k's first term is E_i[α∇²f_i(w)∇f_i(w − α∇f_i(w))] (expand (120) with (45b)), of norm
    <= αL(1 + αL)(‖∇f‖ + σ) <= αL(1 + αL)C1‖∇F‖ + (1 + αL)C1·αLσ, since C2 + 1 = C1.
    Every expression is increasing in a on (0, a_max], so its supremum is its value at a_max.
    """
    sixth, tenth = sp.Rational(1, 6), sp.Rational(1, 10)
    moment_F = 2 * C1**2 * (1 + a) ** 2           # ‖∇F‖² coefficient of E_i‖∇f_i(w − α∇f_i)‖²
    moment_s = (2 * C2**2 + 1) * (1 + a) ** 2     # σ² coefficient
    rows = [
        ("Theorem F.1, eq. (99)", "‖∇F‖²", 4 * moment_F, sixth, 40),
        ("Theorem F.1, eq. (99)", "σ²", 4 * moment_s, sixth, 14),
        ("Theorem G.1, eq. (122)", "‖∇F‖", a * (1 + a) * C1, tenth, sp.Rational(22, 100)),
        ("Theorem G.1, eq. (122)", "αLσ", (1 + a) * C1, tenth, 2),
        ("Theorem G.1, eq. (129)", "‖∇F‖²", 2 * moment_F, tenth, 20),
        ("Theorem G.1, eq. (129)", "σ²", 2 * moment_s, tenth, 7),
        ("Theorem H.1, eq. (156)", "‖∇F‖²", 5 * moment_F, sixth, 50),
        ("Theorem H.1, eq. (156)", "σ²", 5 * moment_s, sixth, 18),
    ]
    out = []
    for source, term, expr, a_max, paper in rows:
        slope = sp.fraction(sp.together(sp.diff(expr, a)))[0]
        if any(0 < r < a_max for r in sp.Poly(slope, a).real_roots()) or slope.subs(a, a_max / 2) <= 0:
            raise ArithmeticError(f"{source}: {expr} is not increasing on (0, {a_max}]")  # sup would not be at a_max
        value = sp.Rational(expr.subs(a, a_max))
        out.append({"source": source, "term": term, "alpha_L": str(a_max), "derived": str(value),
                    "value": float(value), "paper": str(paper), "holds": bool(value <= paper)})
    return tuple(out)


def _route_text() -> str:
    return "; ".join(f"{r['source'].split(', ')[1]} {r['term']}: {r['derived']} = {r['value']:.4g} <= {r['paper']}"
                     for r in a2_route())


# --- the registry --------------------------------------------------------------------------------------------

# Every check of Lemma A.2's (44): the audit's witness and units, the lemma checks on the families, the
# falsification searches and named counterexamples, the tightness row.
A2_44 = ("audit.witness.A.2.44", "audit.units.Lemma-A.2-44", "lemma.Lemma-A.2-44", "falsify.search.lemma_a2_44",
         "falsify.search.lemma_a2_44_2d", "falsify.a2-pair", "falsify.a2-bounded-pair", "tightness.Lemma-A.2-44")


@lru_cache(maxsize=1)
def registry() -> tuple[Defect, ...]:
    """Every root-cause defect of the paper, each once (verified against the appendix)."""
    return (
        Defect(
            "A2-44", "Lemma A.2", "Lemma A.2, eq. (44)",
            "the proof bounds ‖A_i(w)‖²‖A_i(w̃_i)‖² by (1 + αL)²; the two factors give (1 + αL)⁴, and (44) is false",
            LEMMA_ONLY,
            "(44) is false (worst ratio 1.083 at αL = 0.0698), but every step that cites it follows with the paper's "
            "own numbers from (56) + (43) via E_i‖∇f_i(w − α∇f_i(w))‖² <= (1 + αL)²(‖∇f‖² + σ²): " + _route_text()
            + ". The audit's '(44) corrected' constants (52.29, 17.49, 0.2407, 65.36, 21.86) belong to the route "
            "through (44), not to the theorems.",
            "two equally likely 1-D tasks f_i(w) = −w²/2 ± w (L = 1, ρ = 0, σ = 1), α = 0.1, w = 0: ∇F_i(0) = ±1.1², "
            "∇F(0) = 0, E_i‖∇F_i(0)‖² = 1.1⁴ = 1.4641 > (1.1)²(2C2² + 1) = 1.3810 (C2 = 21/79). Reproduce: "
            "a2_sides(negative_curvature_pair(), np.zeros(1), 0.1) (mamltheory.verify.falsify, .instances)",
            f"Lemma A.2 with (1 + αL)⁴ in (44); F.1 (98′), G.1 (122′)/(128′), H.1 (155′) use (56) + (43) instead "
            f"({REPAIRS}, Lemma A.2 and the repaired F.1, G.1, H.1)",
            (Consequence("the (44) counterexamples and falsification searches", "Lemma A.2", A2_44,
                         size=a2_44_size, size_why="(44) lacks (1 + αL)² <= 2: observed/bound <= 2"),)),
        Defect(
            "A2-range", "Lemma A.2", "Lemma A.2, statement",
            "the range α ∈ [0, (√2 − 1)/L] includes its endpoint, where 1 − 2αL − α²L² = 0 and C1, C2 divide by zero",
            COSMETIC,
            "none: the theorems use αL <= 1/6 and 1/10, far inside the range",
            "αL = √2 − 1: 1 − 2αL − α²L² = 1 − 2(√2 − 1) − (3 − 2√2) = 0",
            f"Lemma A.2 on α ∈ [0, (√2 − 1)/L) ({REPAIRS}, Lemma A.2)",
            (Consequence("the audit's finding on the range", "Lemma A.2", ("audit.witness.A.2.statement",)),)),
        Defect(
            "F1-107", "F.1", "Theorem F.1, eq. (107)",
            "(107) takes the expectation of (106)'s min{U, V} as if E[min{U, V}] >= min{E U, E V}; "
            "Jensen gives the opposite, E[min{U, V}] <= min{E U, E V}",
            STEP_ONLY,
            "the step is invalid as written, in F.1 and in G.1 and H.1, which repeat it; with the convex envelope of "
            "x ↦ min{x²/c, x/b} (equal to x²/c up to c/(2b), then x/b − c/(4b²), and >= 3/4 of it) and Jensen, "
            "E[min{X²/c, X/b}] >= (3/4)·min{(E X)²/c, E X/b} for X = ‖∇F(w_k)‖: the decrease loses a factor 3/4. "
            "Carrying exact values instead of the paper's roundings absorbs it: the repaired chains prove F.1 with "
            "K = 20 <= 61, M = 860 <= 1600 and G.1 with K = 9 <= 14, M = 1247 <= 1600, so both statements survive "
            "(H.1 fails for other reasons)",
            "X = ‖∇F(w_k)‖ ∈ {1/10 with probability 1 − 10⁻⁶, 10⁴ with probability 10⁻⁶}, L + ρασ = ρα = 1: "
            "E[min{X², X}] = 0.0200 < min{E X², E X} = 0.1100 (and >= (3/4)·min{(E X)², E X} = 0.009075)",
            f"repaired Theorem F.1, step (107′) ({REPAIRS}); the same step in G.1 and H.1",
            (Consequence("the audit's findings on (107) in F.1", "F.1",
                         ("audit.witness.F.1.107", "audit.chain.paper.F.1.107-κ")),
             Consequence("the audit's finding on (107) in G.1", "G.1", ("audit.chain.paper.G.1.107-κ",)),
             Consequence("the audit's finding on (107) in H.1", "H.1", ("audit.chain.paper.H.1.107-κ",)))),
        Defect(
            "G1-last-step", "G.1", "Theorem G.1, end of proof",
            "the last step collects 24α²L²σ²·(L_k/2)E[β_k²] + 12α²L²σ²·E[β_k] <= (169/864)α²Lσ² (≈ 0.196), "
            "not the α²Lσ²/6 written",
            STEP_ONLY,
            "with the proof's own rounded numbers the constant 14 of (113) would need 845/54 = 15.65; carrying exact "
            "values through (122)-(130) the repaired chain needs only K = 9 (M = 1247), so (113) with 14 survives",
            "(25/8)/(2·324)/4·24 + (1/72)·12 = 169/864 > 1/6 = 144/864",
            f"repaired Theorem G.1: exact values carried through the end of the proof ({REPAIRS})",
            (Consequence("the audit's α²Lσ² constant of G.1", "G.1", ("audit.chain.paper.G.1.end-of-G.1-α²Lσ²",)),)),
        Defect(
            "H1-task-spread", "H.1", "Theorem H.1, eqs. (144)-(145)",
            "(145) bounds E_i‖(I − α∇²f_i(w))⁻¹∇F_i(w)‖ by ‖∇F(w)‖/(1 − αL), dropping the task spread "
            "(E_i‖∇F_i‖ >= ‖∇F‖); with δ = 1/(6ρα) fixed by (142) the finite-difference bias stays",
            BREAKS,
            "(131) is false: at any fixed point w* of HF-MAML with exact expectations ∇F(w*) = −s(w*), so (147)'s "
            "‖s‖ <= 0.2‖∇F‖ would force ∇F(w*) = 0; every nonzero HF-MAML bias floor is this step failing, not a "
            "separate defect. The true bias αρδ·E_i‖∇f_i(w − α∇f_i(w))‖ = (1/6)E_i‖∇f_i(w − α∇f_i(w))‖ does not "
            "shrink with B, D_in, D_o, so (131), which tends to ε for every ε as the batches grow, fails",
            "opposed kinks (two equally likely 1-D tasks, f_i'' = 0.5 ± 0.5·tent(w), linear terms ±w, exact "
            "constants): HF-MAML with exact expectations stalls at w* = 0.2096 with ‖∇F(w*)‖ = 0.0445 = ‖s‖ against "
            "(147)'s 0.2‖∇F‖ = 0.0089 and (131)'s 0.0222 at ε = 0.0222 (mamltheory.verify.falsify.hf_proof_step)",
            f"repaired Theorem H.1, steps (145′) and the δ condition (δ′): δ small enough that the bias fits in the "
            f"ε budget ({REPAIRS})",
            (Consequence("the audit's proof-step findings", "H.1",
                         ("audit.chain.paper.H.1.145-spread", "audit.witness.H.1.144-145")),
             Consequence("the audit's verdict on H.1's statement", "H.1", ("audit.chain.H.1.statement",)),
             Consequence("the (147) bias check on the opposed kinks", "H.1", ("falsify.H.1.paper.147-bias",),
                         size=lambda c: 5.0,
                         size_why="at a fixed point ∇F = −s, so ‖s‖/(0.2‖∇F‖) = 5 exactly"),
             Consequence("HF-MAML's bias floor (B, D → ∞)", "H.1", ("scaling.bias-floor-alpha.hf-maml",),
                         size=floor_cap_size, size_why="the floor (ραδ/2)E_i‖v_i‖ + resid that (10) allows at w*"),
             Consequence("H.1 on the opposed kinks", "H.1",
                         ("falsify.exact.H.1.paper.opposed-kinks", "theorem.exact.H.1.paper.opposed-kinks"),
                         size=trapped_floor_size, size_why="iterates trapped at the fixed point's floor: floor/bound"),
             Consequence("H.1 on a family, started at its stall", "H.1",
                         ("theorem.exact.H.1.paper.from-paper-fixed-point",),
                         size=trapped_floor_size, size_why="iterates trapped at the fixed point's floor: floor/bound"),
             Consequence("the tightness rows of the paper's H.1 (its floor under (142))", "H.1",
                         ("tightness.H.1.paper",), size=trapped_floor_size,
                         size_why="the trapped floor over the bound; k_first = ∞ above it"))),
        Defect(
            "H1-144-Do", "H.1", "Theorem H.1, eq. (144)",
            "(144) bounds E‖v‖ by ‖∇f_i(w − α∇f_i(w))‖ + αLσ̃/√D_in 'by Lemma 4.12', whose (31) bounds ‖E v − "
            "∇f_i(w − α∇f_i(w))‖, not E‖v‖: the outer batch's noise σ̃/√D_o is dropped",
            BREAKS,
            "with δ = 1/(6ρα) fixed the finite-difference bias carries (1/6)σ̃/√D_o, which does not shrink with B or "
            "D_in; so (131), which for one task (σ = 0) tends to ε as B, D_in → ∞ at fixed D_o, fails even without "
            "task spread. Independent of (145): it is there with a single task",
            "f(w) = Lw²/2 with gradient noise ±s, w = 0, D_in = D_o = 1, α = 1/(6L): v = ξ_o − αLξ_in and "
            "E|v| = s against the αLs (144) allows",
            f"repaired Theorem H.1, step (144′): E‖v‖ <= ‖∇f_i(w − α∇f_i(w))‖ + αLσ̃/√D_in + σ̃/√D_o, the term "
            f"35ν²σ̃²/D_o in S and the δ condition (δ′) ({REPAIRS})",
            (Consequence("the audit's findings on (144)", "H.1",
                         ("audit.chain.paper.H.1.144-E-v", "audit.witness.H.1.144")),)),
        Defect(
            "H1-150", "H.1", "Theorem H.1, eq. (150)",
            "the variance of d_k^i over D_h is σ_H²‖v‖²/D_h, not σ_H²/(D_h(δ_k^i)²); from the wrong term comes the "
            "condition D_h >= ⌈36(αρσ_H)²⌉, which is not dimensionless",
            BREAKS,
            "(131) does not follow from H.1's hypotheses: (152) needs 2α²σ_H²/D_h <= 4.3 − 2 − 4α²L² − 4ρ²α²δ², but "
            "36(αρσ_H)² has units loss²·length⁻⁶, so at a scale where it is <= 1 the condition admits D_h = 1 "
            "whatever α²σ_H² (σ_H is not bounded by L in Assumption 4.6); no counterexample to (131) is claimed. "
            "With the correct term D_h >= ⌈c·α²σ_H²⌉ suffices. The units findings of (131), (132), (150) and "
            "Corollary 4.16 are this defect's consequences",
            "g(u) = t·f(s·u) rescales 36(αρσ_H)² by t²s⁶ and α²σ_H² by 1: the same problem gets D_h = 4, 1 or 16 "
            "in other units",
            f"repaired Theorem H.1, steps (150′) and (152′): D_h >= ⌈c·α²σ_H²⌉ ({REPAIRS})",
            (Consequence("the audit's proof-step and units findings on (150)", "H.1",
                         ("audit.chain.paper.H.1.150", "audit.witness.H.1.150", "audit.units.H.1.150")),
             Consequence("the (152) bracket, which carries the variance term", "H.1", ("audit.chain.paper.H.1.152",)),
             Consequence("the units findings of H.1's D_h condition ((131), (132))", "H.1",
                         ("audit.units.Theorem-H.1-accuracy", "audit.units.Theorem-H.1-iterations")),
             Consequence("the units findings of Corollary 4.16 for HF-MAML, which carries H.1's D_h condition",
                         "Corollary 4.16", ("audit.units.Corollary-4.16-for-HF-MAML-accuracy",
                                            "audit.units.Corollary-4.16-for-HF-MAML-iterations")))),
        Defect(
            "S3-10", "Section 3", "Section 3, eq. (10)",
            "Taylor's theorem gives the finite-difference error ρδ‖v‖²/2; the stated ρδ‖v‖² has a factor 2 of slack",
            COSMETIC,
            "none: a true bound, loose by 2 (every check of (10) has ratio <= 0.5)",
            "f''(w) = min(|w|, 1) (ρ = 1), w = 0, v = 1, δ = 0.1: the error is 0.05 = ρδ‖v‖²/2 "
            "(mamltheory.verify.falsify.hvp_kink_ratio(1.0, 0.1, 1.0))",
            "(10) with ρδ‖v‖²/2 (Section 3)",
            (Consequence("the checks of (10)", "Section 3", predicts="slack"),)),
        Defect(
            "G1-Dh", "G.1", "Theorem G.1, statement",
            "G.1 requires D_h >= ⌈2α²σ_H²⌉, but FO-MAML draws no Hessian batch and the proof never uses D_h",
            COSMETIC,
            "none: the condition is vacuous; plans count no Hessian samples for FO-MAML",
            "",
            f"repaired Theorem G.1 without the D_h condition ({REPAIRS})",
            (Consequence("the audit's findings on G.1's statement", "G.1",
                         ("audit.chain.G.1.statement", "audit.witness.G.1.statement")),)),
    )


# --- explaining a record ------------------------------------------------------------------------------------

def failing(check: dict[str, Any]) -> bool:
    """A contradicted check, or an audit finding whose audit verdict is 'fails'."""
    audit = (check.get("details") or {}).get("audit_verdict")
    return check.get("verdict") == CONTRADICTED or audit == "fails"


def explain(checks: list[dict[str, Any]], defects: tuple[Defect, ...] | None = None) -> dict[str, Any]:
    """{"defects": [...with explained check indices], "unexplained": [...], "ambiguous": [...]}.

    Each failing check is explained by the one defect whose consequences predicting a violation match it and
    predict its size (`Consequence.fits`); a failing check that matches none, or whose measured ratio exceeds
    every matching prediction (`why` says by how much), is unexplained (a defect that only loosens a bound cannot explain a violation
    of it), one that matches several is ambiguous (a registry error: tests keep it empty). Non-failing checks a
    defect matches (e.g. (10)'s ratio 0.5) are listed as its `related` checks.
    """
    defects = registry() if defects is None else defects
    rows = [{**d.to_json(), "checks": [], "related": []} for d in defects]
    unexplained, ambiguous = [], []
    for i, c in enumerate(checks):
        ref = {"index": i, "id": c.get("id"), "name": c.get("name"), "source": c.get("source")}
        if not failing(c):
            for j, d in enumerate(defects):
                if any(q.matches(c) for q in d.consequences):
                    rows[j]["related"].append(ref)
            continue
        hits, misfits = [], []
        for j, d in enumerate(defects):
            for q in d.consequences:
                if q.predicts == "violation" and q.matches(c):
                    fits, why = q.fits(c)
                    if fits:
                        hits.append(j)
                    else:
                        misfits.append(f"{d.id}: {why}")
                    break
        if len(hits) == 1:
            rows[hits[0]]["checks"].append(ref)
        elif not hits:
            unexplained.append({**ref, "why": "; ".join(misfits)} if misfits else ref)
        else:
            ambiguous.append({**ref, "defects": [defects[j].id for j in hits]})
    return {"defects": rows, "unexplained": unexplained, "ambiguous": ambiguous}


def lead_line(defects: list[dict[str, Any]]) -> str:
    """'N defects in the paper (M break a conclusion)'."""
    n, m = len(defects), sum(d["severity"] == BREAKS for d in defects)
    return f"{n} defect{'s' if n != 1 else ''} in the paper ({m} break{'s' if m == 1 else ''} a conclusion)"


def annotate(record: dict[str, Any]) -> dict[str, Any]:
    """Add `defects`, `unexplained` (and `ambiguous`, when any) to a verify record, and to each failing
    check the id of the defect that explains it (`defect`). Idempotent; returns the record."""
    found = explain(record["checks"])
    for d in found["defects"]:
        for ref in d["checks"]:
            record["checks"][ref["index"]]["defect"] = d["id"]
    record["defects"] = found["defects"]
    record["unexplained"] = found["unexplained"]
    if found["ambiguous"]:
        record["ambiguous"] = found["ambiguous"]
    return record
