"""How sure a recommendation is: the KPI of two plans under the model's bootstrap draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["PlanUncertainty", "GuardedMove", "compare_plans", "guarded_move", "guarded_path",
           "POINT_OPTIMUM", "EXPECTED_OPTIMUM"]

SHRINK_STEPS = 21  # candidates on each line, both ends included
POINT_OPTIMUM = "the point fit's optimum"
EXPECTED_OPTIMUM = "the draws' expected-KPI optimum"


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


@dataclass(frozen=True)
class GuardedMove:
    """Where the guard stopped: ``share`` of the way from the start ``towards`` a destination,
    and the rule that chose it in words."""

    spend: np.ndarray
    towards: str
    share: float
    rule: str

    @property
    def is_point_optimum(self) -> bool:
        return self.towards == POINT_OPTIMUM and self.share == 1.0


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


def guarded_move(draws: list[CurveSet], start, current, destinations: dict[str, np.ndarray],
                 feasible=lambda spend: True) -> GuardedMove:
    """How far to move from ``start`` towards each of ``destinations`` that the parameter
    draws (each draw's horizon curves) support, each candidate judged by its uplift over the
    ``current`` plan paired draw by draw (see :func:`guarded_path`)."""
    kpis = lambda spend: np.array([curves.value(spend).sum() for curves in draws])
    now = kpis(np.asarray(current, float))
    return guarded_path(start, destinations, lambda spend: kpis(spend) - now, feasible)


def guarded_path(start, destinations: dict[str, np.ndarray], uplift,
                 feasible=lambda spend: True) -> GuardedMove:
    """The point of start + t (destination - start), t in [0, 1], that ``uplift`` supports.

    ``destinations`` maps a description ("the point fit's optimum") to a spend; ``uplift(spend)``
    is a candidate's uplift over the current plan in each draw. Of the candidates on every
    line whose uplift's p10 is >= 0, the one with the most expected uplift; when none has, the
    one with the best p10. Candidates that break a rule (``feasible``) are skipped.
    """
    start = np.asarray(start, float)
    candidates = []  # (towards, t, spend, p10, mean)
    for towards, destination in destinations.items():
        for t in np.linspace(0.0, 1.0, SHRINK_STEPS):
            spend = start + t * (np.asarray(destination, float) - start)
            if feasible(spend):
                gain = uplift(spend)
                candidates.append((towards, float(t), spend, float(np.percentile(gain, 10)),
                                   float(gain.mean())))
    lines = " or ".join(destinations)
    if not candidates:
        towards, destination = next(iter(destinations.items()))
        return GuardedMove(np.asarray(destination, float), towards, 1.0,
                           f"no move towards {lines} keeps the rules, so {towards} is not "
                           f"guarded")
    safe = [c for c in candidates if c[3] >= 0]
    if safe:
        towards, t, spend, _, _ = max(safe, key=lambda c: c[4])
        rule = (f"moved {t:.0%} of the way to {towards}: of the moves towards {lines}, the "
                f"most expected uplift whose p10 over the draws stays at or above 0")
    else:
        towards, t, spend, _, _ = max(candidates, key=lambda c: c[3])
        rule = (f"moved {t:.0%} of the way to {towards}: no move towards {lines} keeps the "
                f"uplift's p10 at or above 0, this one has the best p10")
    return GuardedMove(spend, towards, t, rule)
