"""The convergence theorems, one object per (algorithm, theory), and the one registry of the paper's results.

- `theorem(algorithm, theory)`: Theorem F.1 (MAML), G.1 (FO-MAML) or H.1 (HF-MAML) under "paper", "repaired"
  or "sharp" (bounds/theory.py); each lives in its own module (f1.py, g1.py, h1.py) with every theory.
- `sharp_theorem(algorithm, choices)`: the sharp theorem at other free choices (bounds/proofs/choices.py), its
  constants evaluated exactly from its chain.
- `by_label("4.21" | "H.1" | "Theorem H.1" | "Lemma 4.11" | ...)`: a `Result` holding the statements under
  every theory, the proof chains and the encoded bounds of that result. Checks and defects name the result
  they concern by its label (`Result.label`), so a verification record is filtered with `Result.checks`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from mamltheory.bounds.result import Bound
from mamltheory.bounds.theorems import f1, g1, h1
from mamltheory.bounds.theorems.base import LIMIT_BATCH, Theorem
from mamltheory.bounds.theory import DEFAULT_THEORY, THEORIES, check_theory
from mamltheory.errors import InputError

ALGORITHMS = ("maml", "fo-maml", "hf-maml")
_THEOREMS: dict[tuple[str, str], Theorem] = {
    (t.algorithm, t.theory): t
    for t in (f1.PAPER, f1.REPAIRED, f1.SHARP, g1.PAPER, g1.REPAIRED, g1.SHARP, h1.PAPER, h1.REPAIRED, h1.SHARP)}
# The chain outputs a statement uses as integers (rounded up in the chain; the exact values are K_exact, M_exact).
_INTEGER_OUTPUTS = ("K", "M", "K_nu", "kappa", "K_delta", "delta_budget", "D_h_factor")

__all__ = ["ALGORITHMS", "LIMIT_BATCH", "Result", "Theorem", "all_theorems", "by_label", "label_of", "sharp_theorem",
           "theorem"]


def theorem(algorithm: str, theory: str = DEFAULT_THEORY) -> Theorem:
    """The general theorem of `algorithm` under `theory`; "maml-hvp" (Algorithm 1 with exact Hessian-vector
    products) is covered by F.1."""
    check_theory(theory)
    key = ("maml" if algorithm == "maml-hvp" else algorithm, theory)
    if key not in _THEOREMS:
        raise InputError(f"--algorithm: must be one of {', '.join(ALGORITHMS)} or all, got {algorithm!r}",
                         field="algorithm")
    return _THEOREMS[key]


def sharp_theorem(algorithm: str, choices: Any) -> Theorem:
    """The sharp theorem of `algorithm` at the free choices `choices` (a proofs.choices.Choices): its constants are
    those of `proofs.sharp(label, choices)`, exactly — K, M (and H.1's κ, K·κ, K′, c) rounded up to the integers
    the statement uses by the chain itself, K_exact and M_exact unrounded — and its α range, step divisor and B
    condition are the choices'. ValueError if a step of that chain fails (e.g. a non-positive decrease)."""
    from mamltheory.bounds.proofs import sharp

    base = theorem(algorithm, "sharp")
    chain = sharp(base.label, choices)
    result = chain.result
    if not result.holds:
        raise ValueError(f"the sharp chain of {base.label} at {choices} fails at "
                         f"{', '.join(r.key for r in result.failing)}")
    constants = {k: (int(v) if k in _INTEGER_OUTPUTS else v) for k, v in result.constants.items()}
    reciprocal = 1 / Fraction(choices.alpha_L_max)
    return replace(base, chain_constants=constants, alpha_L_max=math.floor(reciprocal) if reciprocal.denominator == 1
                   else reciprocal, step_divisor=choices.step_divisor, B_min=choices.B_min, choices=choices)


def all_theorems() -> tuple[Theorem, ...]:
    """Every theorem, by algorithm, the paper's statement before the repaired one."""
    return tuple(_THEOREMS[(a, t)] for a in ALGORITHMS for t in THEORIES)


@dataclass(frozen=True)
class Result:
    """One result of the paper: its label, its statements (a theorem per theory) or encoded bounds (a lemma)."""

    label: str                                   # "H.1", "Lemma 4.11", "Corollary 4.16"
    aliases: tuple[str, ...]                     # "4.21", "Theorem 4.21", "Theorem H.1"
    statements: dict[str, Theorem] = field(default_factory=dict)   # theory -> theorem (theorems only)
    bounds: tuple[Bound, ...] = ()               # every encoded bound of the result

    def chain(self, theory: str = DEFAULT_THEORY) -> Any:
        """The proof chain under `theory` (theorems F.1, G.1, H.1)."""
        if theory not in self.statements:
            raise KeyError(f"{self.label} has no proof chain under theory {theory!r}")
        return self.statements[theory].chain

    def checks(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The checks of a verification record (`mamltheory verify --json`) that concern this result."""
        return [c for c in record.get("checks", []) if c.get("result") == self.label]

    def defects(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The paper's defects in this result, from a verification record."""
        return [d for d in record.get("defects", []) if d.get("result") == self.label]


def _theorem_results() -> list[Result]:
    out = []
    for algorithm in ALGORITHMS:
        statements = {th: _THEOREMS[(algorithm, th)] for th in THEORIES}
        t = statements[DEFAULT_THEORY]
        out.append(Result(label=t.label, aliases=(t.main, f"Theorem {t.main}", f"Theorem {t.label}"),
                          statements=statements, bounds=tuple(b for s in statements.values() for b in s.bounds)))
    return out


def _bound_label(b: Bound) -> str:
    """'Lemma 4.11 (first moment)' -> 'Lemma 4.11'; 'HVP finite difference (10)' -> 'Section 3, eq. (10)'."""
    m = re.match(r"^(Lemma|Corollary|Theorem) [\dA-H.]+\d", b.source)
    return m.group(0) if m else b.source.split(",")[0]


def _bound_results() -> list[Result]:
    from mamltheory.bounds import corollaries, lemmas

    grouped: dict[str, list[Bound]] = {}
    for b in (*lemmas.LEMMAS, *corollaries.COROLLARIES):
        grouped.setdefault(_bound_label(b), []).append(b)
    return [Result(label=k, aliases=(k.split(" ", 1)[1],) if " " in k else (), bounds=tuple(v))
            for k, v in grouped.items()]


def results() -> tuple[Result, ...]:
    """Every encoded result: the lemmas and corollaries, then the three theorems under every theory."""
    return (*_bound_results(), *_theorem_results())


def label_of(bound: Bound) -> str:
    """The label of the result an encoded bound belongs to ("Lemma 4.11", "H.1"); KeyError for a bound not encoded."""
    for r in results():
        if any((b.name, b.source) == (bound.name, bound.source) for b in r.bounds):
            return r.label
    raise KeyError(f"{bound.name} ({bound.source}) is not an encoded result")


def by_label(label: str) -> Result:
    """The result named `label`: "4.21", "H.1", "Theorem 4.21", "Lemma 4.11", "Corollary 4.16", ...; InputError
    listing the labels otherwise."""
    wanted = label.strip()
    found = [r for r in results() if wanted == r.label or wanted in r.aliases]
    if not found:
        known = ", ".join(r.label for r in results())
        raise InputError(f"no result labelled {label!r}; known: {known} (theorems also by their main-text number, "
                         "e.g. 4.21)", field="label")
    return found[0]
