"""A user's torch model and finite family of tasks as the exact-task protocol (`simulate.tasks.ExactTasks`).

`TorchTasks(model, loss, tasks, probabilities=None)`: f_i(w) is the mean of the per-sample loss
`loss(model_w(inputs_i), targets_i)` over task i's samples (eq. (2) with θ uniform over them), so
F(w) = Σ_i p_i f_i(w − α∇f_i(w)) (eq. (3)) and ∇F(w) (eq. (30)) are exact for this finite family.
Derivatives come from `torch.func`: ∇f_i by reverse mode (`grad`), ∇²f_i v by reverse-over-reverse
(`vjp` of `grad`, the double backward learn2learn uses; the Hessian is symmetric, so vᵀ∇²f = ∇²f v),
every point, task and sample batch at once (`vmap`),
in float64 on a `.double()` copy of the model (the caller's model is left untouched). w is the flat
parameter vector in `torch.nn.utils.parameters_to_vector` order.

The same object is a sampled problem (`mamltheory.simulate.tasks.Problem`: `loss_on`, `grad_on`,
`hvp_on`, `initial_point`, `sample_tasks`, `sample_data`, `task_data`, `all_tasks`) so `mamltheory estimate`
can use it. There a batch's "data" are sample keys into the family's pool, key = task·N + sample
(X of shape (..., D, 1), y of shape (..., D), the same keys), which lets inputs and targets have
any shape and dtype (class labels included) while the estimators only index and reshape them.

It is also a problem of the replicate-batched runner (`simulate.runner.run`, `mamltheory simulate
--torch`), which draws batches with `sample_data` (keys are the data, so nothing is copied), reads
`meta_parts` for the exact F, ∇F and `constants` for β̃ (eq. (26)) and the δ rule (eq. (142)). The
constants of a torch model are not certified: the user
gives them (`TorchTasks(..., constants=...)`, `with_constants`), typically estimates from
`mamltheory estimate --torch`. `params` identifies the problem in the result store: a digest of the
tasks' tensors, p, the initial parameters, the parameter shapes and the losses at w_0, the
adapter's own source, and the constants (`from_factory` adds the factory's source and name).

`TorchSinusoidProblem` is the sinusoid benchmark's problem with the network written in torch (the
original's ReLU network).

Every task must have the same number of samples N and the same input and target shapes: the tasks
are stacked into one (n, N, ...) tensor so one vmapped call covers them all.

The model copy is put in eval mode: dropout would make f_i random and batch-norm statistics would
make a sample's loss depend on its batch, and the theory's f_i(w, θ) is a fixed function of w.
"""

from __future__ import annotations

import copy
import hashlib
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mamltheory.assumptions import ProblemConstants
from mamltheory.errors import InputError
from mamltheory.simulate import tasks as exact
from mamltheory.simulate.sinusoid import SinusoidProblem

# The package is not on a package index: the extra installs from the repository's own folder (a clone).
MISSING_TORCH = ("the torch extra is not installed: in the repository's folder run pip install '.[torch]' "
                 "(CPU-only wheel: see docs/torch.md)")

try:
    import torch
    from torch.func import functional_call, grad, jacfwd, vjp, vmap
except ImportError:
    raise InputError(MISSING_TORCH, field="torch") from None

Array = np.ndarray
# Points × samples evaluated per vmapped call (memory: activations of this many forward passes).
CHUNK_SAMPLES = 1 << 16
# |Σ p_i − 1| allowed for user-given probabilities (rounding of a float64 list of a few thousand entries).
P_SUM_TOL = 1e-9


