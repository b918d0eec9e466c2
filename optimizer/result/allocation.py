"""The answer of an optimisation, with the current plan beside it and its optimality status."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from budgetopt.optimizer.constants import (
    ALLOCATION_COLUMNS,
    AT_FIXED,
    AT_HISTORY,
    AT_LOWER,
    AT_OFF,
    AT_UPPER,
)
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.certificate import Certificate
from budgetopt.optimizer.result.uncertainty import PlanUncertainty

__all__ = ["AllocationResult", "ShadowPrice"]


@dataclass(frozen=True)
class ShadowPrice:
    """Objective gained per unit by relaxing a binding rule (per unit of money or of ratio).

    ``key`` is the rule's :class:`~budgetopt.optimizer.solvers.rules.RuleKey`."""

    name: str
    value: float
    key: object = None


@dataclass(frozen=True)
class AllocationResult:
    """Recommended spend per channel, with the current plan and how sure we are of optimality.

    Attributes:
        spend: recommended horizon spend, shape ``(n_channels,)``.
        certificate: method, status, gap and the proven bound on the objective (the media KPI,
            less ``price`` times spend for profit-type objectives).
        multiplier: marginal KPI of one more unit of budget (the KKT multiplier).
        shadow_prices: binding rules and what relaxing each by one unit would gain.
        uncertainty: both plans' KPI over the model's parameter draws (None without draws).
        guard: how the answer was guarded against fitting noise (None: not guarded).
    """

    problem: AllocationProblem
    spend: np.ndarray
    certificate: Certificate
    multiplier: float
    notes: tuple[str, ...] = field(default=())
    shadow_prices: tuple[ShadowPrice, ...] = field(default=())
    objective: str = "most KPI for the budget"
    uncertainty: PlanUncertainty | None = None
    guard: str | None = None

    @cached_property
    def kpi(self) -> np.ndarray:
        return self.problem.curves.value(self.spend)

    @cached_property
    def kpi_current(self) -> np.ndarray:
        return self.problem.curves.value(self.problem.current)

    @cached_property
    def marginal_roi(self) -> np.ndarray:
        return self.problem.curves.marginal(self.spend)

    @property
    def total_kpi(self) -> float:
        return float(self.kpi.sum())

    @property
    def total_kpi_current(self) -> float:
        return float(self.kpi_current.sum())

    @property
    def total_spend(self) -> float:
        return float(self.spend.sum())

    @property
    def objective_value(self) -> float:
        return self.problem.objective_value(self.spend)

    @property
    def at_bound(self) -> np.ndarray:
        problem, spend = self.problem, self.spend
        tolerance = 1e-9 * max(problem.budget, 1.0)
        lower = np.maximum(problem.lower, np.where(problem.can_switch_off, 0.0, problem.min_if_on))
        labels = np.full(spend.shape, "", dtype=object)
        labels[spend >= problem.upper - tolerance] = AT_UPPER
        labels[problem.held & (spend >= problem.upper - tolerance)] = AT_HISTORY
        labels[spend <= lower + tolerance] = AT_LOWER
        labels[(problem.min_if_on > 0) & (spend <= tolerance)] = AT_OFF
        labels[problem.upper - problem.lower <= tolerance] = AT_FIXED
        return labels

    def to_frame(self) -> pd.DataFrame:
        """One row per channel with the allocation CSV's columns (horizon totals)."""
        problem = self.problem
        change = self.spend - problem.current
        with np.errstate(divide="ignore", invalid="ignore"):
            change_pct = np.where(problem.current > 0, 100.0 * change / problem.current, np.nan)
            roi = np.where(self.spend > 0, self.kpi / self.spend, np.nan)
        frame = pd.DataFrame({
            "channel": problem.names, "current_spend": problem.current, "spend": self.spend,
            "change": change, "change_pct": change_pct, "kpi_current": self.kpi_current,
            "kpi": self.kpi, "roi": roi, "marginal_roi": self.marginal_roi,
            "lower": problem.lower, "upper": problem.upper, "at_bound": self.at_bound,
        })[list(ALLOCATION_COLUMNS)]
        if problem.cells is not None:
            frame = frame.assign(channel=problem.cells.channel)
            frame.insert(0, "geo", problem.cells.geo)
        if self.uncertainty is not None:
            frame["kpi_p10"] = self.uncertainty.channel_kpi[:, 0]
            frame["kpi_p90"] = self.uncertainty.channel_kpi[:, 1]
        if np.isfinite(problem.history_caps).any():
            frame["beyond_history"] = self.beyond_history
        return frame

    @property
    def beyond_history(self) -> np.ndarray:
        """Channels recommended above the largest per-period spend their history shows."""
        return self.problem.beyond_history(self.spend)

    def totals(self, by: str) -> pd.DataFrame:
        """Current and recommended spend and KPI summed per ``by`` ("channel" or "geo")."""
        frame = self.to_frame()
        return frame.groupby(by, sort=False)[["current_spend", "spend", "kpi_current",
                                              "kpi"]].sum()

    def summary(self) -> dict:
        """Totals and optimality facts, as written by ``--json`` (a geo model's with its
        totals per channel and per geo)."""
        facts = {
            "objective": self.objective, "objective_value": self.objective_value,
            **self.certificate.summary(), "budget": self.problem.budget,
            "periods": self.problem.periods,
            "spend": self.total_spend, "kpi": self.total_kpi,
            "kpi_current": self.total_kpi_current,
            "spend_current": float(self.problem.current.sum()),
            "marginal_roi_of_budget": self.multiplier, "nodes": self.certificate.effort,
            "notes": list(self.notes), "guard": self.guard,
            "binding_constraints": [{"name": s.name, "shadow_price": s.value}
                                    for s in self.shadow_prices],
            "beyond_history": [self.problem.names[i]
                               for i in np.flatnonzero(self.beyond_history)],
            "uncertainty": self.uncertainty.summary() if self.uncertainty else None,
        }
        if self.problem.cells is not None:
            for key in ("channel", "geo"):
                facts[f"by_{key}"] = self.totals(key).to_dict(orient="index")
        return facts
