"""A model over time: adstocked levels of a spend plan, its KPI per period and its carry-out."""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.model.adstock import DELAYED_LENGTH
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["adstock_levels", "simulate", "tail_length", "TAIL_PRECISION", "MAX_TAIL_PERIODS"]

TAIL_PRECISION = 1e-7  # carry-out periods until decay^k falls below this
MAX_TAIL_PERIODS = 156


def adstock_levels(model: MediaModel, spend: np.ndarray) -> np.ndarray:
    """Each channel's level in each period of ``spend`` (channels x periods), carry included."""
    horizon = spend.shape[1]
    kernel = model.adstock_kernel(horizon)
    levels = model.carry(horizon)
    for c in range(len(model)):
        levels[c] += np.convolve(spend[c], kernel[c])[:horizon]
    return levels


def simulate(model: MediaModel, spend: np.ndarray, multipliers: np.ndarray, tail_periods: int):
    """Exact KPI per channel and period of a spend plan, and each channel's carried-out tail."""
    levels = adstock_levels(model, np.hstack([spend, np.zeros((len(model), tail_periods))]))
    response = np.vstack([model.curves.channel_value(i, levels[i]) for i in range(len(model))])
    periods = spend.shape[1]
    return response[:, :periods] * multipliers, response[:, periods:].sum(axis=1)


def tail_length(model: MediaModel) -> int:
    """Carry-out periods that hold all but TAIL_PRECISION of every channel's carryover."""
    delayed = DELAYED_LENGTH - 1 if model.delayed.any() else 0
    decay = np.nan_to_num(model.decay[~model.delayed], nan=0.0).max(initial=0.0)
    if decay <= 0:
        return delayed
    geometric = int(min(MAX_TAIL_PERIODS, np.ceil(np.log(TAIL_PRECISION) / np.log(decay))))
    return max(geometric, delayed)
