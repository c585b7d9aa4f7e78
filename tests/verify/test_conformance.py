"""verify/conformance.py: the shipped runner code against the paper's definitions. Each kind of check holds on the
code as shipped, and a bug planted in the code it covers (a one-line change a programmer could make) is caught."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import mamltheory.simulate.algorithms as alg
import mamltheory.simulate.families as fam
import mamltheory.simulate.runner as runner
from mamltheory.verify import conformance as C
from mamltheory.verify.check import CONTRADICTED, HOLDS

FAMILY = "tanh-regression"


@pytest.fixture(autouse=True)
def fresh_families() -> Iterator[None]:
    C._family.cache_clear()  # a planted bug must not reach a family built before it (or after it)
    yield
    C._family.cache_clear()


def test_every_check_holds_on_the_shipped_code() -> None:
    out = C.conformance(quick=True, seed=0)
    assert [c.name for c in out if c.verdict != HOLDS] == []
    # per family: the loss, 4 algorithms × (direction, meta-step), the sampling law; 3 step divisors, 3 radii
    assert len(out) == 2 * (1 + 4 * 2 + 1) + 3 + 3 and all(c.kind == "conformance" for c in out)
    assert all(c.power is not None and c.power < 1.2 for c in out)


def test_the_reference_derivatives_are_the_formulas_by_hand() -> None:
    # ℓ = ½(y − tanh z)², z = xᵀw: ∇ℓ = −(y − t)(1 − t²)x, t = tanh z (the family's class docstring)
    problem, ref = C._family(FAMILY)
    w, i = np.array([0.3, -0.7]), 4
    x, y = problem.X_flat[i], problem.y_flat[i]
    t = np.tanh(x @ w)
    assert np.allclose(ref.g(w, ref.rows((i,))), -(y - t) * (1 - t * t) * x, rtol=1e-13, atol=0)
    # ∇²ℓ = (1 − t²)(1 − t² + 2t(t − y)) x xᵀ = (1 + 2yt − 3t²)(1 − t²) x xᵀ
    assert np.allclose(ref.H(w, ref.rows((i,))), (1 + 2 * y * t - 3 * t * t) * (1 - t * t) * np.outer(x, x),
                       rtol=1e-12, atol=0)


@contextmanager
def planted(monkeypatch: pytest.MonkeyPatch, target: object, name: str, make: Callable[[Callable], Callable]) -> Iterator[None]:
    original = getattr(target, name)
    monkeypatch.setattr(target, name, make(original))
    yield


BUGS = {
    "MAML without its Hessian term": (alg, "hessian_correction_explicit", lambda f: lambda *a, **k: 0 * f(*a, **k),
                                      ("maml", "direction")),
    "inner step α/2": (alg, "inner_points", lambda f: lambda p, W, b, a: f(p, W, b, a / 2), ("fo-maml", "direction")),
    "outer batch reuses the inner draws": (
        runner.Sampler, "draw",
        lambda f: lambda self, rngs: (lambda b, s: (alg.TaskBatch(b.X_in, b.y_in, b.X_in[..., :b.X_o.shape[2], :],
                                                                  b.y_in[..., :b.y_o.shape[2]], b.X_h, b.y_h), s))(
            *f(self, rngs)),
        ("fo-maml", "direction")),
    "batch mean divided by D + 1": (fam.PoolProblem, "grad_on",
                                    lambda f: lambda self, W, X, y: f(self, W, X, y) * X.shape[-2] / (X.shape[-2] + 1),
                                    ("hf-maml", "direction")),
    "δ_k = δ·‖v‖": (alg, "hf_radius", lambda f: lambda V, d, *r: f(V, d, *r) * np.linalg.norm(V, axis=-1) ** 2,
                    ("hf-maml", "direction")),
    "β̃ divided by c/2": (runner, "beta_tilde", lambda f: lambda *a: 2 * f(*a), ("maml", "step")),
    "tasks from half the family": (runner, "draw_tasks", lambda f: lambda rng, p, size: f(rng, p, size) // 2,
                                   (None, "law")),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_planted_bug_is_caught(monkeypatch: pytest.MonkeyPatch, bug: str) -> None:
    target, name, make, (algorithm, kind) = BUGS[bug]
    with planted(monkeypatch, target, name, make):
        if kind == "direction":
            r = C.direction_check(FAMILY, algorithm)
        elif kind == "step":
            r = C.step_check(FAMILY, algorithm, 0)
        else:
            r = C.sampling_check(FAMILY, 0)
    assert r.verdict == CONTRADICTED, (bug, r.evidence)


def test_a_divisor_that_is_not_the_papers_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from mamltheory.bounds import theorems

    real = theorems.theorem

    def wrong(algorithm: str, theory: str = "repaired"):
        t = real(algorithm, theory)
        return replace(t, step_divisor=6) if t.algorithm == "maml" else t

    monkeypatch.setattr(C, "theorem", wrong)
    assert C.divisor_check("maml").verdict == CONTRADICTED
    assert C.divisor_check("fo-maml").verdict == HOLDS


def test_a_repaired_radius_twice_its_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamltheory.bounds.theorems import h1

    real = h1.RepairedH1.radius

    def doubled(self, *args):
        d, why = real(self, *args)
        return 2 * d, why

    assert C.radius_check("repaired").verdict == HOLDS
    monkeypatch.setattr(h1.RepairedH1, "radius", doubled)
    assert C.radius_check("repaired").verdict == CONTRADICTED
    assert C.radius_check("paper").verdict == HOLDS
