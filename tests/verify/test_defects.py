"""The registry of the paper's defects: each failing check explained once, (44)'s route, the lead line, units."""

from __future__ import annotations

from fractions import Fraction as Fr

import pytest
import sympy as sp

from mamltheory.verify import defects as D
from mamltheory.verify.check import CONTRADICTED, HOLDS, CheckResult
from mamltheory.verify.finding import FAILS


def audit_check(f) -> dict:
    """An audit finding as `verify` records it (verify/run.py: id 'audit.' + the finding's, kind 'audit kind')."""
    return CheckResult(id=f"audit.{f.id}", result=f.result, name=f"{f.kind}: {f.source}", source=f.source,
                       kind=f"audit {f.kind}", verdict=CONTRADICTED if f.verdict == FAILS else HOLDS,
                       evidence=f.evidence, details={"audit_verdict": f.verdict}).to_json()


def check(id: str, result: str, name: str, source: str, kind: str, verdict: str = CONTRADICTED) -> dict:
    return CheckResult(id=id, result=result, name=name, source=source, kind=kind, verdict=verdict).to_json()


def audit(id: str, result: str, source: str, kind: str, verdict: str = FAILS) -> dict:
    return CheckResult(id=f"audit.{id}", result=result, name=f"{kind}: {source}", source=source, kind=f"audit {kind}",
                       verdict=CONTRADICTED if verdict == FAILS else HOLDS, details={"audit_verdict": verdict}).to_json()


