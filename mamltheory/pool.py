"""Local process pools for independent computations: spawned workers, one BLAS thread each, Ctrl-C left to
the parent (the sweep's runs, `verify`'s sections).

The workers are spawned, not forked: the parent runs threads (the progress bar), and a fresh interpreter
reads the BLAS thread variables when it imports numpy, so they are set while the pool starts its workers.
A worker ignores SIGINT and SIGTERM: Ctrl-C (or a SIGTERM to the group) reaches the whole process group,
and the parent answers it with one line and `terminate`, instead of every worker printing its own traceback
or dying first and being counted as a failed run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

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


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes initialised by `init_worker` (use inside `one_blas_thread`)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker, initargs=(os.getpid(),))


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the running workers now (interrupted, or the caller failed): do not wait for their tasks."""
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14.
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()  # SIGKILL: workers ignore SIGTERM (init_worker), and they hold nothing to clean up
