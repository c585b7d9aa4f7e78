"""Executors: run sweep tasks on local processes or a Dask cluster, report each outcome as it arrives.

Both call `worker.compute(key, config)` in a worker and hand an `Outcome` to the parent's callback,
which writes the store; results depend only on the configuration, so they are the same bit for bit
whichever executor and however many workers ran them.

Worker deaths. A local worker that dies (os._exit, SIGKILL, out of memory) breaks the whole
`ProcessPoolExecutor`, and every task in flight fails with BrokenProcessPool: the culprit is one of
them, but which is not known. The pool is rebuilt, and each of those suspects is run again alone in
a one-worker pool, where a death is its own: it is then retried up to `max_attempts` deaths in total
and recorded as failed with the reason. At most 2 × `workers` tasks are in flight (one running and one
queued per worker, so that no worker waits for the parent between runs), so a death implicates at
most that many runs. On Dask the scheduler does the same bookkeeping (it reschedules a task whose
worker died, up to its `allowed-failures`, then raises KilledWorker); a KilledWorker is recorded as
failed with the reason. An exception raised by a run (a bug, not a numerical divergence, which is a
recorded outcome) is deterministic in its configuration and is recorded as failed at once.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from mamltheory.errors import InputError
from mamltheory.pool import one_blas_thread, spawn_pool, terminate
from mamltheory.sweep import worker

DEFAULT_MAX_ATTEMPTS = 3
IN_FLIGHT = 2  # tasks submitted per worker: the one it runs and the next one, already queued
CONNECT_TIMEOUT = 20.0  # seconds to wait for a Dask scheduler to answer


@dataclass(frozen=True)
class Task:
    """One run to compute: its store key and RunConfig fields."""

    key: str
    config: dict[str, Any]


@dataclass
class Outcome:
    """A finished task: `result_json` (RunResult JSON text) or `failure` (the reason), and the attempts it took."""

    key: str
    result_json: str | None
    failure: str | None
    attempts: int
    worker_seconds: float = 0.0
    run_seconds: float = 0.0
    final: dict[str, Any] | None = None  # worker.final_stats of the result

    @property
    def result(self) -> dict[str, Any] | None:
        """The result as a dict (parsed on demand)."""
        return None if self.result_json is None else json.loads(self.result_json)


Callback = Callable[[Outcome], None]


def _error_text(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text.splitlines()[0][:500] if text else type(err).__name__


def _success(t: Task, out: dict[str, Any], attempts: int) -> Outcome:
    from mamltheory.store import code_hash

    if out.get("code") != code_hash("simulate"):
        # The store key hashes this process's simulator source; a result of other code must not take it.
        return Outcome(t.key, None, f"the worker's simulator source differs from this sweep's (code hash "
                                    f"{str(out.get('code'))[:12]} vs {code_hash('simulate')[:12]}): run the same "
                                    "mamltheory code on the workers", attempts)
    return Outcome(t.key, out["result_json"], None, attempts, out["worker_seconds"], out["run_seconds"], out["final"])


class LocalExecutor:
    """`workers` processes on this machine (spawned, one BLAS thread each)."""

    def __init__(self, workers: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.max_attempts = max_attempts
        self.description = f"local process pool, {self.workers} worker{'s' if self.workers != 1 else ''}"

    def close(self) -> None:
        """Nothing to release: each `run` starts and stops its own pool."""

    def _pool(self, n: int) -> ProcessPoolExecutor:
        return spawn_pool(n)

    def run(self, tasks: Iterable[Task], on_done: Callback) -> None:
        """Compute every task; call `on_done` in this process for each, in completion order."""
        with one_blas_thread():  # inherited by every worker spawned below
            self._run(list(tasks), on_done)

    def _run(self, tasks: list[Task], on_done: Callback) -> None:
        pending = tasks[::-1]  # pop() from the end keeps the sweep's order
        self._starts: dict[str, int] = {}
        self._deaths: dict[str, int] = {}
        suspects: list[Task] = []
        pool = self._pool(min(self.workers, max(len(pending), 1)))
        try:
            inflight: dict[Future[Any], Task] = {}
            while pending or inflight or suspects:
                if suspects:
                    # Isolate: each suspect alone, so that a death is attributable to it.
                    pool.shutdown(wait=True, cancel_futures=True)
                    while suspects:
                        self._isolated(suspects.pop(), on_done)
                    pool = self._pool(min(self.workers, max(len(pending), 1)))
                    continue
                while pending and len(inflight) < IN_FLIGHT * self.workers:
                    t = pending.pop()
                    self._starts[t.key] = self._starts.get(t.key, 0) + 1
                    inflight[pool.submit(worker.compute, t.key, t.config)] = t
                n_inflight = len(inflight)
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool:
                        suspects.append(t)
                        continue
                    except Exception as err:  # the run raised: deterministic in its config, not retried
                        on_done(Outcome(t.key, None, f"error: {_error_text(err)}", self._starts[t.key]))
                        continue
                    on_done(_success(t, out, self._starts[t.key]))
                if suspects:
                    # Every other task in flight goes down with the pool: all are suspects (rerunning
                    # one that had in fact finished gives the same bits). A death with one task in
                    # flight is that task's.
                    suspects.extend(inflight.values())
                    inflight.clear()
                    if n_inflight == 1:
                        self._deaths[suspects[0].key] = self._deaths.get(suspects[0].key, 0) + 1
        except BaseException:
            terminate(pool)  # interrupted (Ctrl-C) or the callback failed: do not wait for running tasks
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _isolated(self, t: Task, on_done: Callback) -> None:
        """Run one suspect alone until it succeeds, raises, or its worker has died `max_attempts` times."""
        while True:
            if self._deaths.get(t.key, 0) >= self.max_attempts:
                on_done(Outcome(t.key, None, f"worker process died {_times(self._deaths[t.key])} running it "
                                             f"(killed, out of memory, or exited)", self._starts[t.key]))
                return
            self._starts[t.key] += 1
            pool = self._pool(1)
            try:
                out = pool.submit(worker.compute, t.key, t.config).result()
            except BrokenProcessPool:
                self._deaths[t.key] = self._deaths.get(t.key, 0) + 1
                continue
            except Exception as err:
                on_done(Outcome(t.key, None, f"error: {_error_text(err)}", self._starts[t.key]))
                return
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            on_done(_success(t, out, self._starts[t.key]))
            return


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:/]+:\d{1,5}$")


def check_address(address: str) -> str:
    """A scheduler address such as tcp://10.0.0.5:8786 or host:8786 (InputError otherwise)."""
    if not isinstance(address, str) or not _ADDRESS.match(address) or int(address.rsplit(":", 1)[1]) > 65535:
        raise InputError(f"--scheduler: must be a Dask scheduler address such as tcp://HOST:8786, got {address!r}")
    return address


