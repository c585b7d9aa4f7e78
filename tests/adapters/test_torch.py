"""TorchTasks cross-checked against independent computations.

Each reference is computed another way: the hand-written sinusoid network (mamltheory.simulate.sinusoid),
a MAML meta-gradient by double backward written here as learn2learn does it, FO-MAML by plain
autograd on detached adapted weights, and HF-MAML's finite difference against eq. (10)'s bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mamltheory.adapters.torch import TorchTasks  # noqa: E402
from mamltheory.errors import InputError  # noqa: E402
from mamltheory.simulate.algorithms import exact_direction  # noqa: E402
from mamltheory.simulate.protocol import ReferenceTasks, per_sample  # noqa: E402
from mamltheory.simulate.sinusoid import SinusoidProblem  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
N_TASKS, K, ALPHA = 4, 10, 0.01


def sq_err(out, target):
    """Per-sample squared error, the sinusoid network's loss (SinusoidNet.loss is its batch mean)."""
    return (out[:, 0] - target) ** 2


def torch_net(hidden: int, w: np.ndarray) -> torch.nn.Module:
    """The 1-H-H-1 tanh network of SinusoidNet, in torch, with flat parameters w."""
    net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden),
                              torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).double()
    torch.nn.utils.vector_to_parameters(torch.tensor(w), net.parameters())
    return net


@pytest.fixture(scope="module")
def sinusoid():
    """(numpy problem, task data X (n, K, 1), y (n, K), a point w, the TorchTasks on the same tasks)."""
    prob = SinusoidProblem(hidden=40)
    rng = np.random.default_rng(3)
    X, y = prob.sample_data(rng, prob.sample_tasks(rng, N_TASKS), K)
    w = prob.initial_point() + 0.1 * rng.standard_normal(prob.d)
    tt = TorchTasks(torch_net(40, w), sq_err, [(torch.tensor(X[i]), torch.tensor(y[i])) for i in range(N_TASKS)])
    return prob, X, y, w, tt


def test_gradients_and_hvps_match_the_hand_written_network(sinusoid) -> None:
    prob, X, y, w, tt = sinusoid
    assert tt.d == prob.d == 1761
    np.testing.assert_array_equal(tt.initial_point(), w)  # parameters_to_vector order is SinusoidNet's
    ref = ReferenceTasks(prob, X, y, np.full(N_TASKS, 1 / N_TASKS))
    rng = np.random.default_rng(1)
    W = w + 0.05 * rng.standard_normal((2, N_TASKS, prob.d))  # two points per task: leading axes
    V = rng.standard_normal((2, N_TASKS, prob.d))
    np.testing.assert_allclose(tt.task_loss(W), ref.task_loss(W), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tt.task_grad(W), ref.task_grad(W), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tt.task_hvp(W, V), ref.task_hvp(W, V), rtol=0, atol=1e-12)
    # the same point for every task: shape (..., 1, d) broadcasts
    np.testing.assert_allclose(tt.task_grad(w[None, :]), ref.task_grad(np.broadcast_to(w, (N_TASKS, prob.d))),
                               rtol=0, atol=1e-12)
    # per-sample gradients (σ̃): batches of one sample
    G = tt.sample_grads(w)
    assert G.shape == (N_TASKS, K, prob.d)
    np.testing.assert_allclose(G, prob.grad_on(w, *per_sample(X, y)), rtol=0, atol=1e-12)


