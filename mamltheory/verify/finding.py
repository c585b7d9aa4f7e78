"""An audited claim of the paper (`Finding`) and its verdicts, shared by the symbolic audit and the
dimensional analysis (verify/audit.py, verify/dimensions.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

HOLDS, SLACK, FAILS = "holds", "holds with slack", "fails"


@dataclass
class Finding:
    """One audited claim: source (result and equation), kind, verdict and the evidence."""

    source: str
    kind: str            # "constant" | "scaling" | "counterexample" | "proof step"
    verdict: str         # HOLDS | SLACK | FAILS
    evidence: str
    claimed: str | None = None
    derived: str | None = None
    margin: float | None = None  # claimed − derived (upper-bound constants), derived − claimed (lower)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
