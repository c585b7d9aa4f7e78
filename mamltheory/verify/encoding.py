"""The encoded statements against the proofs they rest on: every constant of an encoded lemma and theorem equals
what its proof chain (bounds/proofs) carries, exactly.

The lemma `Bound`s (bounds/lemmas.py) and the theorem objects (bounds/theorems/) are written down once each,
the chains once more, step by step from the appendix: a constant typed wrong in one of them (a second moment
lowered by 30% still inside the lemma's slack, a theorem's K or M) is a mismatch here, whatever its slack.
Symbolic equality in exact arithmetic: any difference is caught.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import mpmath
import sympy as sp

from mamltheory.bounds import lemmas as lm
from mamltheory.bounds.proofs import a as aL
from mamltheory.bounds.proofs import get_chain
from mamltheory.bounds.result import Bound
from mamltheory.bounds.symbols import B, D_in, D_o, L, alpha, eps, grad_adapted, grad_w, initial_gap, phi, rho, sigma_tilde
from mamltheory.bounds.symbols import sigma as sg
from mamltheory.bounds.theorems import all_theorems, label_of
from mamltheory.verify.check import CONTRADICTED, EXACT_TOL, HOLDS, CheckResult, slug

@lru_cache(maxsize=1)
def lemma_constants() -> tuple[tuple[Bound, str, Callable[[sp.Expr], sp.Expr]], ...]:
    """(lemma bound, the chain step that carries its constant, how the constant is read off the encoded expression
    in the chain's variable a = αL). L(w) = 4L + 2ρα‖∇f(w)‖ (Corollary 4.10) is the lemma's smoothness."""
    local = lm.local_smoothness(grad_w)
    return (
        (lm.LEMMA_4_11_MEAN, "(71) E[β̃]", lambda e: e * local),
        (lm.LEMMA_4_11_SECOND_MOMENT, "(28) E[β̃²]", lambda e: e * local**2),
        (lm.LEMMA_4_12_BIAS, "(73)", lambda e: e / (alpha * L * sigma_tilde / sp.sqrt(D_in))),
        (lm.LEMMA_4_12_SECOND_MOMENT, "(75) grad", lambda e: e.subs(phi, 1).coeff(grad_adapted**2)),
        (lm.LEMMA_4_12_SECOND_MOMENT, "(75) D_in",
         lambda e: e.subs(phi, 1).coeff(D_in**-1) / (alpha**2 * L**2 * sigma_tilde**2)),
        (lm.LEMMA_4_12_SECOND_MOMENT, "(75) D_o", lambda e: e.subs(phi, 1).coeff(D_o**-1) / sigma_tilde**2),
        (lm.LEMMA_A2_GRADIENT, "(43) C1", lambda e: e.coeff(lm.grad_F)),
        (lm.LEMMA_A2_GRADIENT, "(43) C2", lambda e: e.coeff(lm.sigma)),
        (lm.LEMMA_A2_SECOND_MOMENT, "(44)", lambda e: e.coeff(lm.grad_F**2) / (2 * lm.C1_A2**2)),
    )


def _in_a(e: sp.Expr) -> sp.Expr:
    """An expression in α and L written in the chains' dimensionless a = αL."""
    return sp.simplify(e.subs(alpha, aL / L))


def lemma_check(bound: Bound, key: str, read: Callable[[sp.Expr], sp.Expr]) -> CheckResult:
    """The constant of `bound` read off its expression against the value chain step `key` claims (F.1's chain,
    where the paper's lemmas are transcribed step by step)."""
    step = get_chain("F.1", "paper").result.by_key[key].step
    encoded = _in_a(read(bound.expr))
    claimed = sp.sympify(step.claimed)
    diff = sp.simplify(encoded - claimed)
    same = diff == 0
    return CheckResult(
        name=f"encoding: {bound.name} against proof step {key}", source=bound.source, kind="encoding",
        id=f"encoding.lemma.{slug(bound.name)}.{slug(key)}", result=label_of(bound),
        verdict=HOLDS if same else CONTRADICTED, observed=None if same else float(abs(diff.subs(aL, sp.Rational(1, 6)))),
        bound=0.0, ratio=0.0 if same else float("inf"), power=1 + EXACT_TOL,
        evidence=(f"the encoded {bound.name} carries {sp.sstr(encoded)}; step {key} of Theorem F.1's chain claims "
                  f"{sp.sstr(claimed)}: " + ("identical (symbolic equality in a = αL; any difference is caught)"
                                             if same else f"they differ by {sp.sstr(diff)}")),
        details={"bound": bound.name, "step": key, "encoded": sp.sstr(encoded), "claimed": sp.sstr(claimed)})


def statement_checks() -> list[CheckResult]:
    """Each theorem object's frozen constants, failing steps and repairs against its chain (`Theorem.certify`)."""
    out = []
    for t in all_theorems():
        wrong = t.certify()
        out.append(CheckResult(
            name=f"encoding: {t.name} constants against its proof chain", source=f"{t.name}, eq. ({t.accuracy_eq})",
            kind="encoding", id=f"encoding.constants.{t.label}.{t.theory}", result=t.label, verdict=CONTRADICTED if wrong else HOLDS, observed=float(len(wrong)), bound=0.0,
            ratio=float("inf") if wrong else 0.0, power=1 + EXACT_TOL,
            evidence=(f"{', '.join(f'{k} = {v}' for k, v in t.chain_constants.items())} as encoded; the chain "
                      f"(`mamltheory audit --chain {t.label} --theory {t.theory}`) derives "
                      + ("the same, exactly, with the same failing steps and repairs" if not wrong
                         else "otherwise: " + "; ".join(wrong))),
            details={"theorem": t.label, "theory": t.theory, "mismatches": wrong}))
    return out


def paper_form(t: Any) -> tuple[sp.Expr, sp.Expr]:
    """The statement's accuracy and iteration bound as (86)/(113)/(131) write them, with the theorem's constants:
    max{√(K(1 + ρασ/L)S), (Kρα/L)S, ε} and ⌊Δ·M / max{ε²/(L + ρα(σ + ε)), K_T·S/L}⌋ + 1, S = σ²/B + σ̃²/(BD_o)
    + σ̃²/D_in (+ 20α²L²σ² for FO-MAML, (113))."""
    S = sg**2 / B + sigma_tilde**2 / (B * D_o) + sigma_tilde**2 / D_in
    if t.algorithm == "fo-maml":
        S += 20 * alpha**2 * L**2 * sg**2
    acc = sp.Max(sp.sqrt(t.K * (1 + rho * alpha * sg / L) * S), t.K * rho * alpha / L * S, eps)
    dec = sp.Max(eps**2 / (L + rho * alpha * (sg + eps)), t.K_T * S / L) / t.M
    return acc, sp.floor(initial_gap / dec) + 1


def form_check(t: Any, points: int = 3) -> CheckResult:
    """The theorem's encoded accuracy and iteration bounds against `paper_form` at `points` random rational points,
    to 60 digits (a different formula differs at almost every point, far above 1e-40)."""
    acc, its = paper_form(t)
    args = (L, rho, alpha, sg, sigma_tilde, eps, initial_gap, B, D_in, D_o)
    rng = random.Random(f"{t.label}-{t.theory}")
    worst = 0.0
    with mpmath.workdps(60):  # 60 digits: two formulas that differ, differ far above 1e-40
        for mine, theirs in ((acc, t.accuracy.expr), (its, t.iterations.expr)):
            if not theirs.free_symbols <= set(args):
                worst = float("inf")
                continue
            f, g = sp.lambdify(args, mine, "mpmath"), sp.lambdify(args, theirs, "mpmath")
            for _ in range(points):
                x = [mpmath.mpf(rng.randint(1, 97)) / rng.randint(1, 31) for _ in range(7)]
                x += [rng.randint(20, 400), rng.randint(1, 400), rng.randint(1, 40)]
                a_, b_ = f(*x), g(*x)
                rel = abs(a_ - b_) / max(abs(a_), mpmath.mpf(10) ** -30)
                worst = max(worst, 0.0 if rel < mpmath.mpf(10) ** -40 else float(rel))
    same = worst == 0
    return CheckResult(
        name=f"encoding: {t.name} bounds have the form of eq. ({t.accuracy_eq})", source=f"{t.name}, eq. ({t.accuracy_eq})",
        kind="encoding", id=f"encoding.form.{t.label}.{t.theory}", result=t.label, verdict=HOLDS if same else CONTRADICTED, observed=float(worst), bound=0.0,
        ratio=0.0 if same else float("inf"), power=1 + EXACT_TOL,
        evidence=(f"accuracy max{{√(K(1 + ρασ/L)S), (Kρα/L)S, ε}} and T = ⌊Δ·M/max{{ε²/(L + ρα(σ + ε)), K_T·S/L}}⌋ + 1 "
                  f"with K = {t.K}, K_T = {t.K_T}, M = {t.M}, evaluated to 60 digits at {points} random rational points: "
                  + ("identical" if same else f"largest relative difference {float(worst):.3g}")),
        details={"theorem": t.label, "theory": t.theory})


def encoding_checks() -> list[CheckResult]:
    """Every encoded lemma constant and theorem statement against its chain."""
    return ([lemma_check(*row) for row in lemma_constants()] + statement_checks()
            + [form_check(t) for t in all_theorems()])



