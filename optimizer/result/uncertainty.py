"""How sure a recommendation is: the KPI of two plans under the model's bootstrap draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import ParameterError
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["PlanUncertainty", "compare_plans", "shrink_towards_current"]

SHRINK_STEPS = 21


PERCENTILES = (10, 50, 90)
KEYS = ("p10", "p50", "p90")


@dataclass(frozen=True)
class PlanUncertainty:
    """Both plans' KPI over the model's parameter draws (p10, p50, p90), the uplift of the
    recommendation paired draw by draw, how often it wins, and each channel's KPI p10 and p90.

    The paired uplift is what a planner decides on: the level of the KPI is uncertain for both
    plans alike, and the difference cancels that shared part."""

    current: tuple[float, float, float]
    recommended: tuple[float, float, float]
    uplift: tuple[float, float, float]
    probability_better: float
    draws: int
    channel_kpi: np.ndarray  # (channels, 2): each channel's recommended KPI p10 and p90

    def summary(self) -> dict:
        return {"draws": self.draws, "uplift": dict(zip(KEYS, self.uplift)),
                "probability_better": self.probability_better,
                "kpi_current": dict(zip(KEYS, self.current)),
                "kpi_recommended": dict(zip(KEYS, self.recommended))}


def _channel_kpis(models, spend, periods, efficiency) -> np.ndarray:
    """(draws, channels): each channel's KPI at ``spend`` under each draw."""
    return np.array([m.horizon_curves(periods, efficiency).value(spend) for m in models])


def _kpis(models, spend, periods, efficiency) -> np.ndarray:
    return _channel_kpis(models, spend, periods, efficiency).sum(axis=1)


def compare_plans(model: MediaModel, current, recommended, *, periods: int,
                  efficiency=1.0) -> PlanUncertainty | None:
    """Both plans over the draws, and the paired uplift; None when the model has no draws."""
    models = model.draw_models()
    if not models:
        return None
    now = _kpis(models, current, periods, efficiency)
    channels = _channel_kpis(models, recommended, periods, efficiency)
    new = channels.sum(axis=1)
    percentiles = lambda values: tuple(float(v) for v in np.percentile(values, PERCENTILES))
    return PlanUncertainty(current=percentiles(now), recommended=percentiles(new),
                           uplift=percentiles(new - now),
                           probability_better=float(np.mean(new > now)), draws=len(models),
                           channel_kpi=np.percentile(channels, [10, 90], axis=0).T)


def shrink_towards_current(model: MediaModel, current, recommended, *, periods: int,
                           efficiency=1.0):
    """The move from the current plan that maximises the KPI's 10th percentile over the draws.

    Candidates are current + t (recommended - current) for t in [0, 1]; they keep the budget and
    every bound the two plans share, so the result stays feasible. Returns (spend, t).
    """
    models = model.draw_models()
    if not models:
        raise ParameterError("risk_aware", "needs parameter draws in the model; fit a wide "
                             "history, whose bootstrap draws the model keeps.")
    current, recommended = np.asarray(current, float), np.asarray(recommended, float)
    best_t, best_p10 = 0.0, -np.inf
    for t in np.linspace(0.0, 1.0, SHRINK_STEPS):
        spend = current + t * (recommended - current)
        p10 = np.percentile(_kpis(models, spend, periods, efficiency), 10)
        if p10 > best_p10:
            best_t, best_p10 = float(t), p10
    return current + best_t * (recommended - current), best_t
