"""The yearly season a wide fit found, as Fourier terms: one basis for fitting and planning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import is_number

__all__ = ["YEAR_DAYS", "fourier_basis", "Seasonality"]

YEAR_DAYS = 365.25


def fourier_basis(days, order: int, period_days: float = YEAR_DAYS) -> np.ndarray:
    """(len(days), 2 * order): sin and cos of each harmonic k = 1..order, interleaved."""
    days = np.asarray(days, float)
    columns = []
    for k in range(1, order + 1):
        angle = 2 * np.pi * k * days / period_days
        columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns) if columns else np.zeros((len(days), 0))


@dataclass(frozen=True)
class Seasonality:
    """The baseline's yearly season: ``mean_baseline + fourier_basis(days) @ coefficients``.

    ``days`` count from ``origin``, the history's first date.
    """

    fourier_order: int
    coefficients: tuple[float, ...]
    mean_baseline: float
    origin: pd.Timestamp
    period_days: float = YEAR_DAYS

    def multipliers(self, dates) -> np.ndarray:
        """The season's level at each date over its mean (1 = an average period, >= 0)."""
        days = (pd.DatetimeIndex(dates) - self.origin).days.to_numpy(float)
        level = fourier_basis(days, self.fourier_order, self.period_days) @ np.asarray(
            self.coefficients, float)
        if self.mean_baseline <= 0:
            return np.ones(len(days))
        return np.clip((self.mean_baseline + level) / self.mean_baseline, 0.0, None)

    def to_dict(self) -> dict:
        return {"fourier_order": self.fourier_order, "period_days": self.period_days,
                "coefficients": [float(c) for c in self.coefficients],
                "mean_baseline": self.mean_baseline,
                "origin": self.origin.strftime("%Y-%m-%d")}

    @classmethod
    def from_dict(cls, data, where: str) -> Seasonality:
        """The model file's ``seasonality`` object, validated."""
        try:
            order = data["fourier_order"]
            coefficients = tuple(float(c) for c in data["coefficients"])
            season = cls(fourier_order=int(order), coefficients=coefficients,
                         mean_baseline=float(data["mean_baseline"]),
                         origin=pd.Timestamp(data["origin"]),
                         period_days=float(data.get("period_days", YEAR_DAYS)))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{where}: seasonality must give fourier_order, coefficients, "
                             f"mean_baseline and origin ({error}).") from None
        if (not isinstance(order, int) or order < 0 or len(coefficients) != 2 * order
                or not all(is_number(c) for c in coefficients) or not season.period_days > 0):
            raise InputError(f"{where}: seasonality needs 2 x fourier_order coefficients and a "
                             f"period_days > 0.")
        return season
