"""An overflowing F or ‖∇F‖ is divergence everywhere: runner, sweep summary, `report --sweep`."""

from __future__ import annotations

import json
import math

from mamltheory.sweep.worker import final_stats


def test_overflowing_norm_with_finite_iterate_is_divergence(tmp_path, run_cli):
    # FO-MAML on the quadratic with the constant step β = 1e6 (L ≈ 17): each step multiplies ‖w‖ by
    # about β·(curvature) ~ 1e6, so ‖∇F(w_k)‖ ~ 1e6^k and F(w_k) ~ ‖w_k‖² ~ 1e12^k. F passes the float
    # maximum 1.8e308 near k = 308/12.5 ≈ 24 while ‖w_k‖ ~ 1e154 is still finite: the iterate alone
    # never flags it, and before 30 iterations every replicate is in that regime.
    code, out, err = run_cli(["simulate", "--problem", "quadratic", "--algorithm", "fo-maml", "--step", "1e6",
                              "--iterations", "30", "--json", "--store", str(tmp_path / "s.sqlite")])
    assert code == 0, err
    res = json.loads(out)
    R = len(res["replicates"])
    assert sorted(res["diverged"]) == list(range(R))  # all of them, not `diverged: []`
    for e in res["divergence"]:
        r, k = e["replicate"], e["k"]
        assert 20 <= k <= 30
        assert res["F"][k][r] is None or res["grad_norm"][k][r] is None  # the overflow that stopped it
        for j in range(k):  # up to it everything is finite, and ‖∇F‖ << 1.8e308 means w_k was finite
            assert math.isfinite(res["F"][j][r]) and res["grad_norm"][j][r] < 1e200
        assert all(res["F"][j][r] is None for j in range(k + 1, len(res["k"])))
    # the sweep summary's count is the runner's (and `report --sweep` prints len(result["diverged"]))
    stats = final_stats(res)
    assert stats["diverged"] == R and stats["mean"] is None