class DaskExecutor:
    """The tasks as futures on a `dask.distributed` cluster (the scheduler at `address`)."""

    def __init__(self, address: str, connect_timeout: float | None = None) -> None:
        self.address = check_address(address)
        self.connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        self.description = f"Dask cluster at {address}"
        self.client: Any = None

    def connect(self) -> None:
        """Connect to the scheduler (InputError if the extra is missing or nothing answers)."""
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler: needs the optional extra dask: pip install 'mamltheory[dask]'") from None
        try:
            self.client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise InputError(f"--scheduler: cannot connect to {self.address} ({_error_text(err)})") from None

    def run(self, tasks: Iterable[Task], on_done: Callback) -> None:
        """Submit every task; call `on_done` in this process for each, in completion order."""
        from distributed import as_completed

        try:
            from distributed.scheduler import KilledWorker
        except ImportError:  # pragma: no cover - older distributed
            KilledWorker = RuntimeError  # noqa: N806
        if getattr(self, "client", None) is None:
            self.connect()
        client = self.client
        try:
            by_key: dict[str, Task] = {}
            futures = []
            for t in tasks:
                # A unique key and pure=False: a resubmitted sweep gets fresh tasks, never a result
                # still held on the cluster for an earlier client.
                fut = client.submit(worker.compute, t.key, t.config, key=f"mamltheory-run-{t.key}-{time.time_ns()}",
                                    pure=False, retries=0)
                by_key[fut.key] = t
                futures.append(fut)
            for fut in as_completed(futures, loop=client.loop):  # this client, not a default one
                t = by_key[fut.key]
                try:
                    out = fut.result()
                except KilledWorker as err:
                    n = int(getattr(err, "allowed_failures", 0)) + 1
                    on_done(Outcome(t.key, None, f"worker process died {_times(n)} running it (the Dask "
                                                 f"scheduler's allowed-failures = {n - 1})", n))
                except Exception as err:
                    on_done(Outcome(t.key, None, f"error: {_error_text(err)}", 1))
                else:
                    on_done(_success(t, out, 1))
                fut.release()
        finally:
            self.close()

    def close(self) -> None:
        """Disconnect from the scheduler (futures still held are released, their tasks cancelled)."""
        if self.client is not None:
            self.client.close()
            self.client = None
