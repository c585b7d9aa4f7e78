"""Dimensional analysis of every encoded result: a loss unit E and a length unit X.

Under the rescaling g(u) = t·f(s·u) a loss scales like E = t and a length like X = 1/s, so w is a length,
f a loss, and every other symbol follows (table below). A bound is consistent when its expression has
the units of the quantity it bounds, a batch-size condition when its threshold is dimensionless, and
a sum, max or min only of terms with equal units. Anything else cannot be true at every scale.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from mamltheory.bounds import RESULTS, Bound
from mamltheory.bounds import symbols as S
from mamltheory.bounds.theorems import label_of
from mamltheory.bounds.theorems.h1 import RADIUS_142
from mamltheory.verify.check import slug
from mamltheory.verify.finding import FAILS, HOLDS, Finding

Units = tuple[Fraction, Fraction]  # (power of the loss unit E, power of the length unit X)


ONE, LOSS, LENGTH = (Fraction(0), Fraction(0)), (Fraction(1), Fraction(0)), (Fraction(0), Fraction(1))
GRAD, HESS, THIRD = (Fraction(1), Fraction(-1)), (Fraction(1), Fraction(-2)), (Fraction(1), Fraction(-3))
STEP = (Fraction(-1), Fraction(2))  # α, β: α∇f is a length

UNITS: dict[sp.Symbol, Units] = {
    S.L: HESS, S.rho: THIRD, S.sigma: GRAD, S.sigma_tilde: GRAD, S.sigma_H: HESS,
    S.alpha: STEP, S.eps: GRAD, S.initial_gap: LOSS,
    # δ of eq. (142) multiplies a unit vector: a length. In eq. (10) δ multiplies v (a gradient here),
    # so there it is a step: handled by HVP_DELTA below.
    S.delta: LENGTH,
    S.B: ONE, S.D_in: ONE, S.D_o: ONE, S.D_h: ONE, S.B_prime: ONE, S.D_beta: ONE, S.D_test: ONE, S.phi: ONE,
    S.dist: LENGTH, S.grad_w: GRAD, S.grad_u: GRAD, S.grad_F: GRAD, S.v_norm: GRAD, S.grad_adapted: GRAD,
}
HVP_DELTA = STEP

# What each encoded result bounds, in units.
QUANTITY_UNITS: dict[str, Units] = {
    "Lemma 4.9": GRAD, "Corollary 4.10": LOSS, "Corollary 4.10 (L(w))": HESS,
    "Lemma 4.11 (first moment)": STEP, "Lemma 4.11 (second moment)": (STEP[0] * 2, STEP[1] * 2),
    "Lemma 4.12 (bias)": GRAD, "Lemma 4.12 (second moment)": (GRAD[0] * 2, GRAD[1] * 2),
    "Theorem 4.13": GRAD, "Lemma A.2 (43)": GRAD, "Lemma A.2 (44)": (GRAD[0] * 2, GRAD[1] * 2),
    "HVP finite difference (10)": (HESS[0] + GRAD[0], HESS[1] + GRAD[1]),
}


class Inconsistent(Exception):
    """Terms of different units are added, compared or maxed."""


def units_of(expr: sp.Basic, table: dict[sp.Symbol, Units]) -> Units:
    """The units of `expr`; raises Inconsistent naming the first mismatched sum, max, min or relation."""
    if expr.is_Symbol:
        return table[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        return ONE
    if expr.is_Mul:
        e, x = Fraction(0), Fraction(0)
        for arg in expr.args:
            ue, ux = units_of(arg, table)
            e, x = e + ue, x + ux
        return (e, x)
    if expr.is_Pow:
        base = units_of(expr.base, table)
        if base == ONE:
            return ONE
        if not expr.exp.is_Rational:
            raise Inconsistent(f"non-numeric power of a dimensional quantity: {expr}")
        p = Fraction(int(expr.exp.p), int(expr.exp.q))
        return (base[0] * p, base[1] * p)
    if expr.is_Add or isinstance(expr, (sp.Max, sp.Min, sp.Tuple)) or expr.is_Relational:
        found = [units_of(arg, table) for arg in expr.args]
        # A bare number added to or compared with a dimensional term is only consistent if it is 0.
        dims = {u for u, arg in zip(found, expr.args) if not (arg.is_Number and arg == 0)}
        if len(dims) > 1:
            raise Inconsistent(f"{sp.sstr(expr)} mixes units {sorted(_fmt(u) for u in dims)}")
        return dims.pop() if dims else ONE
    if isinstance(expr, (sp.floor, sp.ceiling)):
        inner = units_of(expr.args[0], table)
        if inner != ONE:
            raise Inconsistent(f"{sp.sstr(expr)} rounds a quantity with units {_fmt(inner)} to an integer")
        return ONE
    raise Inconsistent(f"cannot assign units to {sp.sstr(expr)}")


def _fmt(u: Units) -> str:
    e, x = u
    if u == ONE:
        return "dimensionless"
    parts = [f"loss^{e}" if e != 1 else "loss"] if e else []
    parts += [f"length^{x}" if x != 1 else "length"] if x else []
    return "·".join(parts)


def check_bound(bound: Bound, expected: Units, table: dict[sp.Symbol, Units] = UNITS,
                result: str | None = None) -> Finding:
    """Scaling finding for one result: expression units vs the quantity's, and every precondition; `result`: the
    label of a bound built here (an encoded bound knows its own, `label_of`)."""
    problems = []
    try:
        got = units_of(bound.expr, table)
        if got != expected:
            problems.append(f"expression has units {_fmt(got)}, the quantity {_fmt(expected)}")
    except Inconsistent as err:
        problems.append(str(err))
    for cond in bound.preconditions:
        try:
            units_of(cond.relation, table)
        except Inconsistent as err:
            problems.append(f"precondition {cond.text} ({cond.source}): {err}")
    verdict = FAILS if problems else HOLDS
    evidence = "; ".join(problems) if problems else (
        f"scales like {_fmt(expected)}, as {bound.quantity} does; preconditions scale-invariant")
    return Finding(bound.source, "scaling", verdict, evidence, id=f"units.{slug(bound.name)}",
                   result=result or label_of(bound))


def scaling_findings() -> list[Finding]:
    """One finding per encoded result plus the proof steps of H.1 that the encoding does not carry."""
    out = []
    seen = set()
    for b in RESULTS:
        if b.name in seen:
            continue
        seen.add(b.name)
        if b.name in QUANTITY_UNITS:
            expected = QUANTITY_UNITS[b.name]
        elif b.name.endswith("accuracy"):
            expected = GRAD
        elif b.name.endswith("iterations"):
            expected = ONE
        else:
            continue
        table = {**UNITS, S.delta: HVP_DELTA} if b.name.startswith("HVP") else UNITS
        out.append(check_bound(b, expected, table))
    out.append(check_bound(Bound(name="HF-MAML δ", source="Theorem H.1, eq. (142): δ = 1/(6ρα)",
                                 quantity="δ (a length: δ_k^i‖v‖ = δ)", expr=RADIUS_142), LENGTH, result="H.1"))
    # (150): the variance term σ_H²/(D_h(δ_k^i)²) must have the units of ‖d_k^i‖² = ‖∇²f·v‖².
    dk = sp.Symbol("delta_k", positive=True)
    table = {**UNITS, dk: STEP}
    term = S.sigma_H**2 / (S.D_h * dk**2)
    got = units_of(term, table)
    want = ((HESS[0] + GRAD[0]) * 2, (HESS[1] + GRAD[1]) * 2)
    out.append(Finding(
        "Theorem H.1, eq. (150)", "scaling", FAILS if got != want else HOLDS,
        f"σ_H²/(D_h(δ_k^i)²) has units {_fmt(got)}; ‖d_k^i‖², the quantity it bounds, has {_fmt(want)} "
        f"(δ_k^i is a step, loss⁻¹·length², since δ_k^i·v is a length)", id="units.H.1.150", result="H.1"))
    return out


# --- units claimed in prose (plan notes, findings, defects) ---------------------------------------------------
# "αρσ_H has units loss·length⁻³" is checkable: the product is parsed in the paper's notation and its units
# computed from the table above. δ_k^i (eq. (142)) multiplies a gradient to give a length: a step.
DELTA_K = sp.Symbol("delta_k", positive=True)
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
_PAPER_SYMBOLS = (  # longest first: σ_H before σ
    ("δ_k^i", DELTA_K), ("σ_H", S.sigma_H), ("σ̃", S.sigma_tilde), ("σ", S.sigma), ("α", S.alpha), ("ρ", S.rho),
    ("ε", S.eps), ("Δ", S.initial_gap), ("δ", S.delta), ("D_h", S.D_h), ("D_in", S.D_in), ("D_o", S.D_o),
    ("D_β", S.D_beta), ("B'", S.B_prime), ("L", S.L), ("B", S.B),
)
_CLAIM = r"(\S+) (?:has units|rounds a quantity with units) ([^\s;,)]+)"


def _plain(digits: str) -> str:
    """'⁻³' -> '-3'."""
    return digits.translate(str.maketrans(SUPERSCRIPTS, "0123456789-"))


@lru_cache(maxsize=1)
def _token() -> re.Pattern[str]:
    """One token of a product in the paper's notation: a symbol (longest first), a number, a power, a bracket."""
    return re.compile("|".join([re.escape(t) for t, _ in _PAPER_SYMBOLS]
                               + [r"\d+(?:\.\d+)?", r"[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+", r"[()/·]", r"\s+"]))


