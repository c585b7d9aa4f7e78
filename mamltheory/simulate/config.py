"""A run's configuration from typed options: validation, the planner's defaults, the theory's step and δ.

`run_config` is the library form of `mamltheory simulate`'s options (the command only parses strings
into these values); the sweep calls it for every run of a grid. Each error is an InputError whose
`field` is the option's name here and whose message starts with the CLI flag and ": ".
"""

from __future__ import annotations

import json
import math
from typing import Any

from mamltheory.assumptions import ProblemConstants
from mamltheory.bounds.lemmas import lemma_alpha_max
from mamltheory.bounds.theorems import theorem
from mamltheory.bounds.theory import check_theory
from mamltheory.errors import InputError
from mamltheory.parsing import INT_MAX, SEED_MAX, check_nesting, input_file, shown
from mamltheory.simulate.algorithms import ALGORITHMS, USES_D_H
from mamltheory.simulate.families import PoolProblem
from mamltheory.simulate.resources import check_run_memory
from mamltheory.simulate.runner import RunConfig, describe_schedule

RECORD_MODES = ("auto", "every", "log")
BATCH_NAMES = ("B", "D_in", "D_o", "D_h")
STEP_BATCH_NAMES = ("B_PRIME", "D_BETA")
# Iteration numbers are recorded through float64 arithmetic (log-spaced schedule): keep them exact.
MAX_ITERATIONS = 2**53


def flag(field: str) -> str:
    """The CLI flag of option `field` ("k_shot" -> "--k-shot")."""
    return "--" + field.replace("_", "-")


def fail(field: str, rule: str) -> InputError:
    """The error of option `field`: "--flag: rule", with `field` set."""
    return InputError(f"{flag(field)}: {rule}", field=field)


def check_int(field: str, value: Any, low: int, high: int = INT_MAX, label: str | None = None) -> int:
    """An integer (not a bool, not a float) in [low, high]: every count has a finite range (parsing.INT_MAX)."""
    name = f"{flag(field)} {label}" if label else flag(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name}: must be an integer >= {low}, got {shown(value)}", field=field)
    if value < low:
        raise InputError(f"{name}: must be an integer >= {low}, got {value}", field=field)
    if value > high:
        raise InputError(f"{name}: must be an integer in [{low}, {high}], got {shown(value)}", field=field)
    return value


def check_positive(field: str, value: Any) -> float:
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise fail(field, f"must be a positive finite number, got {value!r}")
    return float(value)


