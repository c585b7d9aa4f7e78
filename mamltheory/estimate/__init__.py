"""Estimates of a problem's constants L, ρ, σ, σ̃, σ_H (Assumptions 4.3-4.6) and the `estimate` command.

The estimates are sampled lower estimates of suprema, not certificates (see `estimators`).
"""

from mamltheory.estimate.estimators import STATEMENT, Estimate, EstimateConfig, estimate_constants

__all__ = ["STATEMENT", "Estimate", "EstimateConfig", "estimate_constants"]