def test_problem_protocol_on_sample_keys(sinusoid) -> None:
    prob, X, y, w, tt = sinusoid
    rng = np.random.default_rng(2)
    tasks = tt.sample_tasks(rng, 3)
    Xk, yk = tt.sample_data(rng, tasks, 5)
    assert Xk.shape == (3, 5, 1) and yk.shape == (3, 5)
    t, s = np.divmod(yk, K)  # key = task·K + sample
    assert (t == tasks[:, None]).all()
    Xd, yd = X[t, s], y[t, s]
    V = rng.standard_normal((3, prob.d))
    np.testing.assert_allclose(tt.loss_on(w, Xk, yk), prob.loss_on(w, Xd, yd), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tt.grad_on(w, Xk, yk), prob.grad_on(w, Xd, yd), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tt.hvp_on(w, V, Xk, yk), prob.hvp_on(w, V, Xd, yd), rtol=0, atol=1e-12)
    ids, p = tt.all_tasks()
    assert list(ids) == list(range(N_TASKS)) and np.allclose(p, 1 / N_TASKS)


def _forward(params: list, x: torch.Tensor) -> torch.Tensor:
    a, b1, W2, b2, w3, b3 = params
    return torch.tanh(torch.tanh(x @ a.T + b1) @ W2.T + b2) @ w3.T + b3


def _maml_reference(tt: TorchTasks, X, y, w: np.ndarray, alpha: float, first_order: bool) -> np.ndarray:
    """The meta-gradient as learn2learn computes it: adapt with autograd.grad, then backward the outer loss."""
    base = [p.detach().clone().requires_grad_(True) for p in torch_net(40, w).parameters()]
    total = torch.zeros((), dtype=torch.float64)
    for i in range(len(X)):
        x, t = torch.tensor(X[i]), torch.tensor(y[i])
        inner = ((_forward(base, x)[:, 0] - t) ** 2).mean()
        g = torch.autograd.grad(inner, base, create_graph=not first_order)
        adapted = [p - alpha * (gi.detach() if first_order else gi) for p, gi in zip(base, g)]
        total = total + tt.p[i] * ((_forward(adapted, x)[:, 0] - t) ** 2).mean()
    grads = torch.autograd.grad(total, base)
    return torch.cat([gi.reshape(-1) for gi in grads]).numpy()


def test_maml_meta_gradient_equals_double_backward(sinusoid) -> None:
    prob, X, y, w, tt = sinusoid
    ref = _maml_reference(tt, X, y, w, ALPHA, first_order=False)
    got = tt.meta_gradient(w, ALPHA)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # the Hessian term matters here: FO-MAML's direction differs from ∇F by far more than the tolerance
    assert np.abs(got - exact_direction(tt, "fo-maml", w, ALPHA)).max() > 1e-6
    assert tt.meta_objective(w, ALPHA) == pytest.approx(
        np.mean([((prob.net.predict(u, X[i]) - y[i]) ** 2).mean()
                 for i, u in enumerate(w - ALPHA * prob.grad_on(w, X, y))]), rel=1e-12)


def test_fo_maml_equals_autograd_without_second_order_terms(sinusoid) -> None:
    prob, X, y, w, tt = sinusoid
    ref = _maml_reference(tt, X, y, w, ALPHA, first_order=True)
    np.testing.assert_allclose(exact_direction(tt, "fo-maml", w, ALPHA), ref, rtol=0, atol=1e-12)


