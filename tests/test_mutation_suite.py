"""benchmarks/mutation.py stays runnable: every mutant still finds the exact code it changes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutation", ROOT / "benchmarks" / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
assert spec.loader is not None
sys.modules["mutation"] = mutation  # dataclasses look their module up there
spec.loader.exec_module(mutation)


def test_at_least_twenty_mutants_across_the_areas() -> None:
    assert len(mutation.MUTANTS) >= 20
    assert {m.area for m in mutation.MUTANTS} == {"simulator", "runner", "planner", "bounds", "certificates"}


@pytest.mark.parametrize("m", mutation.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_changes_the_code_it_names(m) -> None:
    text = (ROOT / "mamltheory" / m.path).read_text(encoding="utf-8")
    assert text.count(m.old) == m.count and m.old != m.new
