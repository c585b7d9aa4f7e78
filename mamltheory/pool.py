"""Local process pools for independent computations: spawned workers, one BLAS thread each, Ctrl-C left to
the parent (the sweep's runs, `verify`'s sections).

The workers are spawned, not forked: the parent runs threads (the progress bar), and a fresh interpreter
reads the BLAS thread variables when it imports numpy, so they are set while the pool starts its workers.
A worker ignores SIGINT and SIGTERM: Ctrl-C (or a SIGTERM to the group) reaches the whole process group,
and the parent answers it with one line and `terminate`, instead of every worker printing its own traceback
or dying first and being counted as a failed run.

A worker does not re-run the parent's `__main__`: its tasks are functions of this package, and a user's
script that calls `mamltheory.verify(...)` without an `if __name__ == "__main__":` guard would otherwise
be run again by every worker, each starting a pool of its own (Python refuses: BrokenProcessPool). So an
object whose class is defined in the user's `__main__` cannot be sent to a worker; none of ours needs to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import context, spawn
from typing import Any

# Thread-count variables of the BLAS/OpenMP libraries, set to 1 for spawned workers.
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
            "NUMEXPR_NUM_THREADS")


def init_worker(parent_pid: int) -> None:
    """Initializer of pool workers: ignore Ctrl-C, exit when the parent process is gone (e.g. SIGKILLed).

    A pool worker blocks on its task queue forever if its parent dies without closing it, so a daemon
    thread checks the parent every half second.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM to the process group too: a worker dying of it first would be recorded as a failed run
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS_ENV set to 1 for the workers spawned inside the block; the parent's values restored after it."""
    saved = {v: os.environ.get(v) for v in BLAS_ENV}
    os.environ.update({v: "1" for v in BLAS_ENV})
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


_PREPARING = threading.Lock()  # the preparation hook is process-wide: one worker start at a time


class _Worker(context.SpawnProcess):
    """A spawned process that starts without importing or running the parent's `__main__`."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
        with _PREPARING:
            prepare = spawn.get_preparation_data

            def without_main(name: str) -> dict[str, Any]:
                data = prepare(name)
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
                return data

            spawn.get_preparation_data = without_main
            try:
                return context.SpawnProcess._Popen(process_obj)
            finally:
                spawn.get_preparation_data = prepare


class _WorkerContext(context.SpawnContext):
    """The spawn start method with `_Worker` processes."""

    Process = _Worker


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes initialised by `init_worker` (use inside `one_blas_thread`)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_WorkerContext(),
                               initializer=init_worker, initargs=(os.getpid(),))


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the running workers now (interrupted, or the caller failed): do not wait for their tasks."""
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14.
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()  # SIGKILL: workers ignore SIGTERM (init_worker), and they hold nothing to clean up
