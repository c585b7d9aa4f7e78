"""Sympy encodings of the paper's lemmas and theorems, with preconditions and provenance; the planner.

`theorem(algorithm, theory)` is the convergence theorem of an algorithm under a theory (bounds/theorems/),
`sharp_theorem(algorithm, choices)` the sharp one at other free choices of its proof, `by_label("4.21" | "H.1" |
"Lemma 4.11")` any encoded result, and `RESULTS` lists the encoded bounds of the paper and its repair (built
on first access): the lemmas, the paper's theorems, the corollaries, then the repaired theorems.
"""

from __future__ import annotations

from typing import Any

from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.theorems import Result, Theorem, all_theorems, by_label, sharp_theorem, theorem
from mamltheory.bounds.theory import DEFAULT_THEORY, THEORIES

__all__ = ["DEFAULT_THEORY", "RESULTS", "THEORIES", "Bound", "Condition", "Result", "Theorem", "all_theorems",
           "by_label", "sharp_theorem", "theorem"]


def __getattr__(name: str) -> Any:
    # Lazy: the corollaries are not needed by `mamltheory plan`, whose cold start is benchmarked.
    if name == "RESULTS":
        from mamltheory.bounds.corollaries import COROLLARIES
        from mamltheory.bounds.lemmas import LEMMAS

        by_theory = {th: [b for t in all_theorems() if t.theory == th for b in t.bounds] for th in THEORIES}
        return (*LEMMAS, *by_theory["paper"], *COROLLARIES, *by_theory["repaired"])
    raise AttributeError(name)
