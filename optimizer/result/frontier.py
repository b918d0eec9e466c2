"""The budget frontier: the best plan at each budget of a range, and where it breaks even."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.result.allocation import AllocationResult

__all__ = ["Frontier", "INSIDE", "BEFORE", "BEYOND"]

INSIDE, BEFORE, BEYOND = "inside", "before", "beyond"  # where the break-even lies


@dataclass(frozen=True)
class Frontier:
    """Optimal allocations along a budget range.

    Attributes:
        results: one optimal allocation per feasible budget, in budget order.
        infeasible: budgets of the range that the rules cannot meet.
        break_even: the total spend of the most profitable plan within the range's last
            budget, where the marginal ROI of budget falls to 1 (revenue KPI, or conversions
            valued at ``kpi_value``); None when it cannot be computed.
        kpi_value: money per unit of KPI (1 for revenue).
    """

    results: tuple[AllocationResult, ...]
    infeasible: tuple[float, ...]
    break_even: float | None
    kpi_value: float = 1.0

    @property
    def budgets(self) -> np.ndarray:
        return np.array([r.problem.budget for r in self.results])

    @property
    def break_even_place(self) -> str | None:
        """Whether the break-even lies inside the range asked for, before it or beyond it."""
        if self.break_even is None:
            return None
        budgets = self.budgets
        tolerance = 1e-6 * max(budgets[-1], 1.0)
        if self.break_even >= budgets[-1] - tolerance:
            return BEYOND
        return BEFORE if self.break_even < budgets[0] - tolerance else INSIDE

    @property
    def crossing(self) -> int | None:
        """The row where the marginal ROI first falls below 1 after a row at or above it."""
        if self.break_even is None:
            return None
        values = self.kpi_value * np.array([r.multiplier for r in self.results])
        for i in range(1, len(values)):
            if values[i] < 1 <= values[i - 1]:
                return i
        return None

    def to_frame(self) -> pd.DataFrame:
        """frontier.csv: budget, kpi, roi, marginal_roi, break_even, then spend_<channel> (a
        geo model's channel totals over its geos)."""
        crossing = self.crossing
        rows = []
        for i, result in enumerate(self.results):
            budget = result.problem.budget
            row = {"budget": budget, "kpi": result.total_kpi,
                   "roi": result.total_kpi / budget if budget else np.nan,
                   "marginal_roi": result.multiplier, "break_even": i == crossing}
            cells = result.problem.cells
            names, spend = ((result.problem.names, result.spend) if cells is None
                            else (cells.channels, cells.by_channel(result.spend)))
            row.update({f"spend_{name}": amount for name, amount in zip(names, spend)})
            rows.append(row)
        return pd.DataFrame(rows)
