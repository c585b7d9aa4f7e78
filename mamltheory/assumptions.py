"""Problem constants of Assumptions 4.3-4.6 (paper Section 4)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import check_nesting, input_file, number

CONSTANT_NAMES = ("L", "rho", "sigma", "sigma_tilde", "sigma_H")
# The command-line flag of each constant (plan, simulate --torch).
CONSTANT_FLAGS = {"L": "--L", "rho": "--rho", "sigma": "--sigma", "sigma_tilde": "--sigma-tilde", "sigma_H": "--sigma-h"}


@dataclass(frozen=True)
class ProblemConstants:
    """Upper bounds on the constants the theory is stated in.

    L: every f_i is L-smooth, ‖∇f_i(w) − ∇f_i(u)‖ <= L‖w − u‖ (Assumption 4.3, eq. (17)); L := max L_i.
    rho: every Hessian ∇²f_i is rho-Lipschitz (Assumption 4.4, eq. (19)); rho := max rho_i.
    sigma: task-gradient variance, E_i‖∇f(w) − ∇f_i(w)‖² <= sigma² (Assumption 4.5, eq. (20)).
    sigma_tilde: per-sample gradient variance, E_θ‖∇f_i(w,θ) − ∇f_i(w)‖² <= sigma_tilde² (Assumption 4.6, eq. (21)).
    sigma_H: per-sample Hessian variance, E_θ‖∇²f_i(w,θ) − ∇²f_i(w)‖² <= sigma_H² (Assumption 4.6, eq. (22)).
    """

    L: float
    rho: float
    sigma: float
    sigma_tilde: float
    sigma_H: float

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            number(name, value, text=False)
        for name in ("L", "rho"):
            number(name, getattr(self, name), "> 0", context=" (Assumptions 4.3-4.4)", text=False)
        for name in ("sigma", "sigma_tilde", "sigma_H"):
            number(name, getattr(self, name), ">= 0", context=" (Assumptions 4.5-4.6)", text=False)

    def as_dict(self) -> dict[str, float]:
        """The constants by their code names."""
        return asdict(self)


def constants_from_flags(values: Mapping[str, float], field: str | None = None) -> ProblemConstants:
    """ProblemConstants of `values`; a bad one is refused naming its command-line flag (CONSTANT_FLAGS)."""
    try:
        return ProblemConstants(**{k: values[k] for k in CONSTANT_NAMES})
    except InputError as err:  # ProblemConstants names the constant; the user knows the flag
        name, rule = str(err).split(":", 1)
        raise InputError(f"{CONSTANT_FLAGS.get(name, name)}:{rule}", field=field or name) from None


def read_estimate(path: str, flag: str = "--from-estimate") -> tuple[dict[str, float], dict[str, Any]]:
    """The constants of a `mamltheory estimate --out FILE` JSON (with Δ <= f(w_0) as `initial_gap` when the
    estimate bounds it) and the provenance to label a plan or run with; InputError naming `flag`."""
    text = input_file(flag, path)
    check_nesting(flag, text, repr(path))
    not_estimate = InputError(f"{flag}: {path!r} is not the JSON of `mamltheory estimate` (its --out FILE)", field="constants")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{flag}: {path!r} is not valid JSON: {err}", field="constants") from None
    except RecursionError:  # below MAX_NESTING a parser does not recurse this deep; kept as a backstop
        raise not_estimate from None
    if not isinstance(data, dict) or data.get("kind") != "mamltheory-estimate" or not isinstance(
            data.get("constants"), dict):
        raise not_estimate
    values = {key: number(f"{flag}: {key} in {path!r}", data["constants"].get(key), field="constants",
                          text=False)
              for key in CONSTANT_NAMES}
    gap = data.get("initial_gap_bound")
    if isinstance(gap, (int, float)) and not isinstance(gap, bool) and math.isfinite(gap) and gap > 0:
        values["initial_gap"] = float(gap)
    problem, config = data.get("problem", {}), data.get("config", {})
    if not isinstance(problem, dict) or not isinstance(config, dict):
        raise InputError(f"{flag}: {path!r} is not the JSON of `mamltheory estimate` (its problem and "
                         "config must be objects)", field="constants")
    prov = {"kind": "estimate", "file": path, "problem": problem.get("spec") or problem.get("problem"),
            "d": problem.get("d"), "points": data.get("points"), "seed": config.get("seed"),
            "statement": data.get("statement"), "grad_norm_w0": _grad_norms(data),
            "grad_norm_w0_exact": data.get("grad_norm_w0_exact") is True}
    if problem.get("nonsmooth"):  # a torch model with ReLU and the like (adapters.torch)
        prov["nonsmooth"] = [str(x) for x in problem["nonsmooth"]] if isinstance(problem["nonsmooth"], list) else []
    return values, prov


def _grad_norms(data: dict[str, Any]) -> list[tuple[float, float]]:
    """(α, ‖∇F(w_0)‖) pairs of an estimate JSON (`grad_norm_w0_by_alpha`); [] for a file without them."""
    out = []
    rows = data.get("grad_norm_w0_by_alpha")
    for row in rows if isinstance(rows, list) else []:
        a, v = (row.get("alpha"), row.get("value")) if isinstance(row, dict) else (None, None)
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (a, v)):
            out.append((float(a), float(v)))
    return out
