"""How sure a recommendation is: the KPI of two plans under the model's bootstrap draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["PlanUncertainty", "compare_plans", "guarded_move", "guarded_path"]

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


def guarded_move(model: MediaModel, start, current, optimum, *, periods: int,
                 efficiency=1.0, feasible=lambda spend: True) -> tuple[np.ndarray, float, str]:
    """How far to move from ``start`` towards ``optimum`` that the parameter draws support,
    each candidate judged by its uplift over the ``current`` plan paired draw by draw (see
    :func:`guarded_path`)."""
    models = model.draw_models()
    now = _kpis(models, np.asarray(current, float), periods, efficiency)
    return guarded_path(start, optimum,
                        lambda spend: _kpis(models, spend, periods, efficiency) - now, feasible)


def guarded_path(start, optimum, uplift, feasible=lambda spend: True
                 ) -> tuple[np.ndarray, float, str]:
    """The point of start + t (optimum - start), t in [0, 1], that ``uplift`` supports.

    ``uplift(spend)`` is the candidate's uplift over the current plan in each draw. The whole
    move when its uplift's p10 is >= 0; else, of the moves whose p10 is >= 0, the one with the
    most expected uplift; else the move with the best p10. Candidates that break a rule
    (``feasible``) are skipped. Returns (spend, t, the rule that chose it in words).
    """
    start, optimum = np.asarray(start, float), np.asarray(optimum, float)
    shares, p10, mean = [], [], []
    for t in np.linspace(0.0, 1.0, SHRINK_STEPS):
        spend = start + t * (optimum - start)
        if not feasible(spend):
            continue
        gain = uplift(spend)
        shares.append(float(t))
        p10.append(float(np.percentile(gain, 10)))
        mean.append(float(gain.mean()))
    if not shares:
        return optimum, 1.0, "no move towards it keeps the rules, so it is not guarded"
    if shares[-1] == 1.0 and p10[-1] >= 0:
        return optimum, 1.0, ("the draws support the whole move (the uplift's p10 over the "
                              "current plan is at or above 0)")
    safe = [j for j, value in enumerate(p10) if value >= 0]
    if safe:
        j = max(safe, key=lambda k: mean[k])
        rule = (f"moved {shares[j]:.0%} of the way to the point fit's optimum: the most "
                f"expected uplift whose p10 over the draws stays at or above 0")
    else:
        j = int(np.argmax(p10))
        rule = (f"moved {shares[j]:.0%} of the way to the point fit's optimum: no move keeps "
                f"the uplift's p10 at or above 0, this one has the best p10")
    return start + shares[j] * (optimum - start), shares[j], rule
