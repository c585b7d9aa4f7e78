"""Fuzz harness of the fault classes: each class of hostile input, fed to every command that can
meet it, must give one line on stderr naming the flag (or file) and the rule, exit 2 (143 for SIGTERM), no
traceback, and leave no process running.

The file classes run in one child interpreter per class (`run_batch`), in its own process group, with an
address-space limit and a timeout: a regression that blocks on a FIFO or reads /dev/zero fails the test
instead of hanging or swapping the machine. The next fault of a known class should be found here first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUGE = "1" * 401  # the issue's --replicates value: float() of it overflows
HUGER = "1" * 5000  # beyond Python's default limit on the digits int() converts
CHILD_AS_LIMIT = 6 * 2**30  # the children's RLIMIT_AS: numpy and a torch import fit, a read of /dev/zero does not

CHILD = r"""
import contextlib, io, json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from mamltheory.cli import main
for line in sys.stdin:
    argv = json.loads(line)
    print(json.dumps({"start": argv}), flush=True)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            code = "uncaught " + type(exc).__name__
    print(json.dumps({"argv": argv, "code": code, "err": err.getvalue()}), flush=True)
"""


def group_members(pgid: int) -> list[str]:
    """Processes of process group `pgid` that are not zombies (from /proc: field 5 of stat is the group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{entry.name} {stat[:stat.rindex(')') + 1]}")
    return found


def assert_group_ends(pgid: int) -> None:
    """Every process of the group ends (a worker killed by the parent may take a moment to be reaped)."""
    deadline = time.monotonic() + 30
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_members(pgid), group_members(pgid)


def run_batch(argvs: list[list[str]], cwd: Path, timeout: float = 240) -> list[dict]:
    """Each argv through `mamltheory.cli.main` in one child interpreter: [{argv, code, err}], in order."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(CHILD_AS_LIMIT)], cwd=cwd, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        out, err = proc.communicate("".join(json.dumps(a) + "\n" for a in argvs), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        started = [json.loads(line)["start"] for line in out.splitlines() if '"start"' in line]
        pytest.fail(f"no answer within {timeout} s; the last argv started: {started[-1] if started else None}")
    results = [json.loads(line) for line in out.splitlines() if line.startswith('{"argv"')]
    assert proc.returncode == 0 and len(results) == len(argvs), f"{out[-3000:]}\n{err[-3000:]}"
    assert_group_ends(proc.pid)
    return results


def check_one_line(result: dict, needles: tuple[str, ...], code: int = 2) -> None:
    """Exit `code`, exactly one line on stderr, starting with the command, holding every needle."""
    argv, err = result["argv"], result["err"]
    lines = [line for line in err.splitlines() if line.strip()]
    shown = [a[:60] for a in argv]
    assert result["code"] == code, f"{shown}: exit {result['code']}: {err[-2000:]}"
    assert len(lines) == 1 and "Traceback" not in err, f"{shown}: {err[-2000:]}"
    assert lines[0].startswith(f"mamltheory {argv[0]}: "), f"{shown}: {lines[0]}"
    for needle in needles:
        assert needle in lines[0], f"{shown}: {needle!r} not in {lines[0]!r}"


PLAN = ["--L", "1", "--rho", "1", "--sigma", "0.5", "--sigma-tilde", "1", "--sigma-h", "1", "--eps", "0.1",
        "--initial-gap", "10"]
SIM = ["simulate", "--problem", "quadratic", "--algorithm", "fo-maml", "--iterations", "2", "--replicates", "1",
       "--param", "d=2", "--store", "s.sqlite"]
EST = ["estimate", "--problem", "quadratic", "--points", "2", "--run-steps", "1", "--param", "d=2"]
SWEEP_TOML = '[base]\nproblem = "quadratic"\nalgorithm = "fo-maml"\niterations = 2\n[grid]\nseed = [0]\n'


def file_readers(path: str) -> list[tuple[list[str], tuple[str, ...]]]:
    """Every command that reads an input file, given `path`, and what its line must name."""
    return [(["plan", "--constants", path, *PLAN[-4:]], ("--constants",)),
            (["plan", "--from-estimate", path, "--eps", "0.1"], ("--from-estimate",)),
            (["sweep", path, "--store", "s.sqlite"], (path, "the sweep config")),
            (["store", "check", path], (path,)),
            (["store", "repair", path], (path,)),
            ([*SIM[:-1], path], (path,))]  # simulate --store PATH


def special_files(tmp: Path) -> dict[str, str]:
    fifo = tmp / "fifo"
    os.mkfifo(fifo)
    (tmp / "folder").mkdir()
    return {"fifo": str(fifo), "folder": str(tmp / "folder"), "/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom"}


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom", "folder"])
def test_input_files_must_be_regular(tmp_path: Path, kind: str) -> None:
    path = special_files(tmp_path)[kind]
    rule = {"fifo": "a FIFO", "folder": "a folder"}.get(kind, "a character device")
    cases = file_readers(path)
    if kind == "fifo" and importlib.util.find_spec("torch") is not None:  # simulate --torch --from-estimate
        factory = tmp_path / "f.py"
        factory.write_text("def make():\n    raise AssertionError('the estimate file is read first')\n")
        cases.append((["simulate", "--torch", f"{factory}:make", "--algorithm", "fo-maml", "--from-estimate", path,
                       "--store", "s.sqlite"], ("--from-estimate",)))
    results = run_batch([argv for argv, _ in cases], tmp_path)
    for result, (_, needles) in zip(results, cases):
        check_one_line(result, (*needles, rule))
    assert not (tmp_path / "s.sqlite").exists()


def test_input_files_missing_or_too_large(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * (5 * 2**20 // 10))  # 5 MiB: above the 4 MiB limit of a text input
    cases = [(argv, (*needles, "no such")) for argv, needles in file_readers(str(tmp_path / "missing"))
             if argv[0] != "simulate"]  # simulate creates a missing store: that is its job
    cases += [(argv, (*needles, "larger than 4 MiB")) for argv, needles in file_readers(str(big))
              if argv[0] in ("plan", "sweep")]
    for result, (_, needles) in zip(run_batch([a for a, _ in cases], tmp_path), cases):
        check_one_line(result, needles)


def test_deep_nesting_is_refused_before_parsing(tmp_path: Path) -> None:
    deep = {"arrays.toml": "L = " + "[" * 50_000 + "1" + "]" * 50_000 + "\n",
            "tables.toml": "L = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n",
            "arrays.json": "[" * 100_000 + "]" * 100_000,
            "objects.json": '{"a": ' * 50_000 + "1" + "}" * 50_000}
    for name, text in deep.items():
        (tmp_path / name).write_text(text)
    sweep_deep = tmp_path / "sweep.toml"
    sweep_deep.write_text(SWEEP_TOML + "[base.params]\nd = " + "[" * 50_000 + "]" * 50_000 + "\n")
    cases = [(["plan", "--constants", "arrays.toml", *PLAN[-4:]], ("--constants", "more than 64 deep")),
             (["plan", "--constants", "tables.toml", *PLAN[-4:]], ("--constants", "more than 64 deep")),
             (["plan", "--from-estimate", "arrays.json", "--eps", "0.1"], ("--from-estimate", "more than 64 deep")),
             (["plan", "--from-estimate", "objects.json", "--eps", "0.1"], ("--from-estimate", "more than 64 deep")),
             (["sweep", str(sweep_deep), "--store", "s.sqlite"], (str(sweep_deep), "more than 64 deep"))]
    for result, (_, needles) in zip(run_batch([a for a, _ in cases], tmp_path), cases):
        check_one_line(result, needles)


def test_huge_integers_are_out_of_range(tmp_path: Path) -> None:
    (tmp_path / "reps.toml").write_text(SWEEP_TOML.replace("iterations = 2", f"iterations = 2\nreplicates = {HUGE}"))
    (tmp_path / "param.toml").write_text(SWEEP_TOML + f"[base.params]\nd = {HUGE}\n")
    (tmp_path / "noise.toml").write_text(SWEEP_TOML + f"[base.params]\nnoise = {HUGE}\n")
    cases = [([*SIM, flag, value], (flag if flag != "--param" else "d:", rule)) for flag, value, rule in [
        ("--replicates", HUGE, "[1, 9007199254740992]"), ("--replicates", HUGER, "an integer >= 1"),
        ("--iterations", HUGE, "[1, 9007199254740992]"), ("--seed", HUGE, "[0, 4294967295]"),
        ("--k-shot", HUGE, "[1, 9007199254740992]"), ("--hessian-chunk", HUGE, "[1, 9007199254740992]"),
        ("--batch", f"{HUGE},1,1,1", "[1, 9007199254740992]"), ("--param", f"d={HUGE}", "[1, 9007199254740992]")]]
    cases += [(["plan", "--k-shot", HUGE, *PLAN[:10], "--alpha", "0.1"], ("--k-shot",)),
              (["plan", "--batch", f"{HUGE},1,1,1", *PLAN, "--alpha", "0.1"], ("--batch",)),
              ([*EST, "--points", HUGE], ("--points", "[2, 1000000]")),
              ([*EST, "--param", f"d={HUGE}"], ("d:", "[1, 9007199254740992]")),
              ([*EST, "--param", f"noise={HUGE}"], ("noise:", "finite")),
              (["sweep", "reps.toml", "--workers", HUGE], ("--workers", "[1, 1024]")),
              (["sweep", "reps.toml", "--max-attempts", HUGE], ("--max-attempts",)),
              (["sweep", "reps.toml", "--store", "s.sqlite"], ("base.replicates", "[1, 9007199254740992]")),
              (["sweep", "param.toml", "--store", "s.sqlite"], ("base.params.d", "[1, 9007199254740992]")),
              (["sweep", "noise.toml", "--store", "s.sqlite"], ("base.params.noise", "finite")),
              (["verify", "--seed", HUGE], ("--seed", "[0, 4294967295]")),
              (["report", "--seed", HUGE], ("--seed", "[0, 4294967295]"))]
    for result, (_, needles) in zip(run_batch([a for a, _ in cases], tmp_path), cases):
        check_one_line(result, needles)
        assert len(result["err"]) < 400, result["err"]  # the value is shown cut, not in its 401 digits
    assert not (tmp_path / "s.sqlite").exists() and not (tmp_path / "reports").exists()


def test_memory_admission_under_an_address_space_limit(tmp_path: Path) -> None:
    # d = 1000 needs about 11 GiB (quadratic family's certificates): more than the child's RLIMIT_AS allows,
    # whatever the machine's RAM; the refusal names the limit that binds.
    (result,) = run_batch([[*SIM[:-4], "--param", "d=1000", "--store", "s.sqlite"]], tmp_path)
    check_one_line(result, ("d:", "GiB of memory (estimate)"))
    assert "RLIMIT_AS" in result["err"] or "MemAvailable" in result["err"], result["err"]
    assert not (tmp_path / "s.sqlite").exists()


def test_outputs_empty_full_or_misplaced(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    sqlite3.connect(store).close()  # an existing store without the sweep
    os.mkfifo(tmp_path / "fifo")  # an output nobody reads: opening it to write would block
    cases = [(["report", "--out", "", "--store", str(store)], ("--out", "empty")),
             (["report", "--sweep", "nope", "--store", str(store)], ("--sweep", "no sweep named 'nope'")),
             (["report", "--sweep", "nope", "--store", str(store), "--out", "a/b"], ("--sweep",)),
             ([*EST, "--out", ""], ("--out", "empty")),
             ([*EST, "--out", "/dev/full"], ("--out", "/dev/full", "No space left on device")),
             ([*EST, "--out", "fifo"], ("--out", "a FIFO that no process reads"))]
    for result, (_, needles) in zip(run_batch([a for a, _ in cases], tmp_path), cases):
        check_one_line(result, needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "s.sqlite"]  # no report, no reports/, no a/


def test_empty_store_file_is_not_called_read_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    results = run_batch([["store", "check", str(empty)], ["store", "repair", str(empty)]], tmp_path)
    for result in results:
        check_one_line(result, (str(empty), "empty file (0 bytes)", "holds no results"))
        assert "read-only" not in result["err"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"] and empty.read_bytes() == b""


# ---- SIGTERM: the Ctrl-C treatment, exit 143 ---------------------------------------------------------------
def terminate(args: list[str], cwd: Path, started: Callable[[], bool], whole_group: bool,
              env: dict[str, str]) -> tuple[int, str]:
    """SIGTERM to the command (or its whole process group) once `started()` holds; (status, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "mamltheory.cli", *args], cwd=cwd, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not started() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None, f"finished before SIGTERM: {proc.stderr.read()}"
        if whole_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_group_ends(proc.pid)  # no worker, no resource tracker left behind
    return proc.returncode, err


SIGTERMED = {
    "simulate": ["simulate", "--problem", "quadratic", "--algorithm", "maml", "--iterations", "2000000",
                 "--replicates", "4"],
    "sweep": ["sweep", "long.toml", "--workers", "2"],
    "verify": ["verify", "--only", "lemma,theorem"],
    "report": ["report"],
}


@pytest.mark.parametrize("command, whole_group", [("simulate", False), ("sweep", False), ("sweep", True),
                                                   ("verify", False), ("report", True)])
def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, command: str, whole_group: bool) -> None:
    from mamltheory.sweep.worker import TRACE_ENV

    store = tmp_path / "s.sqlite"
    runs = "".join(f"[[runs]]\nseed = {s}\n" for s in range(4))
    (tmp_path / "long.toml").write_text(SWEEP_TOML.replace("iterations = 2", "iterations = 2000000")
                                        .replace("[grid]\nseed = [0]\n", runs))
    trace = tmp_path / "trace"  # each sweep worker appends "start KEY PID" as it begins a run

    def started() -> bool:
        if command != "sweep":
            return store.exists()
        return trace.exists() and len({ln.split()[2] for ln in trace.read_text().splitlines()}) == 2

    code, err = terminate([*SIGTERMED[command], "--store", str(store)], tmp_path, started, whole_group,
                          {TRACE_ENV: str(trace)})
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 143, err
    assert "Traceback" not in err and "leaked" not in err and "KeyboardInterrupt" not in err, err
    assert sum("terminated (SIGTERM)" in line for line in lines) == 1, err
    assert lines[-1].startswith(f"mamltheory {command}: terminated (SIGTERM); ") and str(store) in lines[-1], err
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM failures").fetchone() == (0,)  # no run counted as a death
