"""`mamltheory verify`: every check in one run, its verdicts, and the record the report is built from."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mamltheory
from mamltheory import parsing
from mamltheory.pool import one_blas_thread, spawn_pool, terminate
from mamltheory.store import DEFAULT_STORE, ResultStore, config_key, memo
from mamltheory.verify.check import (
    CONTRADICTED,
    ERROR,
    HOLDS,
    CheckResult,
    summary_counts,
)

SECTIONS = ("audit", "encoding", "plans", "conformance", "lemma", "theorem", "scaling", "falsify", "tightness")


def _audit(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.audit import FAILS, findings

    out = []
    for f in findings():
        verdict = CONTRADICTED if f.verdict == FAILS else HOLDS
        # exact arithmetic (sympy): any excess over the paper's number is caught, power 1
        out.append(CheckResult(id=f"audit.{f.id}", result=f.result, name=f"{f.kind}: {f.source}", source=f.source,
                               kind=f"audit {f.kind}", verdict=verdict,
                               evidence=f.evidence, power=1.0, details={"audit_verdict": f.verdict, "claimed": f.claimed,
                                                             "derived": f.derived, "margin": f.margin}))
    return out


def _encoding(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.certificates import certificate_checks
    from mamltheory.verify.encoding import encoding_checks

    return encoding_checks() + certificate_checks()


def _plans(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.plans import plan_checks

    return plan_checks()


def _conformance(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.conformance import conformance

    return conformance(quick=quick, seed=seed, progress=progress)


def _lemma(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.lemma_checks import lemma_checks

    return lemma_checks(quick=quick, seed=seed, progress=progress)


def _theorem(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.theorem_checks import theorem_checks

    return theorem_checks(quick=quick, seed=seed, store=store, progress=progress)


def _scaling(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify import scaling

    progress("bias floors against α")
    out = scaling.bias_scaling()
    out.append(scaling.fo_floor_sigma_scaling())
    progress("noise floors against B and D_in")
    out += scaling.batch_scaling(quick=quick, seed=seed)
    return out  # the timings run afterwards, alone on the machine (`timings`)


def timings(quick: bool, progress: Callable[[str], None]) -> list[CheckResult]:
    """The scaling section's time-per-iteration laws, measured when nothing else runs: a section running on the
    other core would distort them."""
    from mamltheory.verify import scaling

    return scaling.time_scaling(quick=quick, progress=progress)


def _falsify(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify import repaired_checks
    from mamltheory.verify.falsify import falsification

    # repaired H.1 next to the paper's runs
    return falsification(quick=quick, seed=seed, progress=progress) + repaired_checks.falsification_runs(
        repaired_checks.cap_for(quick))


def _tightness(quick: bool, seed: int, store: str, progress: Callable[[str], None]) -> list[CheckResult]:
    from mamltheory.verify.tightness import tightness

    return tightness(quick=quick, seed=seed, progress=progress)


RUNNERS = {"audit": _audit, "encoding": _encoding, "plans": _plans, "conformance": _conformance, "lemma": _lemma,
           "theorem": _theorem, "scaling": _scaling, "falsify": _falsify, "tightness": _tightness}


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=cwd, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _blob(data: bytes) -> str:
    """The git object id of a file with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's own id, not security


def source_commit(package: Path | None = None) -> str | None:
    """The commit of the running code (`package`: this one): its checkout's HEAD (an editable install,
    '+modified' when its sources differ from HEAD); for an installed copy (`pip install .`), the working
    directory's checkout when HEAD holds exactly the installed sources; None when no commit is known to hold them."""
    package = package or Path(mamltheory.__path__[0])
    for where in (package, Path.cwd()):
        top = _git(where, "rev-parse", "--show-toplevel")
        if top is None:
            continue
        tree = _git(Path(top), "ls-tree", "-r", "HEAD", "--", "mamltheory")
        head = _git(Path(top), "rev-parse", "--short", "HEAD")
        if tree is None or not head:
            continue
        committed = {line.split("\t", 1)[1]: line.split()[2] for line in tree.splitlines()
                     if line.endswith(".py") and "\t" in line}
        running = {f"mamltheory/{f.relative_to(package).as_posix()}": _blob(f.read_bytes())
                   for f in package.rglob("*.py")}
        if running == committed:
            return head
        if where == package:  # the checkout the code runs from, edited since HEAD
            return f"{head}+modified"
    return None