def check_ints(field: str, value: Any, names: tuple[str, ...]) -> dict[str, int]:
    """A sequence of len(names) integers >= 1, by name."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != len(names):
        raise fail(field, f"must be {len(names)} integers {','.join(names)}, got {value!r}")
    return {n: check_int(field, v, 1, label=n) for n, v in zip(names, value)}


def check_theory_or_positive(field: str, value: Any) -> str | float:
    """"theory" or a positive finite number."""
    if value == "theory":
        return "theory"
    if isinstance(value, str):
        raise fail(field, f"must be 'theory' or a positive number, got {value!r}")
    return check_positive(field, value)


def run_config(problem: PoolProblem, algorithm: str, *, alpha: float | None = None, iterations: int = 500,
               replicates: int = 8, seed: int = 0, step: str | float = "theory",
               batch: tuple[int, int, int, int] | None = None, step_batch: tuple[int, int] | None = None,
               k_shot: int = 10, delta: str | float = "theory", record: str = "auto",
               hessian_chunk: int | None = None, theory: str = "repaired") -> tuple[RunConfig, dict[str, str]]:
    """Validate the options of a run of `algorithm` on `problem`, fill in the theory's defaults, and return
    (config, sources), sources saying where each choice came from.

    alpha: inner step in (0, 1/L] (Lemmas 4.9-4.12); default the theorem's largest (1/(6L) or 1/(10L)).
    step: "theory" (β_k = β̃(w_k)/c, eq. (26), c from the theorem) or a constant β > 0.
    batch: (B, D_in, D_o, D_h); default the planner's K-shot plan with D_in = D_o = k_shot.
    step_batch: (B', D_β) of the step-size estimator (26); default the planner's (eq. (27)).
    delta: HF-MAML's "theory" (δ_k^i = δ/‖v‖ with the theorem's δ) or a fixed δ > 0.
    theory: "repaired" (default; docs/repaired-theorems.md: repaired H.1's D_h >= ⌈α²σ_H²⌉ and δ = ν/(ρα),
      ν = min{1/6, ν_ε} of (δ′)) or "paper" (the theorems as stated: δ = 1/(6ρα) of eq. (142)); it sets the
      defaults of α, the batches and δ.
    Raises InputError (field = the option) on a bad value or a run too large for this machine's memory.
    """
    if algorithm not in ALGORITHMS:
        raise fail("algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if record not in RECORD_MODES:
        raise fail("record", f"must be one of {', '.join(RECORD_MODES)}, got {record!r}")
    c = getattr(problem, "constants", None)
    if c is None:  # a torch problem whose constants nobody gave (adapters.torch.TorchTasks.with_constants)
        raise InputError(f"constants: {problem.name} has none; the theory step β̃ (eq. (26)), the δ rule (eq. (142)) and "
                         "the planner need L, ρ, σ, σ̃, σ_H: TorchTasks(..., constants=...), tt.with_constants(...), "
                         "or on the command line --from-estimate FILE / --L --rho --sigma --sigma-tilde --sigma-h",
                         field="constants")
    theory = check_theory(theory)
    thm = theorem(algorithm, theory)
    if alpha is not None:
        alpha = check_positive("alpha", alpha)
        if alpha > lemma_alpha_max(c.L):
            raise fail("alpha", f"must lie in (0, 1/L] = (0, {lemma_alpha_max(c.L):.6g}] for {problem.name} "
                                f"(L = {c.L:.6g}; Lemmas 4.9-4.12), got {alpha}")
    iterations = check_int("iterations", iterations, 1, MAX_ITERATIONS)
    replicates = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0, SEED_MAX)  # one seed range for every command
    k_shot = check_int("k_shot", k_shot, 1)
    chunk = None if hessian_chunk is None else check_int("hessian_chunk", hessian_chunk, 1)
    given_batch = None if batch is None else check_ints("batch", batch, BATCH_NAMES)
    given_step_batch = None if step_batch is None else check_ints("step_batch", step_batch, STEP_BATCH_NAMES)
    step = check_theory_or_positive("step", step)
    delta = check_theory_or_positive("delta", delta)
    sources: dict[str, str] = {}

    plan, plan_error = None, None
    if alpha is None or given_batch is None or (step == "theory" and given_step_batch is None):
        from mamltheory.bounds.planner import plan_kshot

        try:
            plan = plan_kshot(thm.algorithm, c, K=k_shot, alpha=alpha, theory=theory)
        except InputError as err:
            plan_error = str(err)
        if plan is not None and not plan.feasible:
            plan_error, plan = f"the planner found no feasible plan: {plan.reason}", None
    if alpha is None:
        if plan is None:
            raise fail("alpha", f"no default, {plan_error}")
        alpha = float(plan.alpha)  # type: ignore[arg-type]
        sources["alpha"] = f"planner: largest α of {thm.name}"
    else:
        sources["alpha"] = "given"

    if given_batch is not None:
        sizes = dict(given_batch)
        sources["batch"] = "given (--batch)"
    else:
        if plan is None:
            raise fail("batch", f"required because the planner cannot supply it ({plan_error})")
        sizes = {k: int(plan.batch[k]) for k in BATCH_NAMES}
        sources["batch"] = (f"planner plan_kshot(K={k_shot}) for {thm.name}: D_in = D_o = {k_shot}, "
                            f"B the least within 10% of the best guaranteed accuracy, D_h from the theorem")
    if not USES_D_H[algorithm]:
        sizes["D_h"] = 0  # Algorithm 2 draws no D_h batch

    beta, divisor, B_prime, D_beta = None, None, None, None
    if step == "theory":
        divisor = thm.step_divisor
        if given_step_batch is not None:
            B_prime, D_beta = given_step_batch["B_PRIME"], given_step_batch["D_BETA"]
            sources["step"] = f"β_k = β̃(w_k)/{divisor} ({thm.name}), B', D_β given"
        else:
            if plan is None:
                raise fail("step_batch", f"required for --step theory because the planner cannot supply "
                                         f"B', D_β ({plan_error})")
            B_prime, D_beta = int(plan.batch["B_prime"]), int(plan.batch["D_beta"])
            sources["step"] = (f"β_k = β̃(w_k)/{divisor} ({thm.name}), eq. (26) over B' = {B_prime} "
                               f"tasks and D_β = {D_beta} samples (planner, eq. (27))")
        step_mode = "theory"
    else:
        beta, step_mode = float(step), "constant"
        sources["step"] = f"constant β = {beta}"

    delta_rule, delta_value = None, None
    if algorithm == "hf-maml":
        if delta == "theory":
            from mamltheory.bounds.planner import theorem_delta

            delta_value, rule = theorem_delta(algorithm, c, alpha, sizes, theory)
            delta_rule = "theory"
            sources["delta"] = f"{rule} ({thm.name})"
        else:
            delta_rule, delta_value = "fixed", float(delta)
            sources["delta"] = f"fixed δ_k^i = {delta_value}"

    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm, alpha=alpha,
                    iterations=iterations, replicates=replicates, seed=seed, B=sizes["B"], D_in=sizes["D_in"],
                    D_o=sizes["D_o"], D_h=sizes["D_h"], step=step_mode, beta=beta, step_divisor=divisor,
                    B_prime=B_prime, D_beta=D_beta, delta_rule=delta_rule, delta=delta_value, record=record,
                    hessian_chunk=chunk)
    check_run_memory(problem, cfg)
    sources["schedule"] = describe_schedule(iterations, record)
    return cfg, sources


CONSTANT_NAMES = ("L", "rho", "sigma", "sigma_tilde", "sigma_H")
CONSTANT_FLAGS = {"L": "--L", "rho": "--rho", "sigma": "--sigma", "sigma_tilde": "--sigma-tilde", "sigma_H": "--sigma-h"}


def constants_from_estimate(path: str, flag: str = "--from-estimate") -> tuple[dict[str, float], dict[str, Any]]:
    """The five constants of a `mamltheory estimate --out FILE` JSON and its provenance (problem spec, d, points, seed).

    The same file `plan --from-estimate` reads; each constant must be a finite number. InputError naming `flag`.
    """
    text = input_file(flag, path)
    check_nesting(flag, text, repr(path))
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InputError(f"{flag}: {path!r} is not the JSON of `mamltheory estimate --out FILE`",
                         field="constants") from None
    if not isinstance(data, dict) or data.get("kind") != "mamltheory-estimate" or not isinstance(
            data.get("constants"), dict):
        raise InputError(f"{flag}: {path!r} is not the JSON of `mamltheory estimate --out FILE`", field="constants")
    values: dict[str, float] = {}
    for key in CONSTANT_NAMES:
        v = data["constants"].get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{flag}: {key} in {path!r} must be a finite number, got {v!r}", field="constants")
        values[key] = float(v)
    problem = data.get("problem") if isinstance(data.get("problem"), dict) else {}
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    return values, {"file": path, "spec": problem.get("spec") or problem.get("problem"), "d": problem.get("d"),
                    "points": data.get("points"), "seed": config.get("seed")}


def resolve_constants(problem: Any, estimate: tuple[dict[str, float], dict[str, Any]] | None,
                      given: dict[str, float | None]) -> str:
    """Set a torch problem's constants from, in rising precedence, the factory, an estimate file, single values.

    `estimate` is `constants_from_estimate`'s result or None; `given` maps CONSTANT_NAMES to a value or None
    (the flags --L --rho --sigma --sigma-tilde --sigma-h). Sets them with `problem.with_constants` and returns
    the one-line statement of where they come from; InputError naming the first missing constant's flag
    when the five are not all given somewhere.
    """
    values: dict[str, float] = dict(problem.constants.as_dict()) if problem.constants is not None else {}
    origin = f"from the factory ({problem.constants_source})" if problem.constants is not None else None
    if estimate is not None:
        values, prov = dict(estimate[0]), estimate[1]
        if prov["d"] is not None and prov["d"] != problem.d:
            raise InputError(f"--from-estimate: {prov['file']!r} estimates a problem with d = {prov['d']} "
                             f"({prov['spec']}), but this torch problem has d = {problem.d}", field="constants")
        origin = (f"sampled estimates (not certificates) from {prov['file']} (`mamltheory estimate` of "
                  f"{prov['spec']}, {prov['points']} points, seed {prov['seed']})")
    flags = {k: v for k, v in given.items() if v is not None}
    values.update(flags)
    missing = [k for k in CONSTANT_NAMES if k not in values]
    if missing:
        raise InputError(f"{CONSTANT_FLAGS[missing[0]]}: required for a torch problem (the theory step, δ rule and "
                         "planner need L, ρ, σ, σ̃, σ_H): give --from-estimate FILE (from `mamltheory estimate --torch ... --out FILE`), all "
                         "five as --L --rho --sigma --sigma-tilde --sigma-h, or TorchTasks(constants=...) in the "
                         "factory", field="constants")
    if flags:
        named = ", ".join(CONSTANT_FLAGS[k] for k in flags)
        origin = f"given on the command line ({named})" + (f"; the others {origin}" if origin and len(flags) < 5 else "")
    try:
        constants = ProblemConstants(**{k: values[k] for k in CONSTANT_NAMES})
    except InputError as err:  # ProblemConstants names the constant; the user knows the flag
        name, rule = str(err).split(":", 1)
        raise InputError(f"{CONSTANT_FLAGS.get(name, name)}:{rule}", field="constants") from None
    problem.with_constants(constants, origin)
    return str(origin)
