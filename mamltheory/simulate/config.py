"""A run's configuration from typed options: validation, the planner's defaults, the theorem's step and δ.

`run_config` is the library form of `mamltheory simulate`'s options (the command only parses strings
into these values); the sweep calls it for every run of a grid. Each error is an InputError whose
`field` is the option's name here and whose message starts with the CLI flag and ": ".
"""

from __future__ import annotations

from typing import Any

from mamltheory.assumptions import CONSTANT_FLAGS, CONSTANT_NAMES, ProblemConstants, constants_from_flags
from mamltheory.bounds.lemmas import lemma_alpha_max
from mamltheory.bounds.theorems import Theorem, theorem
from mamltheory.bounds.theory import DEFAULT_THEORY, check_theory
from mamltheory.errors import InputError
from mamltheory.parsing import (INT_MAX, SEED_MAX, THEOREM_RULE, choice, integer, integers, positive, refusal,
                                theorem_or_positive)
from mamltheory.simulate.algorithms import ALGORITHMS, USES_D_H
from mamltheory.simulate.families import PoolProblem
from mamltheory.simulate.resources import check_run_memory
from mamltheory.simulate.runner import RunConfig, describe_schedule

RECORD_MODES = ("auto", "every", "log")
BATCH_NAMES = ("B", "D_in", "D_o", "D_h")
STEP_BATCH_NAMES = ("B_PRIME", "D_BETA")
# Iteration numbers are recorded through float64 arithmetic (log-spaced schedule): keep them exact.
MAX_ITERATIONS = 2**53
# Each count option's range: (low, high).
COUNT_RANGES = {"iterations": (1, MAX_ITERATIONS), "replicates": (1, INT_MAX), "seed": (0, SEED_MAX),
                "k_shot": (1, INT_MAX), "hessian_chunk": (1, INT_MAX)}


def flag(field: str) -> str:
    """The CLI flag of option `field` ("k_shot" -> "--k-shot")."""
    return "--" + field.replace("_", "-")


def fail(field: str, rule: str) -> InputError:
    """The error of option `field`: "--flag: rule", with `field` set."""
    return refusal(flag(field), rule, field)


def check_option(field: str, value: Any) -> Any:
    """One option of `run_config` checked alone by its rule (parsing's vocabulary), named by its flag."""
    name = flag(field)
    if field == "algorithm":
        return choice(name, value, ALGORITHMS, field)
    if field in COUNT_RANGES:
        return integer(name, value, *COUNT_RANGES[field], field=field, text=False)
    if field == "alpha":
        return positive(name, value, field, text=False)
    if field in ("step", "delta"):
        return theorem_or_positive(name, value, field, text=False)
    if field in ("batch", "step_batch"):
        return integers(name, value, BATCH_NAMES if field == "batch" else STEP_BATCH_NAMES, field=field, text=False)
    if field == "record":
        return choice(name, value, RECORD_MODES, field)
    raise fail(field, "not an option of a run")


def _plan(thm: Theorem, c: ProblemConstants, k_shot: int, alpha: float | None) -> tuple[Any, str | None]:
    """The planner's K-shot plan of `thm` that supplies the defaults, or (None, why there is none)."""
    from mamltheory.bounds.planner import plan_kshot

    try:
        plan = plan_kshot(thm.algorithm, c, K=k_shot, alpha=alpha, theory=thm.theory)
    except InputError as err:
        return None, str(err)
    if not plan.feasible:
        return None, f"the planner found no feasible plan: {plan.reason}"
    return plan, None


def _batches(thm: Theorem, plan: Any, plan_error: str | None, given: dict[str, int] | None, k_shot: int,
             sources: dict[str, str]) -> dict[str, int]:
    """(B, D_in, D_o, D_h): the given ones or the planner's K-shot plan; D_h = 0 where no Hessian batch is drawn."""
    if given is not None:
        sizes = dict(given)
        sources["batch"] = "given (--batch)"
    else:
        if plan is None:
            raise fail("batch", f"required because the planner cannot supply it ({plan_error})")
        sizes = {k: int(plan.batch[k]) for k in BATCH_NAMES}
        sources["batch"] = (f"planner plan_kshot(K={k_shot}) for {thm.name}: D_in = D_o = {k_shot}, "
                            f"B the least within 10% of the best guaranteed accuracy, D_h from the theorem")
    if not USES_D_H[thm.algorithm]:
        sizes["D_h"] = 0  # Algorithm 2 draws no D_h batch
    return sizes