def test_hf_maml_finite_difference_within_eq_10(sinusoid) -> None:
    """‖d_i − ∇²f_i(w)v_i‖ <= ρ δ_k ‖v_i‖² (eq. (10)), δ_k = δ/‖v_i‖ (eq. (142)).

    ρ is the Hessian's Lipschitz constant along the segment, ρ_i = max_s ‖(∇²f_i(w + s v̂) − ∇²f_i(w)) v̂‖/|s|
    on a grid of s in [−δ_k‖v‖, δ_k‖v‖] (Taylor's theorem only uses this directional constant).
    """
    prob, X, y, w, tt = sinusoid
    n, d = N_TASKS, prob.d
    g = tt.task_grad(w[None, :])
    v = tt.task_grad(w - ALPHA * g)  # v_i = ∇f_i(w − α∇f_i(w))
    nv = np.linalg.norm(v, axis=-1)
    exact_hv = tt.task_hvp(w[None, :], v)
    maml = exact_direction(tt, "maml", w, ALPHA)
    errs = {}
    for delta in (1e-2, 5e-3):
        hf = exact_direction(tt, "hf-maml", w, ALPHA, delta)
        h = delta  # δ_k‖v_i‖ = δ: the segment's half length
        vh = v / nv[:, None]
        s = np.linspace(-h, h, 21)
        s = s[s != 0]
        Wt = w + s[:, None, None] * vh  # (21, n, d)
        dH = tt.task_hvp(Wt, np.broadcast_to(vh, Wt.shape)) - exact_hv[None] / nv[None, :, None]
        rho_dir = (np.linalg.norm(dH, axis=-1) / np.abs(s)[:, None]).max(axis=0)  # (n,)
        bound = rho_dir * (delta / nv) * nv**2  # ρ δ_k ‖v‖²
        # per task: d_i from HF-MAML's own radius rule, via the directions' difference per task
        from mamltheory.simulate.algorithms import hf_difference

        W = np.broadcast_to(w, (n, d))
        d_i = hf_difference(lambda Wp, Wm: (tt.task_grad(Wp), tt.task_grad(Wm)), W, v, delta)
        err = np.linalg.norm(d_i - exact_hv, axis=-1)
        assert (err <= bound).all(), (err, bound)
        assert (err > 0).all()
        # the whole direction: ‖hf − maml‖ = α‖Σ p_i (d_i − H_i v_i)‖ <= α Σ p_i bound_i
        assert np.linalg.norm(hf - maml) <= ALPHA * (tt.p * bound).sum()
        errs[delta] = err
    # a central difference's error is O(δ²): halving δ quarters it (smooth tanh network)
    ratio = errs[1e-2] / errs[5e-3]
    assert np.all((ratio > 3.5) & (ratio < 4.5)), ratio


# ---- bad input -------------------------------------------------------------------------------------
def _tasks(n=2, k=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(k, 1, generator=g, dtype=dtype), torch.randn(k, generator=g, dtype=dtype)) for _ in range(n)]


def test_float64_copy_leaves_the_callers_model_alone() -> None:
    net = torch.nn.Linear(1, 1)  # float32
    tt = TorchTasks(net, sq_err, _tasks())
    assert net.weight.dtype == torch.float32 and tt.initial_point().dtype == np.float64 and tt.d == 2


@pytest.mark.parametrize("case, field, words", [
    ("int-params", "model", "floating tensor"),
    ("mismatched", "tasks", "shapes"),
    ("count", "tasks", "same positive number of samples"),
    ("p-sum", "probabilities", "sum to 1"),
    ("p-neg", "probabilities", "nonnegative"),
    ("p-len", "probabilities", "one per task"),
    ("reduced-loss", "loss", "per-sample"),
    ("not-module", "model", "torch.nn.Module"),
])
def test_bad_input_names_the_field(case: str, field: str, words: str) -> None:
    model, loss, tasks, p = torch.nn.Linear(1, 1), sq_err, _tasks(), None
    if case == "int-params":
        model = torch.nn.Linear(1, 1)
        model.weight = torch.nn.Parameter(torch.ones(1, 1, dtype=torch.int64), requires_grad=False)
    elif case == "mismatched":
        tasks = _tasks() + _tasks(1, k=7)
    elif case == "count":
        tasks = [(torch.zeros(5, 1), torch.zeros(4))]
    elif case == "p-sum":
        p = [0.5, 0.6]
    elif case == "p-neg":
        p = [1.5, -0.5]
    elif case == "p-len":
        p = [1.0]
    elif case == "reduced-loss":
        loss = lambda o, t: ((o[:, 0] - t) ** 2).mean()  # noqa: E731
    elif case == "not-module":
        model = lambda x: x  # noqa: E731
    with pytest.raises(InputError) as err:
        TorchTasks(model, loss, tasks, p)
    assert err.value.field == field and words in str(err.value)


