"""The exact-task protocol: a finite family of tasks with probabilities, and the one exact F, ∇F (eqs. (3), (30)).

The toolkit's two problem protocols live here: this one, the exact side, and `Problem`, the sampled side
(described in `simulate.protocol`, which builds problems by name).
Implementers: the certified families (`PoolProblem`), the exact instances of `verify`
(`verify.instances.Instance`), a user's problem through its reference data
(`protocol.ReferenceTasks`), and a user's torch model (`adapters.torch.TorchTasks`). Everything
that needs an exact meta-objective, meta-gradient or exact-expectation algorithm direction calls
the functions here, so eq. (30) is written once.

Writing an implementation (e.g. a torch adapter)
-------------------------------------------------
Provide four members; every array is a numpy ``float64`` array.

* ``d: int`` — the dimension of w (for a network: the flat parameter vector, in
  ``torch.nn.utils.parameters_to_vector`` order).
* ``p`` — task probabilities, shape ``(n,)``, nonnegative, summing to 1 (a tuple is accepted).
* ``task_loss(Wt) -> (..., n)`` — ``out[..., i] = f_i(Wt[..., i, :])``.
* ``task_grad(Wt) -> (..., n, d)`` — ``out[..., i, :] = ∇f_i(Wt[..., i, :])``.
* ``task_hvp(Wt, V) -> (..., n, d)`` — ``out[..., i, :] = ∇²f_i(Wt[..., i, :]) V[..., i, :]``.

``Wt`` holds one point per task: shape ``(..., n, d)``, or ``(..., 1, d)`` for the same point for
every task, which the implementation must broadcast (``np.broadcast_to`` is enough). ``V`` has
shape ``(..., n, d)``. The leading axes ``...`` are replicates or evaluation points and can be any
number, including none; treat them as a batch (``torch.func.vmap``), never loop over them in Python.

What "exact" means: f_i is the task's loss on its whole finite data (the mean over its samples,
eq. (2) with θ uniform over them), and ∇f_i, ∇²f_i v are its exact derivatives (closed forms or
automatic differentiation: reverse mode, and forward-over-reverse or double backward for the
HVP), not finite differences. Then `meta_objective` and `meta_gradient` are F and ∇F of the
finite family exactly, up to float64 rounding.

The `make_problem`-style methods ``meta_parts(w, alpha)`` (a `MetaParts`: F, ∇F, what the runner
records, and the per-task pieces), ``meta_objective(w, alpha)``, ``meta_gradient(w, alpha)`` and
``f_objective(w)`` come from the mixin `ExactMeta` (as in `PoolProblem`, `TorchTasks` and `verify`'s
`Instance`); the exact-expectation directions of Algorithms 1-3 on the family
are `simulate.algorithms.exact_direction(self, algorithm, w, alpha, delta)`.

Replicate independence: a row of the result must not depend on how many rows share the call
(the runner evaluates R replicates at once and a replicate run alone must reproduce its row).
The functions here combine tasks with elementwise products and axis sums, never a BLAS dot over
the task axis, whose blocking can change with the batch size; implementations should do the same
over their own reductions where they can (a per-task mean over samples is fine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Array = np.ndarray


@runtime_checkable
class ExactTasks(Protocol):
    """A finite family of tasks with probabilities p and exact per-task f_i, ∇f_i, ∇²f_i v (module doc)."""

    d: int
    p: Array

    def task_loss(self, Wt: Array) -> Array:
        """f_i at per-task points: (..., n|1, d) -> (..., n)."""
        ...

    def task_grad(self, Wt: Array) -> Array:
        """∇f_i at per-task points: (..., n|1, d) -> (..., n, d)."""
        ...

    def task_hvp(self, Wt: Array, V: Array) -> Array:
        """∇²f_i(w_i) v_i at per-task points: (..., n|1, d), (..., n, d) -> (..., n, d); exact."""
        ...


@runtime_checkable
class Problem(Protocol):
    """Batch loss, gradient and Hessian-vector product, vectorised over leading dimensions, and task and data
    sampling (the expectations over i ∼ p and θ of eqs. (1)-(2)); see `simulate.protocol`'s module doc."""

    d: int

    def loss_on(self, W: Array, X: Array, y: Array) -> Array: ...

    def grad_on(self, W: Array, X: Array, y: Array) -> Array: ...

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array: ...

    def initial_point(self) -> Array: ...

    def sample_tasks(self, rng: np.random.Generator, n: int) -> Array: ...

    def sample_data(self, rng: np.random.Generator, tasks: Array, D: int) -> tuple[Array, Array]: ...

    def task_data(self, tasks: Array) -> tuple[Array, Array]: ...