def provenance(seed: int, mode: str, seconds: float, commit: str | None) -> dict[str, Any]:
    """Package version, commit (at the start of the run), seed, library versions and wall time."""
    import matplotlib
    import numpy
    import scipy
    import sympy

    return {"mamltheory": mamltheory.__version__, "commit": commit, "seed": seed, "mode": mode,
            "python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "sympy": sympy.__version__, "matplotlib": matplotlib.__version__, "wall_seconds": round(seconds, 1)}


def section_checks(section: str, quick: bool, seed: int, store: str,
                   progress: Callable[[str], None] | None = None) -> list[CheckResult]:
    """One section's checks; a section that raises is one ERROR check with the exception line, never a crash."""
    try:
        return RUNNERS[section](quick, seed, store, progress or (lambda _msg: None))
    except Exception as err:  # noqa: BLE001 - a failing section is a finding of this run, not a crash
        return section_checks_error(section, err)


class WorkerDied(RuntimeError):
    """The worker process of a section ended without a result."""


def section_checks_error(section: str, err: Exception) -> list[CheckResult]:
    """A section that raised: one ERROR check whose evidence is the exception's first line."""
    line = f"{type(err).__name__}: {err}".splitlines()[0] if str(err) else type(err).__name__
    return [CheckResult(id=f"{section}.error", result="-", name=f"{section} checks", source="-", kind=section,
                        verdict=ERROR, evidence=line)]


# The order sections are handed to the workers: the longest first, so that two workers finish together.
LONGEST_FIRST = ("plans", "theorem", "lemma", "tightness", "scaling", "conformance", "falsify", "encoding", "audit")
# Processes for the sections when `verify` is not told: None = one per core. 1 runs them in this process
# (what a test that replaces a section's runner in this process needs).
WORKERS: int | None = None


def _in_parallel(sections: tuple[str, ...], quick: bool, seed: int, store: str, workers: int,
                 say: Callable[[str], None], advance: Callable[[], None]) -> dict[str, list[CheckResult]]:
    """The sections on `workers` spawned processes (`mamltheory.pool`: one BLAS thread each, Ctrl-C left to
    this process); interrupted or failing, the workers are stopped, not waited for."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    with one_blas_thread():
        pool = spawn_pool(workers)
        try:
            order = [s for s in LONGEST_FIRST if s in sections] + [s for s in sections if s not in LONGEST_FIRST]
            todo = {pool.submit(section_checks, s, quick, seed, store): s for s in order}
            out: dict[str, list[CheckResult]] = {}
            while todo:
                done, _ = wait(todo, return_when=FIRST_COMPLETED)
                for fut in done:
                    section = todo.pop(fut)
                    try:
                        out[section] = fut.result()
                    except BrokenProcessPool:
                        # a worker died (killed by the OS, e.g. out of memory): this section and those queued
                        # behind it become ERROR checks saying so; the finished sections are kept
                        out[section] = section_checks_error(section, WorkerDied(
                            "the process running this section died (killed by the operating system, for "
                            "instance out of memory); no result"))
                    say(f"{section} done ({len(out)}/{len(sections)} sections)")
                    advance()
            return out
        except BaseException:
            terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def steps(sections: tuple[str, ...]) -> int:
    """How many times `verify` calls `advance`: once per section, once more for the timings after `scaling`."""
    return len(sections) + ("scaling" in sections)


def verify(quick: bool = True, seed: int = 0, store: str = ":memory:", sections: tuple[str, ...] = SECTIONS,
           progress: Callable[[str], None] | None = None, workers: int | None = None,
           advance: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run the sections; a section that raises is recorded as one ERROR check with the exception line.

    `workers`: processes for the sections (default: the machine's cores, at most one per section); one runs
    them in this process, in order. `progress` gets a line of what runs, `advance` is called `steps(sections)`
    times, as each part finishes (a progress bar). The record has `provenance`, `summary` (each verdict counted apart,
    `mamltheory.verify.check.summary_counts`), `checks` (in section order, whatever the workers),
    `defects` (each root cause once, with the indices of the checks it explains; every explained check
    carries its `defect` id) and `unexplained` (failing checks no defect explains).
    """
    say = progress or (lambda _msg: None)
    step = advance or (lambda: None)
    t0 = time.perf_counter()
    commit = source_commit()
    n = min(len(sections), workers or WORKERS or os.cpu_count() or 1)
    if n > 1:
        say(f"{', '.join(sections)} on {n} processes")
        by_section = _in_parallel(tuple(sections), quick, seed, store, n, say, step)
    else:
        by_section = {}
        for section in sections:
            say(section)
            by_section[section] = section_checks(section, quick, seed, store, say)
            step()
    if "scaling" in by_section:
        if not any(c.verdict == ERROR for c in by_section["scaling"]):
            say("time per iteration against d")
            try:
                by_section["scaling"] += timings(quick, say)
            except Exception as err:  # noqa: BLE001 - as for a section
                by_section["scaling"] += section_checks_error("scaling", err)
        step()
    results = [r for section in sections for r in by_section[section]]
    from mamltheory.verify.defects import annotate

    checks = [r.to_json() for r in results]
    record = {"provenance": provenance(seed, "quick" if quick else "full", time.perf_counter() - t0, commit),
              "summary": summary_counts(checks), "checks": checks}
    return annotate(record)  # the paper's defects, each once, and which checks each explains


def verification_record(quick: bool = True, seed: int = 0, store: str = DEFAULT_STORE,
                        sections: tuple[str, ...] = SECTIONS,
                        progress: Callable[[str], None] | None = None,
                        advance: Callable[[], None] | None = None) -> tuple[dict[str, Any], bool]:
    """(record, cached): the stored record of (mode, seed, sections), else `verify` run and stored.

    The key hashes the source of simulate, verify and bounds (`mamltheory.store.code_hash("verify")`),
    so an edit to any of them, committed or not, runs the checks again. A store that cannot be
    written raises StoreError before any check runs.
    """
    seed = parsing.seed("--seed", seed, text=False)
    config = {"mode": "quick" if quick else "full", "seed": seed, "sections": list(sections)}
    record, _, cached = memo(store, "verify", config, lambda: verify(quick=quick, seed=seed, store=store,
                                                                     sections=sections, progress=progress,
                                                                     advance=advance))
    if cached and "defects" not in record:
        from mamltheory.verify.defects import annotate

        record = annotate(record)
    return record, cached


def stored_record(store: str = DEFAULT_STORE) -> dict[str, Any] | None:
    """The latest verification record this code stored in `store` (read only; None when there is none or no
    store file): the records of other code are skipped, their checks may not carry the ids and results."""
    if store != ":memory:" and not Path(store).exists():
        return None
    with ResultStore(store, readonly=True) as db:
        for key in reversed(db.keys()):
            config = db.config(key)
            if config is not None and set(config) == {"mode", "seed", "sections"} \
                    and key == config_key(config, "verify"):
                return db.get(key)
    return None


def exit_status(record: dict[str, Any], strict: bool) -> int:
    """3 some check crashed (error); 1 a contradiction that no known defect of the paper explains (with `strict`:
    any contradiction); else 0.

    A contradiction a defect explains is the paper's known error, found again; one that none explains is news
    (a new defect, or a bug in this toolkit) and fails the run. Vacuous and inconclusive checks ran: they do not
    change the exit status.
    """
    verdicts = [c["verdict"] for c in record["checks"]]
    if ERROR in verdicts:
        return 3
    if "unexplained" not in record:
        from mamltheory.verify.defects import annotate

        annotate(record)
    if record["unexplained"] or (strict and CONTRADICTED in verdicts):
        return 1
    return 0
