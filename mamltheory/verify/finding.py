"""An audited claim of the paper (`Finding`) and its verdicts, shared by the symbolic audit and the
dimensional analysis (verify/audit.py, verify/dimensions.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

HOLDS, SLACK, FAILS = "holds", "holds with slack", "fails"


@dataclass
class Finding:
    """One audited claim: source (result and equation), kind, verdict and the evidence; `id` (stable, unique among
    the findings) and `result` (the label `bounds.theorems.by_label` knows) identify it."""

    id: str = field(kw_only=True)      # e.g. "chain.paper.H.1.150", "witness.A.2.44", "units.Lemma-4.9"
    result: str = field(kw_only=True)  # e.g. "H.1", "Lemma A.2", "Section 3"
    source: str
    kind: str            # "constant" | "scaling" | "counterexample" | "proof step"
    verdict: str         # HOLDS | SLACK | FAILS
    evidence: str
    claimed: str | None = None
    derived: str | None = None
    margin: float | None = None  # claimed − derived (upper-bound constants), derived − claimed (lower)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
