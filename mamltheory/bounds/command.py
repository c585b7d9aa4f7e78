"""`mamltheory plan`: batch sizes, step size, δ and iteration budget from Theorems F.1 / G.1 / H.1."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from typing import Any

from mamltheory.assumptions import CONSTANT_FLAGS, ProblemConstants, constants_from_flags, read_estimate
from mamltheory.bounds.theory import DEFAULT_THEORY, THEORIES, check_theory
from mamltheory.errors import InputError
from mamltheory.parsing import check_nesting, input_file, integer, integers, number

# Built-in example (the README's): used when no constant is given on the command line or in a file.
EXAMPLE = {"L": 1.0, "rho": 1.0, "sigma": 0.5, "sigma_tilde": 1.0, "sigma_H": 1.0, "eps": 0.1, "initial_gap": 10.0}
FILE_KEYS = set(CONSTANT_FLAGS) | {"alpha", "eps", "initial_gap"}


def add_parser(sub: Any) -> None:
    """Register `plan` and its flags (docs/planning.md)."""
    p = sub.add_parser("plan", help="batch sizes, step size and iteration budget for a target ε",
                       description=__doc__)
    p.add_argument("--algorithm", default="all", help="maml, fo-maml, hf-maml or all (default: all)")
    for key, flag in CONSTANT_FLAGS.items():
        p.add_argument(flag, dest=key, default=None)
    p.add_argument("--alpha", default=None, help="inner step α (default: the largest the theorem allows)")
    p.add_argument("--eps", default=None, help="target E‖∇F(w)‖")
    p.add_argument("--initial-gap", dest="initial_gap", default=None, help="Δ = F(w_0) − min F")
    p.add_argument("--constants", metavar="FILE", default=None,
                   help="TOML file with L, rho, sigma, sigma_tilde, sigma_H (and optionally alpha, eps, initial_gap)")
    p.add_argument("--from-estimate", dest="from_estimate", metavar="FILE", default=None,
                   help="JSON written by `mamltheory estimate --out FILE`: its estimated constants (and, for "
                        "nonnegative losses, Δ <= f(w_0)); the plan is labelled as resting on estimates")
    p.add_argument("--batch", default=None, metavar="B,D_in,D_o,D_h",
                   help="evaluate the theorem at these batch sizes instead of choosing them")
    p.add_argument("--k-shot", dest="k_shot", default=None, metavar="K",
                   help="D_in = D_o = K fixed: best accuracy and the B within 10%% of it")
    p.add_argument("--theory", default=DEFAULT_THEORY, metavar="|".join(THEORIES),
                   help="sharp (default): the sharpest valid proof steps, the proof's free choices (step divisor, "
                        "Young weight, least B, αL) chosen for this plan and its chain certified exactly "
                        "(docs/sharp-theorems.md); repaired: the paper's proofs repaired, every step checked; paper: as "
                        "stated (not guaranteed where a step of the proof fails and the statement does not survive)")
    p.add_argument("--json", action="store_true", help="print JSON (a list for --algorithm all)")
    p.set_defaults(run=run)


def _read_constants_file(path: str) -> dict[str, float]:
    text = input_file("--constants", path)
    check_nesting("--constants", text, repr(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"--constants: {path!r} is not valid TOML: {err}") from None
    except RecursionError:  # below MAX_NESTING a parser does not recurse this deep; kept as a backstop
        raise InputError(f"--constants: {path!r} is nested too deeply") from None
    if not data:  # an empty file is a mistake, not a request for the built-in example
        raise InputError(f"--constants: {path!r} is empty; it must set {', '.join(CONSTANT_FLAGS)}")
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise InputError(f"--constants: unknown key {unknown[0]!r} in {path!r}; allowed: {', '.join(sorted(FILE_KEYS))}")
    return {k: number(f"--constants: {k} in {path!r}", v, field="constants", text=False) for k, v in data.items()}


# Relative tolerance for "the plan's α is the α ‖∇F(w_0)‖ was computed at": both are 1/(cL) of the same L
# computed the same way, so they agree to rounding; a user's --alpha elsewhere does not match.
_ALPHA_MATCH = 1e-12


def grad_norm_at_w0(plans: list[Any], prov: dict[str, Any], eps: float | None) -> list[dict[str, Any]]:
    """Per plan, ‖∇F(w_0)‖ from the estimate next to ε (or the K-shot bound) and whether w_0 already meets it.

    `exact`: the estimate's value is ∇F at the plan's own α over the whole finite family (not drawn tasks);
    only then can a plan be refused for ε >= ‖∇F(w_0)‖ (`run`); otherwise the comparison is a warning.
    """
    pairs = prov.get("grad_norm_w0") or []
    out = []
    for p in plans:
        if not pairs or p.alpha is None:
            out.append({})
            continue
        a, g = min(pairs, key=lambda ag: abs(ag[0] - p.alpha))
        same_alpha = abs(a - p.alpha) <= _ALPHA_MATCH * p.alpha
        target = eps if eps is not None else p.accuracy_bound
        out.append({"value": g, "alpha": a, "same_alpha": same_alpha, "exact": same_alpha and prov["grad_norm_w0_exact"],
                    "target": target, "met_at_w0": target is not None and target >= g, "file": prov["file"]})
    return out



def resolve_inputs(args: argparse.Namespace) -> tuple[ProblemConstants, dict[str, float | None], bool]:
    """Constants, α, ε and Δ from the flags over the TOML / estimate file; the example when no constant is given."""
    values: dict[str, float | None] = {}
    if args.from_estimate:
        if args.constants:
            raise InputError("--from-estimate: cannot be combined with --constants (one source of constants)")
        values.update(read_estimate(args.from_estimate)[0])
    if args.constants:
        values.update(_read_constants_file(args.constants))
    for key, flag in (*CONSTANT_FLAGS.items(), ("alpha", "--alpha"), ("eps", "--eps"), ("initial_gap", "--initial-gap")):
        if getattr(args, key) is not None:
            values[key] = number(flag, getattr(args, key))
    # The example only when no source of constants is given at all (a file always counts as one).
    example = not args.constants and not args.from_estimate and not any(k in values for k in CONSTANT_FLAGS)
    if example:
        values = {**EXAMPLE, **values}
    missing = [CONSTANT_FLAGS[k] for k in CONSTANT_FLAGS if k not in values]
    if missing:
        rule = (f"set it in {args.constants!r} or as a flag (a constants file must give all five)" if args.constants
                else "give all five constants, or none for the built-in example")
        raise InputError(f"{missing[0]}: required ({rule})")
    constants = constants_from_flags(values)  # type: ignore[arg-type]
    return constants, {k: values.get(k) for k in ("alpha", "eps", "initial_gap")}, example


def _refuse_if_met(plans: list[Any], at_w0: list[dict[str, Any]], eps_mode: bool) -> None:
    """InputError naming --eps when ε >= ‖∇F(w_0)‖ exactly, at the plan's α, for every algorithm planned.

    Refused, not warned: E‖∇F(w)‖ <= ε already holds at w_0, so the theorem's guarantee is met by zero
    iterations and the batches and T the plan would print guarantee nothing a user could observe.
    """
    if not eps_mode or not at_w0 or not all(w.get("exact") and w["met_at_w0"] for w in at_w0):
        return
    w = at_w0[0]
    raise InputError(f"--eps: ε = {w['target']:g} is already met at w_0: ‖∇F(w_0)‖ = {w['value']:.4g} (exact, "
                     f"{w['file']}, α = {w['alpha']:.4g}), so a plan guarantees nothing; give ε < {w['value']:.4g}",
                     field="eps")


def _note_w0(plans: list[Any], at_w0: list[dict[str, Any]], prov: dict[str, Any]) -> None:
    """Plan notes: ε against ‖∇F(w_0)‖ where w_0 meets it but the value is not exact, and non-smoothness."""
    for p, w in zip(plans, at_w0):
        if w and w["met_at_w0"]:
            what = f"warning: the accuracy {w['target']:.4g} >= ‖∇F(w_0)‖ = {w['value']:.4g}"
            if w["exact"]:
                p.notes.insert(0, f"{what} (exact): w_0 already meets it, so this plan guarantees nothing")
            else:
                why = "at the estimate's α, not this plan's" if not w["same_alpha"] else "over drawn tasks, not exact"
                p.notes.insert(0, f"{what} ({why}): w_0 may already meet it, and then this plan guarantees nothing")
        if prov.get("nonsmooth") is not None:
            p.notes.insert(0, "warning: the estimated model is not smooth (" + ", ".join(prov["nonsmooth"])
                              + "): Assumption 4.4 fails, so no theorem covers it and this plan guarantees nothing")


def _print_w0(plans: list[Any], at_w0: list[dict[str, Any]], eps_mode: bool) -> None:
    """One line per plan: ε (or the K-shot accuracy) next to ‖∇F(w_0)‖ from the estimate."""
    from rich.console import Console

    for p, w0 in zip(plans, at_w0):
        if w0:
            what = f"ε = {w0['target']:.4g}" if eps_mode else (
                f"the guaranteed accuracy {w0['target']:.4g}" if w0["target"] is not None else "no bound")
            flag = "  [yellow]already met at w_0[/yellow]" if w0["met_at_w0"] else ""
            Console().print(f"{p.algorithm}: {what}, ‖∇F(w_0)‖ = {w0['value']:.4g} at α = {w0['alpha']:.4g}"
                            f"{'' if w0['same_alpha'] else ' (the estimate’s α, not the plan’s)'}{flag}")


def run(args: argparse.Namespace) -> int:
    """Compute and print the plan(s)."""
    from mamltheory.bounds import planner
    from mamltheory.bounds.theorems import theorem

    theory = check_theory(args.theory)
    k_shot = None if args.k_shot is None else integer("--k-shot", args.k_shot, 1)
    constants, opts, example = resolve_inputs(args)
    algorithms = planner.ALGORITHMS if args.algorithm == "all" else (args.algorithm,)
    for alg in algorithms:
        theorem(alg, theory)
    if k_shot is None and opts["eps"] is None:
        raise InputError("--eps: required (the target E‖∇F(w)‖ > 0), or use --k-shot K")
    if k_shot is None and opts["initial_gap"] is None:
        raise InputError("--initial-gap: required (Δ = F(w_0) − min F > 0)")
    if opts["alpha"] is not None and opts["alpha"] <= 0:
        raise InputError(f"--alpha: must be > 0 (every theorem takes α in (0, 1/(cL)]), got {opts['alpha']:g}")
    batch = None if args.batch is None else tuple(integers("--batch", args.batch, ("B", "D_in", "D_o", "D_h")).values())
    if batch is not None and k_shot is not None:
        raise InputError("--batch: cannot be combined with --k-shot (which fixes D_in = D_o = K)")

    plans = []
    for alg in algorithms:
        try:
            if k_shot is not None:
                plans.append(planner.plan_kshot(alg, constants, k_shot, opts["alpha"], opts["initial_gap"],
                                                theory))
            elif batch is not None:
                plans.append(planner.evaluate(alg, constants, batch, opts["eps"], opts["initial_gap"], opts["alpha"],
                                              theory))
            else:
                plans.append(planner.plan(alg, constants, opts["eps"], opts["initial_gap"], opts["alpha"], theory))
        except InputError as err:
            if len(algorithms) == 1 or not str(err).startswith("--alpha: must lie in (0,"):
                raise
            plans.append(planner.infeasible_plan(alg, constants, str(err), theory))
    if all(p.reason is not None and p.reason.startswith("--alpha") for p in plans):
        raise InputError(plans[0].reason)  # α outside every theorem's range: no plan at all
    if len(plans) > 1:
        planner.mark_cheapest(plans)
    source: dict[str, Any] = {"kind": "given"}
    at_w0: list[dict[str, Any]] = [{} for _ in plans]
    if args.from_estimate:
        prov = read_estimate(args.from_estimate)[1]
        at_w0 = grad_norm_at_w0(plans, prov, opts["eps"] if k_shot is None else None)
        _refuse_if_met(plans, at_w0, k_shot is None)
        _note_w0(plans, at_w0, prov)
        source = {k: v for k, v in prov.items() if k not in ("grad_norm_w0", "grad_norm_w0_exact", "d")}
        overridden = [CONSTANT_FLAGS[k][2:] for k in CONSTANT_FLAGS if getattr(args, k) is not None]
        source["overridden"] = overridden
        label = (f"constants are sampled estimates from {args.from_estimate} ({source['points']} points; "
                 "lower estimates of suprema, not certificates): the guarantees hold only if the true constants "
                 "are no larger" + (f"; overridden by flags: {', '.join('--' + f for f in overridden)}"
                                    if overridden else ""))
        gap_note = ("Δ = f(w_0) from the estimate (an upper bound on F(w_0) − min F when every loss is >= 0 and "
                    "α <= 2/L)" if args.initial_gap is None and opts["initial_gap"] is not None else None)
        for p in plans:
            p.notes.insert(0, label)
            if gap_note:
                p.notes.insert(1, gap_note)
    if args.json:
        out: Any = [p.to_json() for p in plans] if args.algorithm == "all" else plans[0].to_json()
        for obj, w0 in zip(out if isinstance(out, list) else [out], at_w0):
            obj["constants_source"] = source
            if w0:
                obj["grad_norm_w0"] = w0
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from mamltheory.bounds.render import print_plans

    if source["kind"] == "estimate":
        from rich.console import Console

        Console().print(f"[yellow]constants: sampled estimates from {args.from_estimate} (not certificates; "
                        "see the notes below)[/yellow]")
        _print_w0(plans, at_w0, k_shot is None)
    print_plans(plans, constants, opts, example)
    return 0