def source_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (the result store's key of a user's model file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# Module types that make f_i fail Assumption 4.4 (a ρ-Lipschitz Hessian): kinks (ReLU family, hard
# clamps, max pooling, L1 / Huber losses) or a second derivative that jumps (ELU family at 0).
NONSMOOTH_MODULES = tuple(t for t in (getattr(torch.nn, n, None) for n in (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink",
    "Softshrink", "Threshold", "ELU", "CELU", "SELU", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d", "L1Loss",
    "SmoothL1Loss", "HuberLoss")) if t is not None)
# The same in torch's operator names, seen while the forward pass and the loss run once: catches functional
# calls (F.relu, torch.clamp, x.abs(), ...) that no module shows. Reductions (max, amax) are left out: a
# stable softmax subtracts a max and stays smooth.
NONSMOOTH_OPS = frozenset((
    "relu", "relu6", "leaky_relu", "prelu", "_prelu_kernel", "rrelu", "rrelu_with_noise", "hardtanh", "hardswish",
    "hardsigmoid", "hardshrink", "softshrink", "threshold", "elu", "celu", "selu", "clamp", "clamp_min",
    "clamp_max", "clip", "abs", "sign", "sgn", "maximum", "minimum", "fmax", "fmin", "heaviside", "floor", "ceil",
    "round", "trunc", "frac", "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "l1_loss",
    "smooth_l1_loss", "huber_loss"))


def nonsmooth_modules(model: torch.nn.Module) -> list[str]:
    """The submodules of a known non-smooth type, as "name (Type)" (Assumption 4.4 fails with any of them)."""
    return [f"module {name or '(the model)'} ({type(m).__name__})" for name, m in model.named_modules()
            if isinstance(m, NONSMOOTH_MODULES)]


def recorded_ops(run: Callable[[], Any]) -> tuple[Any, set[str]]:
    """run()'s result and the names of the torch operators it called (a dispatch mode records them)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: set[str] = set()

    class _Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 (torch's API)
            seen.add(func.overloadpacket.__name__.rstrip("_"))  # relu_ (in place) is relu
            return func(*args, **(kwargs or {}))

    with _Record():
        out = run()
    return out, seen


def _tensor(x: Any, what: str) -> torch.Tensor:
    try:
        return torch.as_tensor(x)
    except Exception as e:  # numpy object arrays, ragged lists, ...
        raise InputError(f"{what}: not convertible to a tensor ({type(e).__name__}: {e})", field="tasks") from None


class TorchModel:
    """The model half alone: a torch module and a per-sample loss, evaluated on data arrays.

    loss_on / grad_on / hvp_on / grad2_on / hessian_on take real data X (..., D, *x), y (..., D) (the
    model half of `simulate.tasks.Problem`), so a task distribution that
    draws fresh data (the sinusoid benchmark's ReLU network) can use a torch network. `TorchTasks`
    adds a finite family of tasks and takes sample keys instead.
    """

    name = "torch-model"

    def __init__(self, model: torch.nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        if not isinstance(model, torch.nn.Module):
            raise InputError(f"model: must be a torch.nn.Module, got {type(model).__name__}", field="model")
        named = list(model.named_parameters())
        if not named:
            raise InputError("model: has no parameters", field="model")
        for pname, prm in named:
            if not prm.is_floating_point():
                raise InputError(f"model: parameter {pname!r} has dtype {prm.dtype}; every parameter must be a "
                                 "floating tensor", field="model")
            bad = int((~torch.isfinite(prm.detach())).sum())
            if bad:  # F, ∇F and every estimate would be NaN: refuse, do not report ρ = nan
                raise InputError(f"model: parameter {pname!r} has {bad} non-finite entr{'y' if bad == 1 else 'ies'} "
                                 "(NaN or inf); every parameter must be finite", field="model")
        if not callable(loss):
            raise InputError(f"loss: must be callable loss(output, target), got {type(loss).__name__}", field="loss")
        # Kinks or jumping second derivatives: Assumption 4.4 fails (TorchTasks adds functional ones).
        self.nonsmooth: list[str] = nonsmooth_modules(model)
        self.model = copy.deepcopy(model).double().eval()
        self._names = [n for n, _ in self.model.named_parameters()]
        self._shapes = [tuple(p.shape) for _, p in self.model.named_parameters()]
        self._sizes = [p.numel() for _, p in self.model.named_parameters()]
        self._buffers = dict(self.model.named_buffers())
        self.d = int(sum(self._sizes))
        self._w0 = torch.nn.utils.parameters_to_vector(self.model.parameters()).detach().numpy().copy()
        self._loss = loss
        g = grad(self._batch_loss)
        self._fn = {
            "loss": vmap(self._batch_loss),
            "grad": vmap(g),
            # double backward: 1.6-1.7x faster here than forward-over-reverse (jvp of grad) on the
            # sinusoid network and on a 3-parameter model (same values to 2e-16)
            "hvp": vmap(lambda w, v, x, y: vjp(lambda u: g(u, x, y), w)[1](v)[0]),
            "hessian": vmap(jacfwd(g)),  # explicit d×d (Algorithm 1 as written); maml-hvp avoids it
            "output": vmap(lambda w, x, y: functional_call(self.model, (self._unflatten(w), self._buffers), (x,))),
        }

    def _unflatten(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        params, start = {}, 0
        for name, shape, size in zip(self._names, self._shapes, self._sizes):
            params[name] = w[start:start + size].reshape(shape)
            start += size
        return params

    def _batch_loss(self, w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean per-sample loss of the model with flat parameters w on one batch (x, y)."""
        out = functional_call(self.model, (self._unflatten(w), self._buffers), (x,))
        val = self._loss(out, y)
        check_loss_shape(self._loss, val, out, y)
        # Trailing per-sample axes (e.g. an (N, 1) MSE) are averaged: the task loss is the mean of all entries.
        return val.mean()

    def _evaluate(self, kind: str, W: Array, keys: Array, V: Array | None = None,
                  pool: tuple[torch.Tensor, torch.Tensor] | None = None) -> Array:
        """loss / grad / hvp / hessian / output of every batch of sample keys (..., D) into `pool` at points W (..., d)."""
        X_pool, Y_pool = pool if pool is not None else (self._X, self._Y)  # type: ignore[attr-defined]
        W = np.asarray(W, dtype=np.float64)
        keys = np.asarray(keys)
        shapes = [W.shape[:-1], keys.shape[:-1]] + ([] if V is None else [np.shape(V)[:-1]])
        lead = np.broadcast_shapes(*shapes)
        D, d = keys.shape[-1], self.d
        M = int(np.prod(lead, dtype=np.int64))
        Wf = torch.tensor(np.broadcast_to(W, lead + (d,)).reshape(M, d))
        Kf = torch.tensor(np.broadcast_to(keys, lead + (D,)).reshape(M, D).astype(np.int64))
        Vf = None if V is None else torch.tensor(np.broadcast_to(np.asarray(V, np.float64), lead + (d,)).reshape(M, d))
        fn = self._fn[kind]
        # a Hessian is d forward-mode passes per point: d times the memory of one
        step = max(1, CHUNK_SAMPLES // max(1, D * (d if kind == "hessian" else 1)))
        parts = []
        for a in range(0, M, step):  # chunks bound memory; each chunk is one vmapped call
            k = Kf[a:a + step]
            x, y = X_pool[k], Y_pool[k]
            args = (Wf[a:a + step], x, y) if Vf is None else (Wf[a:a + step], Vf[a:a + step], x, y)
            parts.append(fn(*args).detach())
        if not parts:
            return np.zeros(lead + {"loss": (), "hessian": (d, d)}.get(kind, (d,)))
        out = torch.cat(parts).numpy()
        return out.reshape(lead + out.shape[1:])

    def _on_data(self, kind: str, W: Array, X: Array, y: Array, V: Array | None = None) -> Array:
        """`_evaluate` on data arrays X (..., D, *x), y (..., D): they become a pool, their positions the keys."""
        X, y = np.asarray(X), np.asarray(y)
        lead_shape = y.shape
        x_shape = X.shape[y.ndim:]
        X = np.broadcast_to(X, lead_shape + x_shape)
        pool = (torch.tensor(X.reshape((-1,) + x_shape)), torch.tensor(y.reshape(-1)))  # copies: X may be a read-only view
        if pool[0].is_floating_point():
            pool = (pool[0].double(), pool[1].double() if pool[1].is_floating_point() else pool[1])
        keys = np.arange(y.size).reshape(lead_shape)
        return self._evaluate(kind, W, keys, V, pool)

    def loss_on(self, W: Array, X: Array, y: Array) -> Array:
        """Mean loss of the batch (X, y) at W (..., d)."""
        return self._on_data("loss", W, X, y)

    def grad_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇ of the batch loss, eq. (5)."""
        return self._on_data("grad", W, X, y)

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array:
        """∇² of the batch loss times V, eq. (6b); exact (double backward)."""
        return self._on_data("hvp", W, X, y, V)

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array:
        """Gradients at k points per batch, P (..., k, d) -> (..., k, d) (HF-MAML's pair, eq. (12))."""
        y = np.asarray(y)
        return self._on_data("grad", P, np.expand_dims(X, y.ndim - 1), y[..., None, :])

    def hessian_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇² of the batch loss as an explicit d×d matrix (jacfwd of grad)."""
        return self._on_data("hessian", W, X, y)

    def outputs(self, W: Array, X: Array, y: Array) -> Array:
        """The model's outputs on the batch X (..., D, *x) at W: (..., D, *out) (y gives the batch shape)."""
        return self._on_data("output", W, X, y)

    def initial_point(self) -> Array:
        """The model's own parameters (after `.double()`), flat."""
        return self._w0.copy()

    @property
    def assumption_warning(self) -> str | None:
        """One line saying Assumption 4.4 fails when the model or loss has non-smooth parts, else None."""
        if not self.nonsmooth:
            return None
        return ("Assumption 4.4 (ρ-Lipschitz Hessian) fails: non-smooth " + ", ".join(self.nonsmooth)
                + "; the Hessian jumps at kinks, so the ρ estimate is a sampled ratio, not a Lipschitz constant "
                  "(not a certificate), and no theorem covers this model")


def _loss_name(loss: Any) -> str:
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return f"{name}()" if isinstance(loss, torch.nn.Module) else name


def check_loss_shape(loss: Any, val: Any, out: Any, y: torch.Tensor) -> None:
    """InputError naming the loss unless loss(output, target) has one value per sample: shape (N,) or y's shape.

    An output (N, 1) against targets (N,) broadcasts to (N, N): every sample against every target, a
    silently wrong f_i.
    """
    if not isinstance(val, torch.Tensor) or val.ndim == 0 or not val.is_floating_point():
        got = tuple(val.shape) if isinstance(val, torch.Tensor) else type(val).__name__
        raise InputError(f"loss {_loss_name(loss)}: must return per-sample values, a floating tensor of shape "
                         f"({y.shape[0]},) or the targets' shape {tuple(y.shape)}, e.g. reduction='none'; "
                         f"got {got}", field="loss")
    if tuple(val.shape) not in ((y.shape[0],), tuple(y.shape)):
        o = tuple(out.shape) if isinstance(out, torch.Tensor) else "?"
        hint = ""
        if isinstance(out, torch.Tensor) and tuple(val.shape) == tuple(torch.broadcast_shapes(out.shape, y.shape)):
            hint = " (the outputs broadcast against the targets: index out[:, 0] or reshape)"
        raise InputError(f"loss {_loss_name(loss)}: returned shape {tuple(val.shape)} for outputs {o} and targets "
                         f"{tuple(y.shape)}; it must return one value per sample, shape ({y.shape[0]},) or the "
                         f"targets' shape{hint}", field="loss")


class TorchTasks(exact.ExactMeta, TorchModel):
    """A torch module, a per-sample loss and a finite list of (inputs, targets) tasks (module doc)."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 tasks: Sequence[tuple[Any, Any]], probabilities: Sequence[float] | Array | None = None, *,
                 nonnegative_loss: bool = False,
                 constants: ProblemConstants | Mapping[str, float] | None = None) -> None:
        super().__init__(model, loss)
        self.nonnegative_loss = bool(nonnegative_loss)

        X, Y = self._stack(tasks)
        self.n_tasks, self.N = int(Y.shape[0]), int(Y.shape[1])
        self._X = X.reshape((self.n_tasks * self.N,) + tuple(X.shape[2:]))  # pool, indexed by key = task·N + sample
        self._Y = Y.reshape((self.n_tasks * self.N,) + tuple(Y.shape[2:]))
        self.p = self._probabilities(probabilities, self.n_tasks)
        self._keys = np.arange(self.n_tasks * self.N).reshape(self.n_tasks, self.N)
        self._check_loss(X[0], Y[0])
        f0 = self.task_loss(self._w0[None, :])
        if not np.isfinite(f0).all():
            bad = np.flatnonzero(~np.isfinite(f0))
            raise InputError(f"loss: f_i(w_0) is not finite (NaN or inf) for task{'s' if bad.size > 1 else ''} "
                             f"{', '.join(map(str, bad[:5]))}{', ...' if bad.size > 5 else ''} at the initial "
                             "parameters", field="loss")

        self.params: dict[str, Any] = {"model": type(model).__name__, "tasks": self.n_tasks, "samples": self.N,
                                       "d": self.d, "data_sha256": self._digest(),
                                       "adapter_sha256": source_digest(__file__)}
        self.constants: ProblemConstants | None = None
        self.constants_source: str | None = None
        if constants is not None:
            self.with_constants(constants, "TorchTasks(constants=...)")

    def _digest(self) -> str:
        """sha256 of what determines this family's numbers besides code: tensors, p, w_0, shapes, f_i(w_0)."""
        h = hashlib.sha256()
        parts: list[tuple[str, Any]] = [("X", self._X), ("Y", self._Y), ("p", self.p), ("w0", self._w0)]
        parts += [(f"buffer {k}", b) for k, b in sorted(self._buffers.items())]
        for name, a in parts:
            a = a.detach().cpu().contiguous().numpy() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)
            h.update(f"{name}\0{a.dtype}\0{a.shape}\0".encode())
            h.update(a.tobytes())
        h.update(repr(list(zip(self._names, self._shapes))).encode())
        # The losses at w_0 catch a changed forward pass defined outside the factory's file.
        h.update(np.ascontiguousarray(self.task_loss(self._w0[None, :])).tobytes())
        return h.hexdigest()

    def with_constants(self, constants: ProblemConstants | Mapping[str, float], source: str) -> TorchTasks:
        """Set L, ρ, σ, σ̃, σ_H (the runner's β̃, δ rule and planner read them) and where they come from.

        They enter `params`, hence the result store's key. Returns self.
        """
        if not isinstance(constants, ProblemConstants):
            if not isinstance(constants, Mapping):
                raise InputError("constants: must be a ProblemConstants or a mapping of L, rho, sigma, sigma_tilde, "
                                 f"sigma_H, got {type(constants).__name__}", field="constants")
            missing = [k for k in ("L", "rho", "sigma", "sigma_tilde", "sigma_H") if k not in constants]
            if missing:
                raise InputError(f"constants: {missing[0]} is missing (need L, rho, sigma, sigma_tilde, sigma_H)",
                                 field="constants")
            constants = ProblemConstants(**{k: constants[k] for k in ("L", "rho", "sigma", "sigma_tilde", "sigma_H")})
        self.constants, self.constants_source = constants, str(source)
        self.params["constants"] = constants.as_dict()
        return self

    # ---- construction checks ---------------------------------------------------------------------
    @staticmethod
    def _stack(tasks: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(tasks, (str, bytes, torch.Tensor, np.ndarray)) or not hasattr(tasks, "__iter__"):
            raise InputError("tasks: must be a list of (inputs, targets) pairs", field="tasks")
        tasks = list(tasks)
        if not tasks:
            raise InputError("tasks: must hold at least one (inputs, targets) pair", field="tasks")
        xs, ys = [], []
        for i, t in enumerate(tasks):
            try:
                x, y = t
            except (TypeError, ValueError):
                raise InputError(f"tasks[{i}]: must be a pair (inputs, targets)", field="tasks") from None
            x, y = _tensor(x, f"tasks[{i}] inputs"), _tensor(y, f"tasks[{i}] targets")
            if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
                raise InputError(f"tasks[{i}]: inputs and targets must hold the same positive number of samples "
                                 f"along their first axis, got shapes {tuple(x.shape)} and {tuple(y.shape)}",
                                 field="tasks")
            if i > 0 and (x.shape != xs[0].shape or y.shape != ys[0].shape or x.dtype != xs[0].dtype
                          or y.dtype != ys[0].dtype):
                raise InputError(f"tasks[{i}]: every task must have the shapes and dtypes of tasks[0] (equal sample "
                                 f"counts): inputs {tuple(xs[0].shape)} {xs[0].dtype}, targets {tuple(ys[0].shape)} "
                                 f"{ys[0].dtype}; got {tuple(x.shape)} {x.dtype}, {tuple(y.shape)} {y.dtype}",
                                 field="tasks")
            for a, what in ((x, "inputs"), (y, "targets")):
                if a.is_floating_point() and not bool(torch.isfinite(a).all()):
                    raise InputError(f"tasks[{i}]: {what} must be finite", field="tasks")
            xs.append(x)
            ys.append(y)
        X, Y = torch.stack(xs), torch.stack(ys)
        # float64 throughout, as everywhere in the package; integer targets (class labels) stay integers.
        return (X.double() if X.is_floating_point() else X), (Y.double() if Y.is_floating_point() else Y)

    @staticmethod
    def _probabilities(probabilities: Any, n: int) -> Array:
        if probabilities is None:
            return np.full(n, 1.0 / n)
        try:
            p = np.asarray(probabilities, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("probabilities: must be a list of numbers", field="probabilities") from None
        if p.shape != (n,):
            raise InputError(f"probabilities: need one per task ({n}), got shape {p.shape}", field="probabilities")
        if not np.isfinite(p).all() or (p < 0).any():
            raise InputError("probabilities: must be finite and nonnegative", field="probabilities")
        if abs(float(p.sum()) - 1.0) > P_SUM_TOL:
            raise InputError(f"probabilities: must sum to 1, got {float(p.sum())!r}", field="probabilities")
        return p

    def _check_loss(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The model and loss run on tasks[0]: per-sample values of the right shape; records non-smooth ops."""
        def forward_and_loss() -> None:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's broadcast warning: check_loss_shape says it in one line
                self._loss(self.model(x), y)

        try:  # the model and loss once under a recorder: functional kinks (F.relu, clamp, abs) no module shows
            ops = recorded_ops(forward_and_loss)[1] & NONSMOOTH_OPS
        except Exception:  # noqa: BLE001 (the checks below name what fails)
            ops = set()
        if ops:
            self.nonsmooth.append("operations " + ", ".join(sorted(ops)))
        try:
            with torch.no_grad():
                out = self.model(x)
        except Exception as e:
            raise InputError(f"model: calling it on tasks[0]'s inputs failed ({type(e).__name__}: {e})",
                             field="model") from None
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                val = self._loss(out, y)
        except Exception as e:
            raise InputError(f"loss: loss(model(inputs), targets) on tasks[0] failed ({type(e).__name__}: {e})",
                             field="loss") from None
        check_loss_shape(self._loss, val, out, y)

    # ---- the exact-task protocol (simulate.tasks.ExactTasks) -------------------------------------
    def task_loss(self, Wt: Array) -> Array:
        """f_i at per-task points: (..., n|1, d) -> (..., n)."""
        return self._evaluate("loss", Wt, self._keys)

    def task_grad(self, Wt: Array) -> Array:
        """∇f_i at per-task points: (..., n|1, d) -> (..., n, d); reverse mode."""
        return self._evaluate("grad", Wt, self._keys)

    def task_hvp(self, Wt: Array, V: Array) -> Array:
        """∇²f_i(w_i) v_i: (..., n|1, d), (..., n, d) -> (..., n, d); reverse-over-reverse, exact."""
        return self._evaluate("hvp", Wt, self._keys, V)

    def sample_grads(self, w: Array) -> Array:
        """Per-sample gradients ∇f_i(w, θ) of every task's every sample, (n, N, d) (σ̃, eq. (21))."""
        k = self._keys[..., None]  # (n, N, 1): batches of one sample
        return self._evaluate("grad", np.asarray(w, np.float64)[..., None, None, :], k)

    # ---- the sampled-problem protocol (simulate.tasks.Problem); data are sample keys -------------
    def loss_on(self, W: Array, X: Array, y: Array) -> Array:
        """Mean loss over the batch of sample keys y (..., D) at W (..., d)."""
        return self._evaluate("loss", W, y)

    def grad_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇ of the batch loss, eq. (5)."""
        return self._evaluate("grad", W, y)

    def hvp_on(self, W: Array, V: Array, X: Array, y: Array) -> Array:
        """∇² of the batch loss times V, eq. (6b); exact."""
        return self._evaluate("hvp", W, y, V)

    def grad2_on(self, P: Array, X: Array, y: Array) -> Array:
        """Gradients at k points per batch, P (..., k, d) -> (..., k, d) (HF-MAML's pair, eq. (12))."""
        return self._evaluate("grad", P, np.asarray(y)[..., None, :])

    def hessian_on(self, W: Array, X: Array, y: Array) -> Array:
        """∇² of the batch loss as an explicit d×d matrix, (..., d, d) (Algorithm 1 as written; jacfwd of grad)."""
        return self._evaluate("hessian", W, y)

    @property
    def pool_size(self) -> int:
        """Samples per task, N."""
        return self.N

    def sample_tasks(self, rng: np.random.Generator, n: int) -> Array:
        """n task indices drawn from p."""
        return rng.choice(self.n_tasks, size=n, p=self.p)

    def sample_data(self, rng: np.random.Generator, tasks: Array, D: int) -> tuple[Array, Array]:
        """D sample keys per task, uniformly with replacement from its pool: X (..., D, 1), y (..., D)."""
        tasks = np.asarray(tasks)
        keys = tasks[..., None] * self.N + rng.integers(0, self.N, size=tasks.shape + (int(D),))
        return keys[..., None], keys

    def task_data(self, tasks: Array) -> tuple[Array, Array]:
        """Every sample key of each task (its whole pool): X (..., N, 1), y (..., N)."""
        keys = self._keys[np.asarray(tasks)]
        return keys[..., None], keys

    def all_tasks(self) -> tuple[Array, Array]:
        """All task indices and their probabilities p."""
        return np.arange(self.n_tasks), self.p

    def describe(self) -> dict[str, Any]:
        """Name, parameters, dimension."""
        return {"problem": self.name, "params": self.params, "d": self.d,
                "hvp": "exact (torch.func reverse-over-reverse)", "constants_source": self.constants_source,
                "nonsmooth": list(self.nonsmooth)}


class TorchSinusoidNet(TorchModel):
    """The sinusoid benchmark's 1-H-H-1 network in torch, ReLU (Finn et al.'s) or tanh, per-sample loss (net(x) − y)².

    `Sequential(Linear(1, H), act, Linear(H, H), act, Linear(H, 1))` has SinusoidNet's parameter order.
    """

    def __init__(self, hidden: int = 40, activation: str = "relu") -> None:
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation]
        H = int(hidden)
        net = torch.nn.Sequential(torch.nn.Linear(1, H), act(), torch.nn.Linear(H, H), act(), torch.nn.Linear(H, 1))
        super().__init__(net, lambda out, y: (out[:, 0] - y) ** 2)

    def predict(self, W: Array, X: Array) -> Array:
        """net_w(x) for every sample, shape (..., D)."""
        return self.outputs(W, X, X[..., 0])[..., 0]


class TorchSinusoidProblem(SinusoidProblem):
    """The sinusoid tasks (`simulate.sinusoid.SinusoidProblem`: tasks, data, grid, w_0) on `TorchSinusoidNet`.

    SinusoidNet.init's draws do not depend on the activation, so ReLU and tanh start from the same weights.
    """

    def __init__(self, hidden: int = 40, activation: str = "relu", grid: int = 100, seed: int = 0) -> None:
        super().__init__(hidden, activation, grid, seed, net=TorchSinusoidNet(hidden, activation))


def set_threads(n: int | None) -> None:
    """torch's intra-op threads for this process (None: leave torch's default)."""
    if n is not None:
        torch.set_num_threads(int(n))


def from_factory(spec: str, flag: str = "--torch", **params: Any) -> TorchTasks:
    """The TorchTasks a user's `FILE.py:factory` or `package.module:factory` returns (called with params).

    Every failure (bad spec, the module or the factory raising, a wrong return type) is one InputError
    naming `flag`.
    """
    from mamltheory.simulate.protocol import call_factory, load_object

    factory = load_object(spec, flag)
    obj = call_factory(spec, flag, params, factory)
    if not isinstance(obj, TorchTasks):
        raise InputError(f"{flag}: the factory {spec!r} must return a mamltheory.adapters.torch.TorchTasks, "
                         f"got {type(obj).__name__}", field=flag)
    # The store key: the factory's source bytes and name (a changed model never serves a stale result): the
    # file named in the spec and, if the factory is defined elsewhere, that module's file too.
    target, _, name = spec.rpartition(":")
    files = [target if target.endswith(".py") else getattr(sys.modules.get(target), "__file__", None),
             getattr(sys.modules.get(getattr(factory, "__module__", None) or ""), "__file__", None)]
    digests = sorted({source_digest(f) for f in files if f and Path(f).is_file()})
    obj.params.update({"factory": name, "factory_params": dict(params),
                       "source_sha256": digests or [f"no source file: {target}"]})
    return obj
