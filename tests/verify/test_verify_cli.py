"""`mamltheory verify` exit statuses and JSON; `mamltheory report` renders Markdown and plots."""

import json

from mamltheory.report.markdown import build
from mamltheory.verify.run import exit_status, verify


def test_verify_audit_section_exit_codes(tmp_path, run_cli):
    store = str(tmp_path / "s.sqlite")
    code, out, _ = run_cli(["verify", "--only", "audit", "--store", store, "--json"])
    assert code == 0
    record = json.loads(out)
    assert {"provenance", "checks"} <= set(record) and record["provenance"]["mode"] == "quick"
    assert all({"id", "result", "name", "source", "verdict"} <= set(c) for c in record["checks"])
    assert any(c["verdict"] == "contradicted" for c in record["checks"])  # the audit's failing constants
    # --strict turns a contradicted claim into exit 1; the stored record is reused
    assert run_cli(["verify", "--only", "audit", "--store", store, "--strict"])[0] == 1


def test_verify_bad_input_exit_2(run_cli):
    code, _, err = run_cli(["verify", "--only", "lemmas"])
    assert code == 2 and "--only: sections must be among" in err and err.count("\n") == 1
    code, _, err = run_cli(["verify", "--quick", "--full"])  # argparse's mutually exclusive group
    assert code == 2 and err.count("\n") == 1


def test_a_section_that_fails_is_an_error(monkeypatch):
    from mamltheory.verify import run as vr

    def boom(*args):
        raise RuntimeError("broken section")

    monkeypatch.setitem(vr.RUNNERS, "lemma", boom)
    record = verify(sections=("lemma",))
    assert record["checks"][0]["verdict"] == "error" and "broken section" in record["checks"][0]["evidence"]
    assert exit_status(record, strict=False) == 3


def test_report_renders_sections_and_plots(tmp_path):
    store = str(tmp_path / "s.sqlite")
    record = verify(sections=("audit",), store=store)
    record["checks"].append({"id": "scaling.bias-floor-alpha.fo-maml.x", "result": "G.1",
                             "name": "fo-maml bias floor vs α on x", "source": "s", "kind": "scaling",
                             "verdict": "holds", "observed": 1.0, "bound": 1.0, "ratio": None, "evidence": "e",
                             "details": {"algorithm": "fo-maml", "alpha": [0.01, 0.02, 0.04],
                                         "floor": [1e-5, 2e-5, 4e-5]}})
    path = build(record, store, tmp_path / "rep", "mamltheory report")
    text = "\n".join(f.read_text() for f in sorted(path.parent.glob("*.md")))  # report.md and its appendices
    for heading in ("## Encoded results", "## Planner, reference configuration", "# Audit of the paper's arithmetic",
                    "## Provenance", "Regenerate with: `mamltheory report`"):
        assert heading in text
    assert "Theorem F.1, eq. (86)" in text and "$" in text
    png = (tmp_path / "rep" / "floors.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_bracketed_sources_are_printed_not_read_as_markup(run_cli, monkeypatch):
    # rich reads "[spread]" as a style tag and drops it; the audit's own source names carry such labels
    from mamltheory.verify.audit import findings

    labelled = sorted({f.source for f in findings() if "[" in f.source})
    assert "Theorem H.1, eq. (145) [spread]" in labelled
    monkeypatch.setenv("COLUMNS", "2000")
    code, out, _ = run_cli(["audit"])
    assert code == 0 and all(source in out for source in labelled)


def test_a_worker_that_dies_is_an_error_check_not_a_traceback(monkeypatch):
    """A section's worker killed by the OS (out of memory, say) breaks the pool: that section, and every one
    queued behind it, becomes one ERROR check saying so; the sections that finished are kept."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from mamltheory.verify import run as vr

    class DeadPool:
        """A pool whose audit worker finishes and whose other workers die."""
        def submit(self, fn, section, *args):
            f: Future = Future()
            if section == "audit":
                f.set_result([])
            else:
                f.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return f

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(vr, "spawn_pool", lambda workers: DeadPool())
    out = vr._in_parallel(("audit", "lemma", "plans"), True, 0, ":memory:", 2, lambda _m: None, lambda: None)
    assert out["audit"] == []
    for section in ("lemma", "plans"):
        [err] = out[section]
        assert err.verdict == "error" and "died" in err.evidence and "out of memory" in err.evidence
