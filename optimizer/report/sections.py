"""What each section of the report shows, as plain data (the page draws it; tests check it).

A report is built from a model and, where given, the tables the other verbs write: an
allocation (with its ``--json`` summary when there is one), a frontier, a plan and a scenario
summary. Each section is there only when its input is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.constants import KPI_CONVERSIONS
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import read_json
from budgetopt.optimizer.history.tables import read_table
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.result.curves import channel_curves_frame, curves_frame, default_reach

__all__ = ["ReportInputs", "Headline", "read_report_inputs", "headline", "waterfall",
           "curve_panels", "CurvePanel", "REQUIRED_COLUMNS"]

REQUIRED_COLUMNS = {
    "allocation": ("channel", "current_spend", "spend", "kpi_current", "kpi"),
    "frontier": ("budget", "kpi", "marginal_roi"),
    "plan": ("period", "channel", "spend"),
    "scenarios": ("scenario", "budget", "kpi"),
}
CURVE_POINTS = 121
REACH = 1.5  # curves reach this many times the largest spend the report marks


@dataclass(frozen=True)
class ReportInputs:
    """The model and whichever results the report shows."""

    model: MediaModel
    allocation: pd.DataFrame | None = None
    summary: dict | None = None
    frontier: pd.DataFrame | None = None
    plan: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None

    @property
    def periods(self) -> int:
        """The allocation's horizon in periods: from its summary, else from its current spend
        (the model's current spend per period times the horizon), else 1."""
        if self.summary and self.summary.get("periods"):
            return int(self.summary["periods"])
        per_period = float(np.nansum(self.model.current_spend))
        if self.allocation is not None and per_period > 0:
            return max(1, round(float(self.allocation["current_spend"].sum()) / per_period))
        return 1

    @property
    def channel_allocation(self) -> pd.DataFrame | None:
        """The allocation per channel (a geo allocation's cells summed over the geos)."""
        return None if self.allocation is None else _summed(self.allocation, "channel")

    @property
    def geo_allocation(self) -> pd.DataFrame | None:
        """A geo allocation per geo (None for an allocation without geos)."""
        if self.allocation is None or "geo" not in self.allocation.columns:
            return None
        return _summed(self.allocation, "geo")


def _summed(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Spend and KPI columns summed per ``by`` (the rows themselves when they are unique)."""
    if frame[by].is_unique:
        return frame
    amounts = ["current_spend", "spend", "kpi_current", "kpi"]
    out = frame.groupby(by, sort=False, as_index=False)[amounts].sum()
    if "beyond_history" in frame.columns:
        out["beyond_history"] = frame.groupby(by, sort=False)["beyond_history"].any().to_numpy()
    return out


def read_report_inputs(model: MediaModel, *, allocation=None, summary=None, frontier=None,
                       plan=None, scenarios=None) -> ReportInputs:
    """Read the result files named (CSV, and the allocation's JSON summary)."""
    tables = {}
    for kind, path in (("allocation", allocation), ("frontier", frontier), ("plan", plan),
                       ("scenarios", scenarios)):
        if path is None:
            continue
        frame = read_table(path, kind=f"{kind} CSV")
        missing = [c for c in REQUIRED_COLUMNS[kind] if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: not a budgetopt {kind} CSV (missing column(s) "
                             f"{', '.join(missing)}).")
        tables[kind] = _typed(frame)
    return ReportInputs(model=model, summary=read_json(summary, "summary") if summary else None,
                        **tables)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as numbers; text cells un-escaped (the CSV writer's leading ')."""
    out = frame.copy()
    for column in out.columns:
        values = pd.to_numeric(out[column], errors="coerce")
        if values.notna().sum() == (out[column] != "").sum() and column != "date":
            out[column] = values
        else:
            out[column] = out[column].str.replace(r"^'(?=[=+\-@])", "", regex=True)
    for column in ("break_even", "beyond_history"):
        if column in out.columns:
            out[column] = out[column].astype(str).str.lower() == "true"
    return out


@dataclass(frozen=True)
class Headline:
    """The allocation in one paragraph: budget, KPI now and recommended, how sure, and how
    the draws guarded it."""

    budget: float
    periods: int
    kpi_current: float
    kpi: float
    uplift_range: tuple[float, float] | None
    probability_better: float | None
    method: str | None
    status: str | None
    gap: float | None
    guard: str | None
    notes: tuple[str, ...]

    @property
    def uplift(self) -> float:
        return self.kpi - self.kpi_current


def headline(inputs: ReportInputs) -> Headline | None:
    if inputs.allocation is None:
        return None
    frame, summary = inputs.allocation, inputs.summary or {}
    uncertainty = summary.get("uncertainty") or {}
    uplift = uncertainty.get("uplift") if isinstance(uncertainty, dict) else None
    probability = uncertainty.get("probability_better") if isinstance(uncertainty, dict) \
        else None
    return Headline(budget=float(summary.get("budget", frame["spend"].sum())),
                    periods=inputs.periods, kpi_current=float(frame["kpi_current"].sum()),
                    kpi=float(frame["kpi"].sum()),
                    uplift_range=(float(uplift["p10"]), float(uplift["p90"])) if uplift else None,
                    probability_better=None if probability is None else float(probability),
                    method=summary.get("method"), status=summary.get("status"),
                    gap=summary.get("gap"), guard=summary.get("guard"),
                    notes=tuple(summary.get("notes", ())))


def waterfall(inputs: ReportInputs) -> pd.DataFrame | None:
    """Where the KPI change comes from: each channel's change, largest first."""
    if inputs.allocation is None:
        return None
    frame = inputs.channel_allocation
    change = pd.DataFrame({"channel": frame["channel"],
                           "change": frame["kpi"] - frame["kpi_current"]})
    return change.reindex(change["change"].abs().sort_values(ascending=False).index)


@dataclass(frozen=True)
class CurvePanel:
    """One channel's steady-state curve per period, with what the report marks on it."""

    channel: str
    curve: pd.DataFrame  # spend, kpi (+ kpi_p10, kpi_p90)
    current: float | None
    recommended: float | None
    observed: tuple[float, float] | None
    flags: tuple[str, ...]


def curve_panels(inputs: ReportInputs) -> list[CurvePanel]:
    """Every channel's curve, current and recommended spend per period, the spend range its
    history covered and its warnings (beyond history, weakly identified)."""
    model = inputs.model
    names, current, observed = _channel_facts(model)
    reach = np.fmax(np.nan_to_num(current, nan=0.0), np.nan_to_num(observed[:, 1], nan=0.0))
    recommended = {}
    beyond = set()
    allocation = inputs.channel_allocation
    if allocation is not None:
        per_period = allocation.set_index("channel")["spend"] / inputs.periods
        recommended = per_period.to_dict()
        reach = np.fmax(reach, [recommended.get(name, 0.0) for name in names])
        if "beyond_history" in allocation.columns:
            beyond = set(allocation.loc[allocation["beyond_history"], "channel"])
    if model.cells is None:
        reach = np.where(reach > 0, REACH * reach, default_reach(model))
        frame = curves_frame(model, points=CURVE_POINTS, reach=reach)
    else:
        frame = channel_curves_frame(model, CURVE_POINTS, REACH * reach)
    warnings = model.fit.warnings if model.fit else ()
    panels = []
    for i, name in enumerate(names):
        flags = [w for w in warnings if f"'{name}'" in w]
        if name in beyond:
            flags.insert(0, "recommended beyond the spend its history shows")
        low, high = observed[i, 0], observed[i, 1]
        panels.append(CurvePanel(
            channel=name, curve=frame[frame["channel"] == name].drop(columns="channel"),
            current=None if np.isnan(current[i]) else float(current[i]),
            recommended=recommended.get(name),
            observed=None if np.isnan(high) else (float(low), float(high)), flags=tuple(flags)))
    return panels


def _channel_facts(model: MediaModel):
    """Per channel its name, current spend and observed (min, max) per period; a geo model's
    summed over its geos (the observed range: the sum of the cells' smallest and largest)."""
    if model.cells is None:
        return model.names, model.current_spend, model.observed[:, :2]
    cells = model.cells
    current = cells.by_channel(np.nan_to_num(model.current_spend, nan=0.0))
    observed = np.column_stack([cells.by_channel(model.observed[:, j]) for j in (0, 1)])
    return cells.channels, current, observed


def efficiency_word(model: MediaModel) -> str:
    """ROI for revenue, CPA for conversions."""
    return "CPA" if model.kpi_type == KPI_CONVERSIONS else "ROI"
