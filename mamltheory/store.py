"""The one result store: runs, sweeps and verification records in one SQLite file.

Keys. A result's key is sha256 of its kind, its configuration and `code_hash(kind)`, a hash of the
source bytes of the modules that compute that kind (`KIND_SOURCES`). Any edit to that code, committed
or not, gives new keys, so a result of other code is never served (its row stays, unused).

Checksums. Every stored row carries sha256 over its stored text (key, kind, code, config, result). A
row that fails it, or whose JSON does not parse, is treated as absent: recomputed and replaced.

Opening checks the file cheaply: the SQLite header, the file size against the header's page count,
`PRAGMA quick_check` and the schema. A damaged or foreign file raises StoreError, one line naming the
file, what is wrong and what to do; `repair` copies every row that verifies into a fresh file and
keeps the damaged original beside it.

Writes: WAL mode and a busy timeout let several processes share one file; each finished result is
one transaction, so a killed process leaves the whole result or nothing. A read-only file or folder
is opened read-only: cached results are served, and `require_writable` refuses, before any work,
a computation whose result could not be kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mamltheory.errors import StoreError

DEFAULT_STORE = "mamltheory-results.sqlite"
SCHEMA_VERSION = "2"  # 1: keys by package version, no checksums (refused: its results cannot be trusted)
PACKAGE = Path(__file__).resolve().parent
_SQLITE_MAGIC = b"SQLite format 3\x00"

# The sources each kind of result depends on: folders (every module but the command modules) and files,
# relative to the package. The planner is not among a run's sources: it only chooses the configuration,
# which the key holds in full.
# Folders are hashed recursively (nested packages such as bounds/proofs/ compute results too). adapters:
# `simulate --torch` runs torch problems through the simulator; estimate: verify's tightness checks
# estimate constants with estimate/estimators.py.
_SIMULATE = ("simulate", "adapters", "assumptions.py", "errors.py")
KIND_SOURCES: dict[str, tuple[str, ...]] = {
    "simulate": _SIMULATE,
    "sinusoid": (*_SIMULATE, "estimate"),  # the benchmark driver is estimate/sinusoid_benchmark.py
    "sinusoid-estimate": (*_SIMULATE, "estimate"),
    "verify": (*_SIMULATE, "verify", "bounds", "estimate"),
}

_TABLES = {
    "meta": "name TEXT PRIMARY KEY, value TEXT NOT NULL",
    "runs": "key TEXT PRIMARY KEY, kind TEXT NOT NULL, code TEXT NOT NULL, checksum TEXT NOT NULL, "
            "config TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL",
    # sweep membership, with the reasons a run lies outside the theorems' hypotheses (NULL when inside)
    "sweeps": "name TEXT PRIMARY KEY, config_path TEXT NOT NULL, source TEXT NOT NULL, created REAL NOT NULL, "
              "updated REAL NOT NULL",
    "sweep_runs": "sweep TEXT NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL, outside_theory TEXT, "
                  "PRIMARY KEY (sweep, key)",
    # runs whose worker died on every attempt or raised (kept until the run succeeds)
    "failures": "key TEXT PRIMARY KEY, config TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL, "
                "created REAL NOT NULL",
}
_COLUMNS = {
    "meta": ("name", "value"),
    "runs": ("key", "kind", "code", "checksum", "config", "result", "created"),
    "sweeps": ("name", "config_path", "source", "created", "updated"),
    "sweep_runs": ("sweep", "key", "idx", "outside_theory"),
    "failures": ("key", "config", "reason", "attempts", "created"),
}
_RUN_COLUMNS = _COLUMNS["runs"]


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces; floats in Python's shortest round-trip repr)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


@functools.cache
def code_hash(kind: str) -> str:
    """sha256 over the source files that compute results of `kind` (read once per process)."""
    if kind not in KIND_SOURCES:
        raise ValueError(f"unknown result kind {kind!r}; known: {', '.join(KIND_SOURCES)}")
    files: list[Path] = []
    for entry in KIND_SOURCES[kind]:
        path = PACKAGE / entry
        # rglob: nested packages (bounds/proofs/) compute results too; an edit anywhere must change the key
        files += sorted(f for f in path.rglob("*.py") if not f.stem.endswith("command")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for f in files:
        data = f.read_bytes()
        digest.update(f"{f.relative_to(PACKAGE).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def config_key(config: dict[str, Any], kind: str = "simulate") -> str:
    """sha256 of the kind, the configuration and the hash of the code that computes it."""
    payload = {"kind": kind, "code": code_hash(kind), "config": config}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def memo(store: str | Path, kind: str, config: dict[str, Any], compute: Callable[[], Any]) -> tuple[Any, str, bool]:
    """(result, key, cached): the stored result of `config` by today's code of `kind`, else `compute()` stored.

    A row failing its checksum counts as absent (recomputed and replaced); a store that cannot be written
    raises StoreError before `compute` runs. The store is closed while `compute` runs (it may open it too).
    """
    result, cached = memo_all(store, kind, {0: config}, lambda todo: [(0, compute())])[0]
    return result, config_key(config, kind), cached


def memo_all(store: str | Path, kind: str, configs: Mapping[Hashable, dict[str, Any]],
             compute: Callable[[list[Hashable]], Iterable[tuple[Hashable, Any]]]) -> dict[Hashable, tuple[Any, bool]]:
    """{name: (result, cached)} for named configurations: stored results, the rest from `compute(missing names)`.

    `compute` yields (name, result) pairs, each stored as it arrives (an interrupted batch keeps what
    finished) and may skip a name (absent from the answer). Guarantees as `memo`; answer in `configs` order.
    """
    out: dict[Hashable, tuple[Any, bool]] = {}
    with ResultStore(store) as db:
        for name, conf in configs.items():
            got = db.find(kind, conf)
            if got is not None:
                out[name] = (got, True)
        todo = [name for name in configs if name not in out]
        if todo:
            db.require_writable()
    for name, result in compute(todo) if todo else ():
        with ResultStore(store) as db:
            db.put(config_key(configs[name], kind), configs[name], result, kind=kind)
        out[name] = (result, False)
    return {name: out[name] for name in configs if name in out}


def _checksum(key: str, kind: str, code: str, config: str, result: str) -> str:
    return hashlib.sha256("\0".join((key, kind, code, config, result)).encode()).hexdigest()


def _verified(row: tuple[Any, ...]) -> tuple[dict[str, Any], Any] | None:
    """(config, result) of a runs row (`_RUN_COLUMNS` order), or None when its checksum or JSON fails."""
    key, kind, code, checksum, config, result = row[:6]
    if not all(isinstance(x, str) for x in (key, kind, code, checksum, config, result)):
        return None
    if _checksum(key, kind, code, config, result) != checksum:
        return None
    try:
        return json.loads(config), json.loads(result)
    except ValueError:
        return None


def damaged(path: str | Path, what: str) -> StoreError:
    """The one-line error of a damaged store: the file, what is wrong, what to do."""
    return StoreError(f"{path} is damaged ({what}); run `mamltheory store repair {path}` to keep every intact "
                      "result, or pass --store PATH to another file")


def _check_file(path: Path) -> None:
    """A foreign file, cheaply: the SQLite header magic (never rewritten once the file exists)."""
    size = path.stat().st_size
    if size == 0:
        return  # SQLite's empty database
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not head.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path} is not a mamltheory result store (not an SQLite file); pass --store PATH "
                         f"to a store file, or move it aside")
    if len(head) < 100:
        raise damaged(path, f"truncated to {size} bytes")


def _require_regular(path: Path) -> None:
    """StoreError unless `path` is a regular file (SQLite would block on a FIFO, or write into a device)."""
    from mamltheory.parsing import file_kind

    kind = file_kind(path.stat().st_mode)
    if kind is not None:
        raise StoreError(f"{path} is {kind}, not a store file; pass --store PATH to a regular file")


def _no_store_yet(path: Path) -> str:
    """What is true of a file without the store's tables: it holds no results (yet)."""
    what = ("an empty file (0 bytes)" if path.stat().st_size == 0
            else "an SQLite file without any table")
    return (f"{path} is {what}, not a result store yet: it holds no results; a command given --store {path} "
            "creates the store in it")


