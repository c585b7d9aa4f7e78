"""`mamltheory report`'s Markdown: a first screen a theorist reads, appendices, numbers as numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mamltheory.report import markdown as md
from mamltheory.verify.defects import lead_line


def check(name, source, kind, verdict="holds", evidence="e", ratio=0.5, details=None, id="x", result="-"):
    return {"id": id, "result": result, "name": name, "source": source, "kind": kind, "verdict": verdict,
            "observed": 0.5, "bound": 1.0,
            "ratio": ratio, "direction": "upper", "tight": False, "power": 1.1, "evidence": evidence,
            "details": details or {}}


# numpy 2 reprs, as an f-string with a list of numpy scalars writes them (the leak of reports/report.md)
LEAK = f"αL ∈ {[np.float64(0.1), np.float64(1.0)]}, n = {[np.int64(3)]}, flag {np.True_!r}, {np.str_('x')!r}"


def synthetic_record(n_lemma: int = 400) -> dict:
    """A record shaped like `verify`'s: many passing lemma checks with long evidence (they must not reach
    report.md), some contradicted ones, the three kinds of tightness rows, a bias-floor scaling check."""
    lemma = [check(f"Lemma 4.9 on family-{i}", "Lemma 4.9, eq. (23)", "lemma", evidence=LEAK + " " + "x" * 300)
             for i in range(n_lemma)]
    bad = [
        check("Falsification: Lemma A.2 (44)", "Lemma A.2, eq. (44)", "counterexample", "contradicted", ratio=1.083,
              id="falsify.search.lemma_a2_44", result="Lemma A.2"),
        check("hf-maml bias floor vs α on tanh-regression", "Theorem H.1, eq. (131)", "scaling", "contradicted",
              ratio=2.0, id="scaling.bias-floor-alpha.hf-maml.tanh-regression", result="H.1",
              details={"floor_cap": [3.0]}),  # bound 1: the floor the paper's δ rule allows, ratio 3 at most
        check("mystery", "Lemma 4.12, eq. (31)", "lemma", "contradicted", ratio=1.5),  # no defect explains it
    ]
    tight = [
        check("Tightness: Lemma A.2 (44)", "Lemma A.2, eq. (44)", "tightness", "contradicted", ratio=1.083,
              id="tightness.Lemma-A.2-44", result="Lemma A.2",
              details={"result": "Lemma A.2", "claim": "(44)", "worst_ratio": np.float64(1.0830), "search": "lemma_a2_44",
                       "instance": {"p": [0.5, 0.5], "a": [1.0], "label": "f_i(w) = -(L/2) w^2 ± b w"},
                       "recipe": "x = {}\nprint(1)"}),
        check("Tightness: Theorem F.1 (paper) accuracy", "Theorem F.1, eqs. (86), (87)", "tightness", ratio=0.93,
              details={"result": "Theorem F.1 (paper)", "claim": "accuracy", "worst_ratio": 0.93, "ratio_exact": False,
                       "setting": "plateau R = 5, b = 1, w_0 = 0", "eps": 0.0123, "recipe": "print(2)"}),
        *(check(f"Tightness: quadratic certificate {k}", "Assumptions 4.3-4.6, eqs. (17)-(22)", "tightness",
                "vacuous" if k == "rho" else "holds",
                details={"result": f"quadratic: {k}", "claim": "certificate / estimate", "family": "quadratic",
                         "constant": k, "looseness": float("inf") if k == "rho" else loose,
                         "worst_ratio": 0.0 if k == "rho" else 1 / loose, "recipe": "print(3)"})
          for k, loose in (("L", 1.25), ("rho", None), ("sigma", 4.0))),
    ]
    floor = check("fo-maml bias floor vs α on x", "Theorem G.1, eq. (113)", "scaling",
                  details={"algorithm": "fo-maml", "alpha": [0.01, 0.02, 0.04], "floor": [1e-5, 2e-5, 4e-5]},
                  id="scaling.bias-floor-alpha.fo-maml.x", result="G.1")
    return {"provenance": {"mamltheory": "0.1", "commit": "abc1234", "seed": np.int64(0), "mode": "quick",
                           "wall_seconds": np.float64(12.5)},
            "checks": [*lemma, *bad, *tight, floor]}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    record = synthetic_record()
    path = md.build(record, str(out / "none.sqlite"), out, "mamltheory report")
    return record, path


def test_main_file_is_a_summary_under_30_kb(rendered):
    record, path = rendered
    text = path.read_text(encoding="utf-8")
    # 400 lemma checks with ~400 bytes of evidence each are 160 KB: none of it belongs in the summary
    assert len(path.read_bytes()) < md.MAIN_LIMIT == 30_000
    assert "Lemma 4.9 on family-7" not in text
    assert "Lemma 4.9 on family-7" in (path.parent / "appendix-checks.md").read_text(encoding="utf-8")


def test_first_screen_has_defects_plan_and_tightness(rendered):
    record, path = rendered
    top = path.read_text(encoding="utf-8").splitlines()[:50]   # three theories: 9 plan rows
    assert top[0] == "# mamltheory report"
    assert top[2].startswith("Regenerate with: `mamltheory report` · commit abc1234 · quick mode · seed 0 · 12.5 s of checks")
    # 400 + 3 + 5 + 1 checks; by hand: holds 400 lemma + 1 tightness row + 2 certificates + 1 floor
    assert "**409 checks: holds 404 (power <= 1.1), vacuous 1, contradicted 4, inconclusive 0, error 0.**" in top
    lead = "## " + lead_line(record["defects"])
    assert re.fullmatch(r"## \d+ defects? in the paper \(\d+ breaks? a conclusion\)", lead) and lead in top
    i = top.index(lead)
    assert top[i + 1] == "| defect | source | severity | repair | checks |"
    # the unexplained contradiction is named, not hidden
    assert any("failing checks no defect explains:** mystery" in line for line in top)
    assert "| result | claim | worst ratio | verdict | instance |" in top
    # the plan table whole: header, rule, 3 algorithms × 3 theories
    h = next(k for k, line in enumerate(top) if line.startswith("| algorithm | theory | guaranteed |"))
    rows = top[h + 2:h + 11]
    assert [r.split(" | ")[:2] for r in rows] == [["| " + a, t] for t in ("sharp", "paper", "repaired")
                                                 for a in ("maml", "fo-maml", "hf-maml")]


def test_cheapest_is_the_fewest_samples_among_guaranteed_plans(rendered):
    _, path = rendered
    lines = path.read_text(encoding="utf-8").splitlines()
    h = next(k for k, line in enumerate(lines) if line.startswith("| algorithm | theory | guaranteed |"))
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[h + 2:h + 11]]
    header = [c.strip() for c in lines[h].strip("|").split("|")]
    total, star, ok = header.index("total samples"), header.index("★ cheapest"), header.index("guaranteed")
    # the paper's proofs fail at (44), (107): F.1's and G.1's statements are guaranteed by the repaired proofs
    # (same form, larger K and M), H.1's is not
    assert [r[ok].split(";")[0] for r in cells if r[1] == "paper"][:2] == ["yes, by repaired Theorem F.1",
                                                                        "yes, by repaired Theorem G.1"]
    assert [r[ok] for r in cells if r[1] == "paper"][2].startswith("no: fails at (44)")
    candidates = [(float(r[total]), k) for k, r in enumerate(cells) if r[ok].startswith("yes") and r[total] != "—"]
    assert candidates, "the repaired theory guarantees some plan for the reference configuration"
    assert [k for k, r in enumerate(cells) if r[star] == "★"] == [min(candidates)[1]]


def test_tightness_rows_compact(rendered):
    _, path = rendered
    text = path.read_text(encoding="utf-8")
    assert "| Lemma A.2 | (44) | 1.083 | contradicted | lemma_a2_44, 2 tasks, 1-D, f_i(w) = -(L/2) w^2 ± b w |" in text
    assert "| Theorem F.1 (paper) | accuracy | ≤ 0.93 | holds | plateau R = 5, b = 1, w_0 = 0, ε = 0.0123 |" in text
    # certificates: one row per family; worst estimate/certificate 1/1.25 = 0.8, loosest finite: σ at 4
    assert ("| quadratic: certified constants | sampled estimate / certificate, over L, ρ, σ, σ̃, σ_H | 0.8 | holds "
            "| loosest: sigma certified 4 × its estimate; estimate 0 (placeholder): rho |") in text
    appendix = (path.parent / "appendix-tightness.md").read_text(encoding="utf-8")
    assert "print(2)" in appendix and "print(2)" not in text  # recipes go to the appendix


def test_every_appendix_is_linked_and_exists(rendered):
    _, path = rendered
    text = path.read_text(encoding="utf-8")
    for name in md.APPENDIX.values():
        assert f"]({name}" in text and (path.parent / name).is_file(), name
    assert (path.parent / "floors.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![bias floors against α](floors.png)" in text


def test_no_numpy_repr_in_any_rendered_file(rendered):
    _, path = rendered
    files = sorted(path.parent.glob("*.md"))
    assert len(files) == 1 + len(md.APPENDIX)
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "np.float" not in text and "np.int" not in text and "np.True" not in text, f.name
    assert "αL ∈ [0.1, 1.0], n = [3], flag True, x xxx" in (path.parent / "appendix-checks.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("text,expected", [
    ("[np.float64(0.1), np.float64(1e-05)]", "[0.1, 1e-05]"),
    ("np.int64(-3) np.uint8(7) np.float32(2.5)", "-3 7 2.5"),
    ("np.True_, np.False_, np.str_('a b')", "True, False, a b"),
    ("np.linalg.norm(x) and np.float64 alone", "np.linalg.norm(x) and np.float64 alone"),  # code, not a repr
])
def test_plain(text, expected):
    assert md.plain(text) == expected


@pytest.mark.parametrize("x,expected", [
    (np.float64(0.1), "0.1"), (np.int64(12), "12"), (0.16666666666666666, "0.1667"), (4643522426367, "4.64e12"),
    (931667, "931667"), (float("inf"), "∞"), (None, "—"), (np.float64(2.5e-13), "2.5e-13"), (True, "yes"),
])
def test_num(x, expected):
    assert md._num(x) == expected


def test_real_audit_record_renders_under_the_limit(tmp_path):
    """The audit section of `verify` (about 200 findings, the most failing ones) through the renderer."""
    from mamltheory.verify.run import verify

    store = str(tmp_path / "s.sqlite")
    record = verify(sections=("audit",), store=store)
    path = md.build(record, store, tmp_path / "rep", "mamltheory report")
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < md.MAIN_LIMIT
    top = text.splitlines()[:50]
    assert "## " + lead_line(record["defects"]) in top
    assert "| algorithm | theory | guaranteed | α | c | B | D_in | D_o | D_h | δ | T | total samples | ★ cheapest |" in top
    assert "## Tightness" in top  # no tightness rows in an audit-only record: the section says so
    for f in tmp_path.joinpath("rep").glob("*.md"):
        assert "np.float" not in f.read_text() and "np.int" not in f.read_text()


def test_lemma_4_9_evidence_prints_alpha_l_as_numbers():
    """The leak of reports/report.md at its source: αL ∈ [np.float64(0.1), …] (verify/lemma_checks.py)."""
    from mamltheory.simulate import make_problem
    from mamltheory.verify import lemma_checks as lc

    p = make_problem("quadratic", d=4, n_tasks=8, pool_size=40)
    rng = np.random.default_rng(0)
    W = lc.random_points(p, rng, 5)
    r = lc.check_lemma_4_9(p, *lc.make_pairs(p, W, rng), np.array(lc.ALPHA_L) / p.constants.L)
    # ALPHA_L = (0.1, 1/6, 0.5, 1.0), rounded to 3 digits: 0.1, 0.167, 0.5, 1.0
    assert "αL ∈ [0.1, 0.167, 0.5, 1.0])" in r.evidence and "np." not in r.evidence


def test_many_contradictions_are_counted_by_defect_not_listed(tmp_path):
    """400 contradicted checks (each ~100 bytes as a row: 40 KB) cannot be listed in report.md: they are counted
    by the defect that explains them, and the unexplained ones are named up to MAX_LISTED."""
    record = synthetic_record(n_lemma=0)
    record["checks"] += [check(f"broken lemma {i:03d}", "Lemma 4.12, eq. (31)", "lemma", "contradicted",
                               ratio=1.0 + i / 100, evidence="y" * 200) for i in range(400)]
    path = md.build(record, str(tmp_path / "none.sqlite"), tmp_path, "mamltheory report")
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < md.MAIN_LIMIT
    # unexplained: the 400 broken lemmas and "mystery" (ratio 1.5); largest ratio 1 + 399/100 = 4.99
    assert "| unexplained | 401 | 4.99 |" in text
    # (44): the falsification search and the tightness row, both 1.083
    assert "| A2-44 | 2 | 1.083 |" in text
    assert f"; and {401 - md.MAX_LISTED} more." in text and "broken lemma 399" not in text
    assert "broken lemma 399" in (tmp_path / "appendix-checks.md").read_text(encoding="utf-8")
