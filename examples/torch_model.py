"""A small torch model for the `mamltheory estimate --torch` / `simulate --torch` walk-through (docs/torch.md).

A 1-H-1 network (tanh by default, `act=relu` for the non-smooth variant) on 8 sinusoid tasks of 10 fixed
samples each: a finite family, so F and ∇F are exact for it. `make` is the factory the commands call:

    mamltheory estimate --torch examples/torch_model.py:make --param hidden=10 --out est.json
"""

from __future__ import annotations

import numpy as np
import torch

from mamltheory.adapters.torch import TorchTasks


def make(hidden: int = 10, act: str = "tanh", tasks: int = 8, samples: int = 10, seed: int = 0) -> TorchTasks:
    """The factory: a torch module, a per-sample loss and (inputs, targets) tensors per task."""
    torch.manual_seed(seed)
    activation = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU()}[act]
    net = torch.nn.Sequential(torch.nn.Linear(1, hidden), activation, torch.nn.Linear(hidden, 1))
    rng = np.random.default_rng(seed)
    family = []
    for amplitude, phase in zip(rng.uniform(0.1, 5.0, tasks), rng.uniform(0.0, np.pi, tasks)):
        x = rng.uniform(-5.0, 5.0, (samples, 1))
        family.append((torch.tensor(x), torch.tensor(amplitude * np.sin(x[:, 0] - phase))))
    # per sample, shape (N,): out[:, 0] drops the output axis so (N, 1) never broadcasts against (N,)
    return TorchTasks(net, lambda out, y: (out[:, 0] - y) ** 2, family, nonnegative_loss=True)
