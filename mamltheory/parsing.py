"""Command-line values: each failure is one InputError naming the flag and the rule (exit 2)."""

from __future__ import annotations

import math

from mamltheory.errors import InputError


def integer(flag: str, text: str, low: int) -> int:
    """An integer >= low."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InputError(f"{flag}: must be an integer >= {low}, got {text!r}") from None
    if value < low:
        raise InputError(f"{flag}: must be an integer >= {low}, got {value}")
    return value


def positive(flag: str, text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{flag}: must be a positive finite number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{flag}: must be a positive finite number, got {text}")
    return value
