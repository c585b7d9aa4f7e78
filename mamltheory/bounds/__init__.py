"""Sympy encodings of the paper's lemmas and theorems, with preconditions and provenance; the planner.

`RESULTS` lists every encoded bound (built on first access), the repaired theorems (bounds/repaired.py)
after the paper's; `THEOREMS` maps an algorithm to its general convergence theorem.
"""

from __future__ import annotations

from typing import Any

from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.theorems import THEOREMS, ConvergenceTheorem

__all__ = ["RESULTS", "THEOREMS", "Bound", "Condition", "ConvergenceTheorem"]


def __getattr__(name: str) -> Any:
    # Lazy: the corollaries are not needed by `mamltheory plan`, whose cold start is benchmarked.
    if name == "RESULTS":
        from mamltheory.bounds import corollaries as co
        from mamltheory.bounds.lemmas import LEMMAS
        from mamltheory.bounds.repaired import REPAIRED_THEOREMS

        return (
            *LEMMAS,
            *(b for t in THEOREMS.values() for b in (t.accuracy, t.iterations)),
            co.COROLLARY_4_16_ACCURACY, co.COROLLARY_4_16_ITERATIONS, co.HF_COROLLARY_ACCURACY,
            co.HF_COROLLARY_ITERATIONS, co.COROLLARY_4_19_ACCURACY, co.COROLLARY_4_19_ITERATIONS,
            *(b for t in REPAIRED_THEOREMS.values() for b in (t.accuracy, t.iterations)),
        )
    raise AttributeError(name)