def _step_rule(thm: Theorem, step: str | float, plan: Any, plan_error: str | None,
               given: dict[str, int] | None, sources: dict[str, str]) -> dict[str, Any]:
    """RunConfig's step fields: the theorem's β_k = β̃(w_k)/c over (B', D_β) of eq. (26), or a constant β."""
    if step != THEOREM_RULE:
        sources["step"] = f"constant β = {float(step)}"
        return {"step": "constant", "beta": float(step), "step_divisor": None, "B_prime": None, "D_beta": None}
    divisor = thm.step_divisor
    if given is not None:
        B_prime, D_beta = given["B_PRIME"], given["D_BETA"]
        sources["step"] = f"β_k = β̃(w_k)/{divisor} ({thm.name}), B', D_β given"
    else:
        if plan is None:
            raise fail("step_batch", f"required for --step {THEOREM_RULE} because the planner cannot supply "
                                     f"B', D_β ({plan_error})")
        B_prime, D_beta = int(plan.batch["B_prime"]), int(plan.batch["D_beta"])
        sources["step"] = (f"β_k = β̃(w_k)/{divisor} ({thm.name}), eq. (26) over B' = {B_prime} "
                           f"tasks and D_β = {D_beta} samples (planner, eq. (27))")
    return {"step": THEOREM_RULE, "beta": None, "step_divisor": divisor, "B_prime": B_prime, "D_beta": D_beta}


def _delta_rule(thm: Theorem, delta: str | float, c: ProblemConstants, alpha: float, sizes: dict[str, int],
                sources: dict[str, str]) -> dict[str, Any]:
    """RunConfig's δ fields for HF-MAML: the theorem's δ scaled as δ_k^i = δ/‖v‖ (eq. (142)), or a fixed δ."""
    if thm.algorithm != "hf-maml":
        return {"delta_rule": None, "delta": None}
    if delta != THEOREM_RULE:
        sources["delta"] = f"fixed δ_k^i = {float(delta)}"
        return {"delta_rule": "fixed", "delta": float(delta)}
    from mamltheory.bounds.planner import theorem_delta

    value, rule = theorem_delta(thm.algorithm, c, alpha, sizes, thm.theory)
    sources["delta"] = f"{rule} ({thm.name})"
    return {"delta_rule": "scaled", "delta": value}


def _alpha(thm: Theorem, alpha: float | None, plan: Any, plan_error: str | None, sources: dict[str, str]) -> float:
    """α: the given one (checked in (0, 1/L] by run_config) or the planner's (the theorem's largest)."""
    if alpha is not None:
        sources["alpha"] = "given"
        return alpha
    if plan is None:
        raise fail("alpha", f"no default, {plan_error}")
    sources["alpha"] = f"planner: largest α of {thm.name}"
    return float(plan.alpha)


