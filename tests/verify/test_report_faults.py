"""`report` and `verify` faults: flags checked before any work, report exits like verify."""

from __future__ import annotations

import pytest

from mamltheory.verify import run as verify_run


@pytest.fixture
def no_checks(monkeypatch):
    """Every section instantly empty, except the audit, which raises: its check 'could not run'."""
    calls = []

    def broken(*_args):
        calls.append("audit")
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(verify_run, "RUNNERS", {**{s: (lambda *_a: []) for s in verify_run.SECTIONS}, "audit": broken})
    monkeypatch.setattr(verify_run, "timings", lambda *_a: [])
    monkeypatch.setattr(verify_run, "WORKERS", 1)  # the replaced runners exist in this process only
    return calls


def test_report_exits_3_when_a_check_could_not_run(tmp_path, run_cli, no_checks):
    code, _, err = run_cli(["report", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r")])
    assert no_checks == ["audit"]
    assert code == 3  # as `verify`: the report is written, but one check did not run
    assert list((tmp_path / "r").glob("*.md"))
    assert run_cli(["verify", "--store", str(tmp_path / "s2.sqlite")])[0] == 3


@pytest.mark.parametrize("argv,flag", [
    (["verify", "--seed", str(10**30)], "--seed"), (["verify", "--seed", "-1"], "--seed"),
    (["verify", "--seed", "1.5"], "--seed"), (["verify", "--only", "lemma,nope"], "--only"),
    (["report", "--seed", str(10**30)], "--seed"), (["report", "--out", "/proc/rep"], "--out"),
    (["report", "--sweep", "x", "--out", "/proc/rep"], "--out"),
])
def test_bad_flags_fail_before_any_work(tmp_path, run_cli, no_checks, argv, flag):
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli([*argv, "--store", str(store)])
    assert code == 2 and err.count("\n") == 1 and flag in err and "Traceback" not in err, err
    assert no_checks == [] and not store.exists()  # nothing ran, nothing was opened


def test_report_out_that_is_a_file(tmp_path, run_cli, no_checks):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli(["report", "--out", str(f), "--store", str(tmp_path / "s.sqlite")])
    assert code == 2 and "--out" in err and "not a folder" in err and no_checks == []


def test_estimate_out_checked_before_computing(tmp_path, run_cli):
    code, _, err = run_cli(["estimate", "--problem", "quadratic", "--out", str(tmp_path)])
    assert code == 2 and "--out" in err and "is a folder" in err
    code, _, err = run_cli(["estimate", "--problem", "quadratic", "--out", "/proc/e.json"])
    assert code == 2 and "--out" in err and err.count("\n") == 1
    code, _, err = run_cli(["estimate", "--problem", "quadratic", "--out", str(tmp_path / "no" / "e.json")])
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("flag", ["--points", "--run-steps"])
def test_estimate_counts_beyond_any_computation(run_cli, flag):
    code, _, err = run_cli(["estimate", "--problem", "quadratic", flag, str(10**30)])
    assert code == 2 and f"{flag}: must be an integer in" in err and err.count("\n") == 1
