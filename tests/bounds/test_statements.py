"""The planner's theorems: frozen chain constants agree with the proof chains; paper vs repaired plans."""

from __future__ import annotations

import json

import pytest

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.planner import plan, plan_all, plan_kshot
from mamltheory.bounds.proofs import get_chain
from mamltheory.bounds.theorems import all_theorems, theorem

EXAMPLE = ProblemConstants(L=1.0, rho=1.0, sigma=0.5, sigma_tilde=1.0, sigma_H=1.0)


@pytest.mark.parametrize("thm", all_theorems(), ids=lambda t: f"{t.label}-{t.theory}")
def test_frozen_constants_are_the_chains(thm) -> None:
    """Each theorem's frozen constants are what evaluating its chain gives: they cannot drift from the proofs."""
    chain = get_chain(thm.label, thm.theory)
    result = chain.result
    for name, frozen in thm.chain_constants.items():
        assert result.constants[name] == frozen, name
    assert tuple(s.key for s in result.failing) == thm.failing
    assert tuple(s.key for s in chain.steps if s.repairs) == thm.repairs
    assert thm.certify() == []
    assert {"K", "M"} <= set(thm.chain_constants)


def test_paper_plans_say_which_proof_guarantees_them() -> None:
    """F.1 (61, 1600) and G.1 (14, 1600) are implied by the repaired chains (20, 860) and (9, 1247): same form, α range
    and step, larger constants, so their plans are guaranteed by the repaired proof; H.1's statement (δ = 1/(6ρα),
    D_h >= ⌈36(αρσ_H)²⌉) has a different form from the repaired one, so its plan is not guaranteed."""
    plans = plan_all(EXAMPLE, 0.1, 10.0, theory="paper")
    assert all(p.failing_steps for p in plans)
    assert [(p.guaranteed, p.proved_by) for p in plans] == [
        (True, "repaired Theorem F.1"), (True, "repaired Theorem G.1"), (False, "")]
    assert "so this plan is guaranteed, by the repaired proof" in plans[0].notes[-1]
    assert "so this plan is not guaranteed" in plans[2].notes[-1]
    assert not plans[2].cheapest
    assert plans[2].failing_steps[:2] == ["(44)", "(144) E‖v‖"]


def test_repaired_plans_are_guaranteed_and_cheapest_is_marked() -> None:
    plans = plan_all(EXAMPLE, 0.1, 10.0, theory="repaired")
    assert all(p.guaranteed and p.theory == "repaired" and p.repairs for p in plans)
    assert sum(p.cheapest for p in plans) == 1


def test_sharp_plans_are_the_default_guaranteed_and_say_their_choices() -> None:
    plans = plan_all(EXAMPLE, 0.1, 10.0)
    assert all(p.guaranteed and p.theory == "sharp" and "(107♯) κ" in p.repairs for p in plans)
    assert sum(p.cheapest for p in plans) == 1
    for p in plans:
        assert p.step_divisor == p.choices["chosen"]["step_divisor"]
        assert p.limit["step_divisor"] == p.step_divisor and p.limit["verdict"] == "consistent"


def test_repaired_hf_delta_is_the_delta_condition() -> None:
    """δ = ν/(ρα), ν = min{1/6, ν_ε}, ν_ε = ε√(L/(1190(σ² + σ̃²/D_o)(L + ρα(σ + ε)))) (δ′), by hand."""
    p = plan("hf-maml", EXAMPLE, 0.1, 10.0, theory="repaired")
    a = 1 / 6  # α = 1/(6L), L = ρ = 1
    D_o = p.batch["D_o"]
    nu_eps = 0.1 * (1 / (1190 * (0.25 + 1 / D_o) * (1 + a * (0.5 + 0.1)))) ** 0.5
    assert p.delta == pytest.approx(min(1 / 6, nu_eps) / a, rel=1e-11)
    assert p.batch["D_h"] == 1  # ⌈α²σ_H²⌉ = ⌈1/36⌉


def test_sharp_hf_delta_uses_the_chosen_chains_budget() -> None:
    """The same (δ′) with the budget 2Kκ of the sharp chain at the plan's chosen choices (not the paper's 1190)."""
    p = plan("hf-maml", EXAMPLE, 0.1, 10.0)
    budget = int(p.choices["constants"]["delta_budget"])
    assert budget == 2 * int(p.choices["constants"]["K_nu"]) < 1190   # c = 2Kκ of (δ′)
    a, D_o = 1 / 6, p.batch["D_o"]
    nu_eps = 0.1 * (1 / (budget * (0.25 + 1 / D_o) * (1 + a * (0.5 + 0.1)))) ** 0.5
    assert p.delta == pytest.approx(min(1 / 6, nu_eps) / a, rel=1e-11)


def test_repaired_hf_kshot_uses_its_own_bound_as_eps() -> None:
    p = plan_kshot("hf-maml", EXAMPLE, 5)
    assert p.delta is not None and 0 < p.delta * p.alpha * EXAMPLE.rho <= 1 / 6


def test_json_has_theory_and_repairs(run_cli) -> None:
    code, out, _ = run_cli(["plan", "--algorithm", "maml", "--json", "--theory", "repaired"])
    d = json.loads(out)
    assert code == 0 and d["theory"] == "repaired" and d["guaranteed"] is True and "(107′) κ" in d["repairs"]
    code, out, _ = run_cli(["plan", "--algorithm", "maml", "--json"])
    d = json.loads(out)
    assert code == 0 and d["theory"] == "sharp" and d["guaranteed"] is True and "(107♯) κ" in d["repairs"]
    assert set(d["choices"]["chosen"]) == {"alpha_L_max", "step_divisor", "young", "B_min"}
    assert d["step_size"]["c"] == d["choices"]["chosen"]["step_divisor"]
    code, out, _ = run_cli(["plan", "--algorithm", "maml", "--json", "--theory", "paper"])
    d = json.loads(out)
    assert d["theory"] == "paper" and d["failing_steps"] == ["(44)", "(107) κ"]
    assert d["guaranteed"] is True and d["proved_by"] == "repaired Theorem F.1"
    code, out, _ = run_cli(["plan", "--algorithm", "hf-maml", "--json", "--theory", "paper"])
    d = json.loads(out)
    assert d["guaranteed"] is False and d["proved_by"] == ""


@pytest.mark.parametrize("bad", ["", "Paper", "repair", "both"])
def test_bad_theory_is_one_line(run_cli, bad: str) -> None:
    code, _, err = run_cli(["plan", "--theory", bad])
    assert code == 2 and err.count("\n") == 1 and "--theory" in err


def test_repaired_g1_has_no_hessian_batch() -> None:
    thm = theorem("fo-maml", "repaired")
    assert thm.D_h_min == 0 and not any("D_h" in c.source for c in thm.preconditions)
