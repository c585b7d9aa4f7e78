"""Proofs as data: the appendix proofs of Theorems F.1, G.1 (and the lemmas they use) as chains of steps,
each evaluated exactly; paper and repaired chains; the exact sup / inf over αL (`extremum`).

See chain.py for `Step`, `Chain`, `ref`, the registry (`get_chain`, `available`, `register`).
"""

from mamltheory.bounds.proofs.chain import (
    FAILS,
    HOLDS,
    SLACK,
    THEORIES,
    Chain,
    ChainResult,
    Step,
    StepResult,
    available,
    evaluate_step,
    get_chain,
    ref,
    register,
)
from mamltheory.bounds.proofs.extremum import a, extremum, extremum_over

__all__ = [
    "FAILS", "HOLDS", "SLACK", "THEORIES", "Chain", "ChainResult", "Step", "StepResult", "a", "available",
    "evaluate_step", "extremum", "extremum_over", "get_chain", "ref", "register",
]
