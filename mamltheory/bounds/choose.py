"""Choosing a sharp proof's free parameters for one plan (theory "sharp"; docs/sharp-theorems.md).

The sharp chains of Theorems F.1, G.1, H.1 take as parameters what the paper fixed once for all problems
(bounds/proofs/choices.py): the range end a_max of αL, the step divisor c of β_k = β̃(w_k)/c, the Young
weight w of the descent step and the least task batch B_min. For one plan (constants, α, ε, Δ) `choose`
searches them for the fewest total samples T × samples per iteration. The search is a heuristic
(coordinate descent over short grids); the guarantee does not rest on it: every candidate it scores, the
winner included, is the sharp theorem whose constants its chain derives in exact rational arithmetic at
those choices (`theorems.sharp_theorem`), and a candidate whose chain fails a step is discarded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from functools import lru_cache
from typing import Any

from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES, Choices
from mamltheory.bounds.theorems import Theorem, sharp_theorem, theorem
from mamltheory.bounds.theory import SHARP

# a_max = ⌈αL·A_GRID⌉/A_GRID: the least grid point >= αL, a short rational the chain evaluates fast.
A_GRID = 10_000
# The ladders the search walks: step divisors c and Young weights w, ordered.
DIVISORS = (3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 40, 50, 64, 80, 100, 128, 160, 200)
YOUNG = (Fraction(1, 320), Fraction(1, 160), Fraction(1, 80), Fraction(1, 40), Fraction(1, 20), Fraction(1, 10), Fraction(1, 8), Fraction(1, 6), Fraction(1, 4),
         Fraction(1, 3), Fraction(1, 2), Fraction(2, 3))
ROUNDS = 3   # passes of coordinate descent over (c, w, B_min) at most


def a_max_for(label: str, alpha_L: Fraction) -> Fraction:
    """The range end the sharp chain is judged over for the user's αL: the least multiple of 1/A_GRID at or
    above αL, capped by the paper's range (1/6 for F.1 and H.1, 1/10 for G.1), which already contains αL."""
    cap = DEFAULT_CHOICES[label].alpha_L_max
    return min(cap, Fraction(math.ceil(alpha_L * A_GRID), A_GRID))


@lru_cache(maxsize=1024)
def certified(algorithm: str, choices: Choices) -> Theorem | None:
    """The sharp theorem at `choices`, its constants derived exactly by its chain; None if a step fails there
    (e.g. a step divisor so small that the per-iteration decrease is not positive)."""
    try:
        return sharp_theorem(algorithm, choices)
    except ValueError:
        return None


def at_alpha(algorithm: str, alpha_L: Fraction) -> Theorem:
    """The sharp theorem with the paper's choices except a_max, taken at the user's αL (`a_max_for`)."""
    label = theorem(algorithm, SHARP).label
    base = DEFAULT_CHOICES[label]
    thm = certified(algorithm, replace(base, alpha_L_max=a_max_for(label, alpha_L)))
    return thm if thm is not None else theorem(algorithm, SHARP)


def choose(algorithm: str, alpha_L: Fraction, total: Callable[[Theorem], tuple[float, int] | None]
           ) -> tuple[Theorem, dict[str, Any]]:
    """The certified sharp theorem whose plan costs least, and a record of the search.

    `total(thm)` is the plan's (total samples, B) under `thm`, None when that plan is infeasible; a candidate
    whose chain fails or whose plan is infeasible is discarded ("discarded" in the record). Starting
    from the paper's choices at a_max = `a_max_for(αL)`, each round walks DIVISORS and then YOUNG up and down
    from the incumbent while the total falls, then tries B_min ∈ {B, B/2} (B the incumbent plan's task batch: a
    larger B_min shrinks b = 1/B in the decrease step); it stops when a round changes nothing.
    """
    label = theorem(algorithm, SHARP).label
    start = replace(DEFAULT_CHOICES[label], alpha_L_max=a_max_for(label, alpha_L))
    scored: dict[Choices, tuple[float, int] | None] = {}

    def score(ch: Choices) -> tuple[float, int] | None:
        if ch not in scored:
            thm = certified(algorithm, ch)
            scored[ch] = None if thm is None else total(thm)
        return scored[ch]

    best = start
    if score(best) is None:
        # no plan at the paper's choices (a floor above ε): K falls as c grows and w shrinks, so try those
        for c in (d for d in DIVISORS if d > start.step_divisor):
            if score(ch := replace(start, step_divisor=c, young=YOUNG[0])) is not None:
                best = ch
                break
        else:
            thm = certified(algorithm, start)
            return (thm if thm is not None else theorem(algorithm, SHARP)), _record(start, best, scored)

    def better(ch: Choices) -> bool:
        """Whether `ch` plans for fewer total samples than the incumbent."""
        s = score(ch)
        return s is not None and s[0] < scored[best][0]

    for _ in range(ROUNDS):
        before = best
        for field, ladder in (("step_divisor", DIVISORS), ("young", YOUNG)):
            # walk the ladder from the incumbent's rung (or its nearest) while the total keeps falling
            here = min(range(len(ladder)), key=lambda i: abs(float(ladder[i]) - float(getattr(best, field))))
            for step in (1, -1):
                i = here + step
                while 0 <= i < len(ladder) and better(ch := replace(best, **{field: ladder[i]})):
                    best, i = ch, i + step
        B = scored[best][1]   # B_min up to the plan's own B: b = 1/B shrinks in the decrease step at no cost
        for v in (B, max(1, B // 2)):
            if better(ch := replace(best, B_min=v)):
                best = ch
        if best == before:
            break
    thm = certified(algorithm, best)
    assert thm is not None  # best was scored, so its chain holds
    return thm, _record(start, best, scored)


def as_dict(ch: Choices) -> dict[str, Any]:
    """The choices as JSON (rationals as strings, "1/6")."""
    return {"alpha_L_max": str(ch.alpha_L_max), "step_divisor": ch.step_divisor, "young": str(ch.young),
            "B_min": ch.B_min}


def from_dict(d: dict[str, Any]) -> Choices:
    """`as_dict` inverted."""
    return Choices(Fraction(d["alpha_L_max"]), int(d["step_divisor"]), Fraction(d["young"]), int(d["B_min"]))


def _record(start: Choices, best: Choices, scored: dict[Choices, tuple[float, int] | None]) -> dict[str, Any]:
    first = scored.get(start)
    return {"chosen": as_dict(best), "paper_choices": as_dict(start),
            "total_at_paper_choices": None if first is None else first[0],
            "candidates": len(scored), "discarded": sum(v is None for v in scored.values()),
            "method": (f"coordinate descent ({ROUNDS} rounds at most) walking c ∈ {list(DIVISORS)} and "
                       f"w ∈ {[str(w) for w in YOUNG]}, then B_min ∈ {{B, B/2}}; each candidate's constants "
                       "derived exactly by its sharp chain")}