def _truncation(path: Path) -> str | None:
    """'truncated: ...' when the file is shorter than its header's page count says, else None.

    Asked only after SQLite found the file damaged: a checkpoint of another process may briefly leave
    a healthy file shorter than its new header while it writes the pages.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError:
        return None
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    # the page count in the header is valid when its change counter matches "version-valid-for"
    if len(head) == 100 and head[24:28] == head[92:96] and pages and size < pages * page:
        return f"truncated: {size} bytes, the header says {pages} pages of {page} bytes"
    return None


def _unwritable(path: Path) -> str | None:
    """Why the store at `path` (an existing file) cannot be written, or None."""
    if not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(path.parent, os.W_OK):
        return "its folder is read-only (SQLite needs to write FILE-wal and FILE-shm beside it)"
    return None


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """A read-only connection; `immutable` when the WAL index cannot be created (read-only folder)."""
    uri = "file:" + quote(str(path.resolve()))
    try:
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        return sqlite3.connect(uri + "?immutable=1", uri=True, timeout=timeout, isolation_level=None)


class ResultStore:
    """Runs, verification records, sweeps and failed runs, keyed by `config_key`.

    `readonly=None` opens read-only exactly when the file or its folder cannot be written.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, timeout: float = 60.0, readonly: bool | None = None,
                 quick_check: bool = True) -> None:
        self.path = str(path)
        self.timeout = timeout
        self.readonly_reason: str | None = None
        self.discarded: set[str] = set()  # keys whose row failed its checksum (served as absent)
        self._conn = self._open(readonly, quick_check)

    # ---- opening -----------------------------------------------------------------------------
    def _open(self, readonly: bool | None, quick_check: bool) -> sqlite3.Connection:
        if self.path == ":memory:":
            conn = sqlite3.connect(":memory:", isolation_level=None)
            self._create(conn)
            return conn
        p = Path(self.path)
        if not self.path:
            raise StoreError("the store path is empty; pass --store PATH to a file")
        if p.is_dir():
            raise StoreError(f"{p} is a folder, not a store file; pass --store PATH to a file in it, "
                             f"e.g. {p / DEFAULT_STORE}")
        folder = p.parent
        if readonly and not p.exists():
            raise StoreError(f"{p}: no such store file")
        if not folder.is_dir():
            raise StoreError(f"cannot create {p}: the folder {folder} does not exist; create it or pass "
                             "--store PATH to a file in an existing folder")
        exists = p.exists()
        if exists:
            _require_regular(p)
            _check_file(p)
            why = "opened read-only" if readonly else _unwritable(p)
        else:
            if not os.access(folder, os.W_OK):
                raise StoreError(f"cannot create {p}: the folder {folder} is read-only; pass --store PATH to a "
                                 "writable file")
            why = None
        self.readonly_reason = why if readonly is not False else None
        conn = None
        try:
            with self._guard():
                conn = self._conn = (_connect_readonly(p, self.timeout) if self.readonly_reason
                                     else sqlite3.connect(p, timeout=self.timeout, isolation_level=None))
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                if exists and quick_check:
                    problems = [r[0] for r in conn.execute("PRAGMA quick_check(1)")]
                    if problems != ["ok"]:
                        raise damaged(p, "SQLite quick_check: " + "; ".join(" ".join(x.split()) for x in problems))
                empty = self._check_schema()  # before anything is written: a foreign file stays untouched
                if not self.readonly_reason:
                    self._set_wal()
                    conn.execute("PRAGMA synchronous = NORMAL")
                if empty:
                    if readonly:  # asked to read a store that is not there (`store check` on an empty file)
                        raise StoreError(_no_store_yet(p))
                    self.require_writable()
                    self._create(conn)
        except StoreError as err:
            if conn is not None:
                conn.close()
            cut = _truncation(p) if exists and "is damaged" in str(err) else None
            if cut:
                raise damaged(p, cut) from None
            raise
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _set_wal(self) -> None:
        # Switching a new file to WAL needs an exclusive lock and SQLite reports "database is locked"
        # at once, without the busy handler, when another process opens the file at the same moment
        # (two sweeps starting together): retry until the timeout.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for table, spec in _TABLES.items():
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({spec})")
        conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")

    def _check_schema(self) -> bool:
        """True for an empty database (the schema is still to be created); StoreError for a foreign one."""
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return True
        if "meta" not in tables and "runs" in tables:
            raise StoreError(f"{self.path} was written by an older mamltheory (results keyed by the version "
                             "string, without checksums: they cannot be trusted); move it aside, or run "
                             f"`mamltheory store repair {self.path}` to keep its sweeps")
        if not set(_TABLES) <= tables:
            raise StoreError(f"{self.path} is not a mamltheory result store (tables: {', '.join(sorted(tables))}); "
                             "pass --store PATH to a store file")
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {row[0] if row else 'unknown'}, this mamltheory "
                             f"reads schema {SCHEMA_VERSION}; move it aside or pass --store PATH to another file")
        for table, columns in _COLUMNS.items():
            found = tuple(r[1] for r in self._conn.execute(f"PRAGMA table_info({table})"))
            if found != columns:
                raise damaged(self.path, f"table {table} has columns {', '.join(found)}")
        return False

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """sqlite3 errors become one-line StoreErrors."""
        try:
            yield
        except sqlite3.Error as err:
            text = " ".join(str(err).split())
            if "locked" in text or "busy" in text:
                raise StoreError(f"{self.path} is locked by another process (waited {self.timeout:g} s); "
                                 "try again when it finishes") from None
            if "readonly" in text or "read-only" in text:
                raise StoreError(f"cannot write {self.path}: {self.readonly_reason or text}; pass --store PATH "
                                 "to a writable file") from None
            if "full" in text or "I/O" in text or "unable to open" in text:
                raise StoreError(f"cannot use {self.path}: {text}; free space or pass --store PATH to "
                                 "another file") from None
            raise damaged(self.path, text) from None

    @property
    def readonly(self) -> bool:
        """True when opened read-only (cached results are served, nothing can be stored)."""
        return self.readonly_reason is not None

    def require_writable(self) -> None:
        """Raise StoreError (one line) if a result could not be stored: call it before computing one."""
        if self.readonly_reason:
            raise StoreError(f"cannot write {self.path}: {self.readonly_reason}; pass --store PATH to a "
                             "writable file")

    # ---- results ------------------------------------------------------------------------------
    def _entry(self, key: str) -> tuple[dict[str, Any], Any] | None:
        with self._guard():
            row = self._conn.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        got = _verified(row)
        if got is None:
            self.discarded.add(key)
        return got

    def get(self, key: str) -> Any:
        """The stored result for `key`, or None (also when its row fails the checksum)."""
        got = self._entry(key)
        return None if got is None else got[1]

    def find(self, kind: str, config: dict[str, Any]) -> Any:
        """The stored result of `config` computed by today's code of `kind` (`config_key`), or None."""
        return self.get(config_key(config, kind))

    def config(self, key: str) -> dict[str, Any] | None:
        """The stored configuration for `key`, or None."""
        got = self._entry(key)
        return None if got is None else got[0]

    def put(self, key: str, config: dict[str, Any], result: Any, kind: str = "simulate") -> bool:
        """Store a finished result (a value or its JSON text) and clear any failure of `key`: one transaction.

        False when `key` already holds a row that verifies (kept as is); a row that fails is replaced.
        """
        self.require_writable()
        text = result if isinstance(result, str) else json.dumps(result)
        conf, code = canonical_json(config), code_hash(kind)
        with self._guard(), self._conn:  # not autocommit inside: BEGIN ... COMMIT, rolled back on error
            self._conn.execute("BEGIN IMMEDIATE")
            old = self._conn.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE key = ?", (key,)).fetchone()
            if old is not None and _verified(old) is not None:
                self._conn.execute("DELETE FROM failures WHERE key = ?", (key,))
                return False
            self._conn.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES (?,?,?,?,?,?,?)",
                (key, kind, code, _checksum(key, kind, code, conf, text), conf, text, time.time()))
            self._conn.execute("DELETE FROM failures WHERE key = ?", (key,))
        self.discarded.discard(key)
        return True

    def put_run(self, key: str, config: dict[str, Any], result: dict[str, Any] | str) -> bool:
        """A sweep's finished run: `put` of kind simulate (the key equals the `simulate` command's)."""
        return self.put(key, config, result, "simulate")

    def keys(self) -> list[str]:
        """All stored keys (including rows that would fail their checksum)."""
        with self._guard():
            return [r[0] for r in self._conn.execute("SELECT key FROM runs ORDER BY created")]

    def finished(self, keys: list[str]) -> set[str]:
        """The keys among `keys` whose stored row verifies."""
        out: set[str] = set()
        with self._guard():
            for chunk in _chunks(keys):
                q = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE key IN ({','.join('?' * len(chunk))})"
                for row in self._conn.execute(q, chunk):
                    if _verified(row) is not None:
                        out.add(row[0])
                    else:
                        self.discarded.add(row[0])
        return out

    # ---- sweeps -------------------------------------------------------------------------------
    def register(self, name: str, config_path: str, source: str,
                 members: list[tuple[str, int, tuple[str, ...]]]) -> None:
        """Record sweep `name` (its config text) and its runs (key, index, outside-theory reasons)."""
        self.require_writable()
        now = time.time()
        with self._guard(), self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO sweeps (name, config_path, source, created, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET config_path=excluded.config_path, source=excluded.source, "
                "updated=excluded.updated", (name, config_path, source, now, now))
            self._conn.execute("DELETE FROM sweep_runs WHERE sweep = ?", (name,))
            self._conn.executemany(
                "INSERT INTO sweep_runs (sweep, key, idx, outside_theory) VALUES (?,?,?,?)",
                [(name, key, idx, json.dumps(list(reasons)) if reasons else None) for key, idx, reasons in members])

    def failed(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Failure records (reason, attempts, config) of the keys among `keys` that failed."""
        out: dict[str, dict[str, Any]] = {}
        with self._guard():
            for chunk in _chunks(keys):
                q = f"SELECT key, reason, attempts, config FROM failures WHERE key IN ({','.join('?' * len(chunk))})"
                for key, reason, attempts, config in self._conn.execute(q, chunk):
                    try:
                        out[key] = {"reason": reason, "attempts": attempts, "config": json.loads(config)}
                    except (TypeError, ValueError):
                        continue  # a garbled record: the run is simply not marked failed
        return out

    def put_failure(self, key: str, config: dict[str, Any], reason: str, attempts: int) -> None:
        """Record that a run failed (kept until it succeeds on a later attempt)."""
        self.require_writable()
        with self._guard(), self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR REPLACE INTO failures (key, config, reason, attempts, created) VALUES (?,?,?,?,?)",
                (key, canonical_json(config), reason, attempts, time.time()))

    def sweep(self, name: str) -> dict[str, Any] | None:
        """A registered sweep: config path and text, and its runs in order (key, outside-theory reasons)."""
        with self._guard():
            row = self._conn.execute("SELECT config_path, source, updated FROM sweeps WHERE name = ?",
                                     (name,)).fetchone()
            if row is None:
                return None
            members = []
            for k, i, o in self._conn.execute(
                    "SELECT key, idx, outside_theory FROM sweep_runs WHERE sweep = ? ORDER BY idx", (name,)):
                try:
                    reasons = json.loads(o) if o else []
                except ValueError:
                    reasons = ["(garbled mark in the store)"]
                members.append({"key": k, "index": i, "outside_theory": reasons})
        return {"name": name, "config_path": row[0], "source": row[1], "updated": row[2], "runs": members}

    def sweep_names(self) -> list[str]:
        """Names of the registered sweeps."""
        with self._guard():
            return [r[0] for r in self._conn.execute("SELECT name FROM sweeps ORDER BY name")]

    # ---- whole-file check ------------------------------------------------------------------------
    def check(self) -> StoreCheck:
        """Full check: SQLite integrity_check and every row's checksum."""
        with self._guard():
            problems = [r[0] for r in self._conn.execute("PRAGMA integrity_check(1)")]
            if problems != ["ok"]:
                raise damaged(self.path, "SQLite integrity_check: " + "; ".join(" ".join(x.split()) for x in problems))
            kinds: dict[str, int] = {}
            bad = 0
            for row in self._conn.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs"):
                if _verified(row) is None:
                    bad += 1
                else:
                    kinds[row[1]] = kinds.get(row[1], 0) + 1
            sweeps = self._conn.execute("SELECT count(*) FROM sweeps").fetchone()[0]
        return StoreCheck(self.path, kinds, bad, sweeps)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class StoreCheck:
    """What `ResultStore.check` found: intact results per kind, rows failing their checksum, sweeps."""

    path: str
    kinds: dict[str, int]
    bad: int
    sweeps: int

    @property
    def intact(self) -> bool:
        """No row fails its checksum."""
        return self.bad == 0

    def line(self) -> str:
        """One line for `mamltheory store check`."""
        n = sum(self.kinds.values())
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(self.kinds.items()))
        if self.intact:
            return f"{self.path}: intact, {n} results ({kinds or 'none'}), {self.sweeps} sweeps"
        return str(damaged(self.path, f"{self.bad} of {n + self.bad} stored results fail their checksum; they "
                                      "are recomputed when needed"))


