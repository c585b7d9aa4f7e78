"""TorchTasks' input checks and the torch commands' guards (a factory that exits or raises, non-finite parameters, a non-factory; loss shapes).

Each test feeds one bad input and pins the behaviour: the exception's field and words, or the CLI's exit
status 2 and its exact single line on stderr; the non-smooth detector against models known smooth or not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mamltheory.adapters.torch import TorchTasks, nonsmooth_modules  # noqa: E402
from mamltheory.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
N = 8


def _tasks(n: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(N, 1, generator=g), torch.randn(N, generator=g)) for _ in range(n)]


def sq_err(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (out[:, 0] - target) ** 2


def _net(act: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(1, 4), act, torch.nn.Linear(4, 1))


# ---- fault 4: non-finite parameters ------------------------------------------------------------------
@pytest.mark.parametrize("value, count", [(float("nan"), 1), (float("inf"), 2), (-float("inf"), 1)])
def test_non_finite_parameters_are_refused(value: float, count: int) -> None:
    model = torch.nn.Linear(1, 3)
    with torch.no_grad():
        model.bias[:count] = value
    with pytest.raises(InputError) as err:
        TorchTasks(model, sq_err, _tasks())
    entries = "entry" if count == 1 else "entries"
    assert err.value.field == "model"
    assert str(err.value) == (f"model: parameter 'bias' has {count} non-finite {entries} (NaN or inf); every "
                              "parameter must be finite")


def test_a_forward_pass_that_gives_nan_is_refused() -> None:
    class Log(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log(x - 10.0)  # inputs are N(0, 1): log of a negative number, NaN

    with pytest.raises(InputError) as err:
        TorchTasks(torch.nn.Sequential(torch.nn.Linear(1, 1), Log()), sq_err, _tasks())
    assert err.value.field == "loss" and "f_i(w_0) is not finite (NaN or inf) for tasks 0, 1, 2" in str(err.value)


# ---- item 5: the loss's shape ------------------------------------------------------------------------
def test_a_loss_broadcasting_to_n_by_n_is_refused_naming_it_and_the_shapes() -> None:
    mse = torch.nn.MSELoss(reduction="none")  # outputs (N, 1) against targets (N,): (N, N)
    with pytest.raises(InputError) as err:
        TorchTasks(torch.nn.Linear(1, 1), mse, _tasks())
    assert err.value.field == "loss"
    assert str(err.value) == (f"loss MSELoss(): returned shape ({N}, {N}) for outputs ({N}, 1) and targets ({N},); "
                              f"it must return one value per sample, shape ({N},) or the targets' shape (the "
                              "outputs broadcast against the targets: index out[:, 0] or reshape)")


def test_losses_of_the_targets_shape_are_accepted() -> None:
    """(N,) per sample, or the targets' own shape (N, k) whose trailing axis is averaged."""
    g = torch.Generator().manual_seed(2)
    tasks = [(torch.randn(N, 2, generator=g), torch.randn(N, 3, generator=g)) for _ in range(2)]
    tt = TorchTasks(torch.nn.Linear(2, 3), torch.nn.MSELoss(reduction="none"), tasks)
    w = tt.initial_point()
    W, b = w[:6].reshape(3, 2), w[6:]
    by_hand = [float(np.mean((x.numpy() @ W.T + b - y.numpy()) ** 2)) for x, y in tasks]
    np.testing.assert_allclose(tt.task_loss(w[None, :]), by_hand, rtol=1e-13)


# ---- item 5: non-smooth activations (Assumption 4.4) -------------------------------------------------
@pytest.mark.parametrize("act", [torch.nn.ReLU(), torch.nn.LeakyReLU(0.1), torch.nn.ReLU6(), torch.nn.Hardtanh(),
                                 torch.nn.Hardswish(), torch.nn.ELU(), torch.nn.PReLU()])
def test_non_smooth_modules_get_the_assumption_warning(act: torch.nn.Module) -> None:
    tt = TorchTasks(_net(act), sq_err, _tasks())
    assert tt.nonsmooth[0] == f"module 1 ({type(act).__name__})"
    assert tt.assumption_warning.startswith("Assumption 4.4 (ρ-Lipschitz Hessian) fails: non-smooth module 1 (")
    assert "not a certificate" in tt.assumption_warning


