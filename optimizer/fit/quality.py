"""Fit quality measures shared by the fitters."""

from __future__ import annotations

import numpy as np

__all__ = ["mape", "r2", "nrmse"]


def mape(observed, fitted) -> float:
    """Mean absolute percentage error over the periods with a positive outcome."""
    positive = observed > 0
    return float(np.mean(np.abs(fitted[positive] - observed[positive]) / observed[positive]))


def r2(observed, fitted) -> float:
    return float(1 - np.sum((observed - fitted) ** 2)
                 / max(np.sum((observed - observed.mean()) ** 2), 1e-300))


def nrmse(observed, fitted) -> float:
    """Root mean squared error over the observed range."""
    return float(np.sqrt(np.mean((observed - fitted) ** 2)) / np.ptp(observed))
