"""Fuzz the CLI of `plan`, `simulate` and `estimate` with garbage and extreme flag values.

Every invocation, run in-process through the `run_cli` fixture (tests/conftest.py), must end with exit
status 0 or 2 and never with an uncaught exception or a traceback. Size flags (iterations, replicates,
points, ...) draw only small or invalid values, so that a valid run is tiny.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Values no flag should choke on: empty, non-finite, negative, overflowing, underflowing, huge integers,
# Python syntax, lists, unicode, whitespace.
GARBAGE = ["", " ", "nan", "inf", "-inf", "-1", "0", "-0", "1e308", "-1e308", "1e-320", "1e400",
           str(10**30), "1" * 400, "10**30", "1,2", "1,2,3,4", "0,0,0,0", "-1,2,3,4", "1,,2,3", "é", "ℵ₀", "٣",
           "\u202e1", "0x10", "1_000", "1e3", "1.5", "0.5", "2", "3", "abc", "--json", "None", "true"]
# For size flags: invalid values and small valid ones only (a valid run stays tiny).
SMALL = ["", "nan", "inf", "-1", "0", "1e308", "1e-320", "10**30", "1,2", "é", "1.5", "1", "2", "3",
         "2,2,2,2", "1,1,1,1", "2,2", "0,1", "1e3x"]
PARAMS = ["d=2", "d=-1", "d=nan", "d=1e308", "d=0", "n_tasks=0", "n_tasks=3", "pool_size=1", "noise=inf",
          "noise=-1", "seed=-5", f"seed={10**30}", "x=1", "=", "d", "d=", "activation=é", "w_radius=1e308"]

PLAN_FLAGS = {f: GARBAGE for f in ("--L", "--rho", "--sigma", "--sigma-tilde", "--sigma-h", "--alpha", "--eps",
                                   "--initial-gap", "--batch", "--k-shot")}
PLAN_FLAGS["--algorithm"] = ["all", "maml", "fo-maml", "hf-maml", "", "reptile", "MAML", *GARBAGE[:4]]
PLAN_FLAGS["--constants"] = ["", "/nonexistent.toml", "/proc/self/status", "/dev/null", "/"]
PLAN_FLAGS["--from-estimate"] = ["", "/nonexistent.json", "/proc/self/status", "/dev/null", "/"]

SIM_FLAGS = {f: GARBAGE for f in ("--alpha", "--seed", "--step", "--delta")}
SIM_FLAGS.update({f: SMALL for f in ("--iterations", "--replicates", "--batch", "--step-batch", "--k-shot",
                                     "--hessian-chunk")})
SIM_FLAGS["--problem"] = ["quadratic", "tanh-regression", "nonconvex-logistic", "", "nope", "nope.py:f", *GARBAGE[:6]]
SIM_FLAGS["--algorithm"] = ["maml", "fo-maml", "hf-maml", "", "x"]
SIM_FLAGS["--record"] = ["auto", "every", "log", "", "x"]
SIM_FLAGS["--param"] = PARAMS

EST_FLAGS = {f: GARBAGE for f in ("--seed", "--alpha", "--radius")}
EST_FLAGS.update({f: SMALL for f in ("--points", "--run-steps")})
EST_FLAGS["--problem"] = ["quadratic", "tanh-regression", "", "nope", "nope.py:f", "nope:f", *GARBAGE[:6]]
EST_FLAGS["--param"] = PARAMS
EST_FLAGS["--out"] = ["", "/", "/proc/e.json", "/nonexistent/e.json", "OUT/e.json", "OUT"]


def invocation(command: str, flags: dict[str, list[str]], base: list[str]) -> st.SearchStrategy[list[str]]:
    pair = st.sampled_from(sorted(flags)).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(flags[f])))
    extra = st.lists(pair, max_size=4).map(lambda ps: [x for p in ps for x in p])
    switches = st.lists(st.sampled_from(["--json"]), max_size=1)
    return st.tuples(extra, switches).map(lambda t: [command, *base, *t[0], *t[1]])


def check(run_cli, argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.replace("OUT", tmp) for a in argv]
        if argv[0] == "simulate":
            argv += ["--store", str(Path(tmp) / "s.sqlite")]
        code, _, text = run_cli(argv)
    assert code in (0, 2), f"{argv!r} -> exit {code}: {text[-2000:]}"
    assert "Traceback" not in text, f"{argv!r}: {text[-2000:]}"
    if code == 2:
        lines = [line for line in text.splitlines() if line.strip()]
        assert len(lines) >= 1 and lines[-1].startswith("mamltheory"), f"{argv!r}: {text[-2000:]}"


# The fuzzed invocations of each command: its flags' values drawn on top of a valid base command.
FUZZED = {
    "plan": invocation("plan", PLAN_FLAGS, ["--L", "1", "--rho", "1", "--sigma", "0.5", "--sigma-tilde", "1",
                                            "--sigma-h", "1", "--eps", "0.1", "--initial-gap", "10"]),
    "simulate": invocation("simulate", SIM_FLAGS, ["--problem", "quadratic", "--algorithm", "fo-maml",
                                                   "--iterations", "2", "--replicates", "1", "--k-shot", "2",
                                                   "--param", "d=2"]),
    "estimate": invocation("estimate", EST_FLAGS, ["--problem", "quadratic", "--points", "2", "--run-steps", "1",
                                                   "--param", "d=2"]),
}


@pytest.mark.parametrize("command", list(FUZZED))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz(run_cli, command: str, data: st.DataObject) -> None:
    check(run_cli, data.draw(FUZZED[command], label="argv"))
