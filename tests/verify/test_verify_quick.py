"""`mamltheory verify --quick` end to end (slow: `python -m pytest -m slow`); the default run covers each
section with smaller sizes in test_verify_sections.py."""

import pytest

from mamltheory.verify.run import exit_status, verify


@pytest.mark.slow
def test_verify_quick_every_check_runs_and_finds_the_known_failures(tmp_path):
    record = verify(quick=True, seed=0, store=str(tmp_path / "s.sqlite"))
    checks = record["checks"]
    assert [c for c in checks if c["verdict"] == "error"] == []
    assert exit_status(record, strict=False) == 0 and exit_status(record, strict=True) == 1
    # every check names itself by a unique id and the result it checks (a label by_label knows, or the Table 1
    # timings, the Assumptions' certificates and the conformance of Algorithms 1-3); each defect explains the
    # checks it did when matched by prose
    from mamltheory.bounds.theorems import results

    assert len({c["id"] for c in checks}) == len(checks)
    assert {c["result"] for c in checks} <= {r.label for r in results()} | {"Table 1", "Assumptions",
                                                                             "Algorithms 1-3"}
    explained = {d["id"]: (len(d["checks"]), len(d["related"])) for d in record["defects"]}
    assert explained == {"A2-44": (7, 5), "A2-range": (1, 0), "F1-107": (4, 0), "G1-last-step": (1, 0),
                         "H1-task-spread": (10, 0), "H1-144-Do": (2, 0), "H1-150": (8, 0), "S3-10": (0, 9),
                         "G1-Dh": (0, 2)} and record["unexplained"] == []
    kinds = {c["kind"] for c in checks}
    assert {"lemma", "theorem", "scaling", "counterexample", "audit constant", "audit scaling"} <= kinds
    # On honest families with certified constants, no lemma and no theorem check may fail.
    assert all(c["verdict"] in ("holds", "vacuous") for c in checks if c["kind"] in ("lemma", "theorem"))
    assert all(c["power"] <= 1.1 for c in checks if c["kind"] in ("lemma", "theorem") and c["verdict"] == "holds")
    contradicted = {c["source"] for c in checks if c["verdict"] == "contradicted"}
    # The findings derived by hand in tests/verify/test_audit.py and test_falsify.py must all surface.
    assert "Lemma A.2, eq. (44)" in contradicted
    assert "Theorem G.1, end of G.1 [α²Lσ²]" in contradicted  # 169/864 > 1/6 (test_audit.py)
    assert any(s.startswith("Theorem H.1") for s in contradicted)
    # MAML has no bias floor; FO-MAML's grows linearly in α.
    by_name = {c["name"]: c for c in checks}
    assert by_name["maml bias floor vs α on tanh-regression"]["verdict"] == "holds"
    fo = by_name["fo-maml bias floor vs α on tanh-regression"]
    assert fo["verdict"] == "holds" and abs(fo["observed"] - 1) < 0.1
