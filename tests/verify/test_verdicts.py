"""Verdicts that mean something: power is real, vacuous checks are never support, counts and exit codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mamltheory.simulate import make_problem
from mamltheory.verify import lemma_checks as lc
from mamltheory.verify import stats
from mamltheory.verify.check import (
    CONTRADICTED,
    ERROR,
    HOLDS,
    INCONCLUSIVE,
    VACUOUS,
    CheckResult,
    summary_counts,
    summary_line,
)
from mamltheory.verify.run import exit_status
from mamltheory.verify.theorem_checks import decide, exact_theorem_check, t_power

SMALL = {"d": 4, "n_tasks": 8, "pool_size": 40}  # the quick mode's families (lemma_checks.QUICK)


def test_power_formulas_by_hand() -> None:
    # z_{0.99} = 2.326348 (normal table); 1 + 2.326348·0.01/0.5 = 1.04652696
    assert stats.z_one_sided(0.99) == pytest.approx(2.326348, abs=1e-6)
    assert stats.power_upper(2.326348 * 0.01, 0.5) == pytest.approx(1.04652696, rel=1e-7)
    # Bonferroni over 100 tests: z_{1 − 1e-4} = 3.719016
    assert stats.z_one_sided(0.99, 100) == pytest.approx(3.719016, abs=1e-6)
    # lower claim: 1/(1 − 0.02/0.2) = 1/0.9
    assert stats.power_lower(0.02, 0.2) == pytest.approx(1 / 0.9, rel=1e-12)
    assert stats.power_lower(0.3, 0.2) == math.inf
    # Gaussian radius with C = diag(4, 1): √5 + √(2 ln(1/0.01))·2 = 2.236068 + 3.034854·2
    assert stats.gaussian_norm_radius(5.0, 4.0, 0.99) == pytest.approx(2.2360680 + 2 * 3.0348542, rel=1e-7)


def test_lemma_4_11_power_pinned_by_hand() -> None:
    # One point, one α: n_tests = 2 (both moments). Hoeffding half-width of E β̃ with `draws` draws:
    # h = √(ln(2/0.01)/(2·draws))/(4L); the lower claim E β̃ >= b is then detected from b/E β̃ > 1/(1 − h/b).
    p = make_problem("tanh-regression", **SMALL)
    a = np.array([0.5 / p.constants.L])
    assert lc.minimal_step_batches(p, float(a[0])) != (1, 1)  # Monte Carlo, not an exact pool sum
    draws = 10_000
    m1, m2 = lc.check_lemma_4_11(p, lc.random_points(p, np.random.default_rng(0), 1), a,
                                 np.random.default_rng(1), draws)
    L = p.constants.L
    t = math.sqrt(math.log(200.0) / (2 * draws))  # ln(200) = 5.298317
    assert m1.power == pytest.approx(1 / (1 - t / (4 * L) / m1.bound), rel=1e-9)
    assert m2.power == pytest.approx(1 + t / (16 * L**2) / m2.bound, rel=1e-9)
    assert m1.verdict == HOLDS and m1.power <= 1.1 and "Hoeffding" in m1.evidence and "power" in m1.evidence


class ScaledBound:
    """A bound replaced by `factor` × a reference value of the quantity (a deliberately violated lemma)."""

    def __init__(self, real, reference: dict[float, np.ndarray], factor: float) -> None:
        self.name, self.source, self.reference, self.factor = real.name, real.source, reference, factor

    def array(self, alpha: float, **_: object) -> np.ndarray:
        return self.factor * self.reference[round(float(alpha), 12)]


def test_violated_lemma_is_caught_at_the_quick_sample_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # The true E β̃² at each point is estimated with 40× the quick draws (relative error ~1e-3); the bound is
    # set to 0.9 × that, a violation ratio 1/0.9 = 1.11 > POWER_TARGET = 1.1. At the quick mode's draws the
    # check must call it contradicted (this is the test that the power it states is real). Same for E β̃
    # with the bound 1.1 × E β̃ (lower claim: ratio 1.1 > the stated power).
    p = make_problem("tanh-regression", **SMALL)
    rng = np.random.default_rng(0)
    W = lc.random_points(p, rng, 3)
    alphas = np.array([1 / 6, 0.5]) / p.constants.L
    ref1, ref2 = {}, {}
    for a in alphas:
        Bp, Db = lc.minimal_step_batches(p, a)
        mom = [lc.beta_tilde_moments(p, w, a, Bp, Db, np.random.default_rng(7), 40 * lc.QUICK.beta_draws) for w in W]
        ref1[round(float(a), 12)] = np.array([m[0] for m in mom])
        ref2[round(float(a), 12)] = np.array([m[1] for m in mom])
    monkeypatch.setattr(lc, "LEMMA_4_11_SECOND_MOMENT", ScaledBound(lc.LEMMA_4_11_SECOND_MOMENT, ref2, 0.9))
    monkeypatch.setattr(lc, "LEMMA_4_11_MEAN", ScaledBound(lc.LEMMA_4_11_MEAN, ref1, 1.1))
    m1, m2 = lc.check_lemma_4_11(p, W, alphas, np.random.default_rng(3), lc.QUICK.beta_draws)
    assert m2.verdict == CONTRADICTED and m2.power < 1 / 0.9, m2.evidence
    assert m1.verdict == CONTRADICTED and m1.power < 1.1, m1.evidence
    # and an honest margin (bound = 1.02 × the reference, ratio 0.98) is not flagged
    monkeypatch.setattr(lc, "LEMMA_4_11_SECOND_MOMENT", ScaledBound(lc.LEMMA_4_11_SECOND_MOMENT, ref2, 1.02))
    _, ok = lc.check_lemma_4_11(p, W, alphas, np.random.default_rng(3), lc.QUICK.beta_draws)
    assert ok.verdict == HOLDS


def test_weak_monte_carlo_is_inconclusive_not_holds() -> None:
    # 20 draws: the Hoeffding half-width is far above the margin, so the check cannot support the claim.
    p = make_problem("tanh-regression", **SMALL)
    W = lc.random_points(p, np.random.default_rng(0), 1)
    m1, _ = lc.check_lemma_4_11(p, W, np.array([0.5 / p.constants.L]), np.random.default_rng(1), 20)
    assert m1.verdict == INCONCLUSIVE and m1.power > 1.1


def test_t_power_by_hand() -> None:
    # R = 4 replicates, s = 1 at the noisiest iterate, t_{0.95,3} = 2.353363: 1 + 2.353363·1/(2·2) = 1.588341
    G = np.array([[1.0, 2.0, 3.0, 2.0 + math.sqrt(2 / 3) * 0], [5.0, 5.0, 5.0, 5.0]])
    G[0] = 2 + np.array([-1.0, 1.0, -1.0, 1.0]) * math.sqrt(3) / 2  # sample std exactly 1
    assert np.std(G[0], ddof=1) == pytest.approx(1.0)
    assert t_power(G, 2.0, 0.95) == pytest.approx(1 + 2.353363 / (2 * 2.0), rel=1e-6)
    # T not reached: no violation can be detected
    d = decide(G, np.arange(2), 0.1, T=100, reached_T=False, rng=np.random.default_rng(0))
    assert d["verdict"] == INCONCLUSIVE and d["power"] == math.inf


def test_exact_theorem_check_can_fail() -> None:
    # The exact-expectation configuration puts the bound below ‖∇F(w_0)‖: it holds on the certified family...
    r = exact_theorem_check("nonconvex-logistic", "maml", problem_params=SMALL)
    assert r.verdict == HOLDS and r.details["bound_over_grad_norm_w0"] < 1 and r.details["met_at"] > 0
    # ...and with too few iterations allowed before T it is undecided, never holds
    r = exact_theorem_check("nonconvex-logistic", "maml", cap=3, problem_params=SMALL)
    assert r.verdict == INCONCLUSIVE


def record_of(*verdicts: str, power: float | None = 1.05) -> dict:
    checks = [CheckResult(f"c{i}", "s", "lemma", v, power=power, id=f"c{i}", result="-").to_json()
              for i, v in enumerate(verdicts)]
    return {"checks": checks, "summary": summary_counts(checks)}


def test_vacuous_is_never_counted_as_holds_and_counts_are_apart() -> None:
    rec = record_of(HOLDS, HOLDS, VACUOUS, VACUOUS, VACUOUS, CONTRADICTED, INCONCLUSIVE)
    c = rec["summary"]
    assert (c["holds"], c["vacuous"], c["contradicted"], c["inconclusive"], c["error"]) == (2, 3, 1, 1, 0)
    assert summary_line(c) == "holds 2 (power <= 1.05), vacuous 3, contradicted 1, inconclusive 1, error 0"


def test_exit_code_3_only_for_error_and_1_for_an_unexplained_contradiction() -> None:
    assert exit_status(record_of(HOLDS, VACUOUS, INCONCLUSIVE), strict=False) == 0
    # a contradicted check no defect of the paper explains (named "c1", source "s"): news, exit 1 either way
    assert exit_status(record_of(HOLDS, CONTRADICTED), strict=False) == 1
    assert exit_status(record_of(HOLDS, CONTRADICTED), strict=True) == 1
    # the paper's known (107) step, found again: explained, exit 0 unless --strict
    known = CheckResult("proof step: Theorem F.1, eq. (107)", "Theorem F.1, eq. (107)", "audit proof step",
                        CONTRADICTED, power=1.0, id="audit.witness.F.1.107", result="F.1").to_json()
    record = {"checks": [known]}
    assert exit_status(record, strict=False) == 0 and record["unexplained"] == []
    assert exit_status(record, strict=True) == 1
    assert exit_status(record_of(HOLDS, ERROR), strict=False) == 3
    assert exit_status(record_of(CONTRADICTED, ERROR), strict=True) == 3