def run_config(problem: PoolProblem, algorithm: str, *, alpha: float | None = None, iterations: int = 500,
               replicates: int = 8, seed: int = 0, step: str | float = THEOREM_RULE,
               batch: tuple[int, int, int, int] | None = None, step_batch: tuple[int, int] | None = None,
               k_shot: int = 10, delta: str | float = THEOREM_RULE, record: str = "auto",
               hessian_chunk: int | None = None, theory: str = DEFAULT_THEORY) -> tuple[RunConfig, dict[str, str]]:
    """Validate the options of a run of `algorithm` on `problem`, fill in the theory's defaults, and return
    (config, sources), sources saying where each choice came from.

    alpha: inner step in (0, 1/L] (Lemmas 4.9-4.12); default the theorem's largest (1/(6L) or 1/(10L)).
    step: "theorem" (β_k = β̃(w_k)/c, eq. (26), c from the theorem) or a constant β > 0.
    batch: (B, D_in, D_o, D_h); default the planner's K-shot plan with D_in = D_o = k_shot.
    step_batch: (B', D_β) of the step-size estimator (26); default the planner's (eq. (27)).
    delta: HF-MAML's "theorem" (δ_k^i = δ/‖v‖ with the theorem's δ) or a fixed δ > 0.
    theory: "sharp" (default; docs/sharp-theorems.md: the sharp theorem at the paper's free choices, its constants
      taken at the run's αL), "repaired" (docs/repaired-theorems.md: repaired H.1's D_h >= ⌈α²σ_H²⌉ and δ = ν/(ρα),
      ν = min{1/6, ν_ε} of (δ′)) or "paper" (the theorems as stated: δ = 1/(6ρα) of eq. (142)); it sets the
      defaults of α, the batches and δ.
    Raises InputError (field = the option) on a bad value or a run too large for this machine's memory.
    """
    check_option("algorithm", algorithm)
    check_option("record", record)
    if getattr(problem, "constants", None) is None:  # a torch problem nobody gave constants (TorchTasks.with_constants)
        raise InputError(f"constants: {problem.name} has none; the theorem's step β̃ (eq. (26)), the δ rule (eq. (142)) "
                         "and the planner need L, ρ, σ, σ̃, σ_H: TorchTasks(..., constants=...), tt.with_constants(...), "
                         "or on the command line --from-estimate FILE / --L --rho --sigma --sigma-tilde --sigma-h",
                         field="constants")
    thm, c = theorem(algorithm, check_theory(theory)), problem.constants
    given = {k: check_option(k, v) for k, v in (("alpha", alpha), ("iterations", iterations), ("replicates", replicates),
             ("seed", seed), ("k_shot", k_shot), ("hessian_chunk", hessian_chunk), ("batch", batch),
             ("step_batch", step_batch), ("step", step), ("delta", delta)) if v is not None}
    if alpha is not None and given["alpha"] > lemma_alpha_max(c.L):
        raise fail("alpha", f"must lie in (0, 1/L] = (0, {lemma_alpha_max(c.L):.6g}] for {problem.name} "
                            f"(L = {c.L:.6g}; Lemmas 4.9-4.12), got {given['alpha']}")
    plan, plan_error = None, None
    if alpha is None or batch is None or (given["step"] == THEOREM_RULE and step_batch is None):
        plan, plan_error = _plan(thm, c, given["k_shot"], given.get("alpha"))
    sources: dict[str, str] = {}
    alpha = _alpha(thm, given.get("alpha"), plan, plan_error, sources)
    sizes = _batches(thm, plan, plan_error, given.get("batch"), given["k_shot"], sources)
    cfg = RunConfig(problem=problem.name, problem_params=dict(problem.params), algorithm=algorithm, alpha=alpha,
                    iterations=given["iterations"], replicates=given["replicates"], seed=given["seed"], **sizes,
                    **_step_rule(thm, given["step"], plan, plan_error, given.get("step_batch"), sources),
                    **_delta_rule(thm, given["delta"], c, alpha, sizes, sources), record=record,
                    hessian_chunk=given.get("hessian_chunk"))
    check_run_memory(problem, cfg)
    sources["schedule"] = describe_schedule(cfg.iterations, record)
    return cfg, sources


def resolve_constants(problem: Any, estimate: tuple[dict[str, float], dict[str, Any]] | None,
                      given: dict[str, float | None]) -> str:
    """Set a torch problem's constants from, in rising precedence, the factory, an estimate file, single values.

    `estimate` is `assumptions.read_estimate`'s result or None; `given` maps CONSTANT_NAMES to a value or None
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
                             f"({prov['problem']}), but this torch problem has d = {problem.d}", field="constants")
        origin = (f"sampled estimates (not certificates) from {prov['file']} (`mamltheory estimate` of "
                  f"{prov['problem']}, {prov['points']} points, seed {prov['seed']})")
    flags = {k: v for k, v in given.items() if v is not None}
    values.update(flags)
    missing = [k for k in CONSTANT_NAMES if k not in values]
    if missing:
        raise InputError(f"{CONSTANT_FLAGS[missing[0]]}: required for a torch problem (the theorem's step, δ rule and "
                         "planner need L, ρ, σ, σ̃, σ_H): give --from-estimate FILE (from `mamltheory estimate --torch ... --out FILE`), all "
                         "five as --L --rho --sigma --sigma-tilde --sigma-h, or TorchTasks(constants=...) in the "
                         "factory", field="constants")
    if flags:
        named = ", ".join(CONSTANT_FLAGS[k] for k in flags)
        origin = f"given on the command line ({named})" + (f"; the others {origin}" if origin and len(flags) < 5 else "")
    problem.with_constants(constants_from_flags(values, "constants"), origin)
    return str(origin)
