"""An encoded result: sympy expression, preconditions, provenance, LaTeX, cached evaluation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, Callable, Mapping

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from mamltheory.bounds.symbols import LATEX_NAMES, NAME_OF
from mamltheory.errors import InputError, PreconditionError
from mamltheory.parsing import number, refusal

Number = int | float | Fraction


class _ExactPrinter(PythonCodePrinter):
    """Prints rationals as `Fraction`, so a compiled expression is exact on Fraction inputs."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(expr.p)

    _print_Half = _print_Rational


_NAMESPACE = {"Fraction": Fraction, "math": math, "max": max, "min": min}


@lru_cache(maxsize=1024)
def compile_expr(expr: sp.Basic, symbols: tuple[sp.Symbol, ...]) -> Callable[..., Any]:
    """Lambdify once: plain Python arithmetic, exact on Fractions, ordinary on floats (memoised: the theorems
    a sharp plan's search builds share their preconditions)."""
    return sp.lambdify(symbols, expr, modules=[_NAMESPACE], printer=_ExactPrinter)


def rational(x: Number) -> Fraction:
    """The rational a user meant: 0.1 -> 1/10 (shortest decimal repr), so integer thresholds round exactly."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(repr(float(x)))


def _check_domain(sym: sp.Symbol, name: str, value: Number) -> None:
    """Each parameter's own rule: finite, positive or nonnegative as its symbol says, integer batches."""
    number(name, value, "> 0" if sym.is_positive else ">= 0" if sym.is_nonnegative else "", text=False)
    if sym.is_integer and value != int(value):
        raise refusal(name, f"must be an integer, got {value}")


def _sorted_symbols(*exprs: sp.Basic) -> tuple[sp.Symbol, ...]:
    found: set[sp.Symbol] = set()
    for e in exprs:
        found |= e.free_symbols
    return tuple(sorted(found, key=lambda s: NAME_OF[s]))


def render(expr: sp.Basic) -> str:
    """LaTeX of an expression in the paper's notation."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)


@dataclass(frozen=True)
class Condition:
    """A precondition `relation` (sympy relational) with the place in the paper that imposes it."""

    relation: sp.Basic
    source: str

    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return _sorted_symbols(self.relation)

    @cached_property
    def _fn(self) -> Callable[..., bool]:
        return compile_expr(self.relation, self.symbols)

    def holds(self, values: Mapping[str, Number]) -> bool:
        """Whether the relation holds, decided in exact rational arithmetic."""
        return bool(self._fn(*(rational(values[NAME_OF[s]]) for s in self.symbols)))

    @property
    def text(self) -> str:
        return sp.sstr(self.relation).replace("ceiling", "ceil")

    @property
    def latex(self) -> str:
        return render(self.relation)


@dataclass(frozen=True)
class Bound:
    """One inequality of the paper: `quantity` <= `expr` (kind 'upper') or >= `expr` (kind 'lower')."""

    name: str
    source: str
    quantity: str
    expr: sp.Expr
    preconditions: tuple[Condition, ...] = ()
    kind: str = "upper"
    note: str = ""
    extra_symbols: tuple[sp.Symbol, ...] = field(default=())

    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """Every symbol a caller must supply: the expression's and the preconditions'."""
        return _sorted_symbols(self.expr, *(c.relation for c in self.preconditions), *self.extra_symbols)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(NAME_OF[s] for s in self.symbols)

    @cached_property
    def _expr_symbols(self) -> tuple[sp.Symbol, ...]:
        return _sorted_symbols(self.expr)

    @cached_property
    def _fn(self) -> Callable[..., Any]:
        return compile_expr(self.expr, self._expr_symbols)

    @cached_property
    def _np_fn(self) -> Callable[..., Any]:
        return sp.lambdify(self._expr_symbols, self.expr, modules="numpy")

    @property
    def latex(self) -> str:
        return render(self.expr)

    def _values(self, values: Mapping[str, Number]) -> dict[str, Number]:
        missing = [n for n in self.parameters if n not in values]
        if missing:
            raise InputError(f"{self.name}: missing value for {', '.join(missing)}")
        for s in self.symbols:
            _check_domain(s, NAME_OF[s], values[NAME_OF[s]])
        return {n: values[n] for n in self.parameters}

    @cached_property
    def _conditions_symbols(self) -> tuple[sp.Symbol, ...]:
        return _sorted_symbols(*(c.relation for c in self.preconditions))

    @cached_property
    def _conditions_fn(self) -> Callable[..., tuple[bool, ...]]:
        # One compiled function for all preconditions: lambdify is the slow part of a cold `plan`.
        return compile_expr(sp.Tuple(*(c.relation for c in self.preconditions)), self._conditions_symbols)

    def check(self, **values: Number) -> list[tuple[Condition, bool]]:
        """Each precondition and whether it holds at `values` (exact arithmetic)."""
        self._values(values)
        if not self.preconditions:
            return []
        held = self._conditions_fn(*(rational(values[NAME_OF[s]]) for s in self._conditions_symbols))
        return [(c, bool(h)) for c, h in zip(self.preconditions, held)]

    def require(self, **values: Number) -> None:
        """Raise PreconditionError naming the first broken precondition and its source."""
        for cond, ok in self.check(**values):
            if not ok:
                raise PreconditionError(f"{self.name}: precondition {cond.text} fails ({cond.source})")

    def exact(self, **values: Number) -> Any:
        """The bound in exact rational arithmetic where it is rational (sqrt falls back to float)."""
        self.require(**values)
        result = self._fn(*(rational(values[NAME_OF[s]]) for s in self._expr_symbols))
        return result

    def __call__(self, **values: Number) -> float:
        """The bound as a float, after checking every precondition."""
        self.require(**values)
        try:
            return float(self._fn(*(float(values[NAME_OF[s]]) for s in self._expr_symbols)))
        except ZeroDivisionError:
            raise PreconditionError(f"{self.name}: the expression {self.source} divides by zero at these values")

    def array(self, **values: Any) -> Any:
        """Vectorised numpy evaluation over broadcastable arrays; no precondition checks (caller's duty)."""
        return self._np_fn(*(values[NAME_OF[s]] for s in self._expr_symbols))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description: name, source, quantity, formula, preconditions."""
        return {
            "name": self.name,
            "source": self.source,
            "quantity": self.quantity,
            "kind": self.kind,
            "expression": sp.sstr(self.expr),
            "latex": self.latex,
            "preconditions": [{"condition": c.text, "source": c.source} for c in self.preconditions],
            "note": self.note,
        }
