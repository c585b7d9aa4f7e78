"""A convergence theorem under one theory: its label, constants, preconditions, bounds and limits.

Theorems F.1, G.1, H.1 (the general versions of 4.14, 4.18, 4.21) share one shape, (86), (113), (131):
with the batch-noise term S = σ²/B + σ̃²/(B·D_o) + σ̃²/D_in (+ FO-MAML's bias 20α²L²σ²),

    E‖∇F(w_ε)‖ <= max{√(K(1 + ρασ/L)·S), (Kρα/L)·S, ε},

and each states its iteration count with O(1). The explicit count comes from where each proof ends: a
per-iteration decrease E[F(w_{k+1})] <= E[F(w_k)] − dec while the bound fails, with

    dec = (1/M) · max{ ε²/(L + ρα(σ + ε)),  K_T·S/L },

the first term from (109), the second from the step above it (γ/(M·L) with γ = K_T·S). Summing as in
(110)-(112): if the bound failed at k = 0..T−1 then T·dec <= Δ, so among the first T = ⌊Δ/dec⌋ + 1 iterates
w_0..w_{T−1} at least one meets it. K, K_T and M are the final constants of the theorem's proof chain
(bounds/proofs), frozen in its module so that a plan starts fast; `certify` re-derives them from the chain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

import sympy as sp

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.lemmas import step_batch_conditions
from mamltheory.bounds.result import Bound, Condition, rational
from mamltheory.bounds.symbols import (
    B, D_h, D_in, D_o, L, alpha, eps, initial_gap, rho, sigma, sigma_tilde,
)
from mamltheory.bounds.theory import PAPER, SHARP

# Batch sizes standing for B, D_in, D_o, D_h, B', D_β → ∞ in `limit` (the bounds' exact-expectation limit).
LIMIT_BATCH = 10**12


def batch_noise(bias: sp.Expr = sp.Integer(0)) -> sp.Expr:
    """S = σ²/B + σ̃²/(B·D_o) + σ̃²/D_in (+ a batch-independent bias), the term inside (86), (113), (131)."""
    return sigma**2 / B + sigma_tilde**2 / (B * D_o) + sigma_tilde**2 / D_in + bias


def noise_at(c: ProblemConstants, B_value: int, D_in_value: int, D_o_value: int) -> Fraction:
    """`batch_noise()` without bias at these batches, in exact rationals."""
    s2, st2 = rational(c.sigma) ** 2, rational(c.sigma_tilde) ** 2
    return s2 / B_value + st2 / (B_value * D_o_value) + st2 / D_in_value


def accuracy_expr(K: int, S: sp.Expr) -> sp.Expr:
    """max{√(K(1 + ρασ/L)S), (Kρα/L)S, ε}: the common shape of (86), (113), (131)."""
    return sp.Max(sp.sqrt(K * (1 + rho * alpha * sigma / L) * S), K * rho * alpha / L * S, eps, evaluate=False)


def iterations_expr(K: int, M: int, S: sp.Expr) -> sp.Expr:
    """T = ⌊Δ/dec⌋ + 1 with dec = max{ε²/(L + ρα(σ + ε)), K·S/L}/M (the module docstring)."""
    dec = sp.Max(eps**2 / (L + rho * alpha * (sigma + eps)), K * S / L, evaluate=False) / M
    return sp.floor(initial_gap / dec) + 1


def _rational(x: Fraction) -> sp.Rational:
    return sp.Rational(x.numerator, x.denominator)


@dataclass(frozen=True)
class Theorem:
    """One convergence theorem under one theory (`theorem(algorithm, theory)` finds it)."""

    label: str                       # "F.1": the appendix theorem, and the name of its proof chain
    main: str                        # "4.14": the main-text theorem it states in general
    algorithm: str                   # "maml", "fo-maml", "hf-maml"
    theory: str                      # "paper" | "repaired" | "sharp" (bounds/theory.py)
    chain_constants: Mapping[str, Any]  # the final constants of its proof chain, exactly (checked by `certify`)
    failing: tuple[str, ...]         # steps of its proof chain that fail: empty = guaranteed
    repairs: tuple[str, ...]         # the repaired steps it rests on (keys of its chain)
    alpha_L_max: int | Fraction      # α ∈ (0, 1/(alpha_L_max·L)]: the reciprocal of the chain's a_max
    step_divisor: int                # c in β_k = β̃(w_k)/c
    hessian_batches: int             # D_h-sized batches per task: 1 (Hessian), 0 (none), 2 (two gradients, (12))
    D_h_min: sp.Expr                 # D_h >= this (0: no condition)
    bias: sp.Expr                    # the α-dependent floor inside S (FO-MAML only)
    accuracy_eq: str
    iterations_eq: str
    notes: tuple[str, ...] = ()      # where the statement or its proof does not hold as written
    proved_by: str = ""              # a theorem whose valid chain proves this statement when its own proof fails
    B_min: int = 20                  # B >= B_min (the paper: 20)
    choices: Any = None              # a sharp theorem's proofs.choices.Choices; None: its chain is get_chain's

    @property
    def name(self) -> str:
        return f"Theorem {self.label}" if self.theory == PAPER else f"{self.theory} Theorem {self.label}"

    @property
    def K(self) -> int:
        """The accuracy bound's constant."""
        return int(self.chain_constants["K"])

    @property
    def K_T(self) -> int:
        """The constant inside the iteration count (the decrease K_T·S/(M·L))."""
        return int(self.chain_constants["K"])

    @property
    def M(self) -> int:
        return int(self.chain_constants["M"])

    @property
    def guaranteed(self) -> bool:
        """Whether the statement is proved: every step of its own chain holds (`mamltheory audit --chain`), or
        another theorem's valid chain proves it with smaller constants (`proved_by`, see `survival`)."""
        return not self.failing or bool(self.proved_by)

    def alpha_max(self, L_value: float) -> float:
        """The largest inner step α the theorem allows: 1/(alpha_L_max·L)."""
        return 1.0 / (self.alpha_L_max * L_value)

    @property
    def alpha_bound(self) -> sp.Expr:
        """1/(alpha_L_max·L): the largest α, symbolically."""
        return 1 / (_rational(Fraction(self.alpha_L_max)) * L)

    @cached_property
    def S(self) -> sp.Expr:
        return batch_noise(self.bias)

    @cached_property
    def preconditions(self) -> tuple[Condition, ...]:
        amax = sp.sstr(self.alpha_bound)
        dh = () if self.D_h_min == 0 else (  # no Hessian batch (repaired G.1: FO-MAML draws none)
            Condition(sp.Ge(D_h, self.D_h_min), f"{self.name}: D_h >= {sp.sstr(self.D_h_min).replace('ceiling', 'ceil')}"),)
        return (
            Condition(sp.Gt(alpha, 0), f"{self.name}: α ∈ (0, {amax}]"),
            Condition(sp.Le(alpha, self.alpha_bound), f"{self.name}: α ∈ (0, {amax}]"),
            Condition(sp.Ge(B, self.B_min), f"{self.name}: B >= {self.B_min}"),
            *dh,
            *step_batch_conditions(f"{self.name} via Lemma 4.11, eq. (27), for β_k = β̃(w_k)/{self.step_divisor}"),
        )

    @cached_property
    def accuracy(self) -> Bound:
        return Bound(name=f"{self.name} accuracy", source=f"{self.name}, eq. ({self.accuracy_eq})",
                     quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound",
                     expr=accuracy_expr(self.K, self.S), preconditions=self.preconditions,
                     note=self._constants_note())

    @cached_property
    def iterations(self) -> Bound:
        return Bound(name=f"{self.name} iterations",
                     source=f"{self.name}, eq. ({self.iterations_eq}) with the explicit constant of its proof",
                     quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound",
                     expr=iterations_expr(self.K_T, self.M, self.S), preconditions=self.preconditions,
                     note=self._constants_note())

    def _constants_note(self) -> str:
        chain = f"`mamltheory audit --chain {self.label} --theory {self.theory}`"
        if self.repairs:
            labels = ", ".join(dict.fromkeys(r.split(" ")[0] for r in self.repairs))
            how = "repaired and sharpened" if self.theory == SHARP else "repaired"
            return f"K = {self.K}, M = {self.M} from its proof chain, {how} at {labels} ({chain})"
        return f"K = {self.K}, M = {self.M} from its proof chain ({chain})"

    @property
    def bounds(self) -> tuple[Bound, ...]:
        """Every encoded bound of this statement (`bounds.RESULTS`)."""
        return self.accuracy, self.iterations

    # ---- exact evaluation for the planner (rationals; the same formulas as `accuracy`) ------------------

    def bias_at(self, c: ProblemConstants, a: Fraction) -> Fraction:
        """The batch-independent part of S at α = a (FO-MAML's 20α²L²σ²; zero for MAML and HF-MAML)."""
        if self.bias == 0:
            return Fraction(0)
        value = self.bias.subs({alpha: _rational(a), L: _rational(rational(c.L)), sigma: _rational(rational(c.sigma))})
        return Fraction(int(value.p), int(value.q))

    def noise_budget(self, c: ProblemConstants, a: Fraction, eps_value: Fraction) -> Fraction:
        """S* with max{√(K(1+ρασ/L)S), (Kρα/L)S} <= ε ⟺ S <= S*; exact."""
        Lv, rv, sv = rational(c.L), rational(c.rho), rational(c.sigma)
        return min(eps_value**2 / (self.K * (1 + rv * a * sv / Lv)), eps_value * Lv / (self.K * rv * a))

    def accuracy_at(self, c: ProblemConstants, a: Fraction, S_value: Fraction) -> float:
        """max{√(K(1+ρασ/L)S), (Kρα/L)S}: the accuracy bound without its ε term, at S."""
        Lv, rv, sv = rational(c.L), rational(c.rho), rational(c.sigma)
        return max(math.sqrt(self.K * (1 + rv * a * sv / Lv) * S_value), float(self.K * rv * a / Lv * S_value))

    # ---- HF-MAML's radius and the exact-expectation limit --------------------------------------------------

    def radius(self, c: ProblemConstants, alpha_value: float, eps_value: Fraction | float,
               D_o_value: int) -> tuple[float, str] | None:
        """HF-MAML's finite-difference radius δ (δ_k^i = δ/‖v‖) and its rule; None for MAML and FO-MAML."""
        return None

    def limit_values(self, c: ProblemConstants, alpha_value: float, eps_value: float, gap: float,
                     keep_noise: bool = False, huge: int = LIMIT_BATCH) -> dict[str, Any]:
        """The values at which `limit` evaluates the bounds: every batch `huge`; σ̃ = σ_H = 0 unless `keep_noise`."""
        return dict(L=c.L, rho=c.rho, sigma=c.sigma, sigma_tilde=c.sigma_tilde if keep_noise else 0.0,
                    sigma_H=c.sigma_H if keep_noise else 0.0, alpha=alpha_value, eps=eps_value, initial_gap=gap,
                    B=huge, D_in=huge, D_o=huge, D_h=huge, B_prime=huge, D_beta=huge)

    def limit(self, c: ProblemConstants, alpha_value: float, eps_value: float, gap: float,
              keep_noise: bool = False, huge: int = LIMIT_BATCH) -> tuple[float, int]:
        """(accuracy bound, T) as B, D_in, D_o, D_h, B', D_β → ∞: what the theorem claims for the algorithm with
        exact expectations (`simulate.exact`). With σ̃ = σ_H = 0 (the default) the sample noise is gone too."""
        vals = self.limit_values(c, alpha_value, eps_value, gap, keep_noise, huge)
        return (float(self.accuracy(**{k: vals[k] for k in self.accuracy.parameters})),
                int(self.iterations.exact(**{k: vals[k] for k in self.iterations.parameters})))

    # ---- the proof behind it ---------------------------------------------------------------------------------

    @property
    def chain(self) -> Any:
        """Its proof chain (bounds/proofs), evaluated on first use of `.result` (about a second); a sharp theorem
        built at other choices (`theorems.sharp_theorem`) has the sharp chain at those."""
        from mamltheory.bounds.proofs import get_chain, sharp

        return get_chain(self.label, self.theory) if self.choices is None else sharp(self.label, self.choices)

    def certify(self) -> list[str]:
        """Where the frozen constants, failing steps or repairs differ from what the proof chain derives
        (empty: the statement is exactly its chain's)."""
        chain = self.chain
        result = chain.result
        out = [f"{k}: frozen {v}, chain {result.constants.get(k)}" for k, v in self.chain_constants.items()
               if result.constants.get(k) != v]
        failing = tuple(r.key for r in result.failing)
        if failing != self.failing:
            out.append(f"failing steps: frozen {self.failing}, chain {failing}")
        repairs = tuple(s.key for s in chain.steps if s.repairs)
        if repairs != self.repairs:
            out.append(f"repairs: frozen {self.repairs}, chain {repairs}")
        return out


