"""The sampled-problem protocol (`simulate.tasks.Problem`, defined beside `ExactTasks`): what the runner, `mamltheory estimate` and the sinusoid benchmark need.

    d: int                                     dimension of w
    loss_on(W, X, y) -> (...)                  f_i(w, D) = mean per-sample loss over the batch
    grad_on(W, X, y) -> (..., d)               ∇̃f_i(w, D), eq. (5)
    hvp_on(W, V, X, y) -> (..., d)             ∇̃²f_i(w, D) v, eq. (6b)
    initial_point() -> (d,)                    w_0
    sample_tasks(rng, n) -> tasks              n tasks drawn from p (an array whose first axis is n)
    sample_data(rng, tasks, D) -> (X, y)       D samples per task, i.i.d. from the task's distribution
    task_data(tasks) -> (X, y)                 each task's reference data: its whole finite pool, or a
                                               quadrature grid / large sample standing in for E_θ

and, where used: grad2_on(P, X, y) (HF-MAML's two gradients on one batch, eq. (12)), hessian_on(W, X, y)
(MAML with explicit Hessians), all_tasks() -> (tasks, p) for finitely many tasks, nonnegative_loss
(every per-sample loss >= 0, so Δ <= f(w_0)) and estimate_defaults (EstimateConfig fields).

Data of one batch is X of shape (..., D, *x_shape) and y of shape (..., D); W, V are (..., d) and
their leading dimensions broadcast against the data's. Everything is vectorised over the leading
dimensions (tasks, replicates), so one call evaluates a whole (R, B, D) batch. A per-sample value
is the batch value on a batch of one (`per_sample`), which is how the estimators get per-sample
gradients and Hessian-vector products without a Python loop.

The runner (`simulate.runner`) also needs the problem to be a finite exact-task family
(`simulate.tasks.ExactTasks` with its `ExactMeta` mixin: p and the exact F, ∇F it records) with
`constants`: the pool families (`make_problem`) and `adapters.torch.TorchTasks` are both.
`SinusoidProblem` (its numpy network, or the torch one of `adapters.torch.TorchSinusoidProblem`) is a
`Problem` only. A user with only a loss and its gradient wraps them with `LossGradProblem`, which
supplies the Hessian-vector product by central differences of the gradient (not exact; see its docstring).
`ReferenceTasks(problem, X, y, p)` is any problem's finitely many tasks, each with its reference data,
as an exact-task family, so the one exact F and ∇F (`simulate.tasks.meta_parts`) serve every problem.

`make_meta_problem(name, **params)` gives any of these by name, including a user's own
`path/to/file.py:factory` or `package.module:factory`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mamltheory.errors import InputError
from mamltheory.parsing import choice, integer, whole
from mamltheory.simulate import FAMILIES, make_problem
from mamltheory.simulate.sinusoid import SinusoidProblem
from mamltheory.simulate.tasks import Problem

Array = np.ndarray


def per_sample(X: Array, y: Array) -> tuple[Array, Array]:
    """The batch (X, y) as D batches of one sample: X (..., D, 1, *x), y (..., D, 1)."""
    return np.expand_dims(X, y.ndim), y[..., None]


def check_problem(problem: Any, source: str = "problem") -> Problem:
    """`problem` if it implements the protocol, else an InputError naming the first missing part."""
    for attr in ("d", "loss_on", "grad_on", "hvp_on", "initial_point", "sample_tasks", "sample_data", "task_data"):
        if not hasattr(problem, attr):
            raise InputError(f"{source}: does not implement the problem protocol (no {attr!r}; "
                             "see mamltheory.simulate.protocol)")
    return problem


class ReferenceTasks:
    """Finitely many tasks of a model, each with its reference data, as the exact-task protocol (`ExactTasks`).

    f_i(w) = model.loss_on(w, X[i], y[i]), the mean loss over task i's reference data, and likewise
    ∇f_i, ∇²f_i v from the model's grad_on and hvp_on; p are the task probabilities. With X, y the
    tasks' whole pools (`all_tasks` and `task_data` of a finite family) these are the exact task
    quantities, and `simulate.tasks.meta_parts` the exact F, ∇F of eqs. (3), (30); for drawn tasks, the
    empirical family. Exact only as far as the model's hvp_on is (`LossGradProblem`'s is a central
    difference).
    """

    def __init__(self, model: Problem, X: Array, y: Array, p: Array) -> None:
        self.model, self.X, self.y = model, X, y
        self.d = int(model.d)
        self.p = np.asarray(p, dtype=np.float64)
        if self.p.shape != (y.shape[0],):
            raise ValueError(f"ReferenceTasks: one probability per task, got {self.p.shape} for {y.shape[0]} tasks")

    def task_loss(self, Wt: Array) -> Array:
        return self.model.loss_on(Wt, self.X, self.y)

    def task_grad(self, Wt: Array) -> Array:
        return self.model.grad_on(Wt, self.X, self.y)

    def task_hvp(self, Wt: Array, V: Array) -> Array:
        return self.model.hvp_on(Wt, V, self.X, self.y)


class LossGradProblem:
    """A user's problem from a batch loss and its gradient; HVPs by central differences of the gradient.

    ∇²f(w) v ≈ (∇f(w + h v) − ∇f(w − h v)) / (2h) (the finite difference HF-MAML uses, eq. (12)).
    With a ρ-Lipschitz Hessian the error is at most ρ h ‖v‖² / 2 (eq. (10) with the Taylor factor ½),
    plus rounding of order ε_mach ‖∇f‖ / h; h = ε_mach^{1/3} (1 + ‖w‖) / ‖v‖ balances the two (a
    smooth third derivative makes the first term O(h²)). So the estimates of L, ρ and σ_H built on it
    carry a relative error of about 1e-5 to 1e-10, far below their sampling error, but are not exact.

    loss(W, X, y) and grad(W, X, y) must follow the protocol's shapes (batch means, leading
    dimensions broadcast); sample_tasks, sample_data, task_data (and, for finitely many tasks,
    all_tasks) as in the protocol.
    """

    def __init__(self, d: int, loss: Callable[[Array, Array, Array], Array],
                 grad: Callable[[Array, Array, Array], Array],
                 sample_tasks: Callable[[np.random.Generator, int], Array],
                 sample_data: Callable[[np.random.Generator, Array, int], tuple[Array, Array]],
                 task_data: Callable[[Array], tuple[Array, Array]],
                 initial_point: Array | Callable[[], Array], name: str = "user",
                 nonnegative_loss: bool = False,
                 all_tasks: Callable[[], tuple[Array, Array]] | None = None) -> None:
        self.d = int(d)
        self.name = name
        self._loss, self._grad = loss, grad
        self._sample_tasks, self._sample_data, self._task_data = sample_tasks, sample_data, task_data
        self._w0 = initial_point
        self.nonnegative_loss = bool(nonnegative_loss)
        self.params: dict[str, Any] = {}
        if all_tasks is not None:  # finitely many tasks: the estimators then use all of them, exactly
            self.all_tasks = all_tasks

    def loss_on(self, W: Array, X: Array, y: Array) -> Array:
        return np.asarray(self._loss(W, X, y), dtype=float)

    def grad_on(self, W: Array, X: Array, y: Array) -> Array:
        return np.asarray(self._grad(W, X, y), dtype=float)

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array:
        """Central difference of the gradient along V (see class doc); V = 0 gives 0."""
        W, V = np.asarray(W, float), np.asarray(V, float)
        nv = np.linalg.norm(V, axis=-1, keepdims=True)
        scale = np.finfo(float).eps ** (1.0 / 3.0) * (1.0 + np.linalg.norm(W, axis=-1, keepdims=True))
        h = scale / np.where(nv > 0, nv, 1.0)
        P = np.stack(np.broadcast_arrays(W + h * V, W - h * V), axis=-2)  # both points in one call
        G = self.grad_on(P, np.expand_dims(X, y.ndim - 1), np.expand_dims(y, y.ndim - 1))
        return np.where(nv > 0, (G[..., 0, :] - G[..., 1, :]) / (2.0 * h), 0.0)

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array:
        return self.grad_on(P, np.expand_dims(X, y.ndim - 1), np.expand_dims(y, y.ndim - 1))

    def initial_point(self) -> Array:
        w0 = self._w0() if callable(self._w0) else self._w0
        return np.asarray(w0, dtype=float).copy()

    def sample_tasks(self, rng: np.random.Generator, n: int) -> Array:
        return np.asarray(self._sample_tasks(rng, n))

    def sample_data(self, rng: np.random.Generator, tasks: Array, D: int) -> tuple[Array, Array]:
        return self._sample_data(rng, tasks, D)

    def task_data(self, tasks: Array) -> tuple[Array, Array]:
        return self._task_data(tasks)

    def describe(self) -> dict[str, Any]:
        return {"problem": self.name, "params": self.params, "d": self.d,
                "hvp": "central differences of the gradient"}


def load_object(spec: str, flag: str = "--problem") -> Any:
    """The object named by `path/to/file.py:name` or `package.module:name`; InputError naming `flag` otherwise.

    Any error raised while importing the user's file or module becomes one InputError line.
    """
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise InputError(f"{flag}: must be FILE.py:name or package.module:name, got {spec!r}", field=flag)
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise InputError(f"{flag}: no file {target!r}", field=flag)
            mod_name = f"_mamltheory_user_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            if module_spec is None or module_spec.loader is None:
                raise InputError(f"{flag}: cannot load {target!r}", field=flag)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError as e:
                if e.name is not None and target.startswith(e.name):
                    raise InputError(f"{flag}: no module {target!r}", field=flag) from None
                raise
    except InputError:
        raise
    except (Exception, SystemExit) as e:  # the user's code failed or exited on import: say where, in one line
        raise InputError(f"{flag}: importing {target!r} {_what_happened(e)}", field=flag) from None
    if not hasattr(module, attr):
        raise InputError(f"{flag}: {target!r} has no attribute {attr!r}", field=flag)
    return getattr(module, attr)


# Longest message of a user's exception quoted in the one line (a traceback-sized message would flood it).
MESSAGE_CHARS = 300


def _what_happened(e: BaseException) -> str:
    """A user's code that raised or called sys.exit, in words on one line ("called sys.exit(0)", "raised ...")."""
    if isinstance(e, SystemExit):
        return "called sys.exit()" if e.code is None else f"called sys.exit({_clip(repr(e.code))})"
    text = _clip(" ".join(str(e).split()))  # a multi-line message would break the one-line rule
    return f"raised {type(e).__name__}: {text}" if text else f"raised {type(e).__name__}"


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"


