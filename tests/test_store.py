"""The one result store: keys by the producing code, checksummed rows, damaged and read-only stores."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mamltheory
import mamltheory.store as store_module
from mamltheory.errors import StoreError
from mamltheory.store import ResultStore, config_key

QUICK = ["simulate", "--problem", "quadratic", "--param", "d=3", "--param", "n_tasks=4", "--param", "pool_size=20",
         "--iterations", "5", "--replicates", "2", "--seed", "3", "--algorithm", "maml", "--batch", "3,2,2,2",
         "--step", "0.01"]
TIMING = ("seconds", "record_seconds")
PAGE = 4096  # SQLite's default page size, the store's
SOURCE = str(Path(mamltheory.__file__).parent.parent)  # PYTHONPATH of the package under test


def numbers(obj: dict) -> dict:
    """A run's JSON without its wall-clock timings and store bookkeeping."""
    return {k: v for k, v in obj.items() if k not in (*TIMING, "cached", "key", "store")}


def subprocess_cli(argv: list[str], pythonpath: str, timeout: float = 120, wrap: list[str] = ()) -> subprocess.CompletedProcess:
    # cwd: `python -m` puts the working folder first on sys.path, before PYTHONPATH
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.run([*wrap, sys.executable, "-m", "mamltheory.cli", *argv], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=Path(pythonpath).parent)


def one_line_exit_2(code: int, out: str, err: str, path: Path | str) -> None:
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err, err


