"""Cold start of `mamltheory plan --algorithm all ...` (whole process) against `python -c "import sympy"`.

Goals, measured in the same run: with `--theory repaired` (a fixed proof) the plan command takes at most 2x
the time of importing sympy; with the default sharp theory, whose plans also search the proof's free choices
(every candidate's chain evaluated exactly, bounds/choose.py), at most 4 s for all three algorithms.
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
REPAIRED = PLAN + ["--theory", "repaired"]


def wall(cmd: list[str]) -> float:
    """Seconds for one whole process, output discarded."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    wall(PLAN), wall(REPAIRED), wall(SYMPY)  # warm the file cache, not the interpreter
    plan, repaired, sym = [], [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits all alike
        sym.append(wall(SYMPY))
        repaired.append(wall(REPAIRED))
        plan.append(wall(PLAN))
    p, r, s = statistics.median(plan), statistics.median(repaired), statistics.median(sym)
    print(f"import sympy                     median {s:.3f} s  (min {min(sym):.3f})")
    print(f"plan (all) --theory repaired     median {r:.3f} s  (min {min(repaired):.3f}): "
          f"{r / s:.2f}x import sympy (goal: <= 2x)")
    print(f"plan (all), sharp (the default)  median {p:.3f} s  (min {min(plan):.3f}) (goal: <= 4 s)")


if __name__ == "__main__":
    main()
