"""A run from the result store when today's code stored it, else computed and stored (one transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamltheory.simulate.runner import RunConfig, RunResult, run
from mamltheory.store import ResultStore, config_key


def run_or_load(problem: Any, cfg: RunConfig, store_path: str,
                progress: Callable[[int], None] | None = None) -> tuple[RunResult, str, bool]:
    """(result, store key, cached). A stored row that fails its checksum is recomputed and replaced.

    The key hashes the configuration and the simulator's source (`mamltheory.store.code_hash`), so a
    result of other code is never served. A store that cannot be written raises StoreError before the
    run starts.
    """
    key = config_key(cfg.key_dict())
    with ResultStore(store_path) as store:
        cached = store.get(key)
        if cached is not None:
            return RunResult.from_json(cached), key, True
        store.require_writable()
        result = run(problem, cfg, progress=progress)
        store.put(key, cfg.key_dict(), result.to_json())
    return result, key, False
