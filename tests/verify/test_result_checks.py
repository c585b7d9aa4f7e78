"""Checks identified by data: a stable id and the label of the result they check; `by_label(...).checks` and
`.defects` on a verification record; `audit --chain LABEL` with the checks of the stored record."""

from __future__ import annotations

import json

import pytest

from mamltheory.bounds.theorems import by_label, results
from mamltheory.store import ResultStore, config_key
from mamltheory.verify.run import stored_record, verify

# The audit's failing findings on H.1 (tests/verify/test_defects.py, reference_contradictions): the paper chain's
# (107) κ, (144) E‖v‖, (145) spread, (150), (152) and statement, the witnesses of (144)-(145), (144), (150), and
# the units of (131), (132) and (150).
H1_AUDIT_CONTRADICTED = 12


@pytest.fixture(scope="module")
def audit_record() -> dict:
    return verify(quick=True, seed=0, sections=("audit",), workers=1)


@pytest.fixture()
def stored(tmp_path, audit_record) -> str:
    """A store holding `audit_record` as `verify --only audit` stores it."""
    path = str(tmp_path / "s.sqlite")
    config = {"mode": "quick", "seed": 0, "sections": ["audit"]}
    with ResultStore(path) as db:
        db.put(config_key(config, kind="verify"), config, audit_record, kind="verify")
    return path


def test_every_check_has_a_unique_id_and_a_known_result(audit_record):
    ids = [c["id"] for c in audit_record["checks"]]
    assert len(ids) == len(set(ids)) and all(i.startswith("audit.") for i in ids)
    labels = {r.label for r in results()}
    assert {c["result"] for c in audit_record["checks"]} <= labels
    # ids name the step, not its numbers: the same on a second run
    assert ids == [c["id"] for c in verify(quick=True, seed=1, sections=("audit",), workers=1)["checks"]]


def test_by_label_reaches_the_checks_and_defects_of_a_result(audit_record):
    h1 = by_label("4.21")
    assert h1 is by_label("Theorem 4.21") or h1.label == by_label("H.1").label == "H.1"
    checks = h1.checks(audit_record)
    assert sum(c["verdict"] == "contradicted" for c in checks) == H1_AUDIT_CONTRADICTED
    assert {"audit.witness.H.1.144-145", "audit.witness.H.1.144", "audit.witness.H.1.150",
            "audit.chain.H.1.statement"} <= {c["id"] for c in checks}
    assert "audit.witness.F.1.107" not in {c["id"] for c in checks}
    # the paper's defects by the result they are in (verify/defects.py registry)
    assert {d["id"] for d in h1.defects(audit_record)} == {"H1-task-spread", "H1-144-Do", "H1-150"}
    assert {d["id"] for d in by_label("F.1").defects(audit_record)} == {"F1-107"}
    assert {d["id"] for d in by_label("Lemma A.2").defects(audit_record)} == {"A2-44", "A2-range"}
    assert {d["id"] for d in by_label("Section 3").defects(audit_record)} == {"S3-10"}
    # a lemma's own checks: Lemma A.2's constants inside the theorems' chains, its witness, its units
    a2 = {c["id"] for c in by_label("A.2").checks(audit_record)}
    assert {"audit.chain.paper.F.1.43-C1", "audit.witness.A.2.44", "audit.units.Lemma-A.2-44"} <= a2


def test_audit_chain_prints_statements_chain_and_stored_checks(stored, run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    before = open(stored, "rb").read()
    code, out, err = run_cli(["audit", "--chain", "4.21", "--store", stored])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:3] == ["H.1 (4.21, Theorem 4.21, Theorem H.1)", "  Theorem H.1: Theorem H.1, eq. (131)",
                         "  repaired Theorem H.1: repaired Theorem H.1, eq. (131″)"]
    assert "Theorem H.1 (paper): the proof step by step" in out and "failing steps: (44)" in out
    assert f"contradicted {H1_AUDIT_CONTRADICTED}," in out and "audit.witness.H.1.150" in out
    assert "H1-task-spread" in out and "audit.witness.F.1.107" not in out
    # the same result by its other labels; the store is read, not written
    assert run_cli(["audit", "--chain", "Theorem 4.21", "--store", stored])[1] == out
    assert run_cli(["audit", "--chain", "H.1", "--store", stored])[1] == out
    assert open(stored, "rb").read() == before
    code, out, _ = run_cli(["audit", "--chain", "H.1", "--theory", "repaired", "--store", stored])
    assert code == 0 and "Theorem H.1 (repaired): the proof step by step" in out and "every step holds" in out


def test_audit_chain_of_a_lemma_and_without_a_record(tmp_path, stored, run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["audit", "--chain", "Lemma 4.11", "--store", stored])
    assert code == 0
    assert out.splitlines()[:3] == ["Lemma 4.11 (4.11)", "  Lemma 4.11 (first moment): Lemma 4.11, eq. (28), left",
                                    "  Lemma 4.11 (second moment): Lemma 4.11, eq. (28), right"]
    assert "no proof chain of its own" in out and "audit.chain.paper.F.1.28-E-β-²" in out
    missing = str(tmp_path / "none.sqlite")
    code, out, err = run_cli(["audit", "--chain", "F.1", "--store", missing])
    assert code == 0 and err == ""
    assert out.splitlines()[-1].startswith(f"no verification record of this code in {missing}: run `mamltheory verify`")
    assert stored_record(missing) is None
    code, out, _ = run_cli(["audit", "--chain", "Lemma 4.11", "--store", stored, "--json"])
    doc = json.loads(out)
    assert doc["result"] == "Lemma 4.11" and len(doc["statements"]) == 2
    assert {c["result"] for c in doc["checks"]} == {"Lemma 4.11"}


@pytest.mark.parametrize("label", ["X.9", "4.99", "Theorem", ""])
def test_audit_chain_bad_label_is_one_line(run_cli, label):
    code, out, err = run_cli(["audit", "--chain", label])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("mamltheory audit: --chain: no result labelled") and "H.1" in err
