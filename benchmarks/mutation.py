"""Mutation suite: plant one bug at a time in a copy of the package, run `mamltheory verify --quick`, and report which
checks catch it (a check whose verdict turns from holds/vacuous to contradicted/error, or a run that fails).

Each mutant is a one- or two-line change a programmer could plausibly make, in the simulator, the runner, the
planner, the encoded bounds or a certificate. The checks are not tuned to the mutants: each tests a property the
paper or an algorithm's definition states. Results: docs/mutation.md.

    python benchmarks/mutation.py                 # every mutant (about a minute each on 2 cores)
    python benchmarks/mutation.py --only 3,7      # some of them
    python benchmarks/mutation.py --list          # the mutants
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # seconds for one verify --quick (about one minute unmutated): beyond it the mutant is not caught


@dataclass(frozen=True)
class Mutant:
    """Replace `old` by `new` in `path` (relative to mamltheory/); `old` must occur exactly `count` times."""

    name: str
    area: str
    path: str
    old: str
    new: str
    count: int = 1


MUTANTS = (
    Mutant("MAML direction without its Hessian term", "simulator", "simulate/algorithms.py",
           "return V - alpha * hessian_correction_explicit(", "return V - 0 * alpha * hessian_correction_explicit("),
    Mutant("inner step α/2", "simulator", "simulate/algorithms.py",
           "return Wb - alpha * problem.grad_on(Wb, batch.X_in, batch.y_in)",
           "return Wb - alpha / 2 * problem.grad_on(Wb, batch.X_in, batch.y_in)"),
    Mutant("outer batch reuses the inner draws", "runner", "simulate/runner.py",
           "Xg[:, :, a:b], yg[:, :, a:b]", "Xg[:, :, :b - a], yg[:, :, :b - a]"),
    Mutant("batch mean divided by D + 1", "simulator", "simulate/families.py",
           "g = np.matmul(c[..., None, :], Xg)[..., 0, :] / Xg.shape[-2]",
           "g = np.matmul(c[..., None, :], Xg)[..., 0, :] / (Xg.shape[-2] + 1)"),
    Mutant("HF-MAML radius δ·‖v‖ instead of δ/‖v‖", "simulator", "simulate/algorithms.py",
           "return np.where(ok, delta / np.where(ok, nv, 1.0), float(delta))",
           "return np.where(ok, delta * np.where(ok, nv, 1.0), float(delta))"),
    Mutant("HF-MAML finite difference over δ_k instead of 2δ_k", "simulator", "simulate/algorithms.py",
           "(Gp - Gm) / (2.0 * dk)", "(Gp - Gm) / dk"),
    Mutant("D_h batch reuses the D_o draws", "runner", "simulate/runner.py",
           "*((Xg[:, :, b:], yg[:, :, b:]) if self.D_h else ())", "*((Xg[:, :, a:b], yg[:, :, a:b]) if self.D_h else ())"),
    Mutant("runner divides β̃ by c/2", "runner", "simulate/runner.py",
           "beta = beta_tilde(problem, W, *step_batch, cfg.alpha) / cfg.step_divisor",
           "beta = beta_tilde(problem, W, *step_batch, cfg.alpha) / (cfg.step_divisor / 2)"),
    Mutant("β̃ with 4ρα instead of 2ρα", "simulator", "simulate/algorithms.py",
           "return 1.0 / (4.0 * c.L + 2.0 * c.rho * alpha * norms)",
           "return 1.0 / (4.0 * c.L + 4.0 * c.rho * alpha * norms)"),
    Mutant("tasks drawn from half the family", "runner", "simulate/runner.py",
           "return rng.integers(0, p.shape[0], size=size)", "return rng.integers(0, p.shape[0] // 2, size=size)"),
    Mutant("exact ∇F with 2α in its Hessian term", "simulator", "simulate/tasks.py",
           "grad_Fi = v - alpha * tasks.task_hvp(W, v)", "grad_Fi = v - 2 * alpha * tasks.task_hvp(W, v)"),
    Mutant("exact HF-MAML direction with + αd", "simulator", "simulate/algorithms.py",
           "return ((m.v - alpha * d_vec) * p).sum(axis=-2)", "return ((m.v + alpha * d_vec) * p).sum(axis=-2)"),
    Mutant("Theorem F.1's step divisor 6", "bounds", "bounds/theorems/f1.py", "step_divisor=12", "step_divisor=6"),
    Mutant("repaired F.1's K frozen as 14", "bounds", "bounds/theorems/f1.py",
           'chain_constants={"K": 20, "M": 860}', 'chain_constants={"K": 14, "M": 860}'),
    Mutant("Lemma 4.11's second moment lowered 30%", "bounds", "bounds/lemmas.py",
           "expr=sp.Rational(25, 8) / local_smoothness() ** 2", "expr=sp.Rational(35, 16) / local_smoothness() ** 2"),
    Mutant("Lemma 4.12's bias lowered 30%", "bounds", "bounds/lemmas.py",
           "expr=alpha * L * sigma_tilde / sp.sqrt(D_in),", "expr=sp.Rational(7, 10) * alpha * L * sigma_tilde / sp.sqrt(D_in),"),
    Mutant("accuracy bound's linear branch over 2L", "bounds", "bounds/theorems/base.py",
           "K * rho * alpha / L * S, eps, evaluate=False)", "K * rho * alpha / (2 * L) * S, eps, evaluate=False)"),
    Mutant("repaired H.1 radius twice ν/(ρα)", "bounds", "bounds/theorems/h1.py",
           "d = nu / float(rational(c.rho) * a)", "d = 2 * nu / float(rational(c.rho) * a)"),
    Mutant("planner rounds D_in down", "planner", "bounds/planner.py",
           "D_in = max(1, math.ceil(st2 / rest))", "D_in = max(1, math.ceil(st2 / rest) - 1)"),
    Mutant("planner cuts T by 10%", "planner", "bounds/planner.py",
           "plan.iterations = int(thm.iterations.exact(", "plan.iterations = int(0.9 * thm.iterations.exact("),
    Mutant("planner's B one above its optimum", "planner", "bounds/planner.py",
           "return B, D_in, D_o, {\n        \"method\": \"exhaustive", "return B + 1, D_in, D_o, {\n        \"method\": \"exhaustive"),
    Mutant("certificate of L halved", "certificates", "simulate/families.py",
           'Certificate("L", float(s2 * st["lam_max"].max() + self.reg_L),',
           'Certificate("L", float(0.5 * s2 * st["lam_max"].max() + self.reg_L),'),
    Mutant("certificate of σ̃ halved", "certificates", "simulate/families.py",
           'Certificate("sigma_tilde", float(s1 * math.sqrt(st["trace"].max())),',
           'Certificate("sigma_tilde", float(0.5 * s1 * math.sqrt(st["trace"].max())),'),
    Mutant("sharp chains' Jensen split without its ½ (a step sharpened too far)", "bounds", "bounds/proofs/sharp.py",
           '/ sp.Min(ref("(106♯) ratio z <= 1"), ref("(106♯) ratio z >= 1")),', "/ 1,"),
)


def plant(mutant: Mutant, into: Path) -> None:
    """A copy of mamltheory/ with the mutant planted, at into/mamltheory."""
    shutil.copytree(ROOT / "mamltheory", into / "mamltheory", ignore=shutil.ignore_patterns("__pycache__"))
    f = into / "mamltheory" / mutant.path
    text = f.read_text(encoding="utf-8")
    found = text.count(mutant.old)
    if found != mutant.count:
        raise SystemExit(f"mutant {mutant.name!r}: {mutant.old!r} occurs {found} times in {mutant.path}, "
                         f"expected {mutant.count} (the code moved: update the mutant)")
    f.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def run_verify(package_parent: Path, folder: Path) -> tuple[int, dict | None, float]:
    """`mamltheory verify --quick --json` on the package under package_parent: (exit, record, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "mamltheory.cli", "verify", "--quick", "--json", "--store",
                               str(folder / "s.sqlite")], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return -1, None, time.perf_counter() - t0
    try:
        record = json.loads(done.stdout)
    except json.JSONDecodeError:
        record = None
    return done.returncode, record, time.perf_counter() - t0


