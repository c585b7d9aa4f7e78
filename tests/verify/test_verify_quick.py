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
