"""Repaired Theorems F.1 and G.1: the paper's statements with the constants of their repaired proof chains.

The chains (bounds/proofs/f1.py, g1.py, theory "repaired") replace the steps that fail: (44) is routed
around through (56) ((44′), (98′), (122′), (128′)), and the expectation of a minimum in (107) becomes
Jensen on the convex envelope (107′, a factor 3/4). Every other step carries its exact value forward.
The accuracy constant K and iteration constant M are the chain's, rounded up to integers (the (108)/(113)
and (109)/(114) steps); nothing here is typed in. Same shape as the paper's results (theorems.py):
accuracy max{√(K(1 + ρασ/L)S), (Kρα/L)S, ε}, iterations ⌊Δ/dec⌋ + 1 with dec = max{ε²/(L + ρα(σ + ε)), KS/L}/M.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from mamltheory.bounds.proofs import Chain, get_chain
from mamltheory.bounds.result import Bound, Condition
from mamltheory.bounds.symbols import D_h, initial_gap
from mamltheory.bounds.theorems import (
    THEOREM_F1,
    THEOREM_G1,
    ConvergenceTheorem,
    accuracy_expr,
    decrease_expr,
)


@dataclass(frozen=True)
class RepairedTheorem:
    """A paper theorem restated with the constants of its repaired chain."""

    paper: ConvergenceTheorem
    theorem: str             # chain name, "F.1"
    uses_D_h: bool           # whether the repaired proof uses the D_h condition ((96) for MAML)

    @cached_property
    def chain(self) -> Chain:
        return get_chain(self.theorem, "repaired")

    @property
    def name(self) -> str:
        return f"repaired {self.paper.name}"

    @cached_property
    def repairs(self) -> tuple[str, ...]:
        """The repaired steps (their keys), in proof order."""
        return tuple(s.key for s in self.chain.steps if s.repairs)

    @cached_property
    def K(self) -> int:
        return int(self.chain.result.constants["K"])

    @cached_property
    def M(self) -> int:
        return int(self.chain.result.constants["M"])

    @property
    def provenance(self) -> str:
        labels = list(dict.fromkeys(k.split(" ")[0] for k in self.repairs))
        return f"{self.name}, steps {', '.join(labels)}"

    @cached_property
    def preconditions(self) -> tuple[Condition, ...]:
        keep = [c for c in self.paper.preconditions if self.uses_D_h or D_h not in c.relation.free_symbols]
        return tuple(Condition(c.relation, c.source.replace(self.paper.name, self.name)) for c in keep)

    @cached_property
    def accuracy(self) -> Bound:
        return Bound(
            name=f"{self.name} accuracy", source=self.provenance,
            quantity="E‖∇F(w_ε)‖ for some iterate within the iteration bound",
            expr=accuracy_expr(self.K, self.paper.S), preconditions=self.preconditions,
            note=f"K = {self.K} from the repaired chain (`mamltheory audit --chain {self.theorem} --theory repaired`)",
        )

    @cached_property
    def iterations(self) -> Bound:
        return Bound(
            name=f"{self.name} iterations", source=self.provenance,
            quantity="iterates w_0..w_{T-1} among which one meets the accuracy bound",
            expr=sp.floor(initial_gap / decrease_expr(self.K, self.M, self.paper.S)) + 1,
            preconditions=self.preconditions,
            note=f"K = {self.K}, M = {self.M} from the repaired chain",
        )


REPAIRED_F1 = RepairedTheorem(THEOREM_F1, "F.1", uses_D_h=True)
REPAIRED_G1 = RepairedTheorem(THEOREM_G1, "G.1", uses_D_h=False)   # FO-MAML draws no Hessian batch
REPAIRED_THEOREMS: dict[str, RepairedTheorem] = {t.paper.algorithm: t for t in (REPAIRED_F1, REPAIRED_G1)}
