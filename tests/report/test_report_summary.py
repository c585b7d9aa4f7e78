"""`mamltheory report` on the terminal: a summary screen (the tables are in the files, or with --verbose), a
progress bar fed by `verify`, the commit of the code, and links that work from the report's folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mamltheory.verify import run as verify_run
from mamltheory.verify.defects import lead_line

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def audit_only(monkeypatch):
    """The real audit (exact arithmetic, a few seconds); every other section instantly empty."""
    real = verify_run.RUNNERS["audit"]
    monkeypatch.setattr(verify_run, "RUNNERS", {**{s: (lambda *_a: []) for s in verify_run.SECTIONS}, "audit": real})
    monkeypatch.setattr(verify_run, "timings", lambda *_a: [])
    monkeypatch.setattr(verify_run, "WORKERS", 1)  # the replaced runners exist in this process only


def test_report_prints_a_summary_and_verbose_the_tables(tmp_path, run_cli, audit_only, monkeypatch):
    record = verify_run.verify(quick=True, seed=0)  # the same checks, computed apart from the command
    counts = record["summary"]
    store, out = str(tmp_path / "s.sqlite"), tmp_path / "r"
    code, text, err = run_cli(["report", "--store", store, "--out", str(out)])
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0].startswith(f"{counts['checks']} checks: holds {counts['holds']} ")
    assert f"contradicted {counts['contradicted']}," in lines[0]
    assert lines[1] == lead_line(record["defects"]) + ":"
    assert [line.split(":")[0].strip() for line in lines[2:2 + len(record["defects"])]] == [
        d["id"] for d in record["defects"]]
    assert lines[-1].startswith(f"report written to {out / 'report.md'} ")
    assert len(lines) == 3 + len(record["defects"])  # the counts, the defects, where the files are: no tables
    bad = [c["name"] for c in record["checks"] if c["verdict"] == "contradicted"]
    assert bad and not any(name in text for name in bad)
    monkeypatch.setenv("COLUMNS", "2000")  # the verbose tables unfolded: each check name on one line
    code, verbose, _ = run_cli(["report", "--store", store, "--out", str(out), "--verbose"])
    assert code == 0 and "mamltheory verify" in verbose and all(name in verbose for name in bad)
    assert verbose.splitlines()[-1] == lines[-1]


def test_verify_advances_once_per_section_and_once_for_the_timings(audit_only):
    calls = []
    verify_run.verify(quick=True, seed=0, sections=("lemma", "scaling", "theorem"), advance=lambda: calls.append(1))
    assert len(calls) == 4 == verify_run.steps(("lemma", "scaling", "theorem"))
    calls.clear()
    verify_run.verify(quick=True, seed=0, sections=("lemma",), advance=lambda: calls.append(1))
    assert len(calls) == 1


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_source_commit_of_a_checkout_and_of_an_installed_copy(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "clone"
    shutil.copytree(REPO / "mamltheory", repo / "mamltheory", ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    head = _git(repo, "rev-parse", "--short", "HEAD")
    assert verify_run.source_commit(repo / "mamltheory") == head  # an editable install runs the checkout
    installed = tmp_path / "site-packages" / "mamltheory"  # `pip install .` copies the sources out of git
    shutil.copytree(repo / "mamltheory", installed)
    monkeypatch.chdir(tmp_path)
    assert verify_run.source_commit(installed) is None  # not run from the checkout: no commit is known
    monkeypatch.chdir(repo)
    assert verify_run.source_commit(installed) == head  # the checkout here holds exactly these sources
    (installed / "store.py").write_text("# edited after installing\n", encoding="utf-8")
    assert verify_run.source_commit(installed) is None  # no longer what HEAD holds
    (repo / "mamltheory" / "store.py").write_text("# edited in the checkout\n", encoding="utf-8")
    assert verify_run.source_commit(repo / "mamltheory") == f"{head}+modified"


def test_repairs_link_resolves_from_the_report_folder(tmp_path, monkeypatch):
    from mamltheory.report.markdown import repairs_link

    monkeypatch.chdir(REPO)
    out = REPO / "reports" / "quick"
    link = repairs_link(out)
    assert link == "[docs/repaired-theorems.md](../../docs/repaired-theorems.md)"
    assert (out / "../../docs/repaired-theorems.md").resolve().is_file()
    monkeypatch.chdir(tmp_path)  # not a checkout: no docs/ to link to
    assert repairs_link(tmp_path / "r") == "docs/repaired-theorems.md in the mamltheory repository"


def test_contradicted_rows_show_the_claim_and_the_finding():
    from mamltheory.report.markdown import _short_table

    audit = {"name": "constant: Theorem G.1, end of G.1 [α²Lσ²]", "source": "Theorem G.1, end of G.1 [α²Lσ²]",
             "defect": "G1-last-step", "evidence": "…", "ratio": None, "observed": None, "bound": None,
             "details": {"claimed": "1/6 = 0.166667", "derived": "169/864 = 0.195602"}}
    sim = {"name": "(147) bias on the opposed kinks", "source": "Theorem H.1 proof, eq. (147)", "defect": "H1-task-spread",
           "evidence": "…", "ratio": 5.0, "observed": 0.0445, "bound": 0.0089, "details": {}}
    rows = _short_table([audit, sim]).splitlines()[2:]
    assert rows[0] == "| constant: Theorem G.1, end of G.1 [α²Lσ²] | G1-last-step | 1/6 = 0.166667 | 169/864 = 0.195602 |"
    assert rows[1] == ("| (147) bias on the opposed kinks (Theorem H.1 proof, eq. (147)) | H1-task-spread | 0.0089 "
                       "| 0.0445 (ratio 5) |")
