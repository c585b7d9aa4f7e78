"""Problem constants of Assumptions 4.3-4.6 (paper Section 4)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mamltheory.errors import InputError


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
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{name}: must be a real number, got {value!r}")
            if not math.isfinite(value):
                raise InputError(f"{name}: must be finite, got {value}")
        for name in ("L", "rho"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name}: must be > 0 (Assumptions 4.3-4.4), got {getattr(self, name)}")
        for name in ("sigma", "sigma_tilde", "sigma_H"):
            if getattr(self, name) < 0:
                raise InputError(f"{name}: must be >= 0 (Assumptions 4.5-4.6), got {getattr(self, name)}")

    def as_dict(self) -> dict[str, float]:
        """The constants by their code names."""
        return asdict(self)
