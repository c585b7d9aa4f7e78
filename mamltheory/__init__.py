"""mamltheory: the convergence theory of MAML, FO-MAML and HF-MAML, usable and checkable.

Theory: Fallah, Mokhtari, Ozdaglar, "On the Convergence Theory of Gradient-Based
Model-Agnostic Meta-Learning Algorithms" (Fallah, Mokhtari, Ozdaglar).

The public API (loaded on first use, so `import mamltheory` stays cheap)::

    import mamltheory as mt
    c = mt.ProblemConstants(L=1, rho=1, sigma=0.5, sigma_tilde=1, sigma_H=1)   # Assumptions 4.3-4.6
    p = mt.plan("hf-maml", c, eps=0.1, initial_gap=10)        # batches, α, β rule, δ, T (Theorem H.1)
    plans = mt.plan_all(c, eps=0.1, initial_gap=10)           # the three algorithms, cheapest marked
    problem = mt.make_problem("quadratic", d=5)               # a task family with certified constants
    cfg, sources = mt.run_config(problem, "maml", iterations=100)  # the theory's defaults, validated
    result = mt.run(problem, cfg)                             # RunResult: exact ‖∇F(w_k)‖ per replicate
    record = mt.verify(quick=True, sections=("audit",))       # checks of the paper's claims
    mt.bounds.theorem("maml").accuracy                        # the encoded results (sympy)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> (module, attribute); attribute None: the module itself.
_API: dict[str, tuple[str, str | None]] = {
    "ProblemConstants": ("mamltheory.assumptions", "ProblemConstants"),
    "plan": ("mamltheory.bounds.planner", "plan"),
    "plan_all": ("mamltheory.bounds.planner", "plan_all"),
    "make_problem": ("mamltheory.simulate", "make_problem"),
    "run_config": ("mamltheory.simulate.config", "run_config"),
    "run": ("mamltheory.simulate.runner", "run"),
    "RunConfig": ("mamltheory.simulate.runner", "RunConfig"),
    "RunResult": ("mamltheory.simulate.runner", "RunResult"),
    "verify": ("mamltheory.verify", None),  # the package is callable: verify(quick=True, seed=0, ...)
    "bounds": ("mamltheory.bounds", None),
}

__all__ = ["ProblemConstants", "plan", "plan_all", "make_problem", "run_config", "run", "RunConfig", "RunResult",
           "verify", "bounds", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy: `mamltheory plan`'s cold start is benchmarked (benchmarks/bench_plan_cold.py).
    if name not in _API:
        raise AttributeError(f"module 'mamltheory' has no attribute {name!r}")
    module_name, attr = _API[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
