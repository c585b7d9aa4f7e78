"""The theories a result is stated under; in this package `theory` means one of these and nothing else.

- "paper": the statement as the paper gives it, resting on its proof as written (some steps fail).
- "repaired": the same statement shape with the constants of the repaired proof, every step of which holds
  (docs/repaired-theorems.md).
- "sharp": the repaired proof with the sharpest valid step wherever one is known and the proof's free choices
  (a_max, step divisor, Young weight, B_min) as parameters (docs/sharp-theorems.md; bounds/proofs/choices.py).
"""

from __future__ import annotations

from mamltheory.parsing import choice

PAPER, REPAIRED, SHARP = "paper", "repaired", "sharp"
THEORIES = (PAPER, REPAIRED, SHARP)
DEFAULT_THEORY = SHARP  # every proof step of its chains certified (`mamltheory audit --chain X --theory sharp`)


def check_theory(theory: str, flag: str = "--theory") -> str:
    """`theory` if it is one of THEORIES, else InputError naming `flag`."""
    return choice(flag, theory, THEORIES)
