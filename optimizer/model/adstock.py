"""Adstock (carryover): how spend in one period keeps working in the next ones.

Geometric: a_t = x_t + decay * a_{t-1}, optionally scaled by (1 - decay). Delayed (Jin et al.
2017, "Bayesian methods for media mix modeling with carryover and shape effects"): a_t =
sum_{l < DELAYED_LENGTH} decay^((l - peak)^2) x_{t-l}, whose effect peaks ``peak`` periods after
the spend; optionally divided by the weights' sum. Both are linear in spend, so every level is a
kernel over past spend plus what the spend before the first period still carries.
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["ADSTOCK_TYPES", "DELAYED_LENGTH", "geometric_adstock", "delayed_weights",
           "delayed_adstock", "steady_state_scale", "adstock_kernel", "carry_profile"]

ADSTOCK_TYPES = ("geometric", "delayed")
DELAYED_LENGTH = 13  # periods a delayed adstock's kernel spans (a quarter of weeks)


@cache
def _lfilter():
    """scipy.signal's linear filter, imported on first use: the package takes most of a
    second to import, which every command (``--help`` included) would otherwise pay."""
    from scipy.signal import lfilter

    return lfilter


def geometric_adstock(spend, decay: float, *, normalized: bool = False, carry_in: float = 0.0):
    """Adstocked series of ``spend`` (last axis is time) starting from level ``carry_in``."""
    spend = np.asarray(spend, float)
    gain = (1.0 - decay) if normalized else 1.0
    initial = np.full(spend.shape[:-1] + (1,), decay * carry_in / gain)
    level, _ = _lfilter()([1.0], [1.0, -decay], spend, zi=initial)
    return gain * level


def delayed_weights(decay: float, peak: float, normalized: bool = False) -> np.ndarray:
    """The delayed kernel decay^((l - peak)^2), l = 0 .. DELAYED_LENGTH - 1."""
    weights = float(decay) ** ((np.arange(DELAYED_LENGTH) - float(peak)) ** 2)
    return weights / weights.sum() if normalized else weights


def delayed_adstock(spend, decay: float, peak: float, *, normalized: bool = False,
                    recent=None) -> np.ndarray:
    """Delayed adstock of ``spend`` (last axis is time); ``recent`` are the spends before a
    one-dimensional series, oldest first."""
    weights = delayed_weights(decay, peak, normalized)
    spend = np.asarray(spend, float)
    before = np.zeros(spend.shape[:-1] + (DELAYED_LENGTH - 1,))
    if recent is not None and len(recent):
        tail = np.asarray(recent, float)[-(DELAYED_LENGTH - 1):]
        before[..., before.shape[-1] - len(tail):] = tail
    full = np.concatenate([before, spend], axis=-1)
    return _lfilter()(weights, [1.0], full, axis=-1)[..., DELAYED_LENGTH - 1:]


def steady_state_scale(decay, normalized, peak=None):
    """Factor turning a constant spend x into its steady adstocked level (array-friendly)."""
    decay = np.nan_to_num(np.asarray(decay, float), nan=0.0)
    normalized = np.asarray(normalized, bool)
    scale = np.where(normalized, 1.0, 1.0 / (1.0 - decay))
    if peak is not None:
        for c in np.flatnonzero(~np.isnan(peak)):
            scale[c] = delayed_weights(decay[c], peak[c], bool(normalized[c])).sum()
    return scale


def adstock_kernel(decay, normalized, peak, horizon: int) -> np.ndarray:
    """(channels, horizon): weight of the spend l periods back in a level (no adstock: [1, 0..])."""
    decay = np.asarray(decay, float)
    kernel = np.zeros((len(decay), horizon))
    for c, d in enumerate(decay):
        if peak is not None and not np.isnan(peak[c]):
            weights = delayed_weights(d, peak[c], bool(normalized[c]))
            kernel[c, :min(horizon, len(weights))] = weights[:horizon]
        elif np.isnan(d):
            kernel[c, 0] = 1.0
        else:
            gain = 1.0 - d if normalized[c] else 1.0
            kernel[c] = gain * d ** np.arange(horizon)
    return kernel


def carry_profile(decay, normalized, peak, carry_in, recent, horizon: int) -> np.ndarray:
    """(channels, horizon): what spend before the first period adds to each later level.

    Geometric channels carry ``decay^(t+1) * carry_in``; delayed ones their ``recent`` spends
    (oldest first) through the kernel.
    """
    decay = np.nan_to_num(np.asarray(decay, float), nan=0.0)
    profile = np.asarray(carry_in, float)[:, None] * decay[:, None] ** np.arange(1, horizon + 1)
    for c in np.flatnonzero(~np.isnan(peak)) if peak is not None else ():
        weights = delayed_weights(decay[c], peak[c], bool(normalized[c]))
        before = np.asarray(recent[c], float)[::-1]  # before[j - 1]: the spend j periods back
        profile[c] = 0.0
        for t in range(min(horizon, DELAYED_LENGTH - 1)):
            lags = np.arange(t + 1, DELAYED_LENGTH)  # lag of spend j = lag - t periods back
            usable = lags - t <= len(before)
            profile[c, t] = weights[lags[usable]] @ before[(lags - t - 1)[usable]]
    return profile
