"""Geometric adstock (carryover): a_t = x_t + decay * a_{t-1}, optionally scaled by (1 - decay)."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

__all__ = ["geometric_adstock", "steady_state_scale"]


def geometric_adstock(spend, decay: float, *, normalized: bool = False, carry_in: float = 0.0):
    """Adstocked series of ``spend`` (last axis is time) starting from level ``carry_in``."""
    spend = np.asarray(spend, float)
    gain = (1.0 - decay) if normalized else 1.0
    initial = np.array([decay * carry_in / gain])
    level, _ = lfilter([1.0], [1.0, -decay], spend, zi=initial)
    return gain * level


def steady_state_scale(decay, normalized):
    """Factor turning a constant spend x into its steady adstocked level (array-friendly)."""
    decay = np.nan_to_num(np.asarray(decay, float), nan=0.0)
    return np.where(np.asarray(normalized, bool), 1.0, 1.0 / (1.0 - decay))
