"""`simulate`'s flags go through run_config: a bad value is one line naming the flag, exit 2, before any run."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("flags, start", [
    (["--iterations", "1e30"], "--iterations: must be an integer >= 1"),
    (["--iterations", "1" + "0" * 30], "--iterations: must be an integer in [1, 9007199254740992]"),
    (["--batch", "2,3,3"], "--batch: must be 4 comma-separated integers"),
    (["--step", "-1"], "--step: must be a positive finite number"),
    (["--step", "theory"], "--step: 'theory' is now spelled 'theorem' (the theorem's rule)"),
    (["--delta", "theory"], "--delta: 'theory' is now spelled 'theorem' (the theorem's rule)"),
    (["--step", "rule"], "--step: must be 'theorem' or a positive finite number, got 'rule'"),
    (["--alpha", "100"], "--alpha: must lie in (0, 1/L]"),
])
def test_bad_flag_is_one_line(run_cli, tmp_path: Path, flags: list[str], start: str) -> None:
    store = tmp_path / "r.sqlite"
    code, _, err = run_cli(["simulate", "--problem", "quadratic", "--algorithm", "fo-maml", "--store", str(store),
                            *flags])
    err = err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("mamltheory simulate: " + start), err
    assert not store.exists()