@pytest.mark.parametrize("act", [torch.nn.Tanh(), torch.nn.Softplus(), torch.nn.GELU(), torch.nn.SiLU(),
                                 torch.nn.Sigmoid()])
def test_smooth_activations_get_no_warning(act: torch.nn.Module) -> None:
    tt = TorchTasks(_net(act), sq_err, _tasks())
    assert tt.nonsmooth == [] and tt.assumption_warning is None


def test_functional_kinks_in_forward_and_loss_are_found() -> None:
    class Functional(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.relu(self.lin(x)).clamp(max=3.0)

    model = Functional()
    assert nonsmooth_modules(model) == []  # no module shows it: only the recorded operators do
    tt = TorchTasks(model, lambda o, t: (o[:, 0] - t).abs(), _tasks())  # an L1 loss is a kink too
    assert tt.nonsmooth == ["operations abs, clamp, relu"]


# ---- the CLI: factory guard (fault 3), non-factories (fault 6), threads --------------------------------
FACTORY = '''
import sys, torch
from mamltheory.adapters.torch import TorchTasks

def _tasks():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(6, 1, generator=g), torch.randn(6, generator=g)) for _ in range(3)]

def make(act="tanh"):
    torch.manual_seed(0)
    a = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU()}[act]
    net = torch.nn.Sequential(torch.nn.Linear(1, 3), a, torch.nn.Linear(3, 1))
    return TorchTasks(net, lambda o, t: (o[:, 0] - t) ** 2, _tasks(), nonnegative_loss=True)

def exit0():
    sys.exit(0)

def exit_msg():
    sys.exit("giving up")

def nan_model():
    m = torch.nn.Linear(1, 1)
    with torch.no_grad():
        m.weight.fill_(float("nan"))
    return TorchTasks(m, lambda o, t: (o[:, 0] - t) ** 2, _tasks())

def broadcast():
    return TorchTasks(torch.nn.Linear(1, 1), torch.nn.MSELoss(reduction="none"), _tasks())
'''
EXITS_ON_IMPORT = "import sys\nsys.exit(3)\ndef make():\n    return None\n"


@pytest.fixture(scope="module")
def factory(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("checks") / "user_model.py"
    path.write_text(FACTORY)
    (path.parent / "exits.py").write_text(EXITS_ON_IMPORT)
    return path


QUICK = ["--points", "2", "--run-steps", "1"]


@pytest.mark.parametrize("spec, line", [
    ("exit0", "--torch: the factory '{f}:exit0' called sys.exit(0)"),
    ("exit_msg", "--torch: the factory '{f}:exit_msg' called sys.exit('giving up')"),
    ("nan_model", "--torch {f}:nan_model: model: parameter 'weight' has 1 non-finite entry (NaN or inf); every "
                  "parameter must be finite"),
    ("broadcast", "--torch {f}:broadcast: loss MSELoss(): returned shape (6, 6) for outputs (6, 1) and targets "
                  "(6,); it must return one value per sample, shape (6,) or the targets' shape (the outputs "
                  "broadcast against the targets: index out[:, 0] or reshape)"),
])
@pytest.mark.parametrize("command", ["estimate", "simulate"])
def test_torch_factory_faults_are_one_line_exit_2(factory: Path, tmp_path: Path, spec: str, line: str,
                                                  command: str, run_cli) -> None:
    extra = QUICK if command == "estimate" else ["--algorithm", "fo-maml", "--L", "1", "--rho", "1", "--sigma", "1",
                                                 "--sigma-tilde", "1", "--sigma-h", "1", "--store",
                                                 str(tmp_path / "s.sqlite")]
    code, out, err = run_cli([command, "--torch", f"{factory}:{spec}", *extra])
    assert (code, out) == (2, "")
    assert err == f"mamltheory {command}: " + line.format(f=factory) + "\n"
    assert not (tmp_path / "s.sqlite").exists()


def test_a_module_that_exits_on_import_is_one_line(factory: Path, run_cli) -> None:
    spec = f"{factory.parent / 'exits.py'}:make"
    code, out, err = run_cli(["estimate", "--torch", spec, *QUICK])
    assert (code, out) == (2, "")
    assert err == f"mamltheory estimate: --torch: importing '{factory.parent / 'exits.py'}' called sys.exit(3)\n"


def test_sys_exit_0_in_a_factory_ends_the_process_with_2(factory: Path, tmp_path: Path) -> None:
    """A real process: sys.exit(0) inside the factory must not become the command's exit status 0.

    --problem goes through the same guard as --torch (protocol.call_factory) without importing torch.
    """
    user = tmp_path / "p.py"
    user.write_text("import sys\ndef make():\n    sys.exit(0)\n")
    res = subprocess.run([sys.executable, "-m", "mamltheory.cli", "estimate", "--problem", f"{user}:make"],
                         capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""},
                         timeout=300)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"mamltheory estimate: --problem: the factory '{user}:make' called sys.exit(0)\n"


def test_a_long_multi_line_exception_stays_one_line(tmp_path: Path, run_cli) -> None:
    user = tmp_path / "p.py"
    user.write_text("def make():\n    raise RuntimeError('first\\nsecond ' + 'x' * 1000)\n")
    code, out, err = run_cli(["estimate", "--problem", f"{user}:make", *QUICK])
    assert (code, out) == (2, "")
    assert err == (f"mamltheory estimate: --problem: the factory '{user}:make' raised RuntimeError: first second "
                   + "x" * 287 + "…\n")


@pytest.mark.parametrize("spec, line", [
    ("os:system", "--problem: the factory 'os:system' raised TypeError: "),
    ("os:getcwd", "--problem os:getcwd: does not implement the problem protocol (no 'd'; "
                  "see mamltheory.simulate.protocol)"),
    ("os:sep", "--problem: 'os:sep' is str, not a factory (a callable)"),
])
def test_problem_specs_that_are_not_problem_factories(spec: str, line: str, run_cli) -> None:
    code, out, err = run_cli(["estimate", "--problem", spec, *QUICK])
    assert (code, out) == (2, "")
    assert err.startswith(f"mamltheory estimate: {line}") and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("argv, line", [
    (["--torch-threads", "0"], "--torch-threads: must be an integer in [1, 1024], got 0"),
    (["--torch-threads", "two"], "--torch-threads: must be an integer in [1, 1024], got 'two'"),
])
def test_torch_threads_is_validated(factory: Path, argv: list[str], line: str, run_cli) -> None:
    code, out, err = run_cli(["estimate", "--torch", f"{factory}:make", *QUICK, *argv])
    assert (code, out, err) == (2, "", f"mamltheory estimate: {line}\n")
    code, out, err = run_cli(["estimate", "--problem", "quadratic", "--torch-threads", "1", *QUICK])
    assert (code, err) == (2, "mamltheory estimate: --torch-threads: only with --torch\n")


def test_torch_commands_run_one_thread_unless_told(factory: Path, run_cli) -> None:
    try:
        torch.set_num_threads(2)
        code, _, err = run_cli(["estimate", "--torch", f"{factory}:make", *QUICK, "--json"])
        assert code == 0, err
        assert torch.get_num_threads() == 1
        code, _, err = run_cli(["estimate", "--torch", f"{factory}:make", *QUICK, "--json", "--torch-threads", "2"])
        assert code == 0, err
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_a_relu_model_is_warned_in_estimate_and_simulate(factory: Path, tmp_path: Path, run_cli) -> None:
    est = tmp_path / "est.json"
    code, out, err = run_cli(["estimate", "--torch", f"{factory}:make", "--param", "act=relu", *QUICK, "--json",
                              "--out", str(est)])
    assert code == 0, err
    obj = json.loads(out)
    assert obj["problem"]["nonsmooth"] == ["module 1 (ReLU)", "operations relu"]
    assert obj["notes"][0].startswith("Assumption 4.4 (ρ-Lipschitz Hessian) fails: non-smooth module 1 (ReLU)")
    code, out, err = run_cli(["simulate", "--torch", f"{factory}:make", "--param", "act=relu", "--from-estimate",
                              str(est), "--algorithm", "fo-maml", "--iterations", "2", "--replicates", "1",
                              "--store", str(tmp_path / "s.sqlite"), "--json"])
    assert code == 0, err
    assert "warning: Assumption 4.4 (ρ-Lipschitz Hessian) fails" in err
    g = json.loads(out)["guarantee"]
    assert g["applies"] is False and "Assumption 4.4 fails" in g["reason"]
    code, out, err = run_cli(["plan", "--from-estimate", str(est), "--k-shot", "5", "--algorithm", "maml", "--json"])
    assert code == 0, err
    assert any("Assumption 4.4 fails" in n for n in json.loads(out)["notes"])