def catches(base: dict, record: dict | None, code: int) -> list[str]:
    """The checks that caught the mutant: failing now (contradicted or error) where the baseline did not fail (a
    check that merely changed its name, or disappeared, catches nothing)."""
    if record is None:
        return [] if code == -1 else [f"the run itself failed (exit {code})"]
    before = {c["name"]: c["verdict"] for c in base["checks"]}
    return [c["name"] + (" (error)" if c["verdict"] == "error" else "") for c in record["checks"]
            if c["verdict"] in ("contradicted", "error") and before.get(c["name"]) not in ("contradicted", "error")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=None, help="comma-separated mutant numbers (1-based)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--out", default=None, help="write the results as JSON to this file")
    args = ap.parse_args()
    if args.list:
        for i, m in enumerate(MUTANTS, 1):
            print(f"{i:2d}. [{m.area}] {m.name}")
        return 0
    chosen = MUTANTS if args.only is None else [MUTANTS[int(i) - 1] for i in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "base"
        base_dir.mkdir()
        code, base, secs = run_verify(ROOT, base_dir)
        if base is None:
            raise SystemExit(f"the baseline verify failed (exit {code})")
        print(f"baseline: {base['summary']['checks']} checks in {secs:.0f} s", flush=True)
        results = []
        for m in chosen:
            where = Path(tmp) / f"m{MUTANTS.index(m) + 1}"
            (where / "run").mkdir(parents=True)
            plant(m, where)
            code, record, secs = run_verify(where, where / "run")
            caught = catches(base, record, code)
            results.append({"mutant": m.name, "area": m.area, "caught": bool(caught), "by": caught,
                            "exit": code, "seconds": round(secs, 1)})
            if args.out:  # after every mutant: an interrupted suite keeps what it measured
                Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
            print(f"{'CAUGHT' if caught else 'missed'}  {m.name} ({secs:.0f} s"
                  + (", timed out" if code == -1 else "") + "): "
                  + ("; ".join(caught[:4]) + (f"; +{len(caught) - 4} more" if len(caught) > 4 else "")
                     if caught else "no check fails"), flush=True)
    n = sum(r["caught"] for r in results)
    print(f"caught {n} of {len(results)} ({100 * n / max(len(results), 1):.0f}%)")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
