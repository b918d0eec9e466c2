"""How sure a recommendation is: the KPI of two plans under the model's bootstrap draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import ParameterError
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["PlanUncertainty", "compare_plans", "shrink_towards_current"]

SHRINK_STEPS = 21


@dataclass(frozen=True)
class PlanUncertainty:
    """KPI percentiles (p10, p50, p90) of both plans and how often the recommendation wins."""

    current: tuple[float, float, float]
    recommended: tuple[float, float, float]
    probability_better: float
    draws: int

    def summary(self) -> dict:
        keys = ("p10", "p50", "p90")
        return {"draws": self.draws, "kpi_current": dict(zip(keys, self.current)),
                "kpi_recommended": dict(zip(keys, self.recommended)),
                "probability_recommended_beats_current": self.probability_better}


def _kpis(models, spend, periods, efficiency) -> np.ndarray:
    return np.array([m.horizon_curves(periods, efficiency).value(spend).sum() for m in models])


def compare_plans(model: MediaModel, current, recommended, *, periods: int,
                  efficiency=1.0) -> PlanUncertainty | None:
    """Percentiles of both plans' KPI over the draws; None when the model has no draws."""
    models = model.draw_models()
    if not models:
        return None
    now = _kpis(models, current, periods, efficiency)
    new = _kpis(models, recommended, periods, efficiency)
    percentiles = lambda values: tuple(float(v) for v in np.percentile(values, [10, 50, 90]))
    return PlanUncertainty(current=percentiles(now), recommended=percentiles(new),
                           probability_better=float(np.mean(new > now)), draws=len(models))


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