def paper_expr(text: str) -> sp.Expr:
    """A product in the paper's notation ("36(αρσ_H)²", "σ_H²/(D_h(δ_k^i)²)") or sympy's ("ceiling(36*alpha**2)")."""
    if "*" in text or text.startswith(("ceiling(", "floor(")):  # sympy's printing, as in the scaling findings
        inner = sp.sympify(text, locals={n: s for n, s in S.BY_NAME.items()})
        return inner.args[0] if isinstance(inner, (sp.floor, sp.ceiling)) else inner
    src, pos, last_operand = [], 0, False
    symbols = dict(_PAPER_SYMBOLS)
    names = {s: f"_s{i}" for i, (_, s) in enumerate(_PAPER_SYMBOLS)}
    while pos < len(text):
        m = _token().match(text, pos)
        if m is None:
            raise ValueError(f"cannot read {text[pos:]!r} in {text!r}")
        tok, pos = m.group(), m.end()
        if tok.isspace():
            continue
        if tok[0] in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹":
            src.append(f"**({_plain(tok)})")
            continue
        starts = tok in symbols or tok[0].isdigit() or tok == "("
        if starts and last_operand:
            src.append("*")
        src.append(names[symbols[tok]] if tok in symbols else {"·": "*"}.get(tok, tok))
        last_operand = tok in symbols or tok[0].isdigit() or tok == ")"
    return sp.sympify("".join(src), locals={v: k for k, v in names.items()})


