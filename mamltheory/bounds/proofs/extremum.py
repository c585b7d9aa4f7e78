"""Exact sup / inf of a step's expression over the box of dimensionless ranges it assumes.

Used by the proof chains (bounds/proofs/chain.py) and by the symbolic audit (verify/audit.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sympy as sp


class NotEvaluable(ValueError):
    """An expression outside the forms whose exact sup/inf this module can certify; the step then fails."""

a = sp.symbols("a", positive=True)  # a = αL, the only free quantity in most constants of Appendices C-H

Interval = tuple[sp.Expr, sp.Expr]


def _end(expr: sp.Expr, x: sp.Symbol, at: sp.Expr, side: str) -> sp.Expr:
    """The one-sided limit of `expr` at an end of the range (plain substitution where that is finite)."""
    if at in (sp.oo, -sp.oo):
        return sp.limit(expr, x, at)
    value = sp.simplify(expr.subs(x, at))
    return value if value.is_finite else sp.limit(expr, x, at, side)


def _pick(values: list[sp.Expr], sense: str) -> sp.Expr:
    pick = max if sense == "upper" else min
    return pick(values, key=lambda v: sp.N(v, 50))


def _one_variable(expr: sp.Expr, x: sp.Symbol, lo: sp.Expr, hi: sp.Expr, sense: str) -> sp.Expr:
    """sup / inf over x ∈ (lo, hi) (closure values by limits; hi may be oo) of c·P(x)/Q(x) or c·√(P/Q)."""
    c, r = expr.as_independent(x, as_Add=False)
    if not sp.together(r).is_rational_function(x):
        # |u|^(2k) = u^(2k) for the real u of a step's expression: a root of a square comes back squared.
        squared = sp.expand(r**2).replace(
            lambda e: e.is_Pow and isinstance(e.base, sp.Abs) and e.exp.is_even, lambda e: e.base.args[0] ** e.exp)
        if not sp.together(squared).is_rational_function(x):
            raise NotEvaluable(f"{expr}: neither rational in {x} nor the root of a rational function")
        if sp.N(c, 30) < 0:
            sense = "lower" if sense == "upper" else "upper"
        return c * sp.sqrt(_one_variable(squared, x, lo, hi, sense))
    if sp.N(c, 30) < 0:  # a negative factor swaps sup and inf
        return c * _one_variable(r, x, lo, hi, "lower" if sense == "upper" else "upper")
    P, Q = sp.fraction(sp.together(r))
    P, Q = sp.Poly(P, x), sp.Poly(Q, x)
    if any(lo < root < hi for root in Q.real_roots()):
        raise ValueError(f"{expr} has a pole in ({lo}, {hi})")
    crit = [z for z in (P.diff(x) * Q - P * Q.diff(x)).real_roots() if lo < z < hi] if P.degree() > 0 else []
    values = [_end(r, x, lo, "+"), _end(r, x, hi, "-"), *(r.subs(x, z) for z in crit)]
    return c * _pick([sp.simplify(v) for v in values], sense)


def extremum_over(expr: sp.Expr, ranges: Mapping[sp.Symbol, Interval], sense: str = "upper") -> sp.Expr:
    """Exact sup ('upper') or inf ('lower') of `expr` over the box `ranges` (symbol -> (lo, hi)).

    One variable: limits at both ends and the stationary points inside (a pole inside is an error).
    Several: a variable in which `expr` is affine is fixed at whichever end is worse (exact, as the sup of
    a function affine in x lies on a face); `Max` (for sup) and `Min` (for inf) are taken piece by piece.
    Anything else raises NotEvaluable rather than return a number that might be wrong. Memoised: the chains
    of one theorem at different free choices (bounds/choose.py) share most of their steps.
    """
    return _extremum_over(sp.sympify(expr), tuple(ranges.items()), sense)


@lru_cache(maxsize=8192)
def _extremum_over(expr: sp.Expr, box: tuple[tuple[sp.Symbol, Interval], ...], sense: str) -> sp.Expr:
    ranges = dict(box)
    free = [s for s in ranges if s in expr.free_symbols]
    if not free:
        return sp.simplify(expr)
    if isinstance(expr, sp.Max if sense == "upper" else sp.Min):
        return _pick([extremum_over(arg, ranges, sense) for arg in expr.args], sense)
    for x in free:
        if len(free) > 1 and sp.diff(expr, x).free_symbols.isdisjoint({x}):
            lo, hi = ranges[x]
            rest = {s: r for s, r in ranges.items() if s != x}
            ends = [_end(expr, x, lo, "+"), _end(expr, x, hi, "-")]
            return _pick([extremum_over(e, rest, sense) for e in ends], sense)
    if len(free) == 1:
        lo, hi = ranges[free[0]]
        return _one_variable(expr, free[0], sp.sympify(lo), sp.sympify(hi), sense)
    raise NotEvaluable(f"{expr}: not affine in all but one of {free}")


def extremum(expr: sp.Expr, a_max: sp.Expr, sense: str = "upper") -> sp.Expr:
    """Exact sup ('upper') or inf ('lower') over a = αL ∈ (0, a_max] of c·P(a)/Q(a), c free of a."""
    return extremum_over(expr, {a: (sp.Integer(0), sp.sympify(a_max))}, sense)