def reference_contradictions() -> list[dict]:
    """The 33 contradicted checks of `verify --quick --seed 0` (ids, results, names and sources as it records them)."""
    return [
        audit("chain.paper.F.1.107-κ", "F.1", "Theorem F.1, eq. (107) [κ]", "proof step"),
        audit("chain.paper.G.1.end-of-G.1-α²Lσ²", "G.1", "Theorem G.1, end of G.1 [α²Lσ²]", "constant"),
        audit("chain.paper.G.1.107-κ", "G.1", "Theorem G.1, eq. (107) [κ]", "proof step"),
        audit("chain.paper.H.1.144-E-v", "H.1", "Theorem H.1, eq. (144) [E‖v‖]", "proof step"),
        audit("chain.paper.H.1.145-spread", "H.1", "Theorem H.1, eq. (145) [spread]", "proof step"),
        audit("chain.paper.H.1.150", "H.1", "Theorem H.1, eq. (150)", "proof step"),
        audit("chain.paper.H.1.152", "H.1", "Theorem H.1, eq. (152)", "constant"),
        audit("chain.paper.H.1.107-κ", "H.1", "Theorem H.1, eq. (107) [κ]", "proof step"),
        audit("chain.H.1.statement", "H.1", "Theorem H.1, statement", "proof step"),
        audit("witness.A.2.44", "Lemma A.2", "Lemma A.2, eq. (44)", "counterexample"),
        audit("witness.H.1.144-145", "H.1", "Theorem H.1, eqs. (144)-(145)", "proof step"),
        audit("witness.H.1.144", "H.1", "Theorem H.1, eq. (144)", "proof step"),
        audit("witness.H.1.150", "H.1", "Theorem H.1, eq. (150)", "proof step"),
        audit("witness.F.1.107", "F.1", "Theorem F.1, eq. (107)", "proof step"),
        audit("witness.A.2.statement", "Lemma A.2", "Lemma A.2, statement", "proof step"),
        audit("units.Theorem-H.1-accuracy", "H.1", "Theorem H.1, eq. (131)", "scaling"),
        audit("units.Theorem-H.1-iterations", "H.1", "Theorem H.1, eq. (132) with the explicit constant of its proof",
              "scaling"),
        audit("units.Corollary-4.16-for-HF-MAML-accuracy", "Corollary 4.16",
              "Corollary 4.16 for HF-MAML, eq. (36) with C1 = C2 = 3K·max{1 + ρασ/L, ραε/L}, K = 36", "scaling"),
        audit("units.Corollary-4.16-for-HF-MAML-iterations", "Corollary 4.16",
              "Corollary 4.16 for HF-MAML: Δ·O(L/ε²) with the constant of Theorem H.1", "scaling"),
        audit("units.H.1.150", "H.1", "Theorem H.1, eq. (150)", "scaling"),
        check("theorem.exact.H.1.paper.opposed-kinks.below-floor", "H.1", "Theorem H.1 (hf-maml) on opposed kinks, "
              "w_0 = −2.5, exact expectations", "Theorem H.1, eq. (131)", "counterexample"),
        check("scaling.bias-floor-alpha.hf-maml.tanh-regression", "H.1", "hf-maml bias floor vs α on tanh-regression",
              "Theorem H.1, eq. (131)", "scaling"),
        check("falsify.search.lemma_a2_44", "Lemma A.2", "Falsification: Lemma A.2 (44)", "Lemma A.2, eq. (44)",
              "counterexample"),
        check("falsify.search.lemma_a2_44_2d", "Lemma A.2", "Falsification: Lemma A.2 (44) (2-D)",
              "Lemma A.2, eq. (44)", "counterexample"),
        check("falsify.a2-pair", "Lemma A.2", "Lemma A.2 (44): two tasks −½w² ± w", "Lemma A.2, eq. (44)",
              "counterexample"),
        check("falsify.a2-pair.worst-alpha", "Lemma A.2", "Lemma A.2 (44): two tasks −½w² ± w, worst αL = 0.0698",
              "Lemma A.2, eq. (44)", "counterexample"),
        check("falsify.a2-bounded-pair", "Lemma A.2", "Lemma A.2 (44): bounded-below variant", "Lemma A.2, eq. (44)",
              "counterexample"),
        check("falsify.H.1.paper.147-bias", "H.1", "Theorem H.1 proof, (145)/(147): finite-difference bias vs "
              "0.2‖∇F‖", "Theorem H.1 proof, eq. (147)", "counterexample"),
        check("falsify.exact.H.1.paper.opposed-kinks.from-fixed-point", "H.1", "Theorem H.1 (hf-maml) on opposed "
              "kinks, w_0 = HF-MAML fixed point", "Theorem H.1, eq. (131)", "counterexample"),
        check("falsify.exact.H.1.paper.opposed-kinks", "H.1", "Theorem H.1 (hf-maml) on opposed kinks, w_0 = −2.5",
              "Theorem H.1, eq. (131)", "counterexample"),
        check("tightness.Lemma-A.2-44", "Lemma A.2", "Tightness: Lemma A.2 (44)", "Lemma A.2, eq. (44)", "tightness"),
        check("tightness.H.1.paper.accuracy", "H.1", "Tightness: Theorem H.1 (paper) accuracy",
              "Theorem H.1, eqs. (131), (132)", "tightness"),
        check("tightness.H.1.paper.iterations", "H.1", "Tightness: Theorem H.1 (paper) iterations",
              "Theorem H.1, eqs. (131), (132)", "tightness"),
    ]


def test_reference_record_each_contradiction_explained_once():
    checks = reference_contradictions() + [
        check("falsify.exact.F.1.paper.opposed-kinks", "F.1", "Theorem F.1 (maml) on opposed kinks, w_0 = −2.5",
              "Theorem F.1, eq. (86)", "theorem", HOLDS),
        check("falsify.hvp-kink", "Section 3", "HVP finite difference (10) at a Hessian kink", "Section 3, eq. (10)",
              "lemma", HOLDS),
        check("theorem.exact.H.1.paper.tanh-regression", "H.1", "Theorem H.1 on tanh-regression, exact expectations",
              "Theorem H.1, eq. (131)", "theorem", HOLDS),
        audit("chain.paper.H.1.152-D_h", "H.1", "Theorem H.1, eq. (152) [D_h]", "constant", "holds"),
    ]
    found = D.explain(checks)
    assert found["unexplained"] == [] and found["ambiguous"] == []
    counts = {d["id"]: len(d["checks"]) for d in found["defects"]}
    # by hand from the table above: (44): the audit witness, 2 searches, 3 named counterexamples, the tightness row;
    # (107): 3 chain steps and the witness; H.1 variance: (150) step, witness and units, (152), 4 units findings;
    # H.1 task spread: the chain step, the statement, the witness, (147), the floor, 3 runs, 2 tightness rows
    assert counts == {"A2-44": 7, "A2-range": 1, "F1-107": 4, "G1-last-step": 1, "H1-task-spread": 10,
                      "H1-150": 8, "S3-10": 0, "G1-Dh": 0, "H1-144-Do": 2}
    assert sum(counts.values()) == 33
    related = {d["id"]: [r["index"] for r in d["related"]] for d in found["defects"] if d["related"]}
    # the (10) kink check holds at ratio 0.5: related, not failing; H.1's holding checks and (152) [D_h] are no
    # consequence of any defect (ids are matched whole, not by their text)
    assert related == {"S3-10": [34]}


