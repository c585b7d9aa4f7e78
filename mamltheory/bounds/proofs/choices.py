"""The free choices of a proof (theory "sharp"): what the paper fixes by hand and a plan may choose instead.

- alpha_L_max: a_max, the upper end of the range a = αL ∈ (0, a_max] every step is judged over (the paper:
  1/6 for F.1 and H.1, 1/10 for G.1). The theorem then allows α ∈ (0, a_max/L]; `Theorem.alpha_L_max` is
  its reciprocal 1/a_max (α <= 1/(alpha_L_max·L)).
- step_divisor: c in β_k = β̃(w_k)/c (the paper: 12, 18, 25).
- young: the weight w of the descent step's Young inequality ‖∇F‖‖r‖ <= w‖∇F‖² + ‖r‖²/(4w): F.1's (102)
  (the paper: w = 1/10), G.1's (130) and H.1's (157) (the paper: w = 1/4). One weight per chain; the weight φ
  of Lemma 4.12 (74) stays the paper's (1 in F.1 and G.1, 10 in H.1).
- B_min: the least task batch B (b = 1/B ∈ (0, 1/B_min]; the paper: 20).

docs/sharp-theorems.md derives the sharp steps these enter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

# 1 − 2a − a² > 0 (Lemma A.2's C1) needs a < √2 − 1.
_A_CEILING = sp.sqrt(2) - 1


@dataclass(frozen=True)
class Choices:
    """A proof's free choices (see the module docstring)."""

    alpha_L_max: Fraction
    step_divisor: int
    young: Fraction
    B_min: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha_L_max", Fraction(self.alpha_L_max))
        object.__setattr__(self, "young", Fraction(self.young))
        if not 0 < self.alpha_L_max < _A_CEILING:
            raise ValueError(f"alpha_L_max must lie in (0, √2 − 1) (Lemma A.2), got {self.alpha_L_max}")
        if int(self.step_divisor) != self.step_divisor or self.step_divisor < 1:
            raise ValueError(f"step_divisor must be a positive integer, got {self.step_divisor!r}")
        if not 0 < self.young < 1:
            raise ValueError(f"young must lie in (0, 1), got {self.young}")
        if int(self.B_min) != self.B_min or self.B_min < 1:
            raise ValueError(f"B_min must be a positive integer, got {self.B_min!r}")

    @property
    def a_max(self) -> sp.Rational:
        """alpha_L_max as a sympy rational (the chain's range end)."""
        return sp.Rational(self.alpha_L_max.numerator, self.alpha_L_max.denominator)

    @property
    def w(self) -> sp.Rational:
        """young as a sympy rational."""
        return sp.Rational(self.young.numerator, self.young.denominator)

    @property
    def b_max(self) -> sp.Rational:
        """1/B_min: the upper end of b = 1/B."""
        return sp.Rational(1, self.B_min)


# The paper's fixed choices, keyed by theorem label.
DEFAULT_CHOICES: dict[str, Choices] = {
    "F.1": Choices(Fraction(1, 6), 12, Fraction(1, 10), 20),
    "G.1": Choices(Fraction(1, 10), 18, Fraction(1, 4), 20),
    "H.1": Choices(Fraction(1, 6), 25, Fraction(1, 4), 20),
}
