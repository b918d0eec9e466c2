"""What an allocation maximises: KPI, profit, or a target on KPI, ROI or marginal ROI."""

from __future__ import annotations

from dataclasses import dataclass

from budgetopt.optimizer.constants import KPI_CONVERSIONS
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.files.checks import is_number

__all__ = ["Objective", "OBJECTIVE_KINDS"]

KPI = "kpi"
PROFIT = "profit"
TARGET_ROI = "target_roi"
TARGET_KPI = "target_kpi"
TARGET_MROI = "target_mroi"
OBJECTIVE_KINDS = (KPI, PROFIT, TARGET_ROI, TARGET_KPI, TARGET_MROI)


@dataclass(frozen=True)
class Objective:
    """An objective and its target.

    - ``kpi``: the most KPI for exactly the budget.
    - ``profit``: the most ``kpi_value * kpi - spend``; the budget is a ceiling.
    - ``target_roi``: the most KPI with total ROI (kpi / spend) >= target; budget is a ceiling.
    - ``target_kpi``: the least spend reaching KPI ``target``; budget is a ceiling.
    - ``target_mroi``: spend each channel until its marginal ROI falls to ``target`` (Meridian's
      flexible budget), i.e. the most ``kpi - target * spend``; budget is a ceiling.
    """

    kind: str = KPI
    target: float | None = None
    kpi_value: float = 1.0

    def __post_init__(self):
        if self.kind not in OBJECTIVE_KINDS:
            raise InputError(f"objective must be one of {', '.join(OBJECTIVE_KINDS)}, "
                             f"got {self.kind!r}.")
        needs_target = self.kind in (TARGET_ROI, TARGET_KPI, TARGET_MROI)
        if needs_target and not (is_number(self.target) and self.target > 0):
            raise InputError(f"objective {self.kind} needs a target > 0, got {self.target!r}.")
        if not needs_target and self.target is not None:
            raise InputError(f"objective {self.kind} takes no target; use target_roi, "
                             f"target_kpi or target_mroi.")
        if not (is_number(self.kpi_value) and self.kpi_value > 0):
            raise ParameterError("kpi_value", f"must be > 0, got {self.kpi_value!r}.")

    @property
    def price(self) -> float:
        """KPI given up per unit of spend in the objective (0: spend is free up to the budget)."""
        if self.kind == PROFIT:
            return 1.0 / self.kpi_value
        if self.kind == TARGET_MROI:
            return float(self.target)
        return 0.0

    @property
    def budget_is_ceiling(self) -> bool:
        return self.kind != KPI

    def check_kpi_type(self, kpi_type: str, kpi_value_given: bool) -> None:
        if self.kind == PROFIT and kpi_type == KPI_CONVERSIONS and not kpi_value_given:
            raise ParameterError("kpi_value", "is needed for the profit of a conversions KPI "
                                              "(money per conversion).")

    def describe(self) -> str:
        if self.kind == KPI:
            return "most KPI for the budget"
        if self.kind == PROFIT:
            return "most profit (kpi value x kpi - spend), budget as a ceiling"
        return {TARGET_ROI: "most KPI with total ROI >= {:g}, budget as a ceiling",
                TARGET_KPI: "least spend reaching KPI {:,.2f}, budget as a ceiling",
                TARGET_MROI: "spend until marginal ROI falls to {:g}, budget as a ceiling",
                }[self.kind].format(self.target)
