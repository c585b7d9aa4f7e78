"""SQLite result store: one row per finished run, keyed by a hash of its full configuration.

A run is written in one transaction after it has finished, so a process killed mid-run leaves
nothing; a stored key is never recomputed. WAL mode and a busy timeout let several processes
share one file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import mamltheory

DEFAULT_STORE = "mamltheory-results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces; floats in Python's shortest round-trip repr)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def config_key(config: dict[str, Any], kind: str = "simulate") -> str:
    """sha256 of the configuration together with the kind of run and the package version."""
    payload = {"kind": kind, "version": mamltheory.__version__, "config": config}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


class ResultStore:
    """Runs by configuration key; `get` returns None for an unknown key."""

    def __init__(self, path: str | Path = DEFAULT_STORE, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._set_wal(timeout)
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(_SCHEMA)

    def _set_wal(self, timeout: float) -> None:
        # Switching a new file to WAL needs an exclusive lock and SQLite reports "database is locked"
        # at once, without the busy handler, when another process opens the file at the same moment
        # (two sweeps starting together): retry until the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result for `key`, or None."""
        row = self._conn.execute("SELECT result FROM runs WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def config(self, key: str) -> dict[str, Any] | None:
        """The stored configuration for `key`, or None."""
        row = self._conn.execute("SELECT config FROM runs WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, config: dict[str, Any], result: dict[str, Any], kind: str = "simulate") -> bool:
        """Store a finished run in one transaction; False if the key was already there (kept as is)."""
        with self._conn:  # not autocommit inside: BEGIN ... COMMIT, rolled back on error
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO runs (key, kind, version, config, result, created) VALUES (?,?,?,?,?,?)",
                (key, kind, mamltheory.__version__, canonical_json(config), json.dumps(result), time.time()),
            )
            return cur.rowcount == 1

    def keys(self) -> list[str]:
        """All stored keys."""
        return [r[0] for r in self._conn.execute("SELECT key FROM runs ORDER BY created")]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
