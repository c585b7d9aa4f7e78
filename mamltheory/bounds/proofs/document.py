"""A proof chain as a Markdown table a theorist can check by hand (docs/repaired-theorems.md)."""

from __future__ import annotations

import sympy as sp

from mamltheory.bounds.proofs.chain import Chain


def _num(x: sp.Expr) -> str:
    text = sp.sstr(x)
    if x.is_Integer or not x.is_number:
        return text
    return f"{text} ≈ {float(x):.6g}" if len(text) <= 24 else f"≈ {float(x):.8g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("**", "^")


def chain_markdown(chain: Chain) -> str:
    """One row per step: label, the quantity bounded, the bound its argument gives (over which ranges), the
    justification, and the constant carried forward (exact, with its value)."""
    rows = ["| step | quantity | bound its argument gives | justification | constant |", "|---|---|---|---|---|"]
    for r in chain.result.steps:
        s = r.step
        rel = "≤" if s.sense == "upper" else "≥"
        over = "; ".join(f"{k} ∈ ({sp.sstr(lo)}, {sp.sstr(hi)}]" if hi != sp.oo else f"{k} ∈ [{sp.sstr(lo)}, ∞)"
                         for k, (lo, hi) in s.ranges.items())
        bound = f"{rel} {sp.sstr(s.derived)}" + (f" over {over}" if over else "")
        label = s.key + (f" (replaces {s.repairs})" if s.repairs else "")
        const = _num(r.carried) if r.carried is not None else f"fails: {r.reason}"
        if r.worst is not None and r.carried is not None and r.worst != r.carried:
            const += f"; exact {'sup' if s.sense == 'upper' else 'inf'} {_num(r.worst)}"
        if r.verdict != "holds":
            const += f" ({r.verdict}" + (f", margin {float(r.margin):.4g})" if r.margin is not None else ")")
        rows.append("| " + " | ".join(_cell(x) for x in (label, s.quantity, bound, s.justification, const)) + " |")
    consts = ", ".join(f"{k} = {_num(v)}" for k, v in chain.result.constants.items())
    return "\n".join(rows) + f"\n\nFinal constants: {consts}.\n"
