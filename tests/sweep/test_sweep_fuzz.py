"""Property-based fuzzing: every bad config or flag exits 2 with one stderr line and writes no store."""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweeputil import BASE, PARAMS, to_toml

from mamltheory.simulate import make_problem
from mamltheory.simulate.algorithms import ALGORITHMS
from mamltheory.simulate.families import QuadraticProblem
from mamltheory.sweep.config import RUN_FIELDS, TOP_FIELDS, dotted

# HF-MAML uses every field (δ included), so no bad value can be ignored as irrelevant to the run.
VALID: dict[str, Any] = {"name": "fuzz", "base": {**BASE, "algorithm": "hf-maml", "alpha": 0.01},
                         "grid": {"seed": [0, 1]}}
ALPHA_MAX = 1 / (6 * make_problem("quadratic", **PARAMS).constants.L)  # Theorem H.1: α <= 1/(6L)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_rejected(run_cli: Callable[[list[str]], tuple[int, str, str]], argv_tail: list[str],
                    config_text: str | None, expected_key: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "fuzz.toml"
        if config_text is not None:
            config.write_text(config_text, encoding="utf-8")
        store = Path(tmp) / "store.sqlite"
        code, out, err = run_cli(["sweep", str(config), "--store", str(store), *argv_tail])
        assert code == 2, (code, err, config_text)
        # "mamltheory: " when argparse's top-level parser reports an unrecognised argument
        assert err.startswith(("mamltheory sweep: ", "mamltheory: ")), err
        assert err.endswith("\n") and len(err.splitlines()) == 1, err
        assert out == ""
        assert not store.exists() and list(Path(tmp).iterdir()) == ([config] if config_text is not None else [])
        if expected_key is not None:
            assert f" {expected_key}: " in err, (expected_key, err)


# ---- bad values, per field ------------------------------------------------------------------
def _bad_number() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 0]),
                     st.floats(max_value=0, allow_nan=False), st.integers(max_value=0),
                     st.floats(min_value=ALPHA_MAX * 1.001, allow_infinity=False),  # outside Theorem H.1
                     st.booleans(), st.text(max_size=6), st.lists(st.integers(), max_size=2))


def _bad_int(low: int) -> st.SearchStrategy[Any]:
    # below the range; any float (TOML 3.0 is a float, not an integer); other types
    return st.one_of(st.integers(max_value=low - 1), st.floats(allow_nan=True), st.booleans(), st.text(max_size=6),
                     st.just([1]))


def _bad_batch(n: int) -> st.SearchStrategy[Any]:
    good = st.integers(1, 5)
    bad_elem = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3))
    wrong_len = st.lists(good, max_size=6).filter(lambda v: len(v) != n)
    one_bad = st.tuples(st.lists(good, min_size=n, max_size=n), st.integers(0, n - 1), bad_elem).map(
        lambda t: [*t[0][:t[1]], t[2], *t[0][t[1] + 1:]])
    return st.one_of(wrong_len, one_bad, st.integers(), st.text(max_size=5))


def _bad_rule() -> st.SearchStrategy[Any]:
    # "theorem" or a positive number; a positive number is outside the theorem without --outside-theory
    return st.one_of(st.text(max_size=8).filter(lambda s: s != "theorem"), st.floats(allow_nan=True),
                     st.integers(), st.booleans(), st.just([]))


BAD: dict[str, st.SearchStrategy[Any]] = {
    "problem": st.one_of(st.text(max_size=12).filter(lambda s: s not in ("quadratic", "tanh-regression",
                                                                          "nonconvex-logistic")),
                         st.integers(), st.booleans()),
    "algorithm": st.one_of(st.text(max_size=10).filter(lambda s: s not in ALGORITHMS), st.integers()),
    "alpha": _bad_number(),
    "iterations": _bad_int(1), "replicates": _bad_int(1), "seed": _bad_int(0), "k_shot": _bad_int(1),
    "hessian_chunk": _bad_int(1),
    "batch": _bad_batch(4), "step_batch": _bad_batch(2),
    "step": _bad_rule(), "delta": _bad_rule(),
    "record": st.one_of(st.text(max_size=8).filter(lambda s: s not in ("auto", "every", "log")), st.integers()),
}
assert set(BAD) == set(RUN_FIELDS) - {"params"}

_INT_PARAMS = {"d": 1, "n_tasks": 2, "pool_size": 2, "seed": 0}
_POSITIVE = {"w_radius", "rho_floor"}


@st.composite
def bad_param(draw: Any) -> tuple[str, Any]:
    """A (name, value) that make_problem('quadratic') must refuse."""
    names = sorted(QuadraticProblem.defaults)
    kind = draw(st.sampled_from(["unknown", "type", "nonfinite", "range"]))
    if kind == "unknown":
        return draw(st.text(min_size=1, max_size=8).filter(lambda s: s not in names)), 1
    name = draw(st.sampled_from(names))
    if kind == "type":
        return name, draw(st.one_of(st.booleans(), st.text(max_size=4), st.just([1.0])))
    if kind == "nonfinite":
        return name, draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    if name in _INT_PARAMS:
        return name, draw(st.one_of(st.integers(max_value=_INT_PARAMS[name] - 1),
                                    st.floats(0.1, 100).filter(lambda x: x != int(x))))
    top = 0.0 if name in _POSITIVE else -1e-300
    return name, draw(st.floats(max_value=top, allow_nan=False, allow_infinity=False))


def _is_bad_value(field: str, value: Any) -> bool:
    # Drawn values that happen to be valid (e.g. an integral float for an integer) are discarded.
    if field in ("iterations", "replicates", "k_shot", "hessian_chunk", "seed"):
        return not (isinstance(value, int) and not isinstance(value, bool) and value >= (0 if field == "seed" else 1))
    return True


