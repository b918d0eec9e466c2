"""The media model: channels with response curves and adstock, and what the fit measured.

A model is array-based (one entry per channel in each array) so that a curves file with a
million channels loads and solves without a Python object per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from budgetopt.optimizer.constants import KPI_REVENUE
from budgetopt.optimizer.model.adstock import (
    DELAYED_LENGTH,
    adstock_kernel,
    carry_profile,
    steady_state_scale,
)
from budgetopt.optimizer.model.cells import GeoCells
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.report import FitReport
from budgetopt.optimizer.model.seasonality import Seasonality
from budgetopt.optimizer.settings import periods_per_year

__all__ = ["MediaModel"]



@dataclass(frozen=True)
class MediaModel:
    """Response curves of a set of channels plus what is known about the KPI.

    Arrays have shape ``(n_channels,)``. ``decay`` is NaN for a channel without adstock and
    ``current_spend`` is NaN where the model does not say (both per period). ``peak`` is NaN
    for geometric adstock and the delay of a delayed one; a delayed channel's ``recent_spend``
    row holds its last DELAYED_LENGTH - 1 spends (what it still carries into the plan).
    ``observed`` is ``(n_channels, 3)``: the per-period spend the history showed (min, max,
    mean), NaN where unknown. ``fit``, ``draws`` and ``seasonality`` are what a fit measured;
    ``extra`` holds the model file's keys this version does not know, kept for the round trip.
    A geo model's ``cells`` say which geo and channel each entry is (its name ``geo/channel``).
    """

    names: tuple[str, ...]
    curves: CurveSet
    decay: np.ndarray
    normalized: np.ndarray
    current_spend: np.ndarray
    carry_in: np.ndarray
    kpi_name: str = "kpi"
    kpi_type: str = KPI_REVENUE
    period: str = "week"
    baseline: float = 0.0
    fit: FitReport | None = None
    draws: ParameterDraws | None = None
    seasonality: Seasonality | None = None
    peak: np.ndarray | None = None
    recent_spend: np.ndarray | None = None
    observed: np.ndarray | None = None
    cells: GeoCells | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.names)
        if self.peak is None:
            object.__setattr__(self, "peak", np.full(n, np.nan))
        if self.recent_spend is None:
            object.__setattr__(self, "recent_spend", np.zeros((n, DELAYED_LENGTH - 1)))
        if self.observed is None:
            object.__setattr__(self, "observed", np.full((n, 3), np.nan))

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Each entry's channel (a geo model's entries repeat them, one per geo)."""
        return self.names if self.cells is None else self.cells.channel

    @property
    def observed_max(self) -> np.ndarray:
        """The largest per-period spend each channel's history shows (NaN: unknown)."""
        return self.observed[:, 1]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def delayed(self) -> np.ndarray:
        return ~np.isnan(self.peak)

    def adstock_kernel(self, horizon: int) -> np.ndarray:
        """(channels, horizon): weight in a level of the spend l periods back."""
        return adstock_kernel(self.decay, self.normalized, self.peak, horizon)

    def carry(self, horizon: int) -> np.ndarray:
        """(channels, horizon): what the history's spend adds to each planned period's level."""
        return carry_profile(self.decay, self.normalized, self.peak, self.carry_in,
                             self.recent_spend, horizon)

    @property
    def has_adstock(self) -> np.ndarray:
        return ~np.isnan(self.decay)

    def steady_state_curves(self, efficiency=1.0) -> CurveSet:
        """Per-period response to a constant per-period spend, adstock at its steady state.

        ``efficiency`` multiplies the spend before the curve (0.9: spend buys 10 % less).
        """
        scale = steady_state_scale(self.decay, self.normalized, self.peak) * efficiency
        return self.curves.scaled(scale, 1.0)

    def horizon_curves(self, periods: int, efficiency=1.0) -> CurveSet:
        """Response over ``periods`` periods to a total spend spread evenly over them."""
        return self.steady_state_curves(efficiency).scaled(1.0 / periods, float(periods))

    def subset(self, index) -> MediaModel:
        """The channels ``index``: their curves and dynamics (no fit, draws or geo cells)."""
        index = np.asarray(index, int)
        return MediaModel(tuple(self.names[i] for i in index), self.curves.subset(index),
                          self.decay[index], self.normalized[index],
                          self.current_spend[index], self.carry_in[index],
                          kpi_name=self.kpi_name, kpi_type=self.kpi_type, period=self.period,
                          peak=self.peak[index], recent_spend=self.recent_spend[index],
                          observed=self.observed[index])

    def with_current_spend(self, current_spend) -> MediaModel:
        return replace(self, current_spend=np.asarray(current_spend, float))

    @property
    def periods_per_year(self) -> int:
        return periods_per_year(self.period)

    def draw_models(self) -> list[MediaModel]:
        """One model per parameter draw (an empty list without draws)."""
        if self.draws is None:
            return []
        d = self.draws
        family = lambda i: self.curves.family if d.family is None else d.family[i]
        return [replace(self, curves=CurveSet(family(i), d.beta[i], d.k[i], d.s[i]),
                        decay=np.where(self.has_adstock, d.decay[i], np.nan),
                        peak=np.where(self.delayed, d.peak[i], np.nan), draws=None)
                for i in range(len(d))]
