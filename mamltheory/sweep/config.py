"""Sweep configuration: a TOML file, validated as a whole and expanded into runs before any work.

Layout (every run field may appear in `[base]`, as a list in `[grid]`, or in a `[[runs]]` table)::

    name = "alpha"                       # the sweep's name (`mamltheory report --sweep alpha`)
    [base]                               # shared by every run
    problem = "tanh-regression"
    params = { d = 10, n_tasks = 20 }    # problem parameters (make_problem)
    iterations = 100
    [grid]                               # Cartesian product of these lists, over [base]
    algorithm = ["fo-maml", "hf-maml"]
    alpha = [0.02, 0.05]
    params.d = [5, 10]                   # a problem parameter as an axis
    [[runs]]                             # explicit runs, each over [base], after the grid
    algorithm = "maml"
    alpha = 0.1

Each run is then resolved by `simulate`'s own library function (`simulate.config.run_config`: its
rules, the planner's defaults, the memory estimate) and checked against the theorem's α range; an
error names the file, the line, the key (from the error's `field`) and the rule. Nothing here touches
the result store.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import THEOREM_RULE, check_nesting, input_file

KeyPath = tuple[str | int, ...]

# Run field -> the TOML shape it must have (values are then checked by run_config's rules).
RUN_FIELDS: dict[str, str] = {
    "problem": "string", "params": "table", "algorithm": "algorithm", "alpha": "number",
    "iterations": "integer", "replicates": "integer", "seed": "integer", "batch": "batch",
    "step": "theorem-or-number", "step_batch": "step_batch", "k_shot": "integer",
    "delta": "theorem-or-number", "record": "record", "hessian_chunk": "integer",
}
TOP_FIELDS = ("name", "description", "base", "grid", "runs")
# Options of run_config that a TOML run may set (the others take run_config's defaults, which are
# `simulate`'s, so a sweep run and the same `simulate` command share a store key).
RUN_OPTIONS = ("alpha", "iterations", "replicates", "seed", "step", "batch", "step_batch", "k_shot", "delta",
               "record", "hessian_chunk")
MAX_RUNS = 100_000  # a grid larger than this is almost surely a typo; checked before expanding
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def dotted(path: KeyPath) -> str:
    """("runs", 2, "params", "d") -> "runs[2].params.d"."""
    out = ""
    for p in path:
        if not isinstance(p, int) and not re.fullmatch(r"[A-Za-z0-9_-]+", p):
            p = json.dumps(p)  # a quoted key, written as TOML would (escapes keep the message on one line)
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


# ---- line numbers: tomllib reports none for keys, so scan the text for each key's line ---------
_BARE = r'[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\''
_KEY_LINE = re.compile(rf"^\s*((?:{_BARE})(?:\s*\.\s*(?:{_BARE}))*)\s*=(.*)$")
_HEADER = re.compile(rf"^\s*(\[\[|\[)\s*((?:{_BARE})(?:\s*\.\s*(?:{_BARE}))*)\s*\]\]?\s*(?:#.*)?$")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _parts(key: str) -> list[str]:
    return [p[1:-1] if p[:1] in "\"'" else p for p in re.findall(_BARE, key)]


class KeyLines:
    """The line on which each key path is defined (array-of-tables paths carry their index)."""

    def __init__(self, text: str) -> None:
        self.lines: dict[KeyPath, int] = {}
        counts: dict[KeyPath, int] = {}
        table: KeyPath = ()
        depth, in_string = 0, False
        for no, raw in enumerate(text.splitlines(), start=1):
            if in_string:  # inside a multi-line string value
                in_string = raw.count('"""') % 2 == 0
                continue
            if depth > 0:  # inside a multi-line array or inline table value
                depth += self._balance(raw)
                continue
            m = _HEADER.match(raw)
            if m:
                path: list[str | int] = []
                for part in _parts(m.group(2)):
                    path.append(part)
                    if tuple(path) in counts and not (m.group(1) == "[[" and len(path) == len(_parts(m.group(2)))):
                        path.append(counts[tuple(path)])
                if m.group(1) == "[[":
                    counts[tuple(path)] = counts.get(tuple(path), -1) + 1
                    path.append(counts[tuple(path)])
                table = tuple(path)
                self._note(table, no)
                continue
            m = _KEY_LINE.match(raw)
            if not m:
                continue
            path_k = table + tuple(_parts(m.group(1)))
            self._note(path_k, no)
            value = m.group(2).strip()
            if value.startswith("{"):
                for sub in re.findall(rf"({_BARE})\s*=", _STRINGS.sub('""', value[1:])):
                    self._note(path_k + tuple(_parts(sub)), no)
            if value.count('"""') % 2 == 1:
                in_string = True
            else:
                depth = self._balance(value)

    @staticmethod
    def _balance(text: str) -> int:
        text = _STRINGS.sub('""', text).split("#", 1)[0]
        return text.count("[") + text.count("{") - text.count("]") - text.count("}")

    def _note(self, path: KeyPath, no: int) -> None:
        for i in range(1, len(path) + 1):
            self.lines.setdefault(path[:i], no)

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest enclosing key/table (list indices are not lines)."""
        for i in range(len(path), 0, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return None


# ---- the expanded sweep ------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its store key, full configuration and why it lies outside the theory."""

    index: int
    key: str
    config: Any  # simulate.runner.RunConfig
    outside_theory: tuple[str, ...]
    origin: str  # "grid" or "runs[i]"