def test_live_audit_every_failing_finding_explained_once():
    from mamltheory.verify.audit import findings

    checks = [audit_check(f) for f in findings()]
    failing = [c for c in checks if D.failing(c)]
    assert len(failing) >= 8  # (44), (107), (144)-(145), (150), A.2's range, the units of H.1's D_h ...
    found = D.explain(checks)
    assert found["unexplained"] == [], [u["name"] for u in found["unexplained"]]
    assert found["ambiguous"] == []
    explained = sorted(r["index"] for d in found["defects"] for r in d["checks"])
    assert explained == sorted(i for i, c in enumerate(checks) if D.failing(c))


def test_unexplained_and_ambiguous_are_reported():
    stray = check("theorem.exact.F.1.paper.tanh-regression", "F.1", "Theorem F.1 on tanh-regression",
                  "Theorem F.1, eq. (86)", "theorem")
    found = D.explain([stray])
    assert [u["name"] for u in found["unexplained"]] == ["Theorem F.1 on tanh-regression"]
    assert found["unexplained"][0]["id"] == "theorem.exact.F.1.paper.tanh-regression"
    twice = (D.Defect("x", "F.1", "s", "w", D.CONSTANT, "", "", "", (D.Consequence("all", "F.1"),)),
             D.Defect("y", "F.1", "s", "w", D.CONSTANT, "", "", "", (D.Consequence("by id", "F.1", ("theorem",)),)))
    assert D.explain([stray], twice)["ambiguous"][0]["defects"] == ["x", "y"]
    # an id prefix ends at a ".": "….tanh" names no check, the result must agree, and so must the kind
    for q in (D.Consequence("", "F.1", ("theorem.exact.F.1.paper.tanh",)), D.Consequence("", "G.1", ("theorem",)),
              D.Consequence("", "F.1", kind="lemma")):
        assert not q.matches(stray)


def test_annotate_names_the_defect_of_each_contradicted_check():
    record = {"provenance": {}, "checks": reference_contradictions()}
    D.annotate(record)
    assert all(c["defect"] for c in record["checks"])
    assert record["checks"][9]["defect"] == "A2-44" and record["checks"][21]["defect"] == "H1-task-spread"
    assert record["unexplained"] == [] and len(record["defects"]) == len(D.registry())
    assert "ambiguous" not in record


def test_registry_is_well_formed():
    ids = [d.id for d in D.registry()]
    assert len(ids) == len(set(ids))
    assert all(d.severity in D.SEVERITIES for d in D.registry())
    assert all(d.consequences and d.repair and d.wrong for d in D.registry())
    by = {d.id: d.severity for d in D.registry()}
    assert by["H1-task-spread"] == by["H1-150"] == D.BREAKS
    assert by["F1-107"] == by["G1-last-step"] == D.STEP_ONLY  # the repaired chains prove F.1, G.1 as stated
    assert by["H1-144-Do"] == D.BREAKS
    assert by["A2-44"] == D.LEMMA_ONLY and by["S3-10"] == by["G1-Dh"] == by["A2-range"] == D.COSMETIC


def test_lead_line_format():
    rows = [d.to_json() for d in D.registry()]
    assert D.lead_line(rows) == "9 defects in the paper (3 break a conclusion)"
    assert D.lead_line([{"severity": D.BREAKS}]) == "1 defect in the paper (1 breaks a conclusion)"
    assert D.lead_line([]) == "0 defects in the paper (0 break a conclusion)"


