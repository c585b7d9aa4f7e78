"""Verification: lemma and theorem checks against simulation, scaling laws, falsification, symbolic audit.

The package is callable: `mamltheory.verify(quick=True, seed=0, ...)` runs `verify.run.verify` and
returns the record (the package and the public function share the name `mamltheory.verify`).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class VerifyPackage(types.ModuleType):
    """The `mamltheory.verify` package, callable as the library form of `mamltheory verify`."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """verify(quick=True, seed=0, store=":memory:", sections=SECTIONS, progress=None) -> record dict.

        Runs the checks (audit, lemma, theorem, scaling, falsify) and returns {"provenance", "checks"};
        a section that raises is recorded as one check with verdict "error". See `mamltheory.verify.run.verify`.
        """
        from mamltheory.verify.run import verify

        return verify(*args, **kwargs)


sys.modules[__name__].__class__ = VerifyPackage
