"""Small checks shared by the file readers."""

from __future__ import annotations

import difflib
import math

__all__ = ["is_number", "did_you_mean"]


def is_number(value) -> bool:
    """True for a finite int or float (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def did_you_mean(word: str, choices, fallback: str = "") -> str:
    """A hint naming the closest of ``choices``, or ``fallback`` when none is close."""
    hint = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"did you mean '{hint[0]}'?" if hint else fallback