# ---- a stale result is impossible ---------------------------------------------------------------
def test_edited_source_changes_the_key(tmp_path: Path, run_cli) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(Path(mamltheory.__file__).parent, copy / "mamltheory",
                    ignore=shutil.ignore_patterns("__pycache__"))
    store = tmp_path / "s.sqlite"
    argv = [*QUICK, "--json", "--store", str(store)]

    def simulate() -> dict:  # a fresh process on the copy
        done = subprocess_cli(argv, str(copy))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # computed here, served to a fresh process on the byte-identical copy: the key is the code's, not its place
    code, out, err = run_cli(argv)
    assert code == 0, err
    first, second = json.loads(out), simulate()
    assert (first["cached"], second["cached"]) == (False, True) and first["key"] == second["key"]
    algorithms = copy / "mamltheory" / "simulate" / "algorithms.py"
    algorithms.write_text(algorithms.read_text() + "\n# an edited comment\n")
    third = simulate()
    assert third["cached"] is False and third["key"] != first["key"]
    assert numbers(third) == numbers(first)  # a comment changes the key, not the numbers
    with ResultStore(store) as s:  # and the edited code's result is stored under its own key, beside the first
        assert s.get(third["key"]) is not None and s.get(first["key"]) is not None

    def verify_hash() -> str:
        done = subprocess.run([sys.executable, "-c", "from mamltheory.store import code_hash; "
                               "print(code_hash('verify'), code_hash('simulate'))"],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(copy)},
                              cwd=tmp_path)
        return done.stdout

    before = verify_hash()
    check = copy / "mamltheory" / "verify" / "check.py"
    check.write_text(check.read_text() + "\n# edited\n")
    after = verify_hash()
    # verify's hash covers verify/, simulate's does not
    assert before.split()[0] != after.split()[0] and before.split()[1] == after.split()[1]
    command = copy / "mamltheory" / "simulate" / "command.py"
    command.write_text(command.read_text() + "\n# a command module is not a result's source\n")
    assert verify_hash() == after


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the package that `code_hash` hashes instead of the real one (its cache cleared both ways)."""
    copy = tmp_path / "mamltheory"
    shutil.copytree(Path(mamltheory.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store_module, "PACKAGE", copy)
    store_module.code_hash.cache_clear()
    yield copy
    store_module.code_hash.cache_clear()  # the real package's hashes again for the tests that follow


def hashes() -> dict[str, str]:
    store_module.code_hash.cache_clear()
    return {kind: store_module.code_hash(kind) for kind in store_module.KIND_SOURCES}


def test_code_hash_covers_nested_packages(package_copy: Path) -> None:
    # the hash globbed *.py without recursing, so an edit of bounds/proofs/h1.py reused a verify record
    before = hashes()
    h1 = package_copy / "bounds" / "proofs" / "h1.py"
    h1.write_text(h1.read_text() + "\n# an edited comment\n")
    edited = hashes()
    assert edited["verify"] != before["verify"] and edited["simulate"] == before["simulate"]
    (package_copy / "bounds" / "proofs" / "planted.py").write_text("X = 1\n")  # a new module counts too
    planted = hashes()
    assert planted["verify"] != edited["verify"] and planted["simulate"] == before["simulate"]
    nested = package_copy / "simulate" / "deeper"
    nested.mkdir()
    (nested / "__init__.py").write_text("")
    (nested / "step.py").write_text("Y = 2\n")
    assert all(hashes()[kind] != planted[kind] for kind in store_module.KIND_SOURCES)


@pytest.mark.parametrize("edited, kinds", [("adapters/torch.py", {"simulate", "sinusoid", "sinusoid-estimate", "verify"}),
                                           ("estimate/estimators.py", {"sinusoid", "sinusoid-estimate", "verify"}),
                                           ("bounds/command.py", set())])
def test_code_hash_covers_what_each_kind_runs(package_copy: Path, edited: str, kinds: set[str]) -> None:
    # simulate --torch runs adapters/torch.py; verify's tightness checks run estimate/estimators.py;
    # a command module only parses and prints
    before = hashes()
    f = package_copy / edited
    f.write_text(f.read_text() + "\n# edited\n")
    after = hashes()
    assert {k for k in before if before[k] != after[k]} == kinds


def test_verification_record_key_is_the_code(tmp_path: Path, monkeypatch) -> None:
    from mamltheory.verify import run as verify_run

    calls: list[int] = []

    def fake_verify(quick: bool, seed: int, store: str, sections: tuple[str, ...], progress: object, advance: object = None) -> dict:
        calls.append(seed)
        return {"provenance": {"seed": seed}, "checks": []}

    monkeypatch.setattr(verify_run, "verify", fake_verify)
    path = str(tmp_path / "v.sqlite")
    record = {"provenance": {"seed": 1}, "checks": []}

    def got(cached: bool) -> None:  # a record read back is annotated with the defects registry: compare the rest
        out, was_cached = verify_run.verification_record(seed=1, store=path, sections=("audit",))
        assert {k: out[k] for k in record} == record and was_cached is cached

    got(False)
    got(True)
    assert calls == [1]
    monkeypatch.setattr(store_module, "code_hash", lambda kind: "f" * 64)  # other verify/simulate/bounds source
    got(False)
    assert calls == [1, 1]


# ---- checksums -------------------------------------------------------------------------------
def test_edited_digit_in_a_stored_result_is_recomputed(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "d.sqlite"
    code, out, _ = run_cli([*QUICK, "--json", "--store", str(path)])
    first = json.loads(out)
    assert code == 0 and first["cached"] is False
    value = repr(first["grad_norm"][3][1])
    i = value.index(".") + 3  # the third decimal
    edited = value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1:]
    con = sqlite3.connect(path)
    (text,) = con.execute("SELECT result FROM runs WHERE key = ?", (first["key"],)).fetchone()
    assert text.count(value) == 1
    with con:
        con.execute("UPDATE runs SET result = ? WHERE key = ?", (text.replace(value, edited), first["key"]))
    con.close()
    with ResultStore(path) as s:
        assert s.get(first["key"]) is None and first["key"] in s.discarded  # never served
    code, out, err = run_cli([*QUICK, "--json", "--store", str(path)])
    again = json.loads(out)
    assert code == 0 and again["cached"] is False and again["key"] == first["key"]
    assert numbers(again) == numbers(first)  # the fresh value is the original computation
    assert again["grad_norm"][3][1] == first["grad_norm"][3][1]
    code, out, _ = run_cli(["store", "check", str(path)])  # the bad row was replaced
    assert code == 0 and out == f"{path}: intact, 1 results (1 simulate), 0 sweeps\n"
    code, out, _ = run_cli([*QUICK, "--json", "--store", str(path)])
    assert code == 0 and json.loads(out)["cached"] is True


# ---- damaged stores --------------------------------------------------------------------------
def make_store(path: Path, n: int) -> dict[str, tuple[dict, dict]]:
    """n rows of about half a page each; key -> (config, result)."""
    rows = {}
    with ResultStore(path) as s:
        for i in range(n):
            config, result = {"i": i}, {"values": [i + j / 1000 for j in range(150)]}
            key = config_key(config)
            s.put(key, config, result)
            rows[key] = (config, result)
    return rows


def damage(path: Path, how: str) -> None:
    data = path.read_bytes() if path.exists() else b""
    if how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "garbage":  # 4 KiB in the middle, across a page boundary
        middle = len(data) // 2 // PAGE * PAGE - 1000
        path.write_bytes(data[:middle] + b"\xde\xad\xbe\xef" * 1024 + data[middle + PAGE:])
    elif how == "not-sqlite":
        path.write_text("these are my notes, not a store\n" * 100)
    elif how == "old-schema":
        path.unlink(missing_ok=True)
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL, "
                    "config TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL)")
        con.execute("INSERT INTO runs VALUES ('k', 'simulate', '0.1.0', '{}', '{}', 0)")
        con.commit()
        con.close()
    elif how == "other-tables":
        path.unlink()
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE notes (x)")
        con.close()


@pytest.mark.parametrize("how,what", [("truncated", "is damaged (truncated: "), ("garbage", "is damaged (SQLite"),
                                      ("not-sqlite", "is not a mamltheory result store (not an SQLite file)"),
                                      ("old-schema", "was written by an older mamltheory"),
                                      ("other-tables", "is not a mamltheory result store (tables: notes)")])
def test_damaged_store_is_one_line_exit_2(tmp_path: Path, run_cli, how: str, what: str) -> None:
    path = tmp_path / "bad.sqlite"
    make_store(path, 40)
    assert path.stat().st_size > 20 * PAGE  # multi-page
    damage(path, how)
    before = path.read_bytes()
    for argv in ([*QUICK, "--store", str(path)], ["report", "--sweep", "x", "--store", str(path)],
                 ["store", "check", str(path)]):
        code, out, err = run_cli(argv)
        one_line_exit_2(code, out, err, path)
        assert what in err
        assert "store repair" in err or how in ("not-sqlite", "other-tables")
    assert path.read_bytes() == before  # nothing was written into it
    # and at the real entry point: no traceback
    done = subprocess_cli([*QUICK, "--store", str(path)], SOURCE)
    one_line_exit_2(done.returncode, done.stdout, done.stderr, path)


def test_repair_keeps_every_intact_row(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "r.sqlite"
    rows = make_store(path, 60)
    with ResultStore(path) as s:
        s.register("grid", "grid.toml", "name = 'grid'", [(k, i, ()) for i, k in enumerate(rows)])
        s.put_failure("f" * 64, {"i": -1}, "worker died", 3)
    keys = list(rows)
    # one digit edited in row 5 ...
    con = sqlite3.connect(path)
    (text,) = con.execute("SELECT result FROM runs WHERE key = ?", (keys[5],)).fetchone()
    with con:
        con.execute("UPDATE runs SET result = ? WHERE key = ?", (text.replace("5.001", "5.002"), keys[5]))
    checksums = dict(con.execute("SELECT key, checksum FROM runs"))
    con.close()
    # ... and the whole page holding row 40 overwritten: the rows it held are those whose checksum is in it
    data = path.read_bytes()
    page = data.index(checksums[keys[40]].encode()) // PAGE
    lost = {k for k, c in checksums.items() if c.encode() in data[page * PAGE:(page + 1) * PAGE]}
    assert keys[40] in lost and keys[5] not in lost and 1 <= len(lost) <= 3
    path.write_bytes(data[:page * PAGE] + b"\xde\xad\xbe\xef" * 1024 + data[(page + 1) * PAGE:])
    damaged_bytes = path.read_bytes()

    code, out, err = run_cli(["store", "check", str(path)])
    one_line_exit_2(code, out, err, path)
    code, out, err = run_cli(["store", "repair", str(path)])
    kept = 60 - len(lost) - 1
    assert code == 0 and err == "" and out.count("\n") == 1
    assert out.startswith(f"repaired {path}: kept {kept} results ({len(lost) + 1} dropped: ")
    assert "1 sweeps, 60 sweep memberships, 1 failure records" in out
    aside = Path(re.search(r"the damaged original is (\S+)", out).group(1))
    assert aside.name.startswith("r.sqlite.damaged-") and aside.read_bytes() == damaged_bytes
    code, out, _ = run_cli(["store", "check", str(path)])
    assert code == 0 and out == f"{path}: intact, {kept} results ({kept} simulate), 1 sweeps\n"
    with ResultStore(path) as s:
        assert s.finished(keys) == set(keys) - lost - {keys[5]}
        for k in s.finished(keys):
            assert (s.config(k), s.get(k)) == rows[k]
        assert len(s.sweep("grid")["runs"]) == 60 and s.failed(["f" * 64])["f" * 64]["attempts"] == 3
    code, out, _ = run_cli(["store", "repair", str(path)])  # an intact store is left alone
    assert code == 0 and out.endswith("; nothing to repair\n")


def test_repair_of_an_old_schema_file_keeps_its_sweeps(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "old.sqlite"
    damage(path, "old-schema")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE sweeps (name TEXT PRIMARY KEY, config_path TEXT NOT NULL, source TEXT NOT NULL, "
                "created REAL NOT NULL, updated REAL NOT NULL)")
    con.execute("INSERT INTO sweeps VALUES ('s', 's.toml', 'x', 1, 2)")
    con.commit()
    con.close()
    code, out, _ = run_cli(["store", "repair", str(path)])
    assert code == 0 and "kept 0 results (1 dropped: " in out and "1 sweeps" in out
    assert run_cli([*QUICK, "--store", str(path)])[0] == 0


# ---- unusable paths and read-only stores ------------------------------------------------------
def test_folder_and_missing_folder_are_one_line(tmp_path: Path, run_cli) -> None:
    missing = tmp_path / "missing" / "s.sqlite"
    for argv, path, what in (([*QUICK, "--store", str(tmp_path)], tmp_path, "is a folder, not a store file"),
                             (["store", "check", str(tmp_path)], tmp_path, "is a folder, not a store file"),
                             ([*QUICK, "--store", str(missing)], missing, f"the folder {missing.parent} does not exist"),
                             (["store", "check", str(missing)], missing, "no such store file")):
        code, out, err = run_cli(argv)
        one_line_exit_2(code, out, err, path)
        assert what in err
    assert not (tmp_path / "missing").exists()
    code, out, err = run_cli(["store", "check", str(tmp_path / "none.sqlite")])
    one_line_exit_2(code, out, err, tmp_path / "none.sqlite")


def as_unprivileged() -> list[str]:
    """A command prefix under which file permissions bind (root ignores them)."""
    if os.geteuid() != 0:
        return []
    # A user namespace in which this process is uid 1000, owner of the files but without root's override.
    wrap = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    try:
        ok = subprocess.run([*wrap, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    if not ok:
        pytest.skip("running as root, and no user namespace (unshare) to drop root's permission override")
    return wrap


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_read_only_store_serves_cached_runs(tmp_path: Path, run_cli, read_only: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "s.sqlite"
    code, out, _ = run_cli([*QUICK, "--json", "--store", str(path)])
    first = json.loads(out)
    wrap = as_unprivileged()
    target = path if read_only == "file" else folder
    mode = target.stat().st_mode
    target.chmod(0o444 if read_only == "file" else 0o555)
    try:
        done = subprocess_cli([*QUICK, "--json", "--store", str(path)], SOURCE, wrap=wrap)
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout)
        assert got["cached"] is True and numbers(got) == numbers(first)
        # a run that is not stored: refused before it starts (10^7 iterations would take hours)
        argv = [*QUICK, "--store", str(path)]
        argv[argv.index("--iterations") + 1] = "10000000"
        t0 = time.monotonic()
        done = subprocess_cli(argv, SOURCE, timeout=60, wrap=wrap)
        one_line_exit_2(done.returncode, done.stdout, done.stderr, path)
        assert f"cannot write {path}: " in done.stderr and "pass --store PATH to a writable file" in done.stderr
        assert time.monotonic() - t0 < 60
    finally:
        target.chmod(mode)


def test_read_only_open_serves_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    make_store(path, 3)
    key = config_key({"i": 1})
    before = path.read_bytes()
    with ResultStore(path, readonly=True) as s:
        assert s.readonly and s.get(key) == {"values": [1 + j / 1000 for j in range(150)]}
        with pytest.raises(StoreError, match=r"^cannot write .*s\.sqlite: opened read-only; pass --store PATH"):
            s.put(config_key({"i": 9}), {"i": 9}, {})
        with pytest.raises(StoreError, match="cannot write"):
            s.require_writable()
    assert path.read_bytes() == before


def test_repair_refuses_a_file_that_is_not_a_store(tmp_path: Path, run_cli) -> None:
    """A typo (`store repair README.md`) must not move a foreign file aside and put an SQLite file in its place."""
    path = tmp_path / "notes.txt"
    path.write_text("not a store\n")
    code, out, err = run_cli(["store", "repair", str(path)])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not an SQLite file" in err
    assert path.read_text() == "not a store\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    code, _, err = run_cli(["store", "repair", str(tmp_path)])
    assert code == 2 and "is a folder" in err