# ---- the notes a plan carries ----------------------------------------------------------------------------------

# Findings of `mamltheory audit` that affect a plan under the paper's theory.
A2_NOTE = ("cites Lemma A.2 (44), which is false (its proof drops a factor (1 + αL)²; a two-task 1-D "
           "counterexample violates it), but the step follows without it from (56) and (43):")


def survives(paper: Theorem, repaired: Theorem) -> bool:
    """Whether the paper's statement itself holds, by the repaired chain: same form (class), α range and step, and constants
    K, M at least the repaired ones (a larger K weakens the accuracy claim; when the K-bound fails the repaired
    decrease covers K_paper·S too, so T with M_paper >= M_repaired only grows)."""
    return (type(paper) is type(repaired) and paper.K >= repaired.K and paper.M >= repaired.M
            and (paper.alpha_L_max, paper.step_divisor) == (repaired.alpha_L_max, repaired.step_divisor))


def as_stated(paper: Theorem, repaired: Theorem, fails_why: str = "") -> Theorem:
    """The paper's theorem with its plan note: where its own proof fails and whether the statement survives by
    the repaired chain (`survives`); if it does, `proved_by` names the repaired theorem and its plans are
    guaranteed, by the repaired proof. `fails_why` says why a statement that does not survive fails."""
    head = (f"{paper.name} as stated: its proof fails at {', '.join(paper.failing)} "
            f"(`mamltheory audit --chain {paper.label}`)")
    if survives(paper, repaired):
        note = (f"{head}, but the statement itself survives: the repaired chain proves it with K = {repaired.K} <= "
                f"{paper.K} and M = {repaired.M} <= {paper.M}, so this plan is guaranteed, by the repaired proof and "
                f"not by the paper's (`--theory repaired` plans with the repaired constants).")
        return replace(paper, notes=paper.notes + (note,), proved_by=repaired.name)
    why = fails_why or f"with K = {paper.K}, M = {paper.M} (repaired: {repaired.K}, {repaired.M})"
    return replace(paper, notes=paper.notes + (f"{head}, so this plan is not guaranteed. The statement itself "
                                               f"does not survive {why}.",))


# What a plan note says a theory's chain does to the paper's steps, and where it is derived.
_CHAIN_DOCS = {"repaired": ("replaces", "repaired-theorems.md"), "sharp": ("replaces or sharpens", "sharp-theorems.md")}


def plan_note(label: str, theory: str, repairs: tuple[str, ...]) -> str:
    """The note of a plan under the repaired or sharp theory: which of the paper's steps its chain replaces."""
    verb, doc = _CHAIN_DOCS[theory]
    labels = ", ".join(dict.fromkeys(r.split(" ")[0] for r in repairs))
    return (f"{theory} Theorem {label}: every step of its proof holds; it {verb} the paper's steps by {labels} "
            f"(docs/{doc}; `mamltheory audit --chain {label} --theory {theory}`).")
