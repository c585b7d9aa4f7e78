"""Symbolic audit and dimensional analysis: verdicts pinned to hand derivations; a broken bound is caught."""

import json
from fractions import Fraction

import pytest
import sympy as sp

from mamltheory.bounds import Bound
from mamltheory.bounds.lemmas import THEOREM_4_13 as THEOREM_4_13_BOUND
from mamltheory.bounds import symbols as S
from mamltheory.verify import audit, dimensions


def find(source, text):
    hits = [f for f in audit.constant_findings() if f.source == source and text in f.evidence]
    assert len(hits) == 1, [f.evidence for f in hits]
    return hits[0]


def test_f1_eq_91_slack_by_hand():
    # (1 + αL)αL at αL = 1/6 is (7/6)(1/6) = 7/36 < 0.2: slack 1/5 − 7/36 = 1/180
    f = find("Theorem F.1, eq. (91)", "‖r_k‖")
    assert f.verdict == "holds with slack" and f.derived.startswith("7/36")
    assert f.margin == pytest.approx(1 / 180)


def test_f1_eq_99_constants_by_hand():
    # 2·2/(1−a)²·(1+a)²·2C1² at a = 1/6 (the paper's route through (44)): 8·(49/36)(36/23)²/(25/36) = 508032/13225
    f = find("Theorem F.1, eq. (99) [‖∇F‖²]", "coefficient of ‖∇F‖²")
    a = Fraction(1, 6)
    C1 = 1 / (1 - 2 * a - a * a)
    assert Fraction(f.derived.split(" ")[0]) == 8 * (1 + a) ** 2 * C1**2 / (1 - a) ** 2 == Fraction(508032, 13225)
    assert f.verdict == "holds with slack"
    # (44) itself fails, but its finding says which final constants it affects: none of F.1's or G.1's
    w = next(f for f in audit.proof_step_findings() if f.source == "Lemma A.2, eq. (44)")
    assert "none of their final constants" in w.evidence and "26.68 and 8.92" in w.evidence


def test_f1_final_decrease_and_61():
    f = find("Theorem F.1, eq. (103) [decrease]", "coefficient of −‖∇F(w_k)‖²")
    assert f.derived.startswith("19/1150")  # 0.06 − 4/92
    k = find("Theorem F.1, eq. (108)", "K of (86)")
    assert k.derived.startswith("1400/23") and k.verdict == "holds with slack"  # 14·1600/368


def test_f1_g1_statements_survive_the_repairs():
    for theorem in ("F.1", "G.1"):
        f = find(f"Theorem {theorem}, statement", "survives")
        assert f.verdict == "holds with slack" and "(107) κ" in f.evidence
    # the expectation of a minimum is a proof-step failure of both chains
    k = find("Theorem F.1, eq. (107) [κ]", "E[min")
    assert k.kind == "proof step" and k.verdict == "fails" and k.margin == pytest.approx(-1 / 4)


def test_g1_alpha_term_fails_by_hand():
    # (L_k/2)E[β²]·24 + E[β]·12 per α²Lσ², with (L_k/2)E[β²] <= 3.125/(2·324·4L), E[β] <= 1/(72L)
    expected = Fraction(25, 8) / 2592 * 24 + Fraction(12, 72)
    f = find("Theorem G.1, end of G.1 [α²Lσ²]", "coefficient of α²Lσ²")
    assert expected == Fraction(169, 864)
    assert f.derived.startswith("169/864")
    assert f.verdict == "fails" and f.margin == pytest.approx(1 / 6 - 169 / 864)


def test_exact_holds_and_lemma_4_11():
    assert find("Theorem H.1, eq. (108)", "K of (131)").verdict == "holds"  # 36/3200 = 18/1600 exactly
    assert find("Lemma 4.11, eq. (71) (in Theorem F.1) [E[β̃]]", "L(w)E[β̃(w)]").verdict == "holds"
    assert find("Lemma 4.11, eq. (65) (in Theorem G.1)", "2σ_b²").derived.startswith("9/8")
    assert find("Section 3, eq. (10)", "finite-difference").margin == pytest.approx(0.5)


