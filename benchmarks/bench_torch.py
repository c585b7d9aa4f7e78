"""Time per exact meta-gradient ∇F(w) (eq. (30)) on the sinusoid network: TorchTasks against the numpy SinusoidNet.

    PYTHONPATH=. python benchmarks/bench_torch.py [--tasks 20] [--samples 10] [--repeat 5]

Same network (1-40-40-1 tanh, d = 1761), same weights, same tasks and samples; both go through
`mamltheory.simulate.tasks.meta_gradient` (two gradients and one HVP per task), the numpy side via
`ReferenceTasks(SinusoidProblem, X, y, p)`, the torch side via `mamltheory.adapters.torch.TorchTasks`
(torch.func: vmap of grad and of vjp-of-grad). Prints the median seconds per meta-gradient of each
and the ratio torch / numpy; the two results agree to rounding (printed too).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mamltheory.adapters.torch import TorchTasks
from mamltheory.simulate.protocol import ReferenceTasks
from mamltheory.simulate.sinusoid import SinusoidProblem
from mamltheory.simulate.tasks import meta_gradient


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up (torch.func tracing, allocator)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (numpy's BLAS: its env vars)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    prob = SinusoidProblem(hidden=40)
    rng = np.random.default_rng(0)
    X, y = prob.sample_data(rng, prob.sample_tasks(rng, a.tasks), a.samples)
    w = prob.initial_point()
    p = np.full(a.tasks, 1.0 / a.tasks)
    net = torch.nn.Sequential(torch.nn.Linear(1, 40), torch.nn.Tanh(), torch.nn.Linear(40, 40), torch.nn.Tanh(),
                              torch.nn.Linear(40, 1)).double()
    torch.nn.utils.vector_to_parameters(torch.tensor(w), net.parameters())
    tt = TorchTasks(net, lambda o, t: (o[:, 0] - t) ** 2, [(torch.tensor(X[i]), torch.tensor(y[i]))
                                                          for i in range(a.tasks)])
    ref = ReferenceTasks(prob, X, y, p)
    alpha = 0.01
    diff = float(np.abs(tt.meta_gradient(w, alpha) - meta_gradient(ref, w, alpha)).max())
    t_np = median_seconds(lambda: meta_gradient(ref, w, alpha), a.repeat)
    t_torch = median_seconds(lambda: tt.meta_gradient(w, alpha), a.repeat)
    print(f"sinusoid 1-40-40-1 tanh, d = {prob.d}, {a.tasks} tasks x {a.samples} samples, "
          f"torch threads {a.threads}, median of {a.repeat}")
    print(f"numpy SinusoidNet : {t_np * 1e3:8.2f} ms per meta-gradient")
    print(f"TorchTasks        : {t_torch * 1e3:8.2f} ms per meta-gradient")
    print(f"ratio torch/numpy : {t_torch / t_np:8.2f}   (max |difference| {diff:.2e})")


if __name__ == "__main__":
    main()
