"""A run from the result store when today's code stored it, else computed and stored (`mamltheory.store.memo`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamltheory.simulate.runner import RunConfig, RunResult, run
from mamltheory.store import memo


def run_or_load(problem: Any, cfg: RunConfig, store_path: str,
                progress: Callable[[int], None] | None = None) -> tuple[RunResult, str, bool]:
    """(result, store key, cached). A stored row that fails its checksum is recomputed and replaced.

    The key hashes the configuration and the simulator's source (`mamltheory.store.code_hash`), so a
    result of other code is never served. A store that cannot be written raises StoreError before the
    run starts.
    """
    record, key, cached = memo(store_path, "simulate", cfg.key_dict(),
                               lambda: run(problem, cfg, progress=progress).to_json())
    return RunResult.from_json(record), key, cached
