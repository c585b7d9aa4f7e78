"""Sweeps: a TOML grid of simulator runs, executed on all local cores or a Dask cluster, resumable.

`config.load_sweep(path, outside_theory)` validates a whole config file and expands it into runs
(`SweepSpec`); `executors` runs them (a process pool, or `dask.distributed`); `mamltheory.store.ResultStore`
records each finished run in one transaction, together with its membership in the sweep, and
failed runs with their reason; `command` is `mamltheory sweep`.
"""

from __future__ import annotations

__all__ = ["config", "executors", "worker", "command"]
