"""Shared helpers of the sweep tests: a tiny TOML writer, small configs, reference results."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

from mamltheory.simulate import make_problem
from mamltheory.simulate.runner import RunConfig, run

# Small runs: quadratic family, d = 3 (FO-MAML's α range is (0, 1/(10L)], L ≈ 3.0 here).
PARAMS = {"d": 3, "n_tasks": 4, "pool_size": 20}
BASE: dict[str, Any] = {"problem": "quadratic", "params": dict(PARAMS), "iterations": 10, "replicates": 2,
                        "batch": [4, 5, 5, 2], "step_batch": [2, 3]}
TIMING = ("seconds", "record_seconds")  # wall-clock fields of a result: the only ones allowed to differ


def toml_value(v: Any) -> str:
    """TOML text of a value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_string(s: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped, the rest as is."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_string(k)


def to_toml(doc: dict[str, Any]) -> str:
    """TOML text: top-level scalars, then [tables] and [[arrays of tables]], one key per line."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{toml_key(k)}]"] + [f"{toml_key(a)} = {toml_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines += ["", f"[[{toml_key(k)}]]"] + [f"{toml_key(a)} = {toml_value(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(to_toml(doc), encoding="utf-8")
    return str(path)


_references: dict[str, str] = {}  # config JSON -> result JSON, computed once per test session


def reference(config: dict[str, Any]) -> dict[str, Any]:
    """The run computed directly in this process with the simulator's runner (no sweep machinery).

    Several tests compare against the same configurations: each is computed once, and every caller
    gets its own copy (JSON text, so the floats are the bits the runner produced).
    """
    key = json.dumps(config, sort_keys=True)
    if key not in _references:
        cfg = RunConfig(**config)
        _references[key] = json.dumps(run(make_problem(cfg.problem, **cfg.problem_params), cfg).to_json())
    return json.loads(_references[key])


def numbers(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its wall-clock timings."""
    return {k: v for k, v in result.items() if k not in TIMING}


def stored(store: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """key -> (config, result) of every run row, read with plain sqlite3."""
    con = sqlite3.connect(store)
    try:
        if con.execute("SELECT name FROM sqlite_master WHERE name = 'runs'").fetchone() is None:
            return {}  # killed before the schema was written
        return {k: (json.loads(c), json.loads(r)) for k, c, r in con.execute("SELECT key, config, result FROM runs")}
    finally:
        con.close()
