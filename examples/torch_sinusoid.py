"""A user's torch network on sinusoid tasks: TorchTasks → estimate → plan → the runner → a report section.

Run (needs the torch extra, `pip install '.[torch]'`):

    python examples/torch_sinusoid.py            # about 15 s of CPU time on one core

What each step is (docs/torch.md says more):
1. a plain torch 1-40-40-1 tanh network (float32, as a user would write it) and 20 sinusoid tasks of
   K = 10 fixed samples each: a finite family, so F and ∇F are exact for it;
2. `mamltheory.adapters.torch.TorchTasks` wraps them (float64 copy, exact HVPs by torch.func);
3. `estimate_constants` measures L, ρ, σ, σ̃, σ_H at sampled points: sampled lower estimates of the
   suprema the theory needs, not certificates; everything built on them inherits that;
4. `mamltheory.plan("maml", ...)` turns them into the ε-plan of Theorem F.1 (the default theory);
5. `mamltheory.run_config` + `mamltheory.run`: MAML (exact HVPs, Algorithm 1) through the same
   replicate-batched runner as the built-in families, with the theory's α = 1/(6L), the step rule
   β_k = β̃(w_k)/12 of eq. (26) and the planner's K-shot batches (D_in = D_o = K = 10), recording the
   exact ‖∇F(w_k)‖ of the 20-task family;
6. a Markdown section of the run, printed.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import mamltheory as mt
from mamltheory.adapters.torch import TorchTasks
from mamltheory.bounds.theorems import theorem
from mamltheory.estimate.estimators import EstimateConfig, estimate_constants
from mamltheory.simulate.command import guarantee

N_TASKS, K, HIDDEN = 20, 10, 40
ITERATIONS, REPLICATES = 60, 2


def user_problem(seed: int = 0) -> TorchTasks:
    """What a user has: a torch module, a per-sample loss and tasks of (inputs, targets) tensors."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(1, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, HIDDEN),
                              torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1))
    rng = np.random.default_rng(seed)
    tasks = []
    for amplitude, phase in zip(rng.uniform(0.1, 5.0, N_TASKS), rng.uniform(0.0, math.pi, N_TASKS)):
        x = torch.tensor(rng.uniform(-5.0, 5.0, (K, 1)), dtype=torch.float32)
        tasks.append((x, amplitude * torch.sin(x[:, 0] - phase)))
    loss = torch.nn.MSELoss(reduction="none")  # per sample; the adapter averages over a task's samples
    return TorchTasks(net, lambda out, y: loss(out[:, 0], y), tasks, nonnegative_loss=True)


def guarantee_text(tt: TorchTasks, cfg: mt.RunConfig, res: mt.RunResult) -> str:
    """Theorem F.1's bound at the run's α and batches (as `simulate` prints it), vacuous or not."""
    g = guarantee(tt, cfg, res, mt.bounds.DEFAULT_THEORY)
    verdict = "vacuous: w_0 already meets it" if g["vacuous"] else "not vacuous"
    return (f"guarantee ({g['theorem']}, at these α and batches): E‖∇F(w)‖ <= {g['accuracy_bound']:.4g} against "
            f"‖∇F(w_0)‖ = {g['grad_norm_w0']:.4g}: {verdict}")


def report_section(tt: TorchTasks, cfg: mt.RunConfig, res: mt.RunResult, sources: dict[str, str]) -> str:
    """The run as a Markdown section: settings with their sources, then ‖∇F(w_k)‖ and F(w_k) over replicates."""
    rows = [i for i in range(len(res.k)) if res.k[i] % 10 == 0 or i == len(res.k) - 1]
    table = "\n".join(f"| {res.k[i]} | {np.mean(res.grad_norm[i]):.4f} | {np.min(res.grad_norm[i]):.4f} | "
                      f"{np.max(res.grad_norm[i]):.4f} | {np.mean(res.F[i]):.4f} |" for i in rows)
    return (f"## MAML on a torch network ({tt.params['model']}, d = {tt.d}, {tt.n_tasks} tasks × {tt.N} samples)\n\n"
            f"- constants: {tt.constants_source}\n"
            f"- α = {cfg.alpha:.4g} ({sources['alpha']}); step: {sources['step']}\n"
            f"- batches B = {cfg.B}, D_in = {cfg.D_in}, D_o = {cfg.D_o}, D_h = {cfg.D_h}: {sources['batch']}\n"
            f"- {cfg.iterations} meta-iterations, {cfg.replicates} replicates, seed {cfg.seed}; {res.seconds:.1f} s, "
            f"{100 * res.record_seconds / res.seconds:.0f}% of it recording the exact ∇F\n"
            f"- {guarantee_text(tt, cfg, res)}\n\n"
            "| k | mean ‖∇F(w_k)‖ | min | max | mean F(w_k) |\n|---:|---:|---:|---:|---:|\n" + table)


def main() -> None:
    # Tiny per-sample ops: intra-op threads cost more than they give (benchmarks/bench_torch.py --threads 2).
    torch.set_num_threads(1)
    tt = user_problem()
    print(f"TorchTasks: d = {tt.d}, {tt.n_tasks} tasks x {tt.N} samples, float64, exact HVPs")

    cfg = EstimateConfig(points=6, run_steps=10, power_iters=15, hessian_points=2, hessian_tasks=5,
                         hessian_samples=10)
    est = estimate_constants(tt, cfg)
    c = est.values()
    print("estimated (sampled lower estimates, not certificates): "
          + ", ".join(f"{k} = {v:.4g}" for k, v in c.items()))
    tt.with_constants(c, f"sampled estimates (not certificates), estimate_constants with {cfg.points} points")

    # α: Theorem F.1's largest, 1/(6L), rounded down to 6 digits so it stays inside the theorem's range.
    alpha = math.floor(theorem("maml").alpha_max(c["L"]) * 1e6) / 1e6
    gap = float(tt.meta_objective(tt.initial_point(), alpha))  # Δ <= F(w_0): the losses are nonnegative
    plan = mt.plan("maml", tt.constants, eps=1.0, initial_gap=gap, alpha=alpha)
    # ε must lie below ‖∇F(w_0)‖ (exact on the family), else w_0 already meets it and the plan is vacuous.
    g0 = float(np.linalg.norm(tt.meta_gradient(tt.initial_point(), alpha)))
    print(f"plan (rests on the estimates above): eps = 1 (‖∇F(w_0)‖ = {g0:.4g}), alpha = {alpha:.4g}, "
          f"feasible = {plan.feasible}, "
          f"batch = {plan.batch}, step = beta_tilde/{plan.step_divisor}, iterations <= {plan.iterations}")

    # The ε-plan's batches exceed this 20-task, 200-sample family; the runner takes the planner's K-shot
    # plan instead (D_in = D_o = K, the B nearest the best accuracy at that K), with the same α and step rule.
    run_cfg, sources = mt.run_config(tt, "maml-hvp", alpha=alpha, k_shot=K, iterations=ITERATIONS,
                                     replicates=REPLICATES, seed=0)
    res = mt.run(tt, run_cfg)
    print()
    print(report_section(tt, run_cfg, res, sources))


if __name__ == "__main__":
    main()