def test_report_and_cli_lead_with_the_defects():
    from rich.console import Console

    from mamltheory.report.markdown import checks_table, defects_section
    from mamltheory.verify.command import print_checks

    record = {"provenance": {"mode": "quick", "seed": 0, "wall_seconds": 0.0}, "checks": reference_contradictions()}
    text = defects_section(record)
    assert text.startswith("## 9 defects in the paper (3 break a conclusion)\n")
    assert "| A2-44 | Lemma A.2, eq. (44) | a lemma statement is false" in text
    table = checks_table(record["checks"], defect=True)
    assert table.splitlines()[0].startswith("| check | source | verdict | defect |")
    assert "| contradicted | F1-107 |" in table
    console = Console(record=True, width=200)
    print_checks(record, console)
    out = console.export_text()
    assert out.splitlines()[0] == "9 defects in the paper (3 break a conclusion)"
    assert "E[min{U, V}]" in out  # escaped, not swallowed as rich markup


# --- Lemma A.2 (44): the route via (56) + (43), by hand ------------------------------------------------------

def hand_route(a: Fr) -> dict[str, Fr]:
    """C1 = 1/(1 − 2a − a²), C2 = (2a + a²)C1; E_i‖∇f_i(w − α∇f_i)‖² <= (1 + a)²(2C1²‖∇F‖² + (2C2² + 1)σ²)."""
    c1 = 1 / (1 - 2 * a - a * a)
    c2 = (2 * a + a * a) * c1
    mF, ms = 2 * c1 * c1 * (1 + a) ** 2, (2 * c2 * c2 + 1) * (1 + a) ** 2
    return {"mF": mF, "ms": ms, "c1": c1}


def test_a2_route_constants_by_hand():
    s, t = hand_route(Fr(1, 6)), hand_route(Fr(1, 10))
    assert s["c1"] == Fr(36, 23) and t["c1"] == Fr(100, 79)
    # F.1 (97)-(98): 2·2·(…): 8(7/6)²(36/23)² = 8·49·36/529; 4(49/36)(867/529) = 42483/4761
    expected = {
        ("Theorem F.1, eq. (99)", "‖∇F‖²"): (Fr(14112, 529), 40),
        ("Theorem F.1, eq. (99)", "σ²"): (Fr(42483, 4761), 14),
        # G.1 (122): αL(1 + αL)C1 = (1/10)(11/10)(100/79); (1 + αL)C1 = 110/79, since C2 + 1 = C1
        ("Theorem G.1, eq. (122)", "‖∇F‖"): (Fr(11, 79), Fr(22, 100)),
        ("Theorem G.1, eq. (122)", "αLσ"): (Fr(110, 79), 2),
        # G.1 (128): 2·(…): 4(121/100)(100/79)² = 48400/6241; 2(121/100)(2·441/6241 + 1) = 2·121·7123/624100
        ("Theorem G.1, eq. (129)", "‖∇F‖²"): (Fr(48400, 6241), 20),
        ("Theorem G.1, eq. (129)", "σ²"): (Fr(2 * 121 * 7123, 624100), 7),
        # H.1 (154): 5·(…): 10(49/36)(1296/529) = 17640/529; 5(49/36)(867/529)
        ("Theorem H.1, eq. (156)", "‖∇F‖²"): (Fr(17640, 529), 50),
        ("Theorem H.1, eq. (156)", "σ²"): (Fr(5 * 49 * 867, 36 * 529), 18),
    }
    assert expected[("Theorem F.1, eq. (99)", "‖∇F‖²")][0] == 4 * s["mF"]
    assert expected[("Theorem H.1, eq. (156)", "σ²")][0] == 5 * s["ms"]
    assert expected[("Theorem G.1, eq. (129)", "σ²")][0] == 2 * t["ms"]
    route = {(r["source"], r["term"]): r for r in D.a2_route()}
    assert set(route) == set(expected)
    for key, (value, paper) in expected.items():
        assert Fr(route[key]["derived"]) == value, key
        assert route[key]["holds"] and value <= paper, key
    # the registry states exactly these numbers, and no damage to the theorems
    a2 = next(d for d in D.registry() if d.id == "A2-44")
    assert "14112/529" in a2.damage and "11/79" in a2.damage and a2.severity == D.LEMMA_ONLY


