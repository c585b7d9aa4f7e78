"""The record every check returns: observed value, bound, their ratio, verdict (PEPit-style pairing)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

HOLDS, CONTRADICTED, NOT_RUN = "holds", "contradicted", "could not run"
# Verdicts of issue 11: a check that could not have failed is VACUOUS (never support); a test that ran but
# cannot decide is INCONCLUSIVE; a check that crashed is ERROR. NOT_RUN is being replaced by these two.
VACUOUS, INCONCLUSIVE, ERROR = "vacuous", "inconclusive", "error"
VERDICTS = (HOLDS, VACUOUS, CONTRADICTED, INCONCLUSIVE, ERROR)


@dataclass
class CheckResult:
    """One claim of the paper held against evidence.

    `ratio` is oriented so that ratio > 1 is a violation whatever the claim's direction: observed/bound for
    an upper bound ("upper"), bound/observed for a lower bound ("lower"). `tight` says whether the paper
    presents the bound as attainable (then a small ratio is itself informative) or only as an upper bound.
    """

    name: str                 # e.g. "Lemma 4.9 on tanh-regression"
    source: str               # e.g. "Lemma 4.9, eq. (23)"
    kind: str                 # "lemma" | "theorem" | "scaling" | "counterexample"
    verdict: str              # HOLDS | CONTRADICTED | NOT_RUN
    observed: float | None = None
    bound: float | None = None
    ratio: float | None = None
    direction: str = "upper"  # "upper" | "lower"
    tight: bool = False
    evidence: str = ""        # how many points / replicates, where, the statistic used
    details: dict[str, Any] = field(default_factory=dict)
    power: float | None = None  # the smallest violation ratio this check would have detected (None: not sized)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("observed", "bound", "ratio"):
            if out[k] is not None and not math.isfinite(out[k]):
                out[k] = str(out[k])
        return out


def ratio_of(observed: float, bound: float, direction: str = "upper") -> float:
    """observed/bound for an upper bound, bound/observed for a lower one; > 1 means violated."""
    num, den = (observed, bound) if direction == "upper" else (bound, observed)
    if den == 0:
        return math.inf if num > 0 else 0.0
    return num / den


def judge(name: str, source: str, kind: str, observed: float, bound: float, direction: str = "upper",
          tol: float = 1e-9, **extra: Any) -> CheckResult:
    """A CheckResult whose verdict is 'contradicted' when the ratio exceeds 1 + tol (tol covers float noise)."""
    r = ratio_of(observed, bound, direction)
    verdict = CONTRADICTED if r > 1 + tol else HOLDS
    return CheckResult(name=name, source=source, kind=kind, verdict=verdict, observed=float(observed),
                       bound=float(bound), ratio=float(r), direction=direction, **extra)
