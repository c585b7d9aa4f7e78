"""The convergence theorems the planner states, under the paper's theory or the repaired one.

`convergence_theorem(algorithm, theory)` gives a `ConvergenceTheorem` (bounds/theorems.py):

- "paper": Theorems F.1, G.1, H.1 as the paper states them, with the steps of their proofs that fail
  (`failing`): a plan resting on them is not guaranteed.
- "repaired": the same statements with the constants of the repaired proof chains
  (docs/repaired-theorems.md, `mamltheory audit --chain F.1 --theory repaired`), every step of which
  holds. Repaired H.1 also changes its conditions: D_h >= ⌈α²σ_H²⌉ (150′)-(152′), and the radius
  δ = ν/(ρα) with ν = min{1/6, ν_ε} of the δ condition (δ′), under which its accuracy is (131″):
  max{√(34(1 + ρασ/L)S₀), 34(ρα/L)S₀, ε}; its iteration count (132′) uses K = 17 with S₀, which only
  enlarges T (S >= S₀).

The chain constants are frozen in CHAIN_CONSTANTS because evaluating the chains (exact sup/inf of every
step) takes seconds and the planner must start in well under one; tests/bounds/test_statements.py
re-evaluates every chain and checks this table against it, so it cannot drift from the proofs.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from mamltheory.bounds.symbols import alpha, sigma_H
from mamltheory.bounds.theorems import THEOREMS, ConvergenceTheorem
from mamltheory.errors import InputError

THEORIES = ("repaired", "paper")
DEFAULT_THEORY = "repaired"

# (theorem, theory) -> the chain's final constants, its failing steps and its repaired steps, exactly as
# `get_chain(theorem, theory).result` gives them (checked by tests/bounds/test_statements.py).
CHAIN_CONSTANTS: dict[tuple[str, str], dict] = {
    ("F.1", "paper"): {"K": 61, "M": 1600, "failing": ("(44)", "(107) κ"), "repairs": ()},
    ("F.1", "repaired"): {"K": 20, "M": 860, "failing": (), "repairs": ("(44′)", "(98′)", "(107′) κ")},
    ("G.1", "paper"): {"K": 14, "M": 1600, "failing": ("(44)", "end of G.1 α²Lσ²", "(107) κ"), "repairs": ()},
    ("G.1", "repaired"): {"K": 9, "M": 1247, "failing": (),
                          "repairs": ("(44′)", "(122′) ‖∇F‖", "(122′) αLσ", "(128′)", "(107′) κ")},
    ("H.1", "paper"): {"K": 36, "M": 3200, "repairs": (),
                       "failing": ("(44)", "(144) E‖v‖", "(145) spread", "(150)", "(152)", "(107) κ")},
    ("H.1", "repaired"): {"K": 17, "M": 2579, "K_delta": 34, "delta_budget": 1190, "D_h_factor": 1,
                          "nu_max": sp.Rational(1, 6), "failing": (),
                          "repairs": ("(44′)", "(144′) E‖v‖", "(145′) spread", "(145′)", "(148′) σ̃²/D_in", "(150′)",
                                      "(152′) D_h", "(152′)", "(155′)", "(157′) Young σ̃²/D_in", "(107′) κ")},
}
CHAIN_OF = {"maml": "F.1", "fo-maml": "G.1", "hf-maml": "H.1"}


def check_theory(theory: str) -> str:
    """`theory` if it is one of THEORIES, else InputError naming --theory."""
    if theory not in THEORIES:
        raise InputError(f"--theory: must be one of {', '.join(THEORIES)}, got {theory!r}", field="theory")
    return theory


def _repaired_notes(chain: str, repairs: tuple[str, ...]) -> tuple[str, ...]:
    labels = ", ".join(dict.fromkeys(r.split(" ")[0] for r in repairs))
    return (f"repaired Theorem {chain}: every step of its proof holds; it replaces the paper's steps by {labels} "
            f"(docs/repaired-theorems.md; `mamltheory audit --chain {chain} --theory repaired`).",)


def survival(algorithm: str) -> str:
    """Whether the paper's statement itself holds, by the repaired chain: same form and conditions, and
    constants K, M at least the repaired ones (a larger K weakens the accuracy claim; when the K-bound fails the
    repaired decrease covers K_paper·S too, so T with M_paper >= M_repaired only grows)."""
    chain = CHAIN_OF[algorithm]
    p, r = CHAIN_CONSTANTS[(chain, "paper")], CHAIN_CONSTANTS[(chain, "repaired")]
    if algorithm == "hf-maml":
        return ("The statement itself does not survive: the repaired H.1 needs a different D_h condition and a δ "
                "that shrinks with ε (`--theory repaired`).")
    if p["K"] >= r["K"] and p["M"] >= r["M"]:
        return (f"The statement itself survives: the repaired chain proves it with K = {r['K']} <= {p['K']} and "
                f"M = {r['M']} <= {p['M']} (`--theory repaired` plans with those constants).")
    return f"The statement itself does not survive with K = {p['K']}, M = {p['M']} (repaired: {r['K']}, {r['M']})."


def convergence_theorem(algorithm: str, theory: str = DEFAULT_THEORY) -> ConvergenceTheorem:
    """The general theorem of `algorithm` ("maml", "fo-maml", "hf-maml") under `theory`."""
    check_theory(theory)
    if algorithm not in THEOREMS:
        raise InputError(f"--algorithm: must be one of maml, fo-maml, hf-maml or all, got {algorithm!r}",
                         field="algorithm")
    paper = THEOREMS[algorithm]
    chain = CHAIN_OF[algorithm]
    c = CHAIN_CONSTANTS[(chain, theory)]
    if theory == "paper":
        notes = paper.notes + (f"{paper.name} as stated: its proof fails at {', '.join(c['failing'])} "
                               f"(`mamltheory audit --chain {chain}`), so this plan is not guaranteed. "
                               + survival(algorithm),)
        return replace(paper, failing=c["failing"], notes=notes)
    common = dict(name=f"repaired {paper.name}", theory="repaired", failing=c["failing"], repairs=c["repairs"],
                  M=c["M"], notes=_repaired_notes(chain, c["repairs"]))
    if algorithm == "maml":
        return replace(paper, K=c["K"], **common)
    if algorithm == "fo-maml":  # Algorithm 2 draws no Hessian batch, and the repaired proof has no D_h condition
        return replace(paper, K=c["K"], D_h_min=sp.Integer(0), **common)
    return replace(paper, K=c["K_delta"], K_T=c["K"], delta=None, delta_budget=c["delta_budget"], nu_max=c["nu_max"],
                   D_h_min=sp.ceiling(c["D_h_factor"] * alpha**2 * sigma_H**2), accuracy_eq="131″",
                   iterations_eq="132′", **common)