def call_factory(spec: str, flag: str, params: dict[str, Any], factory: Any = None) -> Any:
    """The object a user's `FILE.py:factory` / `module:factory` returns, called with `params`.

    Every failure is one InputError naming `flag`: the spec cannot be loaded, names something that is not
    callable, or the call raises or calls sys.exit (a SystemExit must not end the command with the factory's
    status and no word of why). Ctrl-C (KeyboardInterrupt) is left to the CLI. `factory`: the object
    `load_object(spec)` already returned (not loaded twice).
    """
    factory = load_object(spec, flag) if factory is None else factory
    if not callable(factory):
        raise InputError(f"{flag}: {spec!r} is {type(factory).__name__}, not a factory (a callable)", field=flag)
    try:
        return factory(**params)
    except InputError as e:  # the toolkit's own check inside the factory (TorchTasks, ...): keep its field
        raise InputError(f"{flag} {spec}: {e}", field=e.field or flag) from None
    except (Exception, SystemExit) as e:
        raise InputError(f"{flag}: the factory {spec!r} {_what_happened(e)}", field=flag) from None


def make_meta_problem(name: str, **params: Any) -> Problem:
    """A problem in the full protocol: a built-in family, `sinusoid`, or a user's `FILE.py:factory`."""
    if name in FAMILIES:
        return make_problem(name, **params)
    if name == SinusoidProblem.name:
        unknown = sorted(set(params) - set(SinusoidProblem.defaults))
        if unknown:
            raise InputError(f"problem parameter {unknown[0]!r}: not a parameter of 'sinusoid' "
                             f"(allowed: {', '.join(sorted(SinusoidProblem.defaults))})")
        for key in ("hidden", "grid", "seed"):
            if key in params:
                params[key] = integer(key, whole(params[key]), 0 if key == "seed" else 1, text=False)
        choice("activation", params.get("activation", "tanh"), ("tanh", "softplus"))
        return SinusoidProblem(**params)
    if ":" in name:
        obj = load_object(name)
        if not hasattr(obj, "grad_on"):  # a factory, not a problem object itself
            obj = call_factory(name, "--problem", params, obj)
        return check_problem(obj, f"--problem {name}")
    raise InputError(f"problem: must be one of {', '.join(sorted([*FAMILIES, 'sinusoid']))} "
                     f"or FILE.py:factory / module:factory, got {name!r}")