# ---- the CLI: estimate --torch, plan --from-estimate -------------------------------------------------
FACTORY = '''
import numpy as np, torch
from mamltheory.adapters.torch import TorchTasks

def make(hidden=6):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    tasks = []
    for A, phi in rng.uniform([0.5, 0.0], [2.0, 3.0], (4, 2)):
        x = rng.uniform(-5, 5, (8, 1))
        tasks.append((torch.tensor(x), torch.tensor(A * np.sin(x[:, 0] - phi))))
    tt = TorchTasks(net, lambda o, t: (o[:, 0] - t) ** 2, tasks, nonnegative_loss=True)
    tt.estimate_defaults = {"power_iters": 10, "hessian_points": 2}  # optional hints, as for --problem
    return tt

def boom():
    raise RuntimeError("no data here")

def wrong():
    return 42

def int_model():
    m = torch.nn.Linear(1, 1)
    m.weight = torch.nn.Parameter(torch.ones(1, 1, dtype=torch.int64), requires_grad=False)
    return TorchTasks(m, lambda o, t: (o[:, 0] - t) ** 2, [(torch.zeros(3, 1), torch.zeros(3))])
'''


@pytest.fixture(scope="module")
def factory_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("torch") / "user_model.py"
    path.write_text(FACTORY)
    return path


def test_estimate_torch_then_plan(factory_file: Path, tmp_path: Path, run_cli) -> None:
    out_file = tmp_path / "est.json"
    code, out, err = run_cli(["estimate", "--torch", f"{factory_file}:make", "--param", "hidden=5",
                              "--points", "4", "--run-steps", "5", "--json", "--out", str(out_file)])
    assert code == 0, err
    obj = json.loads(out)
    assert obj["problem"]["problem"] == "torch" and obj["problem"]["d"] == 3 * 5 + 1
    assert obj["exact_tasks"] is True and obj["problem"]["spec"] == f"{factory_file}:make"
    assert all(v > 0 for v in obj["constants"].values())
    assert obj["initial_gap_bound"] == obj["f_w0"]  # the factory declared a nonnegative loss
    assert obj["config"]["power_iters"] == 10  # the factory's estimate_defaults were used
    code, out, err = run_cli(["plan", "--from-estimate", str(out_file), "--eps", "0.5", "--algorithm", "maml",
                              "--json"])
    assert code == 0, err
    plan = json.loads(out)
    assert plan["constants_source"]["kind"] == "estimate"


