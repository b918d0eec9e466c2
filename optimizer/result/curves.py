"""Each channel's steady-state response curve as a table: spend per period, KPI, marginal ROI."""

from __future__ import annotations

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import ParameterError
from budgetopt.optimizer.model.cells import entry_columns
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["curves_frame", "channel_curves_frame", "default_reach", "MAX_CURVE_POINTS"]

MAX_CURVE_POINTS = 10_000
REACH = 2.0  # the default grid reaches this many times a channel's largest known spend


def default_reach(model: MediaModel) -> np.ndarray:
    """Per channel, the spend the default grid reaches: twice the largest of its current and
    observed spend (the curve's half-saturation where neither is known)."""
    known = np.fmax(np.nan_to_num(model.current_spend, nan=0.0),
                    np.nan_to_num(model.observed_max, nan=0.0))
    return np.where(known > 0, REACH * known, REACH * model.curves.k)


def curves_frame(model: MediaModel, points: int = 101, max_spend: float | None = None, *,
                 reach=None) -> pd.DataFrame:
    """``channel,spend,kpi,marginal_roi`` (geo models: ``geo`` first) per period at steady
    state, ``points`` spends per channel from 0 to ``max_spend`` (or to each channel's
    ``reach``; default: :func:`default_reach`); with parameter
    draws, ``kpi_p10,kpi_p90`` over them."""
    if not 2 <= points <= MAX_CURVE_POINTS:
        raise ParameterError("points", f"must be from 2 to {MAX_CURVE_POINTS:,}, got {points}.")
    if max_spend is not None and not (np.isfinite(max_spend) and max_spend > 0):
        raise ParameterError("max_spend", f"must be a spend > 0, got {max_spend:g}.")
    n = len(model)
    if reach is None:
        reach = np.full(n, float(max_spend)) if max_spend is not None else default_reach(model)
    reach = np.asarray(reach, float)
    spend = reach[:, None] * np.linspace(0.0, 1.0, points)[None, :]  # (channels, points)
    steady = model.steady_state_curves()
    owner = np.repeat(np.arange(n), points)
    grid = steady.subset(owner)
    flat = spend.ravel()
    frame = pd.DataFrame({**entry_columns(model.names, model.cells, owner), "spend": flat,
                          "kpi": grid.value(flat),
                          "marginal_roi": grid.marginal(flat)})
    draws = model.draw_models()
    if draws:
        values = np.array([m.steady_state_curves().subset(owner).value(flat) for m in draws])
        frame["kpi_p10"], frame["kpi_p90"] = np.percentile(values, [10, 90], axis=0)
    return frame


def channel_curves_frame(model: MediaModel, points: int, reach) -> pd.DataFrame:
    """A geo model's curve per channel: ``channel,spend,kpi,marginal_roi`` (and the draws'
    ``kpi_p10,kpi_p90``) at a per-period channel total from 0 to ``reach`` (per channel),
    spread over the geos as the current spend is (by population where there is none)."""
    cells = model.cells
    current = np.nan_to_num(model.current_spend, nan=0.0)
    weight = np.where(cells.by_channel(current)[cells.channel_index] > 0, current,
                      [cells.population.get(g, 1.0) for g in cells.geo])
    weight = weight / cells.by_channel(weight)[cells.channel_index]
    grid = np.linspace(0.0, 1.0, points)
    totals = np.asarray(reach, float)[:, None] * grid[None, :]  # (channels, points)
    spend = totals[cells.channel_index] * weight[:, None]  # (entries, points)

    def summed(curves, method: str, scale=1.0) -> np.ndarray:
        values = getattr(curves.subset(np.repeat(np.arange(len(model)), points)), method)(
            spend.ravel()).reshape(spend.shape) * scale
        return cells.by_channel(values)

    steady = model.steady_state_curves()
    frame = pd.DataFrame({
        "channel": np.repeat(np.array(cells.channels, dtype=object), points),
        "spend": totals.ravel(), "kpi": summed(steady, "value").ravel(),
        "marginal_roi": summed(steady, "marginal", weight[:, None]).ravel()})
    draws = model.draw_models()
    if draws:
        values = np.array([summed(m.steady_state_curves(), "value").ravel() for m in draws])
        frame["kpi_p10"], frame["kpi_p90"] = np.percentile(values, [10, 90], axis=0)
    return frame