@SETTINGS
@given(field=st.sampled_from(sorted(BAD)), data=st.data(), where=st.sampled_from(["base", "grid", "runs"]))
def test_bad_field_value(field: str, data: Any, where: str, run_cli) -> None:
    value = data.draw(BAD[field])
    if not _is_bad_value(field, value):
        return
    doc = copy.deepcopy(VALID)
    if where == "base":
        doc["base"][field] = value
        key = f"base.{field}"
    elif where == "grid":
        good = VALID["base"].get(field)
        axis = [good, value] if good is not None else [value]
        doc["grid"][field] = axis
        key = f"grid.{field}[{len(axis) - 1}]"
    else:
        doc["runs"] = [{"seed": 7}, {field: value}]
        key = f"runs[1].{field}"
    if field in ("alpha", "seed", "step", "delta") and where != "base":
        doc["base"].pop(field, None)
    assert_rejected(run_cli, [], to_toml(doc), key)


@SETTINGS
@given(param=bad_param(), where=st.sampled_from(["base", "grid", "runs"]))
def test_bad_problem_parameter(param: tuple[str, Any], where: str, run_cli) -> None:
    name, value = param
    doc = copy.deepcopy(VALID)
    if where == "base":
        doc["base"]["params"][name] = value
        path: tuple[str | int, ...] = ("base", "params", name)
    elif where == "grid":
        doc["grid"]["params"] = {name: [value]}
        path = ("grid", "params", name, 0)
    else:
        doc["runs"] = [{"params": {name: value}}]
        path = ("runs", 0, "params", name)
    assert_rejected(run_cli, [], to_toml(doc), dotted(path))


@SETTINGS
@given(level=st.sampled_from(["top", "base", "grid", "runs"]), name=st.text(min_size=1, max_size=10))
def test_unknown_key(level: str, name: str, run_cli) -> None:
    allowed = set(TOP_FIELDS) if level == "top" else set(RUN_FIELDS)
    if name in allowed:
        return
    doc = copy.deepcopy(VALID)
    if level == "top":
        doc[name] = 1
    elif level == "runs":
        doc["runs"] = [{name: 1}]
    else:
        doc[level][name] = [1] if level == "grid" else 1
    assert_rejected(run_cli, [], to_toml(doc))


@SETTINGS
@given(case=st.sampled_from(["empty-axis", "empty-grid", "empty-runs", "no-runs", "empty-params"]),
       field=st.sampled_from(sorted(RUN_FIELDS)))
def test_empty_grids(case: str, field: str, run_cli) -> None:
    doc = copy.deepcopy(VALID)
    if case == "empty-axis":
        doc["grid"][field] = {} if field == "params" else []
    elif case == "empty-grid":
        doc["grid"] = {}
    elif case == "empty-runs":
        del doc["grid"]
        doc["runs"] = []
    elif case == "no-runs":
        del doc["grid"]
    else:
        doc["grid"]["params"] = {"d": []}
    text = to_toml(doc)
    if case == "empty-grid":
        text += "\n[grid]\n"
    if case == "empty-runs":
        text = text.replace("runs = []", "") + "runs = []\n"
    assert_rejected(run_cli, [], text)


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_text(text: str, run_cli) -> None:
    assert_rejected(run_cli, [], text)


@SETTINGS
@given(data=st.data())
def test_bad_flags(data: Any, run_cli) -> None:
    def not_count(s: str) -> bool:
        try:
            return int(s) < 1
        except ValueError:
            return True

    bad_count = st.one_of(st.integers(max_value=0).map(str), st.text(max_size=6).filter(not_count))
    from mamltheory.sweep.executors import _ADDRESS

    bad_address = st.text(max_size=20).filter(lambda s: not _ADDRESS.match(s))
    flags = data.draw(st.one_of(
        st.tuples(st.just("--workers"), bad_count).map(list),
        st.tuples(st.just("--max-attempts"), bad_count).map(list),
        st.tuples(st.just("--scheduler"), bad_address).map(list),
        st.just(["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"]),
        st.sampled_from([["--store", ""], ["--store", "/nonexistent-folder/s.sqlite"], ["--store", "."]]),
        st.from_regex(r"--[a-z][a-z-]{0,12}", fullmatch=True).filter(
            lambda f: f not in ("--store", "--workers", "--scheduler", "--outside-theory", "--max-attempts",
                                "--retry-failed", "--json", "--help")
            and not any(o.startswith(f) for o in ("--store", "--workers", "--scheduler", "--outside-theory",
                                                  "--max-attempts", "--retry-failed", "--json", "--help"))).map(
            lambda f: [f]),
    ))
    assert_rejected(run_cli, flags, to_toml(VALID))


def test_missing_or_unreadable_config(run_cli) -> None:
    assert_rejected(run_cli, [], None)  # no such file
    with tempfile.TemporaryDirectory() as tmp:
        code, _, err = run_cli(["sweep", tmp, "--store", str(Path(tmp) / "s.sqlite")])  # a directory
        assert code == 2 and "cannot read the sweep config" in err and len(err.splitlines()) == 1
        assert not (Path(tmp) / "s.sqlite").exists()


def test_unreachable_scheduler_is_bad_input(monkeypatch, run_cli) -> None:
    import mamltheory.sweep.executors as executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "fuzz.toml"
        config.write_text(to_toml(VALID))
        store = Path(tmp) / "s.sqlite"
        code, out, err = run_cli(["sweep", str(config), "--store", str(store), "--scheduler", "tcp://127.0.0.1:9"])
        assert code == 2 and out == "" and not store.exists()
        assert err.startswith("mamltheory sweep: --scheduler: cannot connect to tcp://127.0.0.1:9 (")
        assert len(err.splitlines()) == 1
