"""Shared test setup: the hypothesis profile every run uses, and the one in-process CLI runner."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence

import pytest
from hypothesis import settings

# "ci" (the default, and what `python -m pytest -q` and .ci/run use): the same examples on every run, so a
# green suite stays green; no example database, so a failure found on one machine cannot leak into the next
# run. A failure prints its reproduction blob (@reproduce_failure). "dev" explores: random examples and the
# database, for hunting new failures (HYPOTHESIS_PROFILE=dev python -m pytest ...). max_examples only
# applies to tests that do not set their own.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True, max_examples=50)
settings.register_profile("dev", derandomize=False, deadline=None, print_blob=True, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """`mamltheory ARGV` in this process: (exit status, stdout, stderr); argparse's SystemExit is a status too.

    It captures by itself (no capsys), so property-based tests can call it once per example.
    """
    from mamltheory.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # OneLineParser's errors: one line on stderr, then exit 2
            code = exc.code if isinstance(exc.code, int) else 1 if exc.code else 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session", name="run_cli")
def run_cli_fixture() -> Callable[[Sequence[str]], tuple[int, str, str]]:
    """The CLI runner above: `code, out, err = run_cli(["plan", ...])`."""
    return run_cli
