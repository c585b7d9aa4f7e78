"""A run's result from the store when it is there, else computed and stored (library form of `simulate`)."""

from __future__ import annotations

from typing import Any

from mamltheory.simulate.runner import RunConfig, RunResult, run
from mamltheory.simulate.store import ResultStore, config_key


def run_or_load(problem: Any, cfg: RunConfig, store_path: str, progress: Any = None) -> tuple[RunResult, str, bool]:
    """The stored result of `cfg` if there is one, else run it and store it (one transaction)."""
    key = config_key(cfg.key_dict())
    with ResultStore(store_path) as store:
        cached = store.get(key)
        if cached is not None:
            return RunResult.from_json(cached), key, True
        result = run(problem, cfg, progress=progress)
        store.put(key, cfg.key_dict(), result.to_json())
    return result, key, False
