"""What both fitters share: the families they try, the parameters' ranges and the priors' pull."""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.model.curves import FAMILIES

__all__ = ["SATURATING_FAMILIES", "MAX_DECAY", "PRIOR_WEIGHT", "shape_bounds", "has_shape"]

SATURATING_FAMILIES = ("hill", "exponential", "logistic", "log")
MAX_DECAY = 0.9  # geometric adstock decays fitted in [0, MAX_DECAY]
PRIOR_WEIGHT = 0.05  # weak pull of log(k / typical level) and log(s) towards 0


def has_shape(family: str) -> bool:
    """Whether a family has a shape parameter beyond beta and k (Hill's s)."""
    return "s" in FAMILIES[family].param_names


def shape_bounds(family: str) -> tuple[float, float]:
    """The log-range of a family's shape parameter s, from the family's declared bounds."""
    low, high = FAMILIES[family].shape_bounds["s"]
    return float(np.log(low)), float(np.log(high))
