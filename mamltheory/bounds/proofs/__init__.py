"""Proofs as data: the appendix proofs of Theorems F.1, G.1, H.1 (and the lemmas they use) as chains of steps,
each evaluated exactly; paper, repaired and sharp chains (the sharp ones built at free `Choices` by `sharp`); the
exact sup / inf over αL (`extremum`).

See chain.py for `Step`, `Chain`, `ref`; the chains themselves are in f1.py, g1.py, h1.py, and `CHAINS` below is
the one registry of them (`get_chain`, `available`).
"""

from functools import lru_cache

from mamltheory.bounds.proofs import f1, g1, h1
from mamltheory.bounds.proofs.chain import (
    FAILS,
    HOLDS,
    SLACK,
    Chain,
    ChainResult,
    Step,
    StepResult,
    evaluate_step,
    ref,
)
from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES, Choices
from mamltheory.bounds.proofs.extremum import a, extremum, extremum_over

__all__ = [
    "CHAINS", "DEFAULT_CHOICES", "FAILS", "HOLDS", "SHARP_BUILDERS", "SLACK", "Chain", "ChainResult", "Choices", "Step",
    "StepResult", "a", "available", "evaluate_step", "extremum", "extremum_over", "get_chain", "ref", "sharp",
]

# (theorem, theory) -> its proof chain.
CHAINS: dict[tuple[str, str], Chain] = {
    (c.theorem, c.theory): c
    for c in (f1.PAPER, f1.REPAIRED, f1.SHARP, g1.PAPER, g1.REPAIRED, g1.SHARP, h1.PAPER, h1.REPAIRED, h1.SHARP)}
# theorem label -> its sharp chain at given free choices (choices.py)
SHARP_BUILDERS = {"F.1": f1.sharp, "G.1": g1.sharp, "H.1": h1.sharp}


@lru_cache(maxsize=128)
def sharp(label: str, choices: Choices) -> Chain:
    """The sharp chain of theorem `label` ("F.1", "G.1", "H.1") at `choices` (docs/sharp-theorems.md); the one
    object per (label, choices), so its `.result` is evaluated once."""
    if choices == DEFAULT_CHOICES[label]:
        return CHAINS[(label, "sharp")]
    return SHARP_BUILDERS[label](choices)


def available() -> list[tuple[str, str]]:
    """(theorem, theory) of every chain."""
    return sorted(CHAINS)


def get_chain(theorem: str, theory: str = "paper") -> Chain:
    """The chain of `theorem` ("F.1") under `theory`; KeyError naming the available ones otherwise."""
    try:
        return CHAINS[(theorem, theory)]
    except KeyError:
        names = ", ".join(f"{t} ({th})" for t, th in sorted(CHAINS))
        raise KeyError(f"no chain for theorem {theorem!r} under theory {theory!r}; available: {names}") from None
