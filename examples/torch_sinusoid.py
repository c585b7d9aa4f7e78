"""A user's torch network on sinusoid tasks: TorchTasks → estimate → plan → an exact-expectation MAML run.

Run (needs the torch extra, `pip install '.[torch]'`):

    python examples/torch_sinusoid.py            # about 30 s on one CPU core

What each step is (docs/torch.md says more):
1. a plain torch 1-40-40-1 tanh network (float32, as a user would write it) and 20 sinusoid tasks of
   K = 10 fixed samples each: a finite family, so F and ∇F below are exact for it;
2. `mamltheory.adapters.torch.TorchTasks` wraps them (float64 copy, exact HVPs by torch.func);
3. `estimate_constants` measures L, ρ, σ, σ̃, σ_H at sampled points: sampled lower estimates of the
   suprema the theory needs, not certificates; the plan built on them inherits that;
4. `mamltheory.plan("maml", ...)` turns them into batches, the step rule and an iteration bound;
5. MAML in expectation, w ← w − β_k ∇F(w) with the exact ∇F of the family (eq. (30)) and the
   plan's step rule β_k = β̃(w_k)/c, β̃(w) = 1/(4L + 2ρα E_i‖∇f_i(w)‖) (eq. (26), B' → ∞). This is not
   the stochastic runner (`mamltheory simulate` does not take torch problems); it is the iteration
   the theorems bound, with the exact ‖∇F(w_k)‖ printed.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import mamltheory as mt
from mamltheory.adapters.torch import TorchTasks
from mamltheory.bounds.theorems import alpha_max
from mamltheory.estimate.estimators import EstimateConfig, estimate_constants
from mamltheory.simulate.tasks import meta_objective

N_TASKS, K, HIDDEN = 20, 10, 40


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


def main() -> None:
    # Tiny per-sample ops: intra-op threads cost more than they give (benchmarks/bench_torch.py --threads 2).
    torch.set_num_threads(1)
    tt = user_problem()
    w0 = tt.initial_point()
    print(f"TorchTasks: d = {tt.d}, {tt.n_tasks} tasks x {tt.N} samples, float64, exact HVPs")

    cfg = EstimateConfig(points=6, run_steps=10, power_iters=15, hessian_points=2, hessian_tasks=5,
                         hessian_samples=10)
    est = estimate_constants(tt, cfg)
    c = est.values()
    print("estimated (sampled lower estimates, not certificates): "
          + ", ".join(f"{k} = {v:.4g}" for k, v in c.items()) + f"; alpha = {est.alpha:.4g}")

    constants = mt.ProblemConstants(**c)
    # α: Theorem F.1's largest, 1/(6L), rounded down to 6 digits so it stays inside the theorem's range,
    # from the estimated L (est.alpha used L̂(w_0) alone, which is smaller than the L over all points).
    alpha, L, rho = math.floor(alpha_max("maml", c["L"]) * 1e6) / 1e6, c["L"], c["rho"]
    gap = float(meta_objective(tt, w0, alpha))  # Δ = F(w_0) − min F <= F(w_0): the losses are nonnegative
    plan = mt.plan("maml", constants, eps=1.0, initial_gap=gap, alpha=alpha)
    print(f"plan (rests on the sampled estimates above): eps = 1, alpha = {alpha:.4g}, feasible = {plan.feasible}, "
          f"batch = {plan.batch}, step = beta_tilde/{plan.step_divisor}, iterations <= {plan.iterations}")

    w = w0.copy()
    steps = 300
    print(f"MAML in expectation (exact grad F on the {tt.n_tasks}-task family), {steps} steps:")
    for k in range(steps + 1):
        gF = tt.meta_gradient(w, alpha)
        if k % 100 == 0:
            print(f"  k = {k:4d}  F(w_k) = {float(meta_objective(tt, w, alpha)):.4f}  "
                  f"|grad F(w_k)| = {float(np.linalg.norm(gF)):.4f}")
        mean_grad = float(np.linalg.norm(tt.task_grad(w[None, :]), axis=-1) @ tt.p)  # E_i‖∇f_i(w)‖
        beta = 1.0 / (plan.step_divisor * (4.0 * L + 2.0 * rho * alpha * mean_grad))
        w = w - beta * gF


if __name__ == "__main__":
    main()
