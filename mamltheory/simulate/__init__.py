"""Simulator: certified task families, exact F and ∇F, Algorithms 1-3, replicate-batched runner, cached runs.

`make_problem(name, **params)` is a public contract (docs/simulator-and-store.md): the problem has `.constants`
(certified upper bounds of Assumptions 4.3-4.6), `.d`, `.meta_objective(w, alpha)` = F(w) and
`.meta_gradient(w, alpha)` = ∇F(w) (eq. (30)), both exact.
"""

from __future__ import annotations

from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import INT_MAX, SEED_MAX, choice, integer, number, whole
from mamltheory.simulate.families import NonconvexLogistic, PoolProblem, QuadraticProblem, TanhRegression
from mamltheory.simulate.resources import check_problem_memory

FAMILIES: dict[str, type[PoolProblem]] = {
    TanhRegression.name: TanhRegression,
    NonconvexLogistic.name: NonconvexLogistic,
    QuadraticProblem.name: QuadraticProblem,
}

_INT_PARAMS = {"d", "n_tasks", "pool_size", "seed"}
_NONNEG_PARAMS = {"task_spread", "curvature_spread", "noise", "teacher_spread", "reg", "seed"}


def _check_param(problem: str, key: str, value: Any) -> Any:
    """A family parameter by its rule: sizes and the seed integers, spreads and noise >= 0, the rest > 0."""
    context, field = f" for problem {problem!r}", f"params.{key}"
    if key in _INT_PARAMS:
        low = 0 if key == "seed" else (2 if key in ("n_tasks", "pool_size") else 1)
        return integer(key, whole(value), low, SEED_MAX if key == "seed" else INT_MAX, field=field, context=context,
                       text=False)
    return number(key, value, ">= 0" if key in _NONNEG_PARAMS else "> 0", field=field, context=context, text=False)


def make_problem(name: str, **params: Any) -> PoolProblem:
    """The task family `name` with `params` overriding its defaults (see `FAMILIES[name].defaults`).

    Raises InputError (field "problem" or "params.KEY") on an unknown name or parameter, a value out of
    range, or sizes whose pools would not fit in this machine's memory (checked before allocating).
    """
    choice("problem", name, tuple(sorted(FAMILIES)))
    cls = FAMILIES[name]
    unknown = sorted(set(params) - set(cls.defaults))
    if unknown:
        raise InputError(
            f"problem parameter {unknown[0]!r}: not a parameter of {name!r} "
            f"(allowed: {', '.join(sorted(cls.defaults))})", field=f"params.{unknown[0]}"
        )
    checked = {k: _check_param(name, k, v) for k, v in params.items()}
    check_problem_memory(name, {**cls.defaults, **checked})  # before the pools are allocated
    try:
        return cls(**checked)
    except InputError as err:
        if err.field is not None:
            raise
        raise _blame(name, checked, str(err)) from None


def _refused(name: str, params: dict[str, Any]) -> bool:
    try:
        FAMILIES[name](**params)
    except InputError:
        return True
    return False


def _blame(name: str, params: dict[str, Any], rule: str) -> InputError:
    """The family's own refusal (non-finite pools or certificates, a constant out of range) named after
    the given parameters that cause it. The defaults give a valid family, so the given real values are
    the suspects; with several, those refused on their own (at the given sizes) are named, or all of them."""
    sizes = {k: v for k, v in params.items() if k in _INT_PARAMS}
    suspects = sorted(k for k in params if k not in _INT_PARAMS)
    if len(suspects) > 1:
        suspects = [k for k in suspects if _refused(name, {**sizes, k: params[k]})] or suspects
    named = suspects or sorted(params)
    if not named:
        return InputError(f"problem {name!r}: {rule}", field="problem")
    values = f" (with {', '.join(f'{k} = {params[k]!r}' for k in named)})" if len(named) > 1 else ""
    return InputError(f"{named[0]}: {rule}{values}", field=f"params.{named[0]}")


__all__ = ["FAMILIES", "make_problem", "PoolProblem", "TanhRegression", "NonconvexLogistic", "QuadraticProblem"]