@dataclass(frozen=True)
class MetaParts:
    """F(w), ∇F(w) and the per-task pieces of eq. (30) at w of shape (..., d).

    g = ∇f_i(w), U = w − α∇f_i(w) (the adapted points, eq. (3)), v = ∇f_i(U),
    grad_Fi = (I − α∇²f_i(w)) v = ∇F_i(w) (eq. (45b)); per-task arrays have shape (..., n, d).
    """

    F: Array
    grad_F: Array
    g: Array
    U: Array
    v: Array
    grad_Fi: Array


def _points(w: Array) -> Array:
    return np.asarray(w, dtype=np.float64)[..., None, :]  # (..., 1, d): the same w for every task


def f_objective(tasks: ExactTasks, w: Array) -> Array:
    """f(w) = E_i f_i(w), eq. (1), for w of shape (..., d)."""
    return (tasks.task_loss(_points(w)) * np.asarray(tasks.p, dtype=np.float64)).sum(axis=-1)


def meta_parts(tasks: ExactTasks, w: Array, alpha: float) -> MetaParts:
    """F(w), ∇F(w) = E_i (I − α∇²f_i(w)) ∇f_i(w − α∇f_i(w)) (eqs. (3), (30)) and the per-task pieces.

    w has shape (d,) or (..., d); every task at once, exact HVPs, no sampling.
    """
    p = np.asarray(tasks.p, dtype=np.float64)
    W = _points(w)
    g = tasks.task_grad(W)
    U = W - alpha * g
    v = tasks.task_grad(U)
    grad_Fi = v - alpha * tasks.task_hvp(W, v)
    F = (tasks.task_loss(U) * p).sum(axis=-1)
    grad_F = (grad_Fi * p[:, None]).sum(axis=-2)
    return MetaParts(F, grad_F, g, U, v, grad_Fi)


def meta_objective(tasks: ExactTasks, w: Array, alpha: float) -> Array:
    """F(w) = E_{i∼p} f_i(w − α∇f_i(w)), eq. (3); exact (no HVP needed)."""
    W = _points(w)
    U = W - alpha * tasks.task_grad(W)
    return (tasks.task_loss(U) * np.asarray(tasks.p, dtype=np.float64)).sum(axis=-1)


def meta_gradient(tasks: ExactTasks, w: Array, alpha: float) -> Array:
    """∇F(w) = E_i (I − α∇²f_i(w)) ∇f_i(w − α∇f_i(w)), eq. (30); exact HVPs, no sampling."""
    return meta_parts(tasks, w, alpha).grad_F


class ExactMeta:
    """The `make_problem`-style exact F, ∇F, f of an `ExactTasks` implementation (mix it in), written once."""

    def meta_parts(self, w: Array, alpha: float) -> MetaParts:
        """F(w), ∇F(w) (eqs. (3), (30)) and the per-task pieces, w of shape (..., d); what the runner records."""
        return meta_parts(self, w, alpha)  # type: ignore[arg-type]

    def meta_objective(self, w: Array, alpha: float) -> Array:
        """F(w) = E_{i∼p} f_i(w − α∇f_i(w)), eq. (3); exact on the finite family."""
        return meta_objective(self, w, alpha)  # type: ignore[arg-type]

    def meta_gradient(self, w: Array, alpha: float) -> Array:
        """∇F(w) = E_i (I − α∇²f_i(w)) ∇f_i(w − α∇f_i(w)), eq. (30); exact HVPs, no sampling."""
        return meta_gradient(self, w, alpha)  # type: ignore[arg-type]

    def f_objective(self, w: Array) -> Array:
        """f(w) = E_i f_i(w), eq. (1)."""
        return f_objective(self, w)  # type: ignore[arg-type]