def test_a2_route_is_increasing_so_the_endpoint_is_the_sup():
    # (1 + a)² and C1 are increasing on (0, 1/6]; spot-check the ‖∇F‖² coefficient on a grid
    vals = [hand_route(Fr(k, 600))["mF"] for k in range(1, 101)]
    assert vals == sorted(vals)


# --- (107): the expectation of a minimum ------------------------------------------------------------------

def test_107_witness_and_the_three_quarter_envelope():
    p = Fr(1, 10**6)
    law = [(Fr(1, 10), 1 - p), (Fr(10**4), p)]
    E = lambda g: sum(q * g(x) for x, q in law)  # noqa: E731
    e_min, eu, ev = E(lambda x: min(x * x, x)), E(lambda x: x * x), E(lambda x: x)
    assert e_min == Fr(1999999, 10**8) and ev == Fr(1099999, 10**7) and eu > 100
    assert e_min < min(eu, ev)                              # (107) as written fails
    assert e_min >= Fr(3, 4) * min(ev * ev, ev)             # the repair holds here
    # the convex envelope ψ(x) = x² (x <= 1/2), x − 1/4 (x >= 1/2) of min{x², x} is >= 3/4 of it, equality at x = 1
    psi = lambda x: x * x if x <= Fr(1, 2) else x - Fr(1, 4)  # noqa: E731
    grid = [Fr(k, 40) for k in range(1, 200)]
    assert min(psi(x) / min(x * x, x) for x in grid) == Fr(3, 4)
    f107 = next(f for f in __import__("mamltheory.verify.audit", fromlist=["x"]).proof_step_findings()
                if f.source == "Theorem F.1, eq. (107)")
    assert f107.verdict == FAILS and "0.01999999 < min{E X², E X} = 0.1099999" in f107.evidence


# --- units: every product named in a note, finding or defect, from the rescaling g(u) = t·f(s·u) ------------

def rescaled_exponents() -> dict[str, tuple[int, int]]:
    """(power of t, power of s) of each constant when f is replaced by g(u) = t·f(s·u), derived by sympy.

    The k-th derivative of g is t·s^k·f^(k)(s·u): a loss scales like t, a gradient like t·s, a Hessian bound
    like t·s², a third-derivative bound like t·s³; a point u = w/s like 1/s. α must keep u − α∇g(u) a point:
    α·t·s = 1/s, so α ~ 1/(t·s²); δ_k^i multiplies a gradient to give a point: the same; δ of (142) is a length.
    """
    t, s, u = sp.symbols("t s u", positive=True)
    f = sp.exp  # every derivative of exp is exp: d^k g/du^k = (t·s^k)·f^(k)(s·u) leaves the scale factor alone
    g = t * f(s * u)

    def powers(k: int) -> tuple[int, int]:
        scale = sp.simplify(sp.diff(g, u, k) / f(s * u))
        return int(sp.degree(scale, t)), int(sp.degree(scale, s))

    loss, grad, hess, third = powers(0), powers(1), powers(2), powers(3)
    length = (0, -1)
    step = (length[0] - grad[0], length[1] - grad[1])
    return {"L": hess, "rho": third, "sigma": grad, "sigma_tilde": grad, "sigma_H": hess, "alpha": step,
            "eps": grad, "initial_gap": loss, "delta": length, "delta_k": step}


def test_rescaling_exponents_by_hand():
    ex = rescaled_exponents()
    assert ex["L"] == (1, 2) and ex["rho"] == (1, 3) and ex["sigma"] == (1, 1) and ex["alpha"] == (-1, -2)
    # αρσ_H: t^(−1+1+1) s^(−2+3+2) = t·s³, i.e. loss·length⁻³ (a length scales like 1/s): not 1/length (s¹)
    a, r, h = ex["alpha"], ex["rho"], ex["sigma_H"]
    assert (a[0] + r[0] + h[0], a[1] + r[1] + h[1]) == (1, 3)


