"""verify/encoding.py and verify/plans.py: hold on the code as shipped; a planted bug in an encoded constant, a
theorem's form or the planner is caught."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sympy as sp

from mamltheory.bounds import lemmas as lm
from mamltheory.bounds import planner
from mamltheory.bounds.result import Bound
from mamltheory.bounds.theorems import theorem
from mamltheory.verify import encoding, plans
from mamltheory.verify.check import CONTRADICTED, HOLDS, VACUOUS


def test_encoding_holds_as_shipped() -> None:
    out = encoding.encoding_checks()
    assert [c.name for c in out if c.verdict != HOLDS] == []
    assert len(out) == len(encoding.lemma_constants()) + 9 + 9  # each theorem (3 algorithms × 3 theories) certified, its form checked


@pytest.mark.parametrize("row", [1, 4], ids=["Lemma 4.11 second moment", "Lemma 4.12 D_in term"])
def test_a_lemma_constant_lowered_by_30_percent_is_caught(row: int) -> None:
    bound, key, read = encoding.lemma_constants()[row]
    lowered = Bound(name=bound.name, source=bound.source, quantity=bound.quantity, expr=bound.expr * sp.Rational(7, 10),
                    preconditions=bound.preconditions, kind=bound.kind)
    assert encoding.lemma_check(bound, key, read).verdict == HOLDS
    assert encoding.lemma_check(lowered, key, read).verdict == CONTRADICTED


def test_a_theorem_constant_or_form_that_is_not_its_chains_is_caught() -> None:
    f1 = theorem("maml", "repaired")
    assert encoding.form_check(f1).verdict == HOLDS
    wrong_k = replace(f1, chain_constants={"K": 19, "M": 860})
    assert wrong_k.certify() == ["K: frozen 19, chain 20"]   # K = 19 is not what the chain derives
    # a bound whose form drifted from (86): the accuracy with K − 1 inside the square root
    drifted = replace(f1)
    object.__setattr__(drifted, "accuracy", replace(f1.accuracy, expr=f1.accuracy.expr.subs(sp.Integer(20), 19)))
    assert encoding.form_check(drifted).verdict == CONTRADICTED


def test_plans_hold_as_shipped_and_fo_maml_below_its_floor_is_vacuous() -> None:
    c, eps, gap = plans.REFERENCES[0]
    assert plans.plan_check("maml", "repaired", c, eps, gap).verdict == HOLDS
    assert plans.plan_check("fo-maml", "repaired", c, eps, gap).verdict == VACUOUS   # floor 0.6874 > ε = 0.1
    c3, eps3, gap3 = plans.REFERENCES[2]
    assert plans.plan_check("fo-maml", "repaired", c3, eps3, gap3).verdict == HOLDS


def test_cost_model_by_hand() -> None:
    # docs/planning.md: MAML B(D_in + D_o + D_h) + B'D_β = 1100·(4400 + 130 + 1) + 1·1 (the README's plan)
    assert plans.cost("maml", 1100, 4400, 130, 1, 1, 1) == 4_984_101
    assert plans.cost("hf-maml", 20, 10, 5, 3, 2, 4) == 20 * (10 + 5 + 6) + 8


def test_a_planner_that_rounds_D_in_down_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = planner._cheapest_batches

    def rounded_down(*args):
        B, D_in, D_o, cert = real(*args)
        return B, D_in - 1, D_o, cert

    monkeypatch.setattr(planner, "_cheapest_batches", rounded_down)
    c, eps, gap = plans.REFERENCES[0]
    r = plans.plan_check("maml", "repaired", c, eps, gap)
    assert r.verdict == CONTRADICTED and "> ε" in r.evidence


def test_a_planner_that_cuts_T_or_wastes_samples_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real_plan = planner.plan

    def short(*args, **kwargs):
        p = real_plan(*args, **kwargs)
        p.iterations = int(p.iterations * 0.9)
        return p

    monkeypatch.setattr(plans, "plan", short)
    c, eps, gap = plans.REFERENCES[0]
    assert plans.plan_check("maml", "repaired", c, eps, gap).verdict == CONTRADICTED
    monkeypatch.setattr(plans, "plan", real_plan)
    real = planner._cheapest_batches

    def wasteful(*args):
        B, D_in, D_o, cert = real(*args)
        return B + 3, D_in, D_o, cert

    monkeypatch.setattr(planner, "_cheapest_batches", wasteful)
    r = plans.plan_check("maml", "repaired", c, eps, gap)
    assert r.verdict == CONTRADICTED and "cheaper" in r.evidence


def test_lemma_bound_constants_are_read_off_by_hand() -> None:
    # Lemma 4.11 (28): E[β̃²] <= 25/(8L(w)²), so the constant read off is 25/8; (31): αLσ̃/√D_in, constant 1
    L_w = lm.local_smoothness(lm.grad_w)
    assert sp.simplify(encoding.lemma_constants()[1][2](lm.LEMMA_4_11_SECOND_MOMENT.expr)) == sp.Rational(25, 8)
    assert sp.simplify(lm.LEMMA_4_11_SECOND_MOMENT.expr * L_w**2) == sp.Rational(25, 8)
    assert encoding.lemma_constants()[2][2](lm.LEMMA_4_12_BIAS.expr) == 1


def test_certificates_equal_their_derivation_and_a_halved_one_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamltheory.verify import certificates

    out = certificates.certificate_checks()
    assert [c.verdict for c in out] == [HOLDS] * 10
    assert all(0.999_999 < c.ratio <= 1 + 1e-9 for c in out)   # the grid suprema reach the exact s_k closely
    real = certificates.make_problem

    def halved_L(name, **params):
        p = real(name, **params)
        p.constants = replace(p.constants, L=p.constants.L / 2)
        return p

    monkeypatch.setattr(certificates, "make_problem", halved_L)
    bad = [c for c in certificates.certificate_checks() if c.verdict == CONTRADICTED]
    assert [c.details["constant"] for c in bad] == ["L", "L"] and all(c.ratio == pytest.approx(2, rel=1e-6) for c in bad)