@dataclass
class SweepSpec:
    """A validated sweep: name, source text, runs in order (duplicates removed)."""

    name: str
    path: str
    source: str
    runs: list[SweepRun]
    duplicates: int = 0
    description: str = ""
    axes: list[str] = field(default_factory=list)  # fields whose value differs between runs


class _Checker:
    """Shape checks of TOML values; every failure names file, line, key and rule."""

    def __init__(self, path: str, lines: KeyLines) -> None:
        self.path, self.lines = path, lines

    def error(self, key: KeyPath, rule: str) -> InputError:
        line = self.lines.line(key)
        where = f"{self.path}:{line}" if line else self.path
        return InputError(f"{where}: {dotted(key) or 'config'}: {rule}")

    def table(self, key: KeyPath, value: Any, allowed: tuple[str, ...] | dict[str, str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_tname(value)}")
        for k in value:
            if k not in allowed:
                raise self.error(key + (k,), f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def _rule(self, key: KeyPath, check: Any, *args: Any) -> None:
        """Apply one of `run_config`'s own value checks, naming this key on failure."""
        try:
            check(*args)
        except InputError as err:
            raise self.error(key, rule_of(err)) from None

    def value(self, key: KeyPath, name: str, v: Any) -> None:
        """Check that `v` has the TOML shape of run field `name` and, where it can be judged alone, its range
        by `run_config`'s own rule. Every value in the file is checked, including one other keys override."""
        from mamltheory.simulate.config import check_option

        kind = RUN_FIELDS[name]
        if kind in _SHAPES:
            fits, rule = _SHAPES[kind]
            if not fits(v):
                raise self.error(key, rule.format(t=_tname(v), v=v))
        if kind == "table":
            for pk, pv in v.items():
                self.param(key + (pk,), pv)
        elif name != "problem":  # the problem's name is make_problem's to judge
            self._rule(key, check_option, name, v)

    def param(self, key: KeyPath, v: Any) -> None:
        # Non-finite values are rejected here: make_problem's integer check would raise on them.
        if not _is_number(v):
            raise self.error(key, f"must be a number, got {_tname(v)}")
        if isinstance(v, float) and not math.isfinite(v):  # ints are finite (and may overflow a float)
            raise self.error(key, f"must be finite, got {v}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int_array(n: int) -> Any:
    return lambda v: isinstance(v, list) and len(v) == n and all(_is_int(x) for x in v)


# TOML shape of each kind of run field: (test, rule with {t} the value's TOML type and {v} the value).
# Ranges and choices are `run_config`'s own rules (simulate.config.check_option).
_SHAPES: dict[str, tuple[Any, str]] = {
    "string": (lambda v: isinstance(v, str), "must be a string, got {t}"),
    "number": (_is_number, "must be a number, got {t}"),
    "integer": (_is_int, "must be an integer, got {t} {v!r}"),
    "theorem-or-number": (lambda v: isinstance(v, str) or _is_number(v), "must be \"theorem\" or a number, got {v!r}"),
    "batch": (_int_array(4), "must be an array of 4 integers [B, D_in, D_o, D_h], got {v!r}"),
    "step_batch": (_int_array(2), "must be an array of 2 integers [B_prime, D_beta], got {v!r}"),
    "table": (lambda v: isinstance(v, dict), "must be a table of problem parameters, got {t}"),
}


def _tname(v: Any) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a float", list: "an array",
            dict: "a table"}.get(type(v), type(v).__name__)


def _read(path: str) -> tuple[str, dict[str, Any]]:
    text = input_file(path, path, what="the sweep config")
    check_nesting(path, text, "the sweep config")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:  # below MAX_NESTING a parser does not recurse this deep; kept as a backstop
        raise InputError(f"{path}: the sweep config is nested too deeply") from None


@dataclass
class _Raw:
    """A run before validation: field -> value, and field -> where in the file it came from."""

    values: dict[str, Any]
    params: dict[str, Any]
    origin: dict[str, KeyPath]
    where: KeyPath  # the run's own location: ("grid",) or ("runs", i)


def _expand(ck: _Checker, data: dict[str, Any]) -> Iterator[_Raw]:
    base = data.get("base", {})
    base_vals = {k: v for k, v in base.items() if k != "params"}
    base_params = dict(base.get("params", {}))
    base_origin: dict[str, KeyPath] = {k: ("base", k) for k in base_vals}
    base_origin.update({f"params.{k}": ("base", "params", k) for k in base_params})
    if "grid" in data:
        grid = data["grid"]
        axes: list[tuple[str, KeyPath, list[Any]]] = [(k, ("grid", k), v) for k, v in grid.items() if k != "params"]
        axes += [(f"params.{k}", ("grid", "params", k), v) for k, v in grid.get("params", {}).items()]
        for combo in itertools.product(*(range(len(v)) for _, _, v in axes)):
            vals, params, origin = dict(base_vals), dict(base_params), dict(base_origin)
            for (name, path, values), i in zip(axes, combo):
                if name.startswith("params."):
                    params[name[7:]] = values[i]
                else:
                    vals[name] = values[i]
                origin[name] = path + (i,)
            yield _Raw(vals, params, origin, ("grid",))
    for j, run in enumerate(data.get("runs", [])):
        vals, params, origin = dict(base_vals), dict(base_params), dict(base_origin)
        for k, v in run.items():
            if k == "params":
                params.update(v)
                origin.update({f"params.{pk}": ("runs", j, "params", pk) for pk in v})
            else:
                vals[k] = v
                origin[k] = ("runs", j, k)
        yield _Raw(vals, params, origin, ("runs", j))


def _check_structure(ck: _Checker, data: dict[str, Any], path: str) -> tuple[str, str, int]:
    """Keys, shapes and sizes of the whole file; returns (name, description, number of runs)."""
    ck.table((), data, TOP_FIELDS)
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not NAME_RULE.match(name):
            raise ck.error(("name",), f"must be 1-64 characters from A-Z a-z 0-9 _ . - (starting with a letter "
                                      f"or digit), got {name!r}")
    else:
        name = Path(path).stem
        if not NAME_RULE.match(name):
            raise ck.error(("name",), f"required: the file name {name!r} is not a valid sweep name "
                                      f"(1-64 characters from A-Z a-z 0-9 _ . -)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ck.error(("description",), f"must be a string, got {_tname(description)}")
    if "base" in data:
        for k, v in ck.table(("base",), data["base"], RUN_FIELDS).items():
            ck.value(("base", k), k, v)
    n = 0
    if "grid" in data:
        grid = ck.table(("grid",), data["grid"], RUN_FIELDS)
        if not grid:
            raise ck.error(("grid",), "empty grid: give at least one key with a non-empty array of values")
        n = 1
        for k, v in grid.items():
            if k == "params":
                if not isinstance(v, dict) or not v:
                    raise ck.error(("grid", "params"), "must be a non-empty table of arrays of parameter values")
                items = [(("grid", "params", pk), pv, None) for pk, pv in v.items()]
            else:
                items = [(("grid", k), v, k)]
            for key, values, fname in items:
                if not isinstance(values, list) or not values:
                    raise ck.error(key, f"must be a non-empty array of values (a grid axis), got {values!r}")
                for i, x in enumerate(values):
                    if fname is None:
                        ck.param(key + (i,), x)
                    else:
                        ck.value(key + (i,), fname, x)
                n *= len(values)
                if n > MAX_RUNS:
                    raise ck.error(key, f"the grid has more than {MAX_RUNS} runs; split the sweep")
    if "runs" in data:
        runs = data["runs"]
        if not isinstance(runs, list) or not runs:
            raise ck.error(("runs",), "must be a non-empty array of tables ([[runs]])")
        for j, run in enumerate(runs):
            for k, v in ck.table(("runs", j), run, RUN_FIELDS).items():
                ck.value(("runs", j, k), k, v)
        n += len(runs)
        if n > MAX_RUNS:
            raise ck.error(("runs",), f"the sweep has more than {MAX_RUNS} runs; split the sweep")
    if "grid" not in data and "runs" not in data:
        raise ck.error((), "no runs: add a [grid] table of value lists or [[runs]] tables")
    return name, description, n


def rule_of(err: InputError) -> str:
    """The rule of an InputError from run_config or make_problem, without the parameter's label.

    Their messages read "LABEL: rule" ("--alpha: ...", "--batch D_in: ...", "d: ...", "problem parameter
    'x': ..."); the sweep names its own key instead, so the label goes and a sub-name (D_in) stays.
    """
    head, sep, rule = str(err).partition(": ")
    if not sep:
        return str(err)
    label = "--" + err.field.replace("_", "-") if err.field and "." not in err.field else (err.field or "")
    label = label.removeprefix("params.")
    sub = head.removeprefix(label).strip() if label and head.startswith(label) else ""
    return f"{sub}: {rule}" if sub else rule


def _describe(raw: _Raw, axes: list[str]) -> str:
    vals = {**raw.values, **{f"params.{k}": v for k, v in raw.params.items()}}
    return ", ".join(f"{a}={vals[a]!r}" for a in axes if a in vals)


def _run_error(ck: _Checker, raw: _Raw, label_axes: list[str], fieldname: str | None, rule: str) -> InputError:
    """The error of one expanded run, at the key that set `fieldname` (a grid run names its combination)."""
    if fieldname in raw.origin:
        key = raw.origin[fieldname]
    elif fieldname is None:
        key = raw.where
    elif raw.where[0] == "runs":
        key = raw.where + tuple(fieldname.split("."))
    else:  # a grid run's field that no key sets: it belongs in [base]
        key = ("base", *fieldname.split("."))
    combo = _describe(raw, label_axes) if raw.where == ("grid",) else ""
    return ck.error(key, rule + (f" (run {combo})" if combo else ""))


def _outside_theorem(values: dict[str, Any], problem: Any, outside_theory: bool,
                     fail: Callable[[str, str], InputError]) -> list[str]:
    """Why a run lies outside the paper's theorem (α range, constant step, fixed δ); each is refused unless
    `outside_theory`."""
    from mamltheory.bounds.planner import theorem_alpha  # the planner's exact α-range rule
    from mamltheory.bounds.theorems import theorem

    reasons: list[str] = []
    thm, alpha = theorem(values["algorithm"], "paper"), values.get("alpha")
    if _is_number(alpha) and math.isfinite(alpha) and alpha > 0:
        try:
            theorem_alpha(thm, problem.constants, alpha)
        except InputError as err:
            rule = rule_of(err)
            if not outside_theory:
                raise fail("alpha", f"α {rule} (L = {problem.constants.L:.6g}); pass --outside-theory "
                                    f"to simulate it on purpose") from None
            reasons.append(f"α = {alpha} outside {thm.name}'s range: {rule.split(', got')[0]}")
    if values.get("step", THEOREM_RULE) != THEOREM_RULE:
        reasons.append(f"constant step β = {values['step']}: {thm.name} takes β_k = β̃(w_k)/"
                       f"{thm.step_divisor} (eq. (26))")
        if not outside_theory:
            raise fail("step", f"a constant step is outside {thm.name} (β_k = β̃(w_k)/{thm.step_divisor}, "
                               f"eq. (26)); pass --outside-theory to simulate it on purpose")
    if thm.algorithm == "hf-maml" and values.get("delta", THEOREM_RULE) != THEOREM_RULE:
        reasons.append(f"fixed δ_k^i = {values['delta']}: {thm.name} takes δ_k^i = δ/‖v‖, "
                       f"δ = 1/(6ρα) (eq. (142))")
        if not outside_theory:
            raise fail("delta", f"a fixed δ is outside {thm.name} (δ_k^i = δ/‖v‖ with δ = 1/(6ρα), "
                                f"eq. (142)); pass --outside-theory to simulate it on purpose")
    return reasons


def _resolve(problem: Any, values: dict[str, Any], pkey: str, built: dict[str, Any]) -> Any:
    """The run's RunConfig by `run_config`; runs differing only in seed, replicates or iterations (which do
    not change what the planner supplies) share one resolution, their counts checked by its own rule."""
    from mamltheory.simulate.config import check_option, run_config
    from mamltheory.simulate.resources import check_run_memory

    options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in RUN_OPTIONS}
    counts = {k: check_option(k, options.pop(k, inspect.signature(run_config).parameters[k].default))
              for k in ("iterations", "replicates", "seed")}
    skey = repr((pkey, values["algorithm"], sorted(options.items())))
    if skey not in built:
        built[skey] = run_config(problem, values["algorithm"], **options, iterations=1, replicates=1, seed=0)
    cfg = dataclasses.replace(built[skey][0], **counts)
    check_run_memory(problem, cfg)
    return cfg


def load_sweep(path: str, outside_theory: bool = False) -> SweepSpec:
    """Read, validate and expand a sweep config; raise InputError (file:line: key: rule) on the first problem."""
    from mamltheory.simulate import make_problem
    from mamltheory.store import config_key

    text, data = _read(path)
    ck = _Checker(path, KeyLines(text))
    name, description, _ = _check_structure(ck, data, path)
    grid_axes = [k for k in data.get("grid", {}) if k != "params"]
    grid_axes += [f"params.{k}" for k in data.get("grid", {}).get("params", {})]
    explicit = sorted({k if k != "params" else f"params.{pk}" for r in data.get("runs", [])
                       for k in r for pk in (r[k] if k == "params" else [None])})
    label_axes = grid_axes + [a for a in explicit if a not in grid_axes]

    problems: dict[str, Any] = {}
    built: dict[str, tuple[Any, dict[str, str]]] = {}
    runs: list[SweepRun] = []
    seen: set[str] = set()
    duplicates = 0
    for raw in _expand(ck, data):
        fail = functools.partial(_run_error, ck, raw, label_axes)
        for required in ("problem", "algorithm"):
            if required not in raw.values:
                raise fail(required, "required: set it in [base], as a [grid] axis, or in every [[runs]] table")
        pkey = repr((raw.values["problem"], sorted(raw.params.items())))
        try:
            if pkey not in problems:
                problems[pkey] = make_problem(raw.values["problem"], **raw.params)
        except InputError as err:
            raise fail(err.field, rule_of(err)) from None
        reasons = _outside_theorem(raw.values, problems[pkey], outside_theory, fail)
        try:
            cfg = _resolve(problems[pkey], raw.values, pkey, built)
        except InputError as err:
            raise fail(err.field, rule_of(err)) from None
        key = config_key(cfg.key_dict())
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        runs.append(SweepRun(len(runs), key, cfg, tuple(reasons), dotted(raw.where)))
    axes = display_axes([r.config.key_dict() for r in runs], set(label_axes))
    return SweepSpec(name, path, text, runs, duplicates, description, axes)


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """A run's key_dict with problem parameters as `params.NAME` entries."""
    out = {k: v for k, v in config.items() if k != "problem_params"}
    out.update({f"params.{k}": v for k, v in config.get("problem_params", {}).items()})
    return out


def varied_fields(configs: list[dict[str, Any]]) -> list[str]:
    """Fields whose value differs between the given run configurations (the sweep's axes)."""
    flat = [flatten(c) for c in configs]
    names: list[str] = []
    for f in flat:
        names += [k for k in f if k not in names]
    return [k for k in names if len({repr(f.get(k)) for f in flat}) > 1]


# RunConfig fields the user sets through another field: shown only if that field is itself swept.
_SET_BY = {"B": "batch", "D_in": "batch", "D_o": "batch", "D_h": "batch", "B_prime": "step_batch",
           "D_beta": "step_batch", "beta": "step", "delta": "delta"}
_DERIVED = {"step_divisor", "delta_rule"}  # functions of the algorithm and the step/δ rule


def display_axes(configs: list[dict[str, Any]], swept: set[str]) -> list[str]:
    """The varied fields worth a column: those the sweep varies on purpose, not their by-products.

    `swept` holds the config-file names set per run (grid axes, keys of [[runs]] tables); a field that
    varies only because the algorithm does (D_h = 0 for FO-MAML, δ = 1/(6ρα)) is left out.
    """
    return [f for f in varied_fields(configs)
            if f not in _DERIVED and (f not in _SET_BY or _SET_BY[f] in swept)]
