"""Command-line values: each failure is one InputError naming the flag and the rule (exit 2)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from mamltheory.errors import InputError


# Seeds are 32-bit: every seeded routine accepts them, and a seed is part of stored keys and records.
SEED_MAX = 2**32 - 1


def integer(flag: str, text: str, low: int, high: int | None = None) -> int:
    """An integer in [low, high] (high: no upper end when None)."""
    rule = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        raise InputError(f"{flag}: must be {rule}, got {text!r}", field=flag.lstrip("-")) from None
    if value < low or (high is not None and value > high):
        raise InputError(f"{flag}: must be {rule}, got {value}", field=flag.lstrip("-"))
    return value


def seed(flag: str, text: str) -> int:
    """A seed: an integer in [0, 2^32 − 1]."""
    return integer(flag, text, 0, SEED_MAX)


def positive(flag: str, text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{flag}: must be a positive finite number, got {text!r}", field=flag.lstrip("-")) from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{flag}: must be a positive finite number, got {text}", field=flag.lstrip("-"))
    return value


def writable_file(flag: str, path: str) -> Path:
    """An output file that can be written, checked before any work (a folder, a missing folder, no permission)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag}: {path!r} is a folder; give a file name", field=flag.lstrip("-"))
    if not p.parent.is_dir():
        raise InputError(f"{flag}: directory {str(p.parent)!r} does not exist", field=flag.lstrip("-"))
    existed = p.exists()
    try:
        with open(p, "a", encoding="utf-8"):
            pass
    except OSError as err:
        raise InputError(f"{flag}: cannot write {path!r}: {err.strerror}", field=flag.lstrip("-")) from None
    if not existed:
        p.unlink()  # only probed; written when the result is ready
    return p


def writable_dir(flag: str, path: str) -> Path:
    """An output folder, created if missing, in which a file can be written; checked before any work."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except FileExistsError:
        raise InputError(f"{flag}: {path!r} exists and is not a folder", field=flag.lstrip("-")) from None
    except OSError as err:
        raise InputError(f"{flag}: cannot write in folder {path!r}: {err.strerror}", field=flag.lstrip("-")) from None
    return p
