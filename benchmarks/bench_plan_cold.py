"""Cold start of `mamltheory plan --algorithm all ...` (whole process) against `python -c "import sympy"`.

Goal: the plan command takes at most 2x the time of importing sympy, measured in the same run.
Run: python benchmarks/bench_plan_cold.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PLAN = [sys.executable, "-m", "mamltheory.cli", "plan", "--algorithm", "all", "--L", "1", "--rho", "1",
        "--sigma", "0.5", "--sigma-tilde", "1", "--sigma-h", "1", "--eps", "0.1", "--initial-gap", "10"]
SYMPY = [sys.executable, "-c", "import sympy"]


def wall(cmd: list[str]) -> float:
    """Seconds for one whole process, output discarded."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    wall(PLAN), wall(SYMPY)  # warm the file cache, not the interpreter
    plan, sym = [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits both alike
        sym.append(wall(SYMPY))
        plan.append(wall(PLAN))
    p, s = statistics.median(plan), statistics.median(sym)
    print(f"import sympy            median {s:.3f} s  (min {min(sym):.3f})")
    print(f"mamltheory plan (all)   median {p:.3f} s  (min {min(plan):.3f})")
    print(f"ratio                   {p / s:.2f}x   (goal: <= 2x)")


if __name__ == "__main__":
    main()
