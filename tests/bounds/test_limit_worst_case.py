"""bounds/limit_worst_case: the worst case W of gradient descent on L-smooth F against the theorems' M.

The hand values below are computed here from the formulas, not read from the module:
- classical (descent lemma), optimal gap: W <= 2n/(n·h(2 − h) + 1); final gap: W <= 2/(h(2 − h));
- tight (interpolation inequality between consecutive iterates, docs/limit-worst-case.md), h <= 1:
  optimal gap W = 4n/(n·h(4 − h) + 2), final gap W = 4/(h(4 − h)); at h = 1 the final gap gives 4/3, the value
  PEPit's own example `wc_gradient_descent` quotes (Taylor 2017; Abbaszadehpeivasti, de Klerk, Zamani 2021).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction

import pytest
import sympy as sp

from mamltheory.bounds.limit_worst_case import classical_bound, limit_evidence, worst_case
from mamltheory.bounds.symbols import L, alpha, eps, initial_gap, sigma, sigma_tilde
from mamltheory.bounds.theorems import all_theorems, theorem
from mamltheory.errors import InputError

H48 = Fraction(1, 48)


@pytest.fixture
def no_pepit(monkeypatch):
    """PEPit made unimportable (None in sys.modules), whether installed or not."""
    monkeypatch.setitem(sys.modules, "PEPit", None)


@dataclass(frozen=True)
class FakeTheorem:
    label: str = "X.1"
    theory: str = "repaired"
    algorithm: str = "maml"
    name: str = "Theorem X.1"
    M: int = 1000
    step_divisor: int = 12


def test_classical_bound_by_hand():
    # h = 1/48: h(2 − h) = 95/2304. n = 10: 20 / (950/2304 + 1) = 46080/3254; final: 2·2304/95.
    assert classical_bound(H48, 10) == pytest.approx(46080 / 3254, rel=1e-15)
    assert classical_bound(H48, 10, "final") == pytest.approx(4608 / 95, rel=1e-15)
    assert classical_bound(1.0, 1) == pytest.approx(1.0)  # 2·1/(1·1·1 + 1)
    assert classical_bound(0.5, 3, "final") == pytest.approx(2 / 0.75)


@pytest.mark.parametrize("call, name", [
    (lambda: classical_bound(0, 10), "gamma_L"), (lambda: classical_bound(2, 10), "gamma_L"),
    (lambda: classical_bound(float("nan"), 10), "gamma_L"), (lambda: classical_bound("1/48", 10), "gamma_L"),
    (lambda: classical_bound(H48, 0), "n"), (lambda: classical_bound(H48, 2.0), "n"),
    (lambda: classical_bound(H48, 10, "last"), "gap"), (lambda: worst_case(-1, 10), "gamma_L"),
    (lambda: limit_evidence(FakeTheorem(), step_divisor=0), "step_divisor"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(InputError) as err:
        call()
    assert str(err.value).startswith(f"{name}: ")


def test_the_theorems_limit_count_is_M_L_Delta_over_eps2():
    # What limit_evidence compares: every theorem's T at α = σ = σ̃ = 0 is ⌊M·LΔ/ε²⌋ + 1.
    for t in all_theorems():
        e = t.iterations.expr.subs({alpha: 0, sigma: 0, sigma_tilde: 0})
        assert sp.simplify(e - (sp.floor(t.M * L * initial_gap / eps**2) + 1)) == 0, t.name


def test_without_pepit_the_classical_bound_decides(no_pepit):
    assert worst_case(H48, 10) is None
    for t in all_theorems():
        ev = limit_evidence(t)
        c = t.step_divisor
        assert ev["W"] is None and ev["slack"] is None and ev["gamma_L"] == f"1/{4 * c}"
        assert ev["classical"] == pytest.approx(2 / (Fraction(1, 4 * c) * (2 - Fraction(1, 4 * c))))
        assert ev["slack_lower"] == pytest.approx(t.M / ev["classical"])
        # M >= C >= W: consistent without PEPit; a repaired theorem below it would be a finding to report loudly
        assert ev["verdict"] == "consistent", f"{t.name}: M = {t.M} < classical {ev['classical']}"
    # below the classical bound but above the Huber floor 4c = 48: undecided without PEPit; below 4c: contradicted
    assert limit_evidence(FakeTheorem(M=48))["verdict"] == "inconclusive"
    assert limit_evidence(FakeTheorem(M=47))["verdict"] == "contradicted"
    assert limit_evidence(FakeTheorem(M=20), step_divisor=4)["floor"] == 16


def test_cli_without_pepit(no_pepit, run_cli):
    code, out, err = run_cli(["audit", "--limit"])
    assert code == 0 and err == ""
    assert "pip install 'mamltheory[pep]'" in out and "48.5053" in out and "M/C <= M/W" in out


@pytest.mark.parametrize("argv, flag", [
    (["audit", "--limit", "0"], "--limit"), (["audit", "--limit", "41"], "--limit"),
    (["audit", "--limit", "ten"], "--limit"), (["audit", "--limit", "--only", "proof"], "--only"),
    (["audit", "--limit", "--chain", "F.1"], "--chain"),
])
def test_cli_bad_input_exit_2(run_cli, argv, flag):
    code, out, err = run_cli(argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and f"{flag}:" in err


# ---- with PEPit (the extra `pep`) -------------------------------------------------------------------------------

def _tight_final(h: Fraction) -> float:
    return float(4 / (h * (4 - h)))


def _tight_optimal(h: Fraction, n: int) -> float:
    return float(4 * n / (n * h * (4 - h) + 2))


@pytest.mark.parametrize("h, n", [(H48, 5), (H48, 10), (Fraction(1, 100), 10), (Fraction(1), 10)])
def test_pep_matches_the_tight_closed_forms(h, n):
    pytest.importorskip("PEPit")
    final, optimal = worst_case(h, n, "final"), worst_case(h, n)
    assert final == pytest.approx(_tight_final(h), rel=1e-4)      # 48.2513 at 1/48; 4/3 at h = 1
    assert optimal == pytest.approx(_tight_optimal(h, n), rel=1e-4)  # 14.1393 at 1/48, n = 10
    assert optimal < final <= classical_bound(h, n, "final") and optimal <= classical_bound(h, n)


def test_pep_value_at_the_briefed_step():
    pytest.importorskip("PEPit")
    assert worst_case(1 / 48, 10, "final") == pytest.approx(48.25, abs=0.01)


@pytest.mark.parametrize("algorithm", ["maml", "fo-maml", "hf-maml"])
def test_repaired_theorems_are_not_below_the_exact_worst_case(algorithm):
    pytest.importorskip("PEPit")
    t = theorem(algorithm, "repaired")
    ev = limit_evidence(t)
    assert ev["W"] == pytest.approx(_tight_final(Fraction(1, 4 * t.step_divisor)), rel=1e-4)
    assert t.M >= ev["W"], (f"CONTRADICTION: {t.name} claims T = M·LΔ/ε² with M = {t.M}, below the exact worst "
                            f"case W = {ev['W']:.4f} of gradient descent at γL = {ev['gamma_L']}")
    assert ev["verdict"] == "consistent" and ev["slack"] == pytest.approx(t.M / ev["W"])
    assert ev["slack"] >= ev["slack_lower"]  # M/W >= M/C since W <= C


def test_cli_with_pepit(run_cli):
    pytest.importorskip("PEPit")
    code, out, err = run_cli(["audit", "--limit", "5", "--json"])
    import json

    rows = json.loads(out)
    assert code == 0 and err == "" and len(rows) == 6
    assert {r["name"]: round(r["W"], 3) for r in rows}["repaired Theorem H.1"] == round(_tight_final(Fraction(1, 100)), 3)
