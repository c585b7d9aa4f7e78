"""Memory refusal: inputs that need more memory than the machine has exit 2 at once, with the estimate."""

from __future__ import annotations

import dataclasses
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from mamltheory.errors import InputError
from mamltheory.simulate import make_problem
from mamltheory.simulate.resources import check_run_memory, problem_bytes, run_bytes
from mamltheory.simulate.runner import RunConfig, run


@pytest.mark.parametrize("extra, label", [(["--replicates", "10000000"], "--replicates:"),
                                          (["--param", "d=1000000"], "d:")])
def test_too_large_is_refused_fast_with_the_estimate(run_cli, tmp_path: Path, extra: list[str], label: str) -> None:
    store = tmp_path / "r.sqlite"
    t0 = time.perf_counter()
    code, _, err = run_cli(["simulate", "--problem", "tanh-regression", "--algorithm", "fo-maml",
                            "--store", str(store), *extra])
    seconds = time.perf_counter() - t0
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert label in lines[0] and "GiB of memory (estimate)" in lines[0] and "more than the" in lines[0]
    assert seconds < 5 and not store.exists()


def test_sweep_refuses_a_run_too_large(tmp_path: Path) -> None:
    from mamltheory.sweep.config import load_sweep

    path = tmp_path / "big.toml"
    path.write_text('[base]\nproblem = "quadratic"\nalgorithm = "fo-maml"\nreplicates = 100000000\n'
                    '[grid]\nseed = [0, 1]\n')
    with pytest.raises(InputError) as err:
        load_sweep(str(path))
    assert str(err.value).startswith(f"{path}:4: base.replicates: a run of R = 100000000 replicates")


def test_refusal_names_replicates_or_the_single_replicate_driver() -> None:
    p = make_problem("quadratic", d=3, n_tasks=4, pool_size=10)
    cfg = RunConfig(problem=p.name, problem_params=p.params, algorithm="fo-maml", alpha=0.01, iterations=5,
                    replicates=1000, seed=0, B=2, D_in=3, D_o=3, D_h=0, step="constant", beta=0.01)
    one = sum(run_bytes(p.n_tasks, p.pool_size, p.d, dataclasses.replace(cfg, replicates=1)).values())
    check_run_memory(p, cfg, limit=10**12)  # fits
    with pytest.raises(InputError) as err:
        check_run_memory(p, cfg, limit=int(one * 10))
    assert err.value.field == "replicates"
    with pytest.raises(InputError) as err:
        check_run_memory(p, dataclasses.replace(cfg, B=10**6), limit=int(one * 10))
    assert err.value.field == "batch"


@pytest.mark.parametrize("name, params", [("tanh-regression", {"d": 40, "n_tasks": 10, "pool_size": 60}),
                                          ("nonconvex-logistic", {"d": 120, "n_tasks": 6, "pool_size": 30}),
                                          ("quadratic", {"d": 15, "n_tasks": 6, "pool_size": 30})])
@pytest.mark.parametrize("algorithm", ["maml", "fo-maml", "hf-maml"])
def test_estimates_bound_the_measured_peak(name: str, params: dict, algorithm: str) -> None:
    # The estimate is an upper estimate, not a wild one: measured peak <= estimate <= 2.5 × measured.
    make_problem(name, d=2, n_tasks=2, pool_size=3)  # first-call imports are not the problem's memory
    tracemalloc.start()
    p = make_problem(name, **params)
    measured = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    est = problem_bytes(name, {**type(p).defaults, **params})
    assert measured <= est <= 2.5 * measured

    cfg = RunConfig(problem=p.name, problem_params=p.params, algorithm=algorithm, alpha=0.01, iterations=4,
                    replicates=32, seed=0, B=6, D_in=5, D_o=5, D_h=0 if algorithm == "fo-maml" else 5,
                    step="theorem", step_divisor=12, B_prime=3, D_beta=4,
                    delta_rule="scaled" if algorithm == "hf-maml" else None,
                    delta=1.0 if algorithm == "hf-maml" else None)
    run(p, dataclasses.replace(cfg, replicates=1, iterations=1))
    tracemalloc.start()
    run(p, cfg)
    measured = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    est = sum(run_bytes(p.n_tasks, p.pool_size, p.d, cfg).values())
    assert measured <= est <= 2.5 * measured


def test_memory_room_is_the_least_limit_and_names_it(monkeypatch) -> None:
    # the admission compared with total RAM; it must take available memory and RLIMIT_AS
    import resource

    from mamltheory.simulate import resources

    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    monkeypatch.setattr(resources, "_cgroup_room", lambda: None)
    monkeypatch.setattr(resources, "_meminfo_available", lambda: total // 3)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert resources.memory_room() == (total // 3, "available memory (MemAvailable)")
    monkeypatch.setattr(resources, "_vm_size", lambda: 3 * 2**30)  # 3 GiB already mapped, 1 MiB more allowed
    monkeypatch.setattr(resource, "getrlimit", lambda which: (3 * 2**30 + 2**20, resource.RLIM_INFINITY))
    assert resources.memory_room() == (2**20, "room left under the address-space limit (RLIMIT_AS, ulimit -v)")
    with pytest.raises(InputError) as err:
        resources.refuse_above_memory(2 * 2**20, "d", "d", "a problem")
    assert "more than the 0.000977 GiB of room left under the address-space limit (RLIMIT_AS" in str(err.value)  # 1 MiB


def test_a_run_that_fits_in_ram_but_not_in_available_memory_is_refused(monkeypatch, run_cli, tmp_path) -> None:
    from mamltheory.simulate import resources

    need = problem_bytes("quadratic", {"n_tasks": 10, "pool_size": 50, "d": 100})  # about 0.09 GiB
    monkeypatch.setattr(resources, "memory_room", lambda: (int(need / 2), "available memory (MemAvailable)"))
    code, _, err = run_cli(["simulate", "--problem", "quadratic", "--algorithm", "fo-maml", "--param", "d=100",
                            "--store", str(tmp_path / "s.sqlite")])
    assert code == 2 and err.count("\n") == 1 and "d: problem 'quadratic'" in err and "MemAvailable" in err, err
