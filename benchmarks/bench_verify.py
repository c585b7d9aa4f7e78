"""Wall time of each `mamltheory verify` section, quick and full, and of the whole quick report.

Goals: `mamltheory report` (quick) at most 45 s and `verify --full` at most 4 minutes on
2 idle cores. The sections are timed in one process, in the order `verify` runs them, with nothing
cached (each section computes from scratch; the result store is in memory).

The machine's load average (1 min, from /proc/loadavg) is printed before and after each mode: on a
shared machine a time means little without it.

Run: python benchmarks/bench_verify.py [--mode quick|full|both] [--sections scaling,falsify] [--report]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

GOALS = {"quick": None, "full": 240.0}
REPORT_GOAL = 45.0


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_sections(quick: bool, sections: tuple[str, ...] | None = None) -> dict[str, float]:
    """Seconds per section of one verify run (quick or full), computed from scratch."""
    from mamltheory.verify.run import RUNNERS, SECTIONS

    out: dict[str, float] = {}
    for section in sections or SECTIONS:
        t0 = time.perf_counter()
        RUNNERS[section](quick, 0, ":memory:", lambda _msg: None)
        out[section] = time.perf_counter() - t0
    return out


def time_report() -> tuple[float, str | None]:
    """(seconds, None) for the whole `mamltheory report` (quick) process with a fresh store and output folder;
    (seconds until it stopped, the last line of its stderr) when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mamltheory.cli", "report", "--out", f"{tmp}/report",
                               "--store", f"{tmp}/store.sqlite"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [""]
            return seconds, f"exit {done.returncode}: {lines[-1]}"
        return seconds, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=("quick", "full", "both"), default="both")
    ap.add_argument("--sections", default=None, help="comma-separated sections to time (default: all)")
    ap.add_argument("--report", action="store_true", help="also time the whole quick `mamltheory report`")
    args = ap.parse_args()
    modes = ("quick", "full") if args.mode == "both" else (args.mode,)
    for mode in modes:
        before = load()
        times = time_sections(mode == "quick", tuple(args.sections.split(",")) if args.sections else None)
        total = sum(times.values())
        print(f"verify --{mode}   (load average before: {before}; after: {load()})")
        for section, s in times.items():
            print(f"  {section:<10} {s:7.1f} s")
        goal = GOALS[mode]
        verdict = "" if goal is None else f"   (goal <= {goal:.0f} s: {'met' if total <= goal else 'NOT met'})"
        print(f"  {'total':<10} {total:7.1f} s{verdict}")
    if args.report:
        before = load()
        s, failed = time_report()
        if failed:
            print(f"mamltheory report (quick, fresh store) FAILED after {s:.1f} s ({failed}); load average before "
                  f"{before}, after {load()}")
        else:
            print(f"mamltheory report (quick, fresh store): {s:.1f} s   (goal <= {REPORT_GOAL:.0f} s: "
                  f"{'met' if s <= REPORT_GOAL else 'NOT met'}; load average before {before}, after {load()})")


if __name__ == "__main__":
    main()
