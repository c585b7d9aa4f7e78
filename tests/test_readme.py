"""The README's Python example runs as written and gives the numbers it shows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs_and_its_numbers_are_right() -> None:
    block = re.search(r"## From Python\n\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "the README lost its '## From Python' example"
    # The full quick verification takes minutes; the audit section exercises the same call.
    code = block.group(1).replace("mt.verify(quick=True, seed=0)", 'mt.verify(quick=True, seed=0, sections=("audit",))')
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)  # noqa: S102 - the README's own example
    # The values the README shows to its reader (the plan itself is checked by brute force in tests/bounds/test_planner.py):
    assert ns["p"].batch == {"B": 169, "D_in": 676, "D_o": 50, "D_h": 1, "B_prime": 1, "D_beta": 1}
    assert ns["p"].iterations == 822251
    assert (ns["p"].theory, ns["p"].guaranteed, ns["p"].step_divisor) == ("sharp", True, 32)
    assert [q.algorithm for q in ns["mt"].plan_all(ns["c"], eps=0.1, initial_gap=10) if q.feasible] == ["maml", "hf-maml"]
    assert ns["result"].grad_norm.shape == (len(ns["result"].k), 4)
    assert {c["verdict"] for c in ns["record"]["checks"]} <= {"holds", "contradicted"}