def parse_units(text: str) -> Units:
    """'loss^2·length^-6', 'loss·length⁻³', '1/length', 'dimensionless' -> (loss power, length power)."""
    text = text.strip().rstrip(".")
    if text == "dimensionless":
        return ONE
    invert = text.startswith("1/")
    e, x = Fraction(0), Fraction(0)
    for factor in text.removeprefix("1/").split("·"):
        m = re.fullmatch(r"(loss|length)(?:\^(-?\d+)|([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", factor)
        if m is None:
            raise ValueError(f"cannot read units {text!r}")
        p = Fraction(int(m.group(2) or _plain(m.group(3) or "1")))
        e, x = (e + p, x) if m.group(1) == "loss" else (e, x + p)
    return (-e, -x) if invert else (e, x)


def units_claims(text: str) -> list[tuple[str, str]]:
    """Every '<product> has units <units>' (or '... rounds a quantity with units ...') in `text`."""
    out = []
    for product, units in re.findall(_CLAIM, text):
        while product.startswith("(") and product.count("(") > product.count(")"):  # "(αρσ_H has units ...)"
            product = product[1:]
        out.append((product, units))
    return out


def claim_holds(product: str, units: str, table: dict[sp.Symbol, Units] | None = None) -> bool:
    """Whether `product` has the claimed `units` under `table` (default: UNITS with δ_k^i a step)."""
    table = {**UNITS, DELTA_K: STEP} if table is None else table
    return units_of(paper_expr(product), table) == parse_units(units)