@dataclass(frozen=True)
class Repair:
    """What `repair` did: results kept and dropped, sweep records kept, where the damaged original is."""

    path: str
    kept: int
    dropped: int | None  # None: the results table could not be read at all
    sweeps: int
    members: int
    failures: int
    damaged_copy: str

    def line(self) -> str:
        """One line for `mamltheory store repair`."""
        dropped = "the results table was unreadable" if self.dropped is None else f"{self.dropped} dropped"
        return (f"repaired {self.path}: kept {self.kept} results ({dropped}: failed checksum or unreadable), "
                f"{self.sweeps} sweeps, {self.members} sweep memberships, {self.failures} failure records; "
                f"the damaged original is {self.damaged_copy}")


_MAX_PROBES = 2_000_000  # row ids probed one by one when a table cannot be read in one scan


def _salvage(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> tuple[list[tuple[Any, ...]], int | None]:
    """The readable rows of `table` and how many row ids could not be read (None: none could)."""
    cols = ", ".join(columns)
    try:
        return list(conn.execute(f"SELECT {cols} FROM {table}")), 0
    except sqlite3.DatabaseError:
        pass
    try:  # a damaged page: probe the row ids one by one, keeping what the intact pages hold
        top = min(conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0, _MAX_PROBES)
    except sqlite3.DatabaseError:
        return [], None
    rows: list[tuple[Any, ...]] = []
    unreadable = 0
    for rowid in range(1, top + 1):
        try:
            row = conn.execute(f"SELECT {cols} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            unreadable += 1
            continue
        if row is not None:
            rows.append(row)
    return rows, unreadable


def _read_damaged(path: Path) -> dict[str, tuple[list[tuple[Any, ...]], int | None]]:
    """Every readable row of every table of the damaged file (opened read-only: it is never modified)."""
    try:
        conn = _connect_readonly(path, 5.0)
    except sqlite3.Error:
        return {t: ([], None) for t in _COLUMNS}
    out: dict[str, tuple[list[tuple[Any, ...]], int | None]] = {}
    try:
        for table, columns in _COLUMNS.items():
            try:
                found = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            except sqlite3.DatabaseError:
                found = set()
            if not set(columns) <= found:
                # a missing table, or the old schema's runs (no checksum: none can be verified)
                count = None
                if table == "runs" and found:
                    count = len(_salvage(conn, table, ("key",))[0])
                out[table] = ([], count)
                continue
            out[table] = _salvage(conn, table, columns)
        rows, unreadable = out["runs"]
        try:  # the key index usually survives a damaged table page: it tells how many rows there were
            indexed = conn.execute("SELECT count(key) FROM runs WHERE key > ''").fetchone()[0]
            out["runs"] = (rows, max(unreadable or 0, indexed - len(rows)))
        except sqlite3.DatabaseError:
            pass
    finally:
        conn.close()
    return out


def _valid(table: str, row: tuple[Any, ...]) -> bool:
    def is_json(x: Any, nullable: bool = False) -> bool:
        if x is None:
            return nullable
        try:
            json.loads(x)
            return True
        except (TypeError, ValueError):
            return False

    if table == "runs":
        return _verified(row) is not None
    if table == "sweeps":
        return all(isinstance(x, str) for x in row[:3]) and all(isinstance(x, (int, float)) for x in row[3:])
    if table == "sweep_runs":
        return isinstance(row[0], str) and isinstance(row[1], str) and isinstance(row[2], int) and is_json(row[3], True)
    if table == "failures":
        return (isinstance(row[0], str) and is_json(row[1]) and isinstance(row[2], str) and isinstance(row[3], int)
                and isinstance(row[4], (int, float)))
    return False


def repair(path: str | Path) -> Repair:
    """Copy every intact row of the store at `path` into a fresh file at `path`.

    The damaged original (and its WAL files) is kept as PATH.damaged-<timestamp>. Run it while no
    other mamltheory process uses the file.
    """
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"{p} is a folder, not a store file; give the store file in it")
    if not p.exists():
        raise StoreError(f"{p}: no such store file")
    _require_regular(p)
    if p.stat().st_size == 0:  # nothing to salvage, and moving it aside would report a "damaged original"
        raise StoreError(f"{_no_store_yet(p)}; nothing to repair")
    with open(p, "rb") as fh:
        if p.stat().st_size and not fh.read(16).startswith(_SQLITE_MAGIC):
            # Without SQLite's header no row can be read: a "repair" would only move the file away.
            raise StoreError(f"{p} is not a mamltheory result store (not an SQLite file); nothing to repair")
    salvaged = _read_damaged(p)
    kept = {t: [r for r in rows if _valid(t, r)] for t, (rows, _) in salvaged.items() if t != "meta"}
    rows, unreadable = salvaged["runs"]
    dropped = None if unreadable is None else unreadable + len(rows) - len(kept["runs"])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = p.with_name(f"{p.name}.damaged-{stamp}")
    fresh = p.with_name(f"{p.name}.repair-{os.getpid()}")
    for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        leftover.unlink(missing_ok=True)
    with ResultStore(fresh) as store, store._guard(), store._conn:
        store._conn.execute("BEGIN IMMEDIATE")
        for table, good in kept.items():
            cols = _COLUMNS[table]
            store._conn.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(cols)}) VALUES "
                                    f"({','.join('?' * len(cols))})", good)
    os.replace(p, aside)
    for side in ("-wal", "-shm"):  # the original's WAL belongs to it, never to the fresh file
        if Path(f"{p}{side}").exists():
            os.replace(f"{p}{side}", f"{aside}{side}")
    os.replace(fresh, p)
    return Repair(str(p), len(kept["runs"]), dropped, len(kept["sweeps"]), len(kept["sweep_runs"]),
                  len(kept["failures"]), str(aside))


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    # SQLite limits the number of bound parameters per statement.
    return [keys[i:i + size] for i in range(0, len(keys), size)]
