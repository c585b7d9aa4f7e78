"""The sharp plan's search over the proof's free choices (bounds/choose.py): its plan rests on the exact chain at
the choices it prints, never costs more than the paper's choices, and a planner that misuses a chain is caught by
verify's plan check."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds import choose as ch
from mamltheory.bounds import planner
from mamltheory.bounds.proofs import sharp
from mamltheory.bounds.proofs.choices import DEFAULT_CHOICES, Choices

REF = ProblemConstants(L=1.0, rho=1.0, sigma=0.5, sigma_tilde=1.0, sigma_H=1.0)


@pytest.mark.parametrize("algorithm", ["maml", "hf-maml"])
def test_the_chosen_proof_is_certified_and_no_worse_than_the_papers_choices(algorithm: str) -> None:
    p = planner.plan(algorithm, REF, 0.1, 10.0, theory="sharp")
    chosen = ch.from_dict(p.choices["chosen"])
    result = sharp({"maml": "F.1", "hf-maml": "H.1"}[algorithm], chosen).result
    assert result.holds                                    # every step of the chain at the chosen choices
    assert str(result.constants["K"]) == p.choices["constants"]["K"]
    assert str(result.constants["M"]) == p.choices["constants"]["M"]
    assert p.total_samples <= p.choices["total_at_paper_choices"]
    assert p.step_divisor == chosen.step_divisor and p.batch["B"] >= chosen.B_min
    # the repaired plan on this problem (pinned by hand in tests/test_api.py and README): at least 2× (MAML),
    # 4× (HF-MAML) more samples
    repaired = planner.plan(algorithm, REF, 0.1, 10.0, theory="repaired")
    assert repaired.total_samples >= {"maml": 2, "hf-maml": 4}[algorithm] * p.total_samples


def test_a_failing_chain_is_discarded() -> None:
    # c = 1: β_k = β̃ makes the second-order term of (103) exceed the first, the decrease is negative
    bad = replace(DEFAULT_CHOICES["F.1"], step_divisor=1)
    assert not sharp("F.1", bad).result.holds
    assert ch.certified("maml", bad) is None


def test_a_max_covers_the_users_alpha_L() -> None:
    assert ch.a_max_for("F.1", Fraction(1, 6)) == Fraction(1, 6)
    assert ch.a_max_for("F.1", Fraction(1, 7)) == Fraction(1429, 10000) >= Fraction(1, 7)
    assert ch.a_max_for("G.1", Fraction(1, 10)) == Fraction(1, 10)
    assert ch.from_dict(ch.as_dict(Choices(Fraction(1, 7), 9, Fraction(1, 3), 40))) == Choices(
        Fraction(1, 7), 9, Fraction(1, 3), 40)


def test_a_planner_using_a_lowered_constant_is_caught_by_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted bug: the chooser hands the planner K − 1 (a smaller K gives smaller batches). verify's plan check
    re-derives the theorem from the printed choices and finds the bound above ε at the plan's batches."""
    from mamltheory.verify import plans as vp

    real = ch.choose

    def lowered(*args, **kwargs):
        thm, record = real(*args, **kwargs)
        return replace(thm, chain_constants={**thm.chain_constants, "K": thm.K - 1}), record

    monkeypatch.setattr(ch, "choose", lowered)
    r = vp.plan_check("maml", "sharp", *vp.REFERENCES[0])
    assert r.verdict == "contradicted" and "> ε" in r.evidence
