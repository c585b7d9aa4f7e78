"""A proof as data: a chain of steps, each one inequality of the paper, evaluated exactly.

A `Step` states one inequality in dimensionless quantities (a = αL, b = 1/B, ...): the number the paper
writes (`claimed`), the expression the step's own argument gives (`derived`, in which `ref(key)` stands
for the value an earlier step carries forward), the direction (`sense`) and the ranges it assumes.
`Chain.evaluate()` walks the steps in order, substitutes the carried values, takes each step's exact
sup / inf over its ranges, gives its verdict and margin, and reads the theorem's final constants off the
steps named in `outputs`. A repair is `Chain.replace(key, step)`: its effect on the final constants
follows by re-evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from functools import cached_property, lru_cache

import sympy as sp

from mamltheory.bounds.proofs.extremum import Interval, extremum_over
from mamltheory.bounds.theory import THEORIES

# The audit's verdict words (the same strings as mamltheory.verify.finding).
HOLDS, SLACK, FAILS = "holds", "holds with slack", "fails"

_REF_PREFIX = "⟨"


@lru_cache(maxsize=4096)
def ref(key: str) -> sp.Symbol:
    """The symbol standing, in a later step, for the value step `key` carries forward."""
    return sp.Symbol(f"{_REF_PREFIX}{key}⟩")


def _is_ref(s: sp.Symbol) -> bool:
    return s.name.startswith(_REF_PREFIX)


def _key_of(s: sp.Symbol) -> str:
    return s.name[len(_REF_PREFIX):-1]


@dataclass(frozen=True, eq=False)
class Step:
    """One inequality of a proof.

    label: the equation number as printed, "(91)"; a repair is primed, "(107′)".
    term: which coefficient of that inequality, when it bounds several ("‖∇F‖²"); the step's key is
      label + term and is what `uses`, `ref` and `Chain.replace` name.
    quantity: what is bounded, in words.
    claimed: the number (or expression in the ranges' symbols) the paper writes and carries forward;
      None: carry the exact derived sup (inf) forward.
    derived: what the step's own argument gives, in the ranges' symbols and `ref`s of earlier steps.
    sense: "upper" (claimed >= sup derived) or "lower" (claimed <= inf derived).
    """

    label: str
    quantity: str
    claimed: sp.Expr | None
    derived: sp.Expr
    sense: str = "upper"
    ranges: Mapping[sp.Symbol, Interval] = field(default_factory=dict)
    uses: tuple[str, ...] = ()
    justification: str = ""
    repairs: str | None = None
    term: str = ""

    def __post_init__(self) -> None:
        if self.sense not in ("upper", "lower"):
            raise ValueError(f"{self.label}: sense must be 'upper' or 'lower', got {self.sense!r}")
        object.__setattr__(self, "derived", sp.sympify(self.derived))
        if self.claimed is not None:
            object.__setattr__(self, "claimed", sp.sympify(self.claimed))
        missing = {_key_of(s) for s in self.derived.free_symbols if _is_ref(s)} - set(self.uses)
        if missing:
            raise ValueError(f"{self.key}: derived refers to {sorted(missing)} not listed in uses")

    @property
    def key(self) -> str:
        return f"{self.label} {self.term}" if self.term else self.label

    def with_claimed(self, claimed: sp.Expr | None) -> Step:
        return dc_replace(self, claimed=claimed)


@dataclass(frozen=True)
class StepResult:
    """A step evaluated: its derived expression after substitution, exact extremum, verdict, carried value."""

    step: Step
    derived: sp.Expr             # with earlier steps' carried values substituted
    worst: sp.Expr | None        # sup (upper) / inf (lower) of derived over the ranges; None if not computable
    verdict: str
    margin: sp.Expr | None       # inf of claimed − derived (upper) / derived − claimed (lower); None if undefined
    carried: sp.Expr | None      # what later steps see: claimed, or `worst` when claimed is None
    reason: str = ""             # why a step fails other than by its margin (units, pole)

    @property
    def key(self) -> str:
        return self.step.key

    def to_json(self) -> dict:
        s = self.step
        return {
            "label": s.label, "term": s.term, "key": s.key, "quantity": s.quantity, "sense": s.sense,
            "claimed": None if s.claimed is None else sp.sstr(s.claimed),
            "derived": sp.sstr(self.derived), "worst": None if self.worst is None else sp.sstr(self.worst),
            "worst_value": None if self.worst is None or not self.worst.is_number else float(self.worst),
            "verdict": self.verdict, "margin": None if self.margin is None else float(self.margin),
            "carried": None if self.carried is None else sp.sstr(self.carried),
            "ranges": {str(k): [sp.sstr(lo), sp.sstr(hi)] for k, (lo, hi) in s.ranges.items()},
            "uses": list(s.uses), "justification": s.justification, "repairs": s.repairs, "reason": self.reason,
        }


def _verdict(margin: sp.Expr) -> str:
    if margin == 0:
        return HOLDS
    return SLACK if sp.N(margin, 50) > 0 else FAILS


def evaluate_step(step: Step, carried: Mapping[str, sp.Expr]) -> StepResult:
    """Substitute earlier carried values, then judge the step over its ranges (all parameters free)."""
    subs = {ref(k): v for k, v in carried.items()}
    derived = step.derived.xreplace(subs)
    claimed = None if step.claimed is None else step.claimed.xreplace(subs)
    unranged = sorted(str(s) for s in derived.free_symbols | (claimed.free_symbols if claimed is not None else set())
                      if s not in step.ranges)
    if unranged:
        # A dimensional parameter left in a step has no sup over the theorem's range: it fails there.
        return StepResult(step, derived, None, FAILS, None, claimed,
                          f"not dimensionless: depends on {', '.join(unranged)}, free over the theorem's range")
    try:
        worst = extremum_over(derived, step.ranges, step.sense)
        if claimed is None:
            margin = sp.Integer(0)
        elif claimed.free_symbols.isdisjoint(step.ranges):
            margin = claimed - worst if step.sense == "upper" else worst - claimed
        else:
            gap = claimed - derived if step.sense == "upper" else derived - claimed
            margin = extremum_over(sp.simplify(gap), step.ranges, "lower")
    except ValueError as exc:  # extremum_over's NotEvaluable included: no exact extremum, no verdict of holds
        return StepResult(step, derived, None, FAILS, None, claimed, f"no exact extremum: {exc}")
    verdict = _verdict(sp.simplify(margin))
    return StepResult(step, derived, worst, verdict, sp.simplify(margin), worst if claimed is None else claimed)


@dataclass(frozen=True)
class ChainResult:
    """A chain evaluated: every step's result and the theorem's final constants."""

    chain: Chain
    steps: tuple[StepResult, ...]

    @cached_property
    def by_key(self) -> dict[str, StepResult]:
        return {r.key: r for r in self.steps}

    @cached_property
    def carried(self) -> dict[str, sp.Expr]:
        """Key -> value carried forward (a repair's value also under the key of the step it replaces)."""
        out: dict[str, sp.Expr] = {}
        for r in self.steps:
            if r.carried is not None:
                out[r.key] = r.carried
                if r.step.repairs:
                    out[r.step.repairs] = r.carried
        return out

    @property
    def constants(self) -> dict[str, sp.Expr]:
        """The final constants, each the value carried by the step `outputs` names."""
        return {name: self.carried[key] for name, key in self.chain.outputs.items()}

    @property
    def failing(self) -> tuple[StepResult, ...]:
        return tuple(r for r in self.steps if r.verdict == FAILS)

    @property
    def holds(self) -> bool:
        """Every step holds (exactly or with slack)."""
        return not self.failing

    def to_json(self) -> dict:
        return {
            "theorem": self.chain.theorem, "theory": self.chain.theory, "holds": self.holds,
            "steps": [r.to_json() for r in self.steps],
            "constants": {k: {"exact": sp.sstr(v), "value": float(v)} for k, v in self.constants.items()},
            "repairs": [s.key for s in self.chain.steps if s.repairs],
        }


@dataclass(frozen=True, eq=False)
class Chain:
    """A theorem's proof as ordered steps; `outputs` names the steps that give its final constants."""

    theorem: str                 # "F.1"
    theory: str                  # "paper" | "repaired"
    steps: tuple[Step, ...]
    outputs: Mapping[str, str]   # e.g. {"K": "(108)", "decrease": "(107)", "M": "(109)"}

    def __post_init__(self) -> None:
        if self.theory not in THEORIES:
            raise ValueError(f"theory must be one of {THEORIES}, got {self.theory!r}")
        seen: set[str] = set()
        for s in self.steps:
            if s.key in seen:
                raise ValueError(f"{self.theorem}: step {s.key} appears twice")
            unknown = [u for u in s.uses if u not in seen]
            if unknown:
                raise ValueError(f"{self.theorem}: step {s.key} uses {unknown}, not an earlier step")
            seen.add(s.key)
            if s.repairs:
                seen.add(s.repairs)  # later steps name the paper's step and see the repair's value
        bad = [k for k in self.outputs.values() if k not in seen]
        if bad:
            raise ValueError(f"{self.theorem}: outputs name unknown steps {bad}")

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(f"{self.theorem}: no step {key}")

    def replace(self, key: str, *steps: Step, theory: str = "repaired") -> Chain:
        """The chain with step `key` replaced by `steps`: the last one is the repair (its `repairs` must be
        `key`; later steps keep referring to `key` and see the repair's value), the others support it."""
        self.step(key)
        if not steps or steps[-1].repairs != key:
            raise ValueError(f"the last replacement step must have repairs={key!r}")
        out: list[Step] = []
        for s in self.steps:
            out += list(steps) if s.key == key else [s]
        return Chain(self.theorem, theory, tuple(out), self.outputs)

    def replace_all(self, repairs: list[tuple[str, list[Step]]], theory: str = "repaired") -> Chain:
        """The chain with each (key, steps) of `repairs` replaced in turn (see `replace`)."""
        chain = self
        for key, steps in repairs:
            chain = chain.replace(key, *steps, theory=theory)
        return chain

    def rounded_up(self, keys: tuple[str, ...]) -> Chain:
        """Steps `keys` claim ⌈derived⌉: a final constant rounded up to the integer a statement uses."""
        steps = tuple(s.with_claimed(sp.ceiling(s.derived)) if s.key in keys else s for s in self.steps)
        return Chain(self.theorem, self.theory, steps, self.outputs)

    def exact(self, theory: str = "repaired", keep: tuple[str, ...] = ()) -> Chain:
        """The chain carrying every step's exact derived value forward instead of the paper's rounding
        (steps in `keep` keep their claimed value, e.g. a final constant rounded up to an integer)."""
        steps = tuple(s if s.key in keep else s.with_claimed(None) for s in self.steps)
        return Chain(self.theorem, theory, steps, self.outputs)

    @cached_property
    def result(self) -> ChainResult:
        return self.evaluate()

    def evaluate(self) -> ChainResult:
        carried: dict[str, sp.Expr] = {}
        out = []
        for s in self.steps:
            r = evaluate_step(s, carried)
            out.append(r)
            if r.carried is not None:
                carried[s.key] = r.carried
                if s.repairs:
                    carried[s.repairs] = r.carried
        return ChainResult(self, tuple(out))
