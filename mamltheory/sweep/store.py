"""The result store, extended with sweeps: which runs belong to a sweep, and which runs failed.

Runs live in the `runs` table of `simulate.store` under the same key as the equivalent
`mamltheory simulate` command, so either command reuses the other's results. Two more tables:

- `sweep_runs(sweep, key, idx, outside_theory)`: membership, with the reasons a run lies outside
  the theorems' hypotheses (NULL when inside): the store's mark for `--outside-theory` runs;
- `failures(key, config, reason, attempts)`: runs whose worker died on every attempt or raised.

Every write is one transaction (BEGIN IMMEDIATE ... COMMIT): a finished run and the removal of an
earlier failure of it commit together, so a SIGKILL leaves either the whole run or nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import mamltheory
from mamltheory.simulate.store import ResultStore, canonical_json

_SWEEP_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sweeps (
        name TEXT PRIMARY KEY, config_path TEXT NOT NULL, source TEXT NOT NULL,
        created REAL NOT NULL, updated REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sweep_runs (
        sweep TEXT NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL, outside_theory TEXT,
        PRIMARY KEY (sweep, key))""",
    """CREATE TABLE IF NOT EXISTS failures (
        key TEXT PRIMARY KEY, config TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
        created REAL NOT NULL)""",
)


class SweepStore(ResultStore):
    """A ResultStore with sweep membership and failed runs."""

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        super().__init__(path, timeout)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for stmt in _SWEEP_SCHEMA:
                self._conn.execute(stmt)

    def register(self, name: str, config_path: str, source: str,
                 members: list[tuple[str, int, tuple[str, ...]]]) -> None:
        """Record sweep `name` (its config text) and its runs (key, index, outside-theory reasons)."""
        now = time.time()
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO sweeps (name, config_path, source, created, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET config_path=excluded.config_path, source=excluded.source, "
                "updated=excluded.updated", (name, config_path, source, now, now))
            self._conn.execute("DELETE FROM sweep_runs WHERE sweep = ?", (name,))
            self._conn.executemany(
                "INSERT INTO sweep_runs (sweep, key, idx, outside_theory) VALUES (?,?,?,?)",
                [(name, key, idx, json.dumps(list(reasons)) if reasons else None) for key, idx, reasons in members])

    def finished(self, keys: list[str]) -> set[str]:
        """The keys among `keys` that have a stored result."""
        return self._existing("runs", keys)

    def failed(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Failure records (reason, attempts, config) of the keys among `keys` that failed."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys):
            q = f"SELECT key, reason, attempts, config FROM failures WHERE key IN ({','.join('?' * len(chunk))})"
            for key, reason, attempts, config in self._conn.execute(q, chunk):
                out[key] = {"reason": reason, "attempts": attempts, "config": json.loads(config)}
        return out

    def _existing(self, table: str, keys: list[str]) -> set[str]:
        out: set[str] = set()
        for chunk in _chunks(keys):
            q = f"SELECT key FROM {table} WHERE key IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self._conn.execute(q, chunk))
        return out

    def put_run(self, key: str, config: dict[str, Any], result: dict[str, Any] | str) -> bool:
        """Store a finished run (result as a dict or JSON text), clear any earlier failure: one transaction."""
        text = result if isinstance(result, str) else json.dumps(result)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO runs (key, kind, version, config, result, created) VALUES (?,?,?,?,?,?)",
                (key, "simulate", mamltheory.__version__, canonical_json(config), text, time.time()))
            self._conn.execute("DELETE FROM failures WHERE key = ?", (key,))
            return cur.rowcount == 1

    def put_failure(self, key: str, config: dict[str, Any], reason: str, attempts: int) -> None:
        """Record that a run failed (kept until it succeeds on a later attempt)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR REPLACE INTO failures (key, config, reason, attempts, created) VALUES (?,?,?,?,?)",
                (key, canonical_json(config), reason, attempts, time.time()))

    def sweep(self, name: str) -> dict[str, Any] | None:
        """A registered sweep: config path and text, and its runs in order (key, outside-theory reasons)."""
        row = self._conn.execute("SELECT config_path, source, updated FROM sweeps WHERE name = ?",
                                 (name,)).fetchone()
        if row is None:
            return None
        members = [{"key": k, "index": i, "outside_theory": json.loads(o) if o else []}
                   for k, i, o in self._conn.execute(
                       "SELECT key, idx, outside_theory FROM sweep_runs WHERE sweep = ? ORDER BY idx", (name,))]
        return {"name": name, "config_path": row[0], "source": row[1], "updated": row[2], "runs": members}

    def sweep_names(self) -> list[str]:
        """Names of the registered sweeps."""
        return [r[0] for r in self._conn.execute("SELECT name FROM sweeps ORDER BY name")]


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    # SQLite limits the number of bound parameters per statement.
    return [keys[i:i + size] for i in range(0, len(keys), size)]
