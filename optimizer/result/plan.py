"""A per-period plan's answer, beside the flat plan with the same channel totals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.model.cells import GeoCells, entry_columns
from budgetopt.optimizer.result.certificate import Certificate

__all__ = ["PlanResult"]


@dataclass(frozen=True)
class PlanResult:
    """Spend and KPI per channel per period, shape ``(n_channels, n_periods)``.

    ``tail`` is each channel's KPI after the last period from the plan's carryover; it is part
    of ``total_kpi`` only when ``count_carryover`` is set. ``flat_*`` is the even plan: each
    channel's total spread evenly over its active periods. ``guard`` says how the plan was
    guarded against fitting noise (None: not guarded). A geo model's plan keeps its
    ``cells``: its rows are geo and channel cells.
    """

    names: tuple[str, ...]
    dates: tuple[str, ...]
    spend: np.ndarray
    kpi: np.ndarray
    tail: np.ndarray
    flat_spend: np.ndarray
    flat_kpi: np.ndarray
    flat_tail: np.ndarray
    count_carryover: bool
    certificate: Certificate
    notes: tuple[str, ...] = ()
    period: str = "period"
    guard: str | None = None
    cells: GeoCells | None = None

    @property
    def total_kpi(self) -> float:
        return float(self.kpi.sum() + (self.tail.sum() if self.count_carryover else 0.0))

    @property
    def flat_total_kpi(self) -> float:
        return float(self.flat_kpi.sum() + (self.flat_tail.sum() if self.count_carryover else 0))

    def summary(self) -> dict:
        """Totals and optimality facts, as written by ``--json``."""
        return {**self.certificate.summary(), "spend": float(self.spend.sum()),
                "kpi": self.total_kpi, "kpi_in_periods": float(self.kpi.sum()),
                "kpi_carried_out": float(self.tail.sum()),
                "count_carryover": self.count_carryover, "flat_kpi": self.flat_total_kpi,
                "rounds": self.certificate.effort, "notes": list(self.notes),
                "guard": self.guard}

    def to_frame(self) -> pd.DataFrame:
        """plan.csv: one row per period and channel (geo models: per period, geo and channel;
        period 1-based)."""
        channels, periods = self.spend.shape
        return pd.DataFrame({
            "period": np.repeat(np.arange(1, periods + 1), channels),
            "date": np.repeat(np.array(self.dates, dtype=object), channels),
            **entry_columns(self.names, self.cells, np.tile(np.arange(channels), periods)),
            "spend": self.spend.T.ravel(), "kpi": self.kpi.T.ravel()})