@pytest.mark.parametrize("spec, words", [
    (":boom", "raised RuntimeError: no data here"),
    (":wrong", "must return a mamltheory.adapters.torch.TorchTasks, got int"),
    (":int_model", "floating tensor"),
    (":missing", "has no attribute"),
    ("NOFILE", "must be FILE.py:name"),
    ("no/such/file.py:make", "no file"),
    ("no_such_module_xyz:make", "no module"),
])
def test_estimate_torch_bad_factory_one_line(factory_file: Path, spec: str, words: str, run_cli) -> None:
    full = f"{factory_file}{spec}" if spec.startswith(":") else spec
    code, out, err = run_cli(["estimate", "--torch", full, "--points", "2", "--run-steps", "1"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--torch" in err and words in err, err


def test_no_torch_one_line_and_import_mamltheory_without_torch(tmp_path: Path) -> None:
    hide = "import sys; sys.modules['torch'] = None; "
    code = hide + ("from mamltheory.cli import main; sys.exit(main(['estimate', '--torch', 'x.py:make']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "mamltheory estimate: the torch extra is not installed: in the repository's folder run "
        "pip install '.[torch]' (CPU-only wheel: see docs/torch.md)"], res.stderr
    res = subprocess.run([sys.executable, "-c", "import sys, mamltheory; print('torch' in sys.modules)"],
                         capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert res.stdout.strip() == "False", res.stderr


def test_classification_with_integer_labels_and_probabilities() -> None:
    """Cross-entropy on class labels (integer targets, (N, C) outputs), non-uniform p: ∇F by double backward."""
    g = torch.Generator().manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Softplus(), torch.nn.Linear(5, 4))
    tasks = [(torch.randn(6, 3, generator=g), torch.randint(0, 4, (6,), generator=g)) for _ in range(3)]
    p = np.array([0.5, 0.3, 0.2])
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    tt = TorchTasks(model, ce, tasks, p)
    w = tt.initial_point()
    alpha = 0.3
    base = [q.detach().double().clone().requires_grad_(True) for q in model.parameters()]

    def f(params, x, y):
        h = torch.nn.functional.softplus(x.double() @ params[0].T + params[1])
        return ce(h @ params[2].T + params[3], y).mean()

    total = torch.zeros((), dtype=torch.float64)
    for (x, y), pi in zip(tasks, p):
        gi = torch.autograd.grad(f(base, x, y), base, create_graph=True)
        total = total + pi * f([b - alpha * q for b, q in zip(base, gi)], x, y)
    ref = torch.cat([q.reshape(-1) for q in torch.autograd.grad(total, base)]).numpy()
    np.testing.assert_allclose(tt.meta_gradient(w, alpha), ref, rtol=0, atol=1e-12)
    # HVPs against torch.autograd.functional.hvp of task 1's loss on the flat vector
    v = np.random.default_rng(0).standard_normal(tt.d)

    def flat_loss(u):
        parts, s = [], 0
        for q in base:
            parts.append(u[s:s + q.numel()].reshape(q.shape))
            s += q.numel()
        return f(parts, *tasks[1])

    _, hv = torch.autograd.functional.hvp(flat_loss, torch.tensor(w), torch.tensor(v))
    got = tt.task_hvp(np.broadcast_to(w, (3, tt.d)), np.broadcast_to(v, (3, tt.d)))[1]
    np.testing.assert_allclose(got, hv.numpy(), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_example_runs_end_to_end() -> None:
    """examples/torch_sinusoid.py: estimate → feasible plan → the runner → a report section in which ‖∇F(w_k)‖ falls."""
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "torch_sinusoid.py")], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "feasible = True" in res.stdout and "not certificates" in res.stdout
    assert "## MAML on a torch network" in res.stdout and "β̃(w_k)/12" in res.stdout
    rows = [line.split("|")[1:-1] for line in res.stdout.splitlines() if line.startswith("| ") and "k |" not in line]
    norms = [float(r[1]) for r in rows]
    assert [int(r[0]) for r in rows] == list(range(0, 61, 10)) and norms[-1] < 0.9 * norms[0]

def test_torch_model_on_data_matches_the_hand_written_network(sinusoid) -> None:
    """TorchModel (no tasks; data arrays, as the sinusoid benchmark's ReLU network uses it) against SinusoidNet."""
    from mamltheory.adapters.torch import TorchModel

    prob, X, y, w, _ = sinusoid
    tm = TorchModel(torch_net(40, w), sq_err)
    rng = np.random.default_rng(4)
    W = w + 0.05 * rng.standard_normal((2, N_TASKS, prob.d))
    V = rng.standard_normal((2, N_TASKS, prob.d))
    np.testing.assert_allclose(tm.loss_on(W, X, y), prob.loss_on(W, X, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tm.grad_on(W, X, y), prob.grad_on(W, X, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tm.hvp_on(W, V, X, y), prob.hvp_on(W, V, X, y), rtol=0, atol=1e-12)
    P = np.stack([W[0], W[1]], axis=-2)  # (n, 2, d): HF-MAML's pair per task
    np.testing.assert_allclose(tm.grad2_on(P, X, y), prob.grad2_on(P, X, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tm.outputs(w, X, y)[..., 0], prob.net.predict(w, X), rtol=0, atol=1e-12)