def test_units_table_matches_the_rescaling():
    from mamltheory.bounds import symbols as S
    from mamltheory.verify import dimensions as dim

    ex = rescaled_exponents()
    table = {**dim.UNITS, dim.DELTA_K: dim.STEP}
    for name, (pt, ps) in ex.items():
        sym = dim.DELTA_K if name == "delta_k" else S.BY_NAME[name]
        assert table[sym] == (Fr(pt), Fr(-ps)), name  # loss power = t power, length power = −(s power)


def rescaling_units(product: str) -> tuple[Fr, Fr]:
    """Units of a product computed from the rescaling exponents, independently of dimensions.UNITS."""
    from mamltheory.bounds import symbols as S
    from mamltheory.verify import dimensions as dim

    ex = rescaled_exponents()
    table = {S.BY_NAME[n]: (Fr(pt), Fr(-ps)) for n, (pt, ps) in ex.items() if n != "delta_k"}
    table[dim.DELTA_K] = (Fr(ex["delta_k"][0]), Fr(-ex["delta_k"][1]))
    for batch in (S.B, S.D_in, S.D_o, S.D_h, S.B_prime, S.D_beta, S.D_test):
        table[batch] = (Fr(0), Fr(0))
    return dim.units_of(dim.paper_expr(product), table)


def all_claim_texts() -> list[str]:
    from mamltheory.assumptions import ProblemConstants
    from mamltheory.bounds import all_theorems
    from mamltheory.bounds.planner import plan_all
    from mamltheory.verify.audit import findings

    plans = plan_all(ProblemConstants(L=1.0, rho=1.0, sigma=0.5, sigma_tilde=1.0, sigma_H=1.0), 0.1, 10.0)
    return ([n for t in all_theorems() if t.theory == "paper" for n in t.notes] + [n for p in plans for n in p.notes]
            + [f.evidence for f in findings()]
            + [" ".join((d.wrong, d.damage, d.witness, d.repair)) for d in D.registry()])


def test_every_units_claim_matches_the_rescaling():
    from mamltheory.verify.dimensions import claim_holds, parse_units, units_claims

    claims = [c for text in all_claim_texts() for c in units_claims(text)]
    products = {p for p, _ in claims}
    assert {"αρσ_H", "36(αρσ_H)²", "σ_H²/(D_h(δ_k^i)²)"} <= products, products
    for product, units in claims:
        assert rescaling_units(product) == parse_units(units), (product, units)
        assert claim_holds(product, units)


@pytest.mark.parametrize("product, units, right", [
    ("αρσ_H", "1/length", False),                # the plan note's old claim
    ("αρσ_H", "loss·length⁻³", True),
    ("36(αρσ_H)²", "loss²·length⁻⁶", True),
    ("α²σ_H²", "dimensionless", True),            # the repaired D_h condition's quantity
    ("ceiling(36*alpha**2*rho**2*sigma_H**2)", "loss^2·length^-6", True),
    ("σ_H²/(D_h(δ_k^i)²)", "loss^4·length^-8", True),
    ("αL", "dimensionless", True),
    ("ρδ", "loss·length⁻²", True),                # δ a length: ρδ is a Hessian bound
])
def test_a_wrong_units_claim_fails(product, units, right):
    from mamltheory.verify.dimensions import claim_holds, parse_units

    assert (rescaling_units(product) == parse_units(units)) is right
    assert claim_holds(product, units) is right


def test_live_named_counterexamples_are_explained():
    """The falsification section's named counterexamples, computed (not typed in), land on their defects."""
    import numpy as np

    from mamltheory.verify import falsify
    from mamltheory.verify.instances import opposed_kinks
    from mamltheory.verify.theorem_checks import kinks_floor

    inst = opposed_kinks()
    a, w, _ = kinks_floor()
    checks = [falsify.a2_counterexample(0.1).to_json(), falsify.hf_proof_step(inst, a, np.array([w])).to_json()]
    assert all(c["verdict"] == CONTRADICTED for c in checks)
    record = D.annotate({"checks": checks})
    assert [c["defect"] for c in record["checks"]] == ["A2-44", "H1-task-spread"]
    assert record["unexplained"] == []


