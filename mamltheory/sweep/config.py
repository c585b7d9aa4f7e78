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
import inspect
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import INT_MAX, SEED_MAX, check_nesting, input_file

KeyPath = tuple[str | int, ...]

# Run field -> the TOML shape it must have (values are then checked by run_config's rules).
RUN_FIELDS: dict[str, str] = {
    "problem": "string", "params": "table", "algorithm": "algorithm", "alpha": "number",
    "iterations": "integer", "replicates": "integer", "seed": "integer", "batch": "batch",
    "step": "theory-or-number", "step_batch": "step_batch", "k_shot": "integer",
    "delta": "theory-or-number", "record": "record", "hessian_chunk": "integer",
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
        """Check that `v` has the TOML shape of run field `name` and, where it can be judged alone, its range.

        Every value in the file is checked, including one that other keys override in every run.
        """
        from mamltheory.simulate import config as rc

        self.shape(key, name, v)
        kind = RUN_FIELDS[name]
        if kind == "integer":
            self._rule(key, rc.check_int, name, v, 0 if name == "seed" else 1,
                       {"iterations": rc.MAX_ITERATIONS, "seed": rc.SEED_MAX}.get(name, rc.INT_MAX))
        elif kind == "number" or (kind == "theory-or-number" and v != "theory"):
            self._rule(key, rc.check_positive, name, v)
        elif kind == "batch":
            self._rule(key, rc.check_ints, name, v, rc.BATCH_NAMES)
        elif kind == "step_batch":
            self._rule(key, rc.check_ints, name, v, rc.STEP_BATCH_NAMES)

    def shape(self, key: KeyPath, name: str, v: Any) -> None:
        """Check that `v` has the TOML shape of run field `name`."""
        kind = RUN_FIELDS[name]
        if kind == "string":
            if not isinstance(v, str):
                raise self.error(key, f"must be a string, got {_tname(v)}")
        elif kind == "algorithm":
            from mamltheory.simulate.algorithms import ALGORITHMS

            if v not in ALGORITHMS:
                raise self.error(key, f"must be one of {', '.join(ALGORITHMS)}, got {v!r}")
        elif kind == "record":
            from mamltheory.simulate.config import RECORD_MODES

            if v not in RECORD_MODES:
                raise self.error(key, f"must be one of {', '.join(RECORD_MODES)}, got {v!r}")
        elif kind == "number":
            if not _is_number(v):
                raise self.error(key, f"must be a number, got {_tname(v)}")
        elif kind == "integer":
            if not _is_int(v):
                raise self.error(key, f"must be an integer, got {_tname(v)} {v!r}")
        elif kind == "theory-or-number":
            if not (v == "theory" or _is_number(v)):
                raise self.error(key, f"must be \"theory\" or a number, got {v!r}")
        elif kind in ("batch", "step_batch"):
            names = ("B", "D_in", "D_o", "D_h") if kind == "batch" else ("B_prime", "D_beta")
            if not (isinstance(v, list) and len(v) == len(names) and all(_is_int(x) for x in v)):
                raise self.error(key, f"must be an array of {len(names)} integers [{', '.join(names)}], got {v!r}")
        elif kind == "table":
            if not isinstance(v, dict):
                raise self.error(key, f"must be a table of problem parameters, got {_tname(v)}")
            for pk, pv in v.items():
                self.param(key + (pk,), pv)

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


def load_sweep(path: str, outside_theory: bool = False) -> SweepSpec:
    """Read, validate and expand a sweep config; raise InputError (file:line: key: rule) on the first problem."""
    from mamltheory.bounds.planner import theorem_alpha  # the planner's exact α-range rule
    from mamltheory.bounds.theorems import theorem
    from mamltheory.simulate import make_problem
    from mamltheory.simulate.config import MAX_ITERATIONS, check_int, run_config
    from mamltheory.simulate.resources import check_run_memory
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
        def fail(fieldname: str | None, rule: str, raw: _Raw = raw) -> InputError:
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

        for required in ("problem", "algorithm"):
            if required not in raw.values:
                raise fail(required, "required: set it in [base], as a [grid] axis, or in every [[runs]] table")
        pkey = repr((raw.values["problem"], sorted(raw.params.items())))
        try:
            if pkey not in problems:
                problems[pkey] = make_problem(raw.values["problem"], **raw.params)
            problem = problems[pkey]
        except InputError as err:
            raise fail(err.field, rule_of(err)) from None

        reasons: list[str] = []
        alg = raw.values["algorithm"]
        thm = theorem(alg, "paper")
        if "alpha" in raw.values and _is_number(raw.values["alpha"]) and math.isfinite(raw.values["alpha"]) \
                and raw.values["alpha"] > 0:
            try:
                theorem_alpha(thm, problem.constants, raw.values["alpha"])
            except InputError as err:
                rule = rule_of(err)
                if not outside_theory:
                    raise fail("alpha", f"α {rule} (L = {problem.constants.L:.6g}); pass --outside-theory "
                                        f"to simulate it on purpose") from None
                reasons.append(f"α = {raw.values['alpha']} outside {thm.name}'s range: {rule.split(', got')[0]}")
        if raw.values.get("step", "theory") != "theory":
            reasons.append(f"constant step β = {raw.values['step']}: {thm.name} takes β_k = β̃(w_k)/"
                           f"{thm.step_divisor} (eq. (26))")
            if not outside_theory:
                raise fail("step", f"a constant step is outside {thm.name} (β_k = β̃(w_k)/{thm.step_divisor}, "
                                   f"eq. (26)); pass --outside-theory to simulate it on purpose")
        if alg == "hf-maml" and raw.values.get("delta", "theory") != "theory":
            reasons.append(f"fixed δ_k^i = {raw.values['delta']}: {thm.name} takes δ_k^i = δ/‖v‖, "
                           f"δ = 1/(6ρα) (eq. (142))")
            if not outside_theory:
                raise fail("delta", f"a fixed δ is outside {thm.name} (δ_k^i = δ/‖v‖ with δ = 1/(6ρα), "
                                    f"eq. (142)); pass --outside-theory to simulate it on purpose")

        # Seeds, replicates and iterations do not change what the planner supplies: validate them with
        # run_config's own rule and reuse the rest of the configuration.
        options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.values.items() if k in RUN_OPTIONS}
        counts = {k: inspect.signature(run_config).parameters[k].default for k in ("iterations", "replicates", "seed")}
        try:
            for fname, low, high in (("iterations", 1, MAX_ITERATIONS), ("replicates", 1, INT_MAX), ("seed", 0, SEED_MAX)):
                counts[fname] = check_int(fname, options.pop(fname, counts[fname]), low, high)
            skey = repr((pkey, alg, sorted(options.items())))
            if skey not in built:
                built[skey] = run_config(problem, alg, **options, iterations=1, replicates=1, seed=0)
            cfg = dataclasses.replace(built[skey][0], **counts)
            check_run_memory(problem, cfg)
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