def test_extremum_finds_interior_maximum():
    # a(1 − 3a) on (0, 1/2] has its maximum 1/12 at a = 1/6, not at an endpoint
    assert audit.extremum(audit.a * (1 - 3 * audit.a), sp.Rational(1, 2)) == sp.Rational(1, 12)
    assert audit.extremum(audit.a * (1 - 3 * audit.a), sp.Rational(1, 2), "lower") == sp.Rational(-1, 4)


def test_dimensional_analysis_flags_h1_and_passes_f1():
    by_source = {f.source: f for f in dimensions.scaling_findings()}
    assert by_source["Theorem F.1, eq. (86)"].verdict == "holds"
    assert by_source["Theorem 4.13, eq. (33)"].verdict == "holds"
    h1 = by_source["Theorem H.1, eq. (131)"]
    assert h1.verdict == "fails" and "loss^2·length^-6" in h1.evidence
    assert by_source["Theorem H.1, eq. (150)"].verdict == "fails"


def test_dimensional_analysis_catches_a_broken_bound():
    # Theorem 4.13 with α instead of α² in the second term: loss·length^-1 + dimensionless·... mismatch
    broken = Bound(name="broken 4.13", source="test", quantity="gradient",
                   expr=2 * S.alpha * S.L * S.sigma_tilde / sp.sqrt(S.D_test) + S.alpha * S.L * S.sigma_H * S.sigma_tilde / S.D_test)
    f = dimensions.check_bound(broken, dimensions.GRAD, result="Theorem 4.13")
    assert f.verdict == "fails" and "mixes units" in f.evidence
    assert (f.id, f.result) == ("units.broken-4.13", "Theorem 4.13")
    wrong_units = Bound(name="w", source="test", quantity="gradient", expr=S.L * S.dist**2)
    assert "expression has units loss, the quantity loss·length^-1" in dimensions.check_bound(
        wrong_units, dimensions.GRAD, result="Lemma 4.9").evidence
    # an encoded bound knows its result
    assert dimensions.check_bound(THEOREM_4_13_BOUND, dimensions.GRAD).result == "Theorem 4.13"


def test_audit_json_contract(run_cli):
    code, out, _ = run_cli(["audit", "--json"])
    assert code == 0
    found = json.loads(out)
    assert {"source", "kind", "verdict", "evidence"} <= set(found[0])
    assert {f["kind"] for f in found} == {"constant", "scaling", "proof step", "counterexample"}
    assert {f["verdict"] for f in found} == {"holds", "holds with slack", "fails"}


def test_a2_counterexample_witness_by_finite_differences():
    """The witness in the audit: f_i(w) = −w²/2 + b_i w, b = ±1, α = 0.1; ∇F_i by central differences."""
    alpha, h = 0.1, 1e-6

    def F_i(w, b):
        grad = -w + b
        x = w - alpha * grad
        return -x * x / 2 + b * x

    grads = [(F_i(h, b) - F_i(-h, b)) / (2 * h) for b in (1.0, -1.0)]
    assert grads[0] == pytest.approx(1.21, rel=1e-8) and sum(grads) == pytest.approx(0, abs=1e-8)
    lhs = (grads[0] ** 2 + grads[1] ** 2) / 2
    C2 = (0.2 + 0.01) / (1 - 0.2 - 0.01)
    rhs = 1.1**2 * (2 * C2**2 + 1) * 1.0  # ‖∇F‖ = 0, σ² = 1
    assert lhs == pytest.approx(1.4641, rel=1e-7) and lhs > rhs == pytest.approx(1.38100, rel=1e-5)
    w = next(f for f in audit.proof_step_findings() if f.source == "Lemma A.2, eq. (44)")
    assert "1.3810" in w.evidence and w.verdict == "fails"
