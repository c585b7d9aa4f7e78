"""The theories a result is stated under; in this package `theory` means one of these and nothing else.

- "paper": the statement as the paper gives it, resting on its proof as written (some steps fail).
- "repaired": the same statement shape with the constants of the repaired proof, every step of which holds
  (docs/repaired-theorems.md).
"""

from __future__ import annotations

from mamltheory.parsing import choice

PAPER, REPAIRED = "paper", "repaired"
THEORIES = (PAPER, REPAIRED)
DEFAULT_THEORY = REPAIRED  # the theory whose every proof step is certified


def check_theory(theory: str, flag: str = "--theory") -> str:
    """`theory` if it is one of THEORIES, else InputError naming `flag`."""
    return choice(flag, theory, THEORIES)
