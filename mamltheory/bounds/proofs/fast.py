"""A fast float evaluation of a sharp chain at free choices, for an optimiser over `Choices`.

`constants_float(label, choices)` walks the same steps as `sharp(label, choices).result`, but with the choices
as symbols compiled once per theorem (numpy), each step's sup / inf taken on a grid over its ranges, and
floats carried. It is a surrogate (a grid sup can fall below the exact one where a maximum lies inside a
range; the sharp chains' coefficients are monotone, so it does not at present): the exact chain certifies the
choice an optimiser picks. Evaluating it takes milliseconds where the exact chain takes 0.1-1 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from mamltheory.bounds.proofs import f1, g1, h1
from mamltheory.bounds.proofs.chain import _is_ref, _key_of, ref
from mamltheory.bounds.proofs.choices import Choices

_GRID = 65   # points per range variable (ends included)
# The choices as symbols: a_max, c, w, b_max = 1/B_min.
A_MAX, C, W, B_MAX = sp.symbols("a_max c w b_max", positive=True)
_CHOICE_SYMBOLS = (A_MAX, C, W, B_MAX)


@dataclass(frozen=True)
class _SymbolicChoices:
    """Duck-typed `Choices` with symbols, for building a chain template once."""

    a_max: sp.Symbol = A_MAX
    step_divisor: sp.Symbol = C
    w: sp.Symbol = W
    b_max: sp.Symbol = B_MAX
    B_min: str = "B_min"


@dataclass(frozen=True)
class _Compiled:
    key: str
    sense: str
    ranges: tuple[tuple[sp.Symbol, Any, Any], ...]   # symbol, lo, hi (lo, hi compiled functions of the choices)
    refs: tuple[str, ...]
    derived: Any                                     # f(*range values, *ref values, *choices)
    claimed: Any                                     # None, or the same signature
    repairs: str | None


def _compile(expr: sp.Expr, ranges: tuple[sp.Symbol, ...], refs: tuple[str, ...]) -> Any:
    args = (*ranges, *(ref(k) for k in refs), *_CHOICE_SYMBOLS)
    return sp.lambdify(args, expr, modules="numpy")


@lru_cache(maxsize=None)
def _template(label: str) -> tuple[dict[str, str], tuple[_Compiled, ...]]:
    builder = {"F.1": f1.sharp, "G.1": g1.sharp, "H.1": h1.sharp}[label]
    chain = builder(_SymbolicChoices())  # type: ignore[arg-type]
    steps = []
    for s in chain.steps:
        exprs = [s.derived] + ([] if s.claimed is None else [s.claimed])
        refs = tuple(sorted({_key_of(x) for e in exprs for x in e.free_symbols if _is_ref(x)}))
        rs = tuple(s.ranges)
        ends = tuple((x, sp.lambdify(_CHOICE_SYMBOLS, s.ranges[x][0]), sp.lambdify(_CHOICE_SYMBOLS, s.ranges[x][1]))
                     for x in rs)
        steps.append(_Compiled(s.key, s.sense, ends, refs, _compile(s.derived, rs, refs),
                               None if s.claimed is None else _compile(s.claimed, rs, refs), s.repairs))
    return dict(chain.outputs), tuple(steps)


def _grid(lo: float, hi: float) -> np.ndarray:
    if np.isinf(hi):
        return lo + np.geomspace(1e-9, 1e9, _GRID)
    return np.linspace(lo, hi, _GRID)


def _extremum(f: Any, step: _Compiled, carried: dict[str, float], choices: tuple[float, ...]) -> float:
    los = [float(lo(*choices)) for _, lo, _ in step.ranges]
    his = [float(hi(*choices)) for _, _, hi in step.ranges]
    grids = np.meshgrid(*(_grid(lo, hi) for lo, hi in zip(los, his)), indexing="ij") if step.ranges else []
    with np.errstate(all="ignore"):
        values = np.asarray(f(*grids, *(carried[k] for k in step.refs), *choices), dtype=float)
    return float(np.nanmax(values) if step.sense == "upper" else np.nanmin(values))


def constants_float(label: str, choices: Choices) -> dict[str, float]:
    """The final constants of the sharp chain of `label` at `choices`, in floats (see the module docstring)."""
    outputs, steps = _template(label)
    ch = tuple(float(Fraction(x)) for x in (choices.alpha_L_max, choices.step_divisor, choices.young,
                                             Fraction(1, choices.B_min)))
    carried: dict[str, float] = {}
    for s in steps:
        value = _extremum(s.derived if s.claimed is None else s.claimed, s, carried, ch)
        carried[s.key] = value
        if s.repairs:
            carried[s.repairs] = value
    return {name: carried[key] for name, key in outputs.items()}
