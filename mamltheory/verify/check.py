"""The record every check returns: observed value, bound, their ratio, verdict and power (PEPit-style pairing).

Verdicts:
* HOLDS: the claim survived a test that could have failed; `power` says how large a violation it would
  have caught (the smallest violation ratio detected).
* VACUOUS: the bound cannot be reached by anything the run could do (a theorem bound at or above
  ‖∇F(w_0)‖, a constant that makes the statement trivial such as ρ = 0, quantities at rounding level);
  never counted as support.
* CONTRADICTED: the claim is violated at the check's confidence level.
* INCONCLUSIVE: the check ran but cannot decide (its power is too weak, or the run did not reach T).
* ERROR: the check crashed; its evidence is the exception line.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

HOLDS, VACUOUS, CONTRADICTED, INCONCLUSIVE, ERROR = "holds", "vacuous", "contradicted", "inconclusive", "error"
VERDICTS = (HOLDS, VACUOUS, CONTRADICTED, INCONCLUSIVE, ERROR)
# "could not run" is retired: it meant both a crash (ERROR) and an undecided test (INCONCLUSIVE).

# Time budget of each `verify` section, seconds on one idle core (quick, full): the sizes of its checks are chosen to
# fit it. A check whose work grows with the certified constants or with its sizes (Monte Carlo draws, a plan's T and
# batches) is refused up front when that work exceeds its limit in SIZE_LIMITS: inconclusive, with the sizes, never
# run past the budget. The other sections' work is fixed by their own constants (tightness.HORIZON, falsify.BUDGET,
# the exact theorem runs' iteration caps, the conformance families), each inside these budgets.
# (Quick, measured alone on a shared 2-core machine under a load of 4-5: audit 3 s, encoding 3, plans 20, conformance
# 7, lemma 21, theorem 8, scaling 29, falsify 12, tightness 19.)
SECTION_BUDGETS: dict[str, tuple[float, float]] = {
    "audit": (10, 10), "encoding": (10, 10), "plans": (40, 40), "conformance": (20, 30), "lemma": (40, 120),
    "theorem": (30, 120), "scaling": (60, 180), "falsify": (30, 90), "tightness": (40, 120),
}
# Size limits that enforce the budgets, (quick, full); the unit is in the name.
SIZE_LIMITS: dict[str, tuple[float, float]] = {
    # Lemma 4.11: gradient samples B'·D_β·draws per point; (27) grows B', D_β with (ρασ/L)², (ρασ̃/L)²
    "lemma.beta_samples": (3e8, 3e8),
    # Lemmas 4.12, Theorem 4.13: per-sample gradients (·d) over the points × α × batch sizes × draws × n × N
    "lemma.pool_flops": (1e9, 2e10),
    # K-shot theorem runs: iterations × replicates × samples per iteration (the plan's B grows with σ²)
    "theorem.kshot_samples": (2e7, 2e8),
    # planned runs (verify/planned_runs.py): the plan's T, and T × replicates × samples per iteration
    "theorem.planned_iterations": (10_000, 50_000),
    "theorem.planned_samples": (5e7, 5e8),
}


def size_limit(name: str, quick: bool = True) -> float:
    """The limit `name` of SIZE_LIMITS in quick or full mode."""
    return SIZE_LIMITS[name][0 if quick else 1]


EXACT_TOL = 1e-9        # relative tolerance of deterministic checks: float noise, not evidence
POWER_TARGET = 1.1      # a lemma check that could only catch larger violations is inconclusive
ROUNDING = 1e3 * sys.float_info.epsilon  # |x| <= ROUNDING · scale is rounding level (float64's eps)


@dataclass
class CheckResult:
    """One claim of the paper held against evidence.

    `ratio` is oriented so that ratio > 1 is a violation whatever the claim's direction: observed/bound for
    an upper bound ("upper"), bound/observed for a lower bound ("lower"); see `ratio_of`. `tight` says
    whether the paper presents the bound as attainable. `power` is the smallest violation ratio the check
    would have detected with its sample size and test (1 + tolerance for an exact check). `id` is stable and
    unique within a record (it carries no measured number); `result` is the label of the result checked, as
    `mamltheory.bounds.theorems.by_label` knows it ("H.1", "Lemma 4.11"), so `Result.checks(record)` finds it.
    """

    id: str = field(kw_only=True)       # e.g. "theorem.exact.H.1.repaired.tanh-regression"
    result: str = field(kw_only=True)   # e.g. "H.1", "Lemma 4.11", "Section 3", "Assumptions"
    name: str                 # e.g. "Lemma 4.9 on tanh-regression"
    source: str               # e.g. "Lemma 4.9, eq. (23)"
    kind: str                 # "lemma" | "theorem" | "scaling" | "counterexample" | "audit ..."
    verdict: str              # one of VERDICTS
    observed: float | None = None
    bound: float | None = None
    ratio: float | None = None
    direction: str = "upper"  # "upper" | "lower"
    tight: bool = False
    evidence: str = ""        # how many points / replicates, where, the statistic used, the test and its power
    details: dict[str, Any] = field(default_factory=dict)
    power: float | None = None  # the smallest violation ratio this check would have detected (None: not sized)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("observed", "bound", "ratio", "power"):
            if out[k] is not None and not math.isfinite(out[k]):
                out[k] = str(out[k])
        return out


def slug(text: str) -> str:
    """An id component from a name or step key: "Lemma 4.11 (first moment)" -> "Lemma-4.11-first-moment"."""
    return re.sub(r"[^\w.′″]+", "-", text).strip("-")


def ratio_of(observed: Any, bound: Any, direction: str = "upper") -> Any:
    """observed/bound for an upper bound, bound/observed for a lower one; > 1 means violated.

    The one ratio of every check. Works elementwise on arrays; a zero denominator gives +inf when the
    numerator is positive, else 0.
    """
    num, den = (observed, bound) if direction == "upper" else (bound, observed)
    num, den = np.asarray(num, float), np.asarray(den, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, 0.0))
    return float(r) if r.ndim == 0 else r


def at_rounding_level(observed: Any, bound: Any, scale: float) -> bool:
    """Both quantities below ROUNDING·scale everywhere: a comparison of rounding errors, not of the claim."""
    return bool(np.all(np.abs(observed) <= ROUNDING * scale) and np.all(np.abs(bound) <= ROUNDING * scale))


def make_vacuous(result: CheckResult, reason: str) -> CheckResult:
    """Mark `result` vacuous, the reason first in its evidence (the numbers are kept for the record)."""
    result.verdict = VACUOUS
    result.evidence = f"vacuous: {reason}; " + result.evidence
    result.details["vacuous_reason"] = reason
    return result


def judge(name: str, source: str, kind: str, observed: float, bound: float, direction: str = "upper",
          tol: float = EXACT_TOL, **extra: Any) -> CheckResult:
    """An exact comparison: 'contradicted' when the ratio exceeds 1 + tol (float noise), power 1 + tol."""
    r = ratio_of(observed, bound, direction)
    verdict = CONTRADICTED if r > 1 + tol else HOLDS
    extra.setdefault("power", 1 + tol)
    return CheckResult(name=name, source=source, kind=kind, verdict=verdict, observed=float(observed),
                       bound=float(bound), ratio=float(r), direction=direction, **extra)


def summary_counts(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Each verdict counted apart, with the weakest power among the checks that hold."""
    counts: dict[str, Any] = {v: sum(c["verdict"] == v for c in checks) for v in VERDICTS}
    powers = [c.get("power") for c in checks if c["verdict"] == HOLDS]
    sized = [float(p) for p in powers if isinstance(p, (int, float))]
    counts["checks"] = len(checks)
    counts["holds_max_power"] = max(sized) if sized else None
    counts["holds_unsized"] = len(powers) - len(sized)
    return counts


def summary_line(counts: dict[str, Any]) -> str:
    """'holds 40 (power <= 1.1), vacuous 30, contradicted 12, inconclusive 3, error 0'."""
    p = counts.get("holds_max_power")
    unsized = counts.get("holds_unsized", 0)
    note = []
    if p is not None:
        note.append(f"power <= {p:.3g}")
    if unsized:
        note.append(f"{unsized} unsized")
    head = f"holds {counts[HOLDS]}" + (f" ({', '.join(note)})" if note else "")
    return ", ".join([head] + [f"{v} {counts[v]}" for v in VERDICTS[1:]])