def test_a_looseness_cannot_explain_a_violation():
    # S3-10 says (10) is loose by 2: (10)'s checks (ratio 0.5) are its related checks, but a check of (10) that
    # fails (a bug in the finite difference, say) is a violation no looseness predicts: unexplained, exit 1
    from mamltheory.verify.run import exit_status

    loose = check("lemma.HVP-finite-difference-10.tanh-regression", "Section 3", "HVP finite difference (10) on x",
                  "Section 3, eq. (10)", "lemma", verdict=HOLDS)
    broken = check("lemma.HVP-finite-difference-10.quadratic", "Section 3", "HVP finite difference (10) on y",
                   "Section 3, eq. (10)", "lemma")
    found = D.explain([loose, broken])
    s3 = next(d for d in found["defects"] if d["id"] == "S3-10")
    assert [r["index"] for r in s3["related"]] == [0] and s3["checks"] == []
    assert [u["index"] for u in found["unexplained"]] == [1]
    assert exit_status({"checks": [loose, broken]}, strict=False) == 1


# ---- attribution that must fit: a defect explains a violation only up to the size it predicts ------------------
def sized(id: str, result: str, ratio: float, **details) -> dict:
    """A contradicted check with a measured ratio (observed/bound) and details, as `verify` records it."""
    bound = details.pop("bound", 1.0)
    return CheckResult(id=id, result=result, name=id, source="-", kind="counterexample", verdict=CONTRADICTED,
                       observed=ratio * bound, bound=bound, ratio=ratio, details=details).to_json()


def test_a_violation_far_larger_than_predicted_is_unexplained_and_fails_verify():
    from mamltheory.verify.run import exit_status

    # (44) lacks (1 + αL)² <= 2: a measured ratio of 1.06 is its size, 40 is not
    ok, huge = sized("falsify.a2-pair", "Lemma A.2", 1.06), sized("falsify.a2-pair", "Lemma A.2", 40.0)
    found = D.explain([ok, huge])
    assert [r["index"] for d in found["defects"] if d["id"] == "A2-44" for r in d["checks"]] == [0]
    assert [u["index"] for u in found["unexplained"]] == [1] and "exceeds the 2" in found["unexplained"][0]["why"]
    assert exit_status({"checks": [ok]}, strict=False) == 0
    assert exit_status({"checks": [ok, huge]}, strict=False) == 1


def test_trapped_floor_predicts_floor_over_bound():
    # H.1's trapped iterates sit at the fixed point's floor 0.0445 against ε ≈ 0.0222: ratio 2, not more
    floor = 0.044463334273950106
    kw = {"future_floor": floor, "bound": floor / 2}
    at = sized("theorem.exact.H.1.paper.opposed-kinks.below-floor", "H.1", 2.0, **kw)
    above = sized("theorem.exact.H.1.paper.opposed-kinks.below-floor", "H.1", 2.5, **kw)
    no_floor = sized("falsify.exact.H.1.paper.opposed-kinks", "H.1", 2.0)   # no floor recorded: no size predicted
    found = D.explain([at, above, no_floor])
    assert [u["index"] for u in found["unexplained"]] == [1, 2]
    assert "predicts no measured violation" in found["unexplained"][1]["why"]
    # the (147) bias is exactly 5 at a fixed point; the HF floor at most its cap over the tolerance
    assert D.explain([sized("falsify.H.1.paper.147-bias", "H.1", 5.0)])["unexplained"] == []
    assert D.explain([sized("falsify.H.1.paper.147-bias", "H.1", 7.0)])["unexplained"] != []
    cap = {"floor_cap": [0.0115, 0.0114], "bound": 1e-8}
    assert D.explain([sized("scaling.bias-floor-alpha.hf-maml.tanh-regression", "H.1", 1.5e4, **cap)])[
        "unexplained"] == []
    assert D.explain([sized("scaling.bias-floor-alpha.hf-maml.tanh-regression", "H.1", 2e6, **cap)])[
        "unexplained"] != []


def test_every_violation_consequence_beyond_the_audit_predicts_a_size():
    for d in D.registry():
        for q in d.consequences:
            if q.predicts == "violation" and not all(i.startswith("audit.") for i in q.ids):
                assert q.size is not None and q.size_why, (d.id, q.what)
