"""The sharp steps Theorems F.1, G.1 and H.1 share (theory "sharp", docs/sharp-theorems.md), and the finish of a
sharp chain: exact values carried, the final constants also given unrounded.

- (106♯)/(107♯): Jensen on φ(x) = x²/(A + Bx) before the split into two branches, κ = 1 instead of the
  envelope's 3/4 ((107′)). A + Bx is the bound of (104)-(105) on L_k at ‖∇F(w_k)‖ = x:
  A = 4L + 2(1 + C2)ρασ, B = 2C1ρα. φ is convex, so E φ(X) >= φ(E X) (κ = 1); then
  φ(y) >= ½·min{y²/A, y/B} (A + By <= 2 max{A, By}) gives (106)'s constant unchanged.
- a check that the decrease of (107) is positive (a choice of a_max, c, w, B_min may make it negative).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from mamltheory.bounds.proofs.chain import Chain, Step, ref

z = sp.symbols("z", positive=True)   # z = Bx/A: ‖∇F‖ in the units where A and B‖∇F‖ meet
_PHI = z**2 / (1 + z)                 # φ in units A/B²

CONVEX = "(106♯) φ″ >= 0"
POSITIVE = "(107♯) decrease > 0"
# Check steps: an exact chain keeps their claimed bound (0) instead of carrying the extremum.
CHECKS = (CONVEX, POSITIVE)


def jensen() -> list[tuple[str, list[Step]]]:
    """Replacements of (106) and (107) κ: φ convex, Jensen with κ = 1, then the split (106♯)."""
    return [(key, list(steps)) for key, steps in _jensen()]


@lru_cache(maxsize=1)
def _jensen() -> tuple[tuple[str, tuple[Step, ...]], ...]:
    """`jensen`, built once (its steps do not depend on the free choices; sympy's Max is slow to build)."""
    inf, one = sp.oo, sp.Integer(1)
    split = [
        Step("(106♯)", "A·φ″(x) = d²/dz²[z²/(1 + z)] must be >= 0 (φ convex), z = Bx/A", 0,
             sp.factor(sp.diff(_PHI, z, 2)),
             sense="lower", ranges={z: (sp.Integer(0), inf)}, term="φ″ >= 0",
             justification="φ(x) = x²/(A + Bx) = (A/B²)·z²/(1 + z) and z²/(1 + z) = z − 1 + 1/(1 + z), so "
                           "A·φ″(x) = 2/(1 + z)³ > 0 for x >= 0."),
        Step("(106♯)", "φ(x)/min{x²/A, x/B} on z ∈ (0, 1]", None, _PHI / z**2, sense="lower",
             ranges={z: (sp.Integer(0), one)}, term="ratio z <= 1",
             justification="There min{x²/A, x/B} = x²/A = (A/B²)z²: the ratio is 1/(1 + z), least (1/2) at z = 1."),
        Step("(106♯)", "φ(x)/min{x²/A, x/B} on z ∈ [1, ∞)", None, _PHI / z, sense="lower",
             ranges={z: (one, inf)}, term="ratio z >= 1",
             justification="There the minimum is x/B = (A/B²)z: the ratio is z/(1 + z), least (1/2) at z = 1."),
        Step("(106♯)", "c with φ(y) >= (1/c)·min{y²/(L + ρασ), y/(ρα)}", None,
             sp.Max(sp.Max(4, 2 * (ref("(104)") + ref("(105) C2"))), 2 * ref("(105) C1"))
             / sp.Min(ref("(106♯) ratio z <= 1"), ref("(106♯) ratio z >= 1")),
             uses=("(104)", "(105) C1", "(105) C2", "(106♯) ratio z <= 1", "(106♯) ratio z >= 1"), repairs="(106)",
             justification="φ(y) >= r·min{y²/A, y/B} with r the least of the two ratios (A + By <= 2 max{A, By}); "
                           "A = 4L + 2((104) + C2)ρασ <= c'(L + ρασ) with c' = max{4, 2((104) + C2)} and B = 2C1ρα, "
                           "so c = max{c', 2C1}/r: (106)'s constant, now applied after Jensen."),
    ]
    kappa = [
        Step("(107♯)", "κ with E[φ(X)] >= κ·φ(E X) (Jensen; X = ‖∇F(w_k)‖)", None, sp.Integer(1), sense="lower",
             uses=(CONVEX,), term="κ", repairs="(107) κ",
             justification="Per realisation ‖∇F_k‖²/L_k >= φ(‖∇F_k‖) as L_k <= A + B‖∇F_k‖ ((104)-(105)); φ is convex "
                           "((106♯) φ″ >= 0), so E φ(X) >= φ(E X): κ = 1, attained by a deterministic X. The split into "
                           "two branches (106♯) comes after the expectation, where it costs nothing more."),
    ]
    return (("(106)", tuple(split)), ("(107) κ", tuple(kappa)))


def positive(decrease_key: str = "(107) decrease") -> Step:
    """The check that the decrease carried into K and M is positive (else the chain fails)."""
    return Step("(107♯)", "the decrease of (107) must be positive", 0, ref(decrease_key), sense="lower",
                uses=(decrease_key,), term="decrease > 0",
                justification="K and M divide by the decrease; a non-positive one (a_max, c, w or B_min too large) "
                              "proves nothing.")


def insert_after(chain: Chain, key: str, *steps: Step) -> Chain:
    """`steps` (new steps that replace none) right after step `key`."""
    chain.step(key)
    out: list[Step] = []
    for s in chain.steps:
        out += [s, *steps] if s.key == key else [s]
    return Chain(chain.theorem, chain.theory, tuple(out), chain.outputs)


def without(chain: Chain, *keys: str) -> Chain:
    """The chain without steps `keys` (steps the sharp route no longer uses)."""
    for k in keys:
        chain.step(k)
    return Chain(chain.theorem, chain.theory, tuple(s for s in chain.steps if s.key not in keys), chain.outputs)


def exact_outputs(chain: Chain, names: dict[str, str]) -> Chain:
    """Copies of the output steps `names` (output name -> step key), placed right after each, that carry the
    exact value before rounding: outputs "K_exact", "M_exact", ... (the rounded ones keep their names)."""
    outputs = dict(chain.outputs)
    for name, key in names.items():
        s = chain.step(key)
        copy = Step(s.label, f"{s.quantity} (exact, before rounding)", None, s.derived, sense=s.sense,
                    ranges=s.ranges, uses=s.uses, justification="The exact value of the step above.",
                    term=f"{s.term} exact".strip())
        chain = insert_after(chain, key, copy)
        outputs[f"{name}_exact"] = copy.key
    return Chain(chain.theorem, chain.theory, chain.steps, outputs)
