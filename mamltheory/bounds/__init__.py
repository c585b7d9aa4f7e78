"""Sympy encodings of the paper's lemmas and theorems, with preconditions and provenance; the planner.

`RESULTS` lists every encoded bound; `THEOREMS` maps an algorithm to its general convergence theorem.
"""

from mamltheory.bounds.lemmas import LEMMAS
from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.theorems import (
    COROLLARY_4_16_ACCURACY, COROLLARY_4_16_ITERATIONS, COROLLARY_4_19_ACCURACY, COROLLARY_4_19_ITERATIONS,
    HF_COROLLARY_ACCURACY, HF_COROLLARY_ITERATIONS, THEOREMS, ConvergenceTheorem,
)

RESULTS: tuple[Bound, ...] = (
    *LEMMAS,
    *(b for t in THEOREMS.values() for b in (t.accuracy, t.iterations)),
    COROLLARY_4_16_ACCURACY, COROLLARY_4_16_ITERATIONS, HF_COROLLARY_ACCURACY, HF_COROLLARY_ITERATIONS,
    COROLLARY_4_19_ACCURACY, COROLLARY_4_19_ITERATIONS,
)

__all__ = ["RESULTS", "THEOREMS", "Bound", "Condition", "ConvergenceTheorem"]
