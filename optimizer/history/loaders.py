"""Loading a spend-and-KPI history from CSV, with every problem reported at once.

Wide: one row per period (date, KPI, one spend column per channel, optional controls).
Long: one row per period and channel (date, channel, spend, attributed KPI).
Geo panel: the wide layout with a geo column, one row per geo and period (Meridian's layout).
Problems name the file, the line (1-based, header is line 1) and the column.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.files.checks import did_you_mean, table_line
from budgetopt.optimizer.history.tables import TableFormat, parse_dates, read_table
from budgetopt.optimizer.settings import MAX_AMOUNT, MAX_LISTED

__all__ = ["History", "TableFormat", "expand_channels", "GeoPanel", "load_wide_history",
           "load_geo_history", "load_long_history", "with_holidays", "MIN_PERIODS"]

MIN_PERIODS = 16  # a curve (3 parameters) plus adstock, with room for a hold-out


@dataclass(frozen=True)
class GeoPanel:
    """A balanced geo panel: ``kpi`` (geos × periods), ``spend`` (geos × periods × channels),
    ``controls`` (geos × periods × columns, names as in the history's controls), population."""

    geos: tuple[str, ...]
    kpi: np.ndarray
    spend: np.ndarray
    controls: np.ndarray
    population: np.ndarray


@dataclass(frozen=True)
class History:
    """Periods in date order. ``spend`` and ``channel_kpi`` are (periods × channels) frames.

    A geo history also holds its ``panel``; ``spend``, ``kpi`` and ``controls`` are then the
    national sums (controls: the mean over geos).
    """

    dates: pd.DatetimeIndex
    spend: pd.DataFrame
    kpi: np.ndarray | None = None
    channel_kpi: pd.DataFrame | None = None
    controls: pd.DataFrame | None = None
    kpi_name: str = "kpi"
    source: str = "history"
    panel: GeoPanel | None = None

    @property
    def channels(self) -> list[str]:
        return list(self.spend.columns)

    def observed_spend(self) -> np.ndarray:
        """(channels, 3): each channel's per-period spend in the history: min, max, mean."""
        spend = self.spend.to_numpy(float)
        return np.column_stack([spend.min(axis=0), spend.max(axis=0), spend.mean(axis=0)])

    def as_panel(self) -> GeoPanel:
        """The history as a geo panel; a national history is a panel of one geo of size 1."""
        if self.panel is not None:
            return self.panel
        controls = (np.zeros((1, len(self), 0)) if self.controls is None
                    else self.controls.to_numpy(float)[None, :, :])
        return GeoPanel(geos=("national",), kpi=np.asarray(self.kpi, float)[None, :],
                        spend=self.spend.to_numpy(float)[None, :, :], controls=controls,
                        population=np.ones(1))

    @property
    def period(self) -> str:
        """'week', 'day', 'month' or 'N days', from the spacing of the first two dates."""
        if len(self.dates) < 2:
            return "period"
        days = (self.dates[1] - self.dates[0]).days
        return {1: "day", 7: "week"}.get(days, "month" if 28 <= days <= 31 else f"{days} days")

    def __len__(self) -> int:
        return len(self.dates)


def load_wide_history(path, *, date: str, kpi: str, channels: dict[str, str],
                      controls: tuple[str, ...] = (),
                      table_format: TableFormat = TableFormat()) -> History:
    """Read a wide history; ``channels`` maps channel name to its spend column (a name that
    is a glob pattern such as ``mdsp_*`` stands for every column it matches)."""
    frame = read_table(path, table_format)
    channels = expand_channels(channels, frame.columns, path, exclude=(date, kpi, *controls))
    _require_columns(frame, path, [date, kpi, *channels.values(), *controls])
    problems: list[str] = []
    dates = _dates(frame, date, path, problems, date_format=table_format.date_format)
    kpi_values = _numeric(frame, kpi, problems)
    spend = {name: _numeric(frame, column, problems, non_negative=True)
             for name, column in channels.items()}
    control_frame = _controls(frame, controls, problems)
    _raise(path, problems)
    order = np.argsort(dates.to_numpy(), kind="stable")
    dates = dates.iloc[order].reset_index(drop=True)
    _check_dates(dates, path, frame.index[order])
    _check_length(len(frame), path)
    spend_frame = pd.DataFrame(spend).iloc[order].reset_index(drop=True)
    return History(dates=pd.DatetimeIndex(dates), spend=spend_frame,
                   kpi=np.asarray(kpi_values)[order],
                   controls=control_frame.iloc[order].reset_index(drop=True),
                   kpi_name=kpi, source=str(path))


def load_geo_history(path, *, date: str, geo: str, kpi: str, channels: dict[str, str],
                     controls: tuple[str, ...] = (), population: str | None = None,
                     table_format: TableFormat = TableFormat()) -> History:
    """Read a geo panel (one row per geo and period); every geo needs every period.

    ``population`` names a column constant within each geo (people, or any size measure); the
    fit works per head. Without it every geo counts as one.
    """
    frame = read_table(path, table_format)
    channels = expand_channels(channels, frame.columns, path,
                               exclude=(date, geo, kpi, *controls, population))
    _require_columns(frame, path, [date, geo, kpi, *channels.values(), *controls,
                                   *([population] if population else [])])
    problems: list[str] = []
    dates = _dates(frame, date, path, problems, unique=False,
                   date_format=table_format.date_format)
    geos = frame[geo].str.strip()
    for i in np.flatnonzero((geos == "").to_numpy())[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{geo}': empty geo name")
    kpi_values = _numeric(frame, kpi, problems)
    spend = np.column_stack([_numeric(frame, column, problems, non_negative=True)
                             for column in channels.values()])
    control_frame = _controls(frame, controls, problems)
    sizes = _numeric(frame, population, problems) if population else np.ones(len(frame))
    for i in np.flatnonzero(~(sizes > 0))[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{population}': population must be > 0")
    _raise(path, problems)
    keys = pd.DataFrame({"geo": geos, "date": dates, "line": table_line(frame.index)})
    duplicated = keys[keys.duplicated(["geo", "date"], keep="first")]
    if len(duplicated):
        raise InputError.collected(f"{path}: duplicate rows for the same geo and date:", [
            f"line {r.line}: geo {r.geo} on {r.date:%Y-%m-%d} appears again"
            for r in duplicated.itertuples()])
    names = tuple(dict.fromkeys(geos))
    periods = pd.DatetimeIndex(sorted(dates.unique()))
    counts = keys.groupby("geo")["date"].nunique()
    short = [f"geo '{g}' has {counts[g]} of the {len(periods)} periods" for g in names
             if counts[g] < len(periods)]
    if short:
        raise InputError.collected(f"{path}: every geo needs a row for every period (fill the "
                                   f"missing ones with spend 0):", short[:10])
    _check_dates(pd.Series(periods), path, None)
    _check_length(len(periods), path)
    for g in names:
        values = sizes[(geos == g).to_numpy()]
        if np.ptp(values) > 1e-9 * values.max():
            raise InputError(f"{path}: column '{population}' changes within geo '{g}'; give "
                             f"each geo one population.")
    order = np.lexsort((dates.to_numpy(), pd.Categorical(geos, names).codes))
    shape = (len(names), len(periods))
    panel = GeoPanel(geos=names, kpi=kpi_values[order].reshape(shape),
                     spend=spend[order].reshape(*shape, len(channels)),
                     controls=control_frame.to_numpy(float)[order].reshape(*shape, -1),
                     population=sizes[order].reshape(shape)[:, 0])
    return History(dates=periods, spend=pd.DataFrame(panel.spend.sum(axis=0),
                                                     columns=list(channels)),
                   kpi=panel.kpi.sum(axis=0),
                   controls=pd.DataFrame(panel.controls.mean(axis=0),
                                         columns=control_frame.columns),
                   kpi_name=kpi, source=str(path), panel=panel)


def load_long_history(path, *, date: str = "date", kpi: str = "kpi", channel: str = "channel",
                      spend: str = "spend", channels: dict[str, str] | None = None,
                      table_format: TableFormat = TableFormat()) -> History:
    """Read a long history (one row per period and channel, KPI attributed to the channel).

    ``channels`` maps model channel names to the names used in the file (all when None).
    """
    frame = read_table(path, table_format)
    _require_columns(frame, path, [date, channel, spend, kpi])
    problems: list[str] = []
    dates = _dates(frame, date, path, problems, unique=False,
                   date_format=table_format.date_format)
    spend_values = _numeric(frame, spend, problems, non_negative=True)
    kpi_values = _numeric(frame, kpi, problems, non_negative=True)
    names = frame[channel].str.strip()
    for i in np.flatnonzero((names == "").to_numpy())[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{channel}': empty channel name")
    _raise(path, problems)
    present = list(dict.fromkeys(names))
    channels = channels or {name: name for name in present}
    missing = [source for source in channels.values() if source not in present]
    if missing:
        raise InputError(f"{path}: column '{channel}' has no rows for channel(s) "
                         f"{', '.join(missing)}; it has {', '.join(present[:12])}.")
    rows = pd.DataFrame({"date": dates, "channel": names, "spend": spend_values,
                         "kpi": kpi_values, "line": table_line(frame.index)})
    rows = rows[rows["channel"].isin(list(channels.values()))]
    duplicated = rows[rows.duplicated(["date", "channel"], keep="first")]
    if len(duplicated):
        raise InputError.collected(f"{path}: duplicate rows for the same date and channel:", [
            f"line {r.line}: {r.channel} on {r.date:%Y-%m-%d} appears again"
            for r in duplicated.itertuples()])
    spend_wide = rows.pivot(index="date", columns="channel", values="spend")
    gaps = spend_wide.isna()
    if gaps.to_numpy().any():
        problems = [f"channel '{c}' has no row for {d:%Y-%m-%d}" for d, c in gaps.stack()
                    [gaps.stack()].index[:20]]
        raise InputError.collected(f"{path}: every channel needs a row for every date:", problems)
    kpi_wide = rows.pivot(index="date", columns="channel", values="kpi")
    order = {source: name for name, source in channels.items()}
    select = list(channels.values())
    _check_dates(pd.Series(spend_wide.index), path, None)
    _check_length(len(spend_wide), path)
    rename = lambda wide: wide[select].rename(columns=order).reset_index(drop=True)
    return History(dates=pd.DatetimeIndex(spend_wide.index), spend=rename(spend_wide),
                   channel_kpi=rename(kpi_wide), kpi_name=kpi, source=str(path))


def expand_channels(channels: dict[str, str], columns, path, exclude=()) -> dict[str, str]:
    """``channels`` with each glob pattern (``mdsp_*``) replaced by the columns it matches."""
    expanded = {}
    for name, column in channels.items():
        if not any(mark in column for mark in "*?["):
            expanded[name] = column
            continue
        matches = [c for c in columns if fnmatch.fnmatchcase(c, column) and c not in exclude]
        if not matches:
            raise InputError(f"{path}: no column matches the channel pattern '{column}'; the "
                             f"columns are {', '.join(list(columns)[:15])}.")
        expanded.update({c: c for c in matches})
    return expanded


def _require_columns(frame: pd.DataFrame, path, columns) -> None:
    problems = []
    for column in dict.fromkeys(columns):
        if column not in frame.columns:
            hint = did_you_mean(column, frame.columns,
                                f"the columns are {', '.join(frame.columns[:15])}")
            problems.append(f"no column '{column}'; {hint}")
    _raise(path, problems)


def _numeric(frame, column, problems, *, non_negative=False) -> np.ndarray:
    raw = frame[column].str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    for i in np.flatnonzero((raw == "").to_numpy())[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{column}': empty cell; fill in a number")
    unreadable = (np.isnan(values) | np.isinf(values)) & (raw != "").to_numpy()
    for i in np.flatnonzero(unreadable)[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{column}': {raw.iloc[i]!r} is not a "
                        f"number")
    for i in np.flatnonzero(np.abs(values) > MAX_AMOUNT)[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{column}': {values[i]:g} is larger than "
                        f"{MAX_AMOUNT:g}; check the units")
    if non_negative:
        for i in np.flatnonzero(values < 0)[:MAX_LISTED]:
            problems.append(f"line {table_line(i)}, column '{column}': negative value "
                            f"{values[i]:g}; spend and outcomes must be >= 0")
    return values


def _dates(frame, column, path, problems, *, unique=True, date_format=None) -> pd.Series:
    raw = frame[column].str.strip()
    dates = parse_dates(raw, date_format, where=f"{path}, column '{column}'")
    for i in np.flatnonzero(dates.isna().to_numpy())[:MAX_LISTED]:
        problems.append(f"line {table_line(i)}, column '{column}': {raw.iloc[i]!r} is not a date "
                        f"(use YYYY-MM-DD)")
    if unique:
        for i in np.flatnonzero((dates.duplicated() & dates.notna()).to_numpy())[:MAX_LISTED]:
            problems.append(f"line {table_line(i)}, column '{column}': date {raw.iloc[i]} "
                            f"appears twice")
    return dates


def _controls(frame, controls, problems) -> pd.DataFrame:
    """Numeric controls as they are; a text control becomes one dummy per non-reference level."""
    columns = {}
    for column in controls:
        raw = frame[column].str.strip()
        for i in np.flatnonzero((raw == "").to_numpy())[:MAX_LISTED]:
            problems.append(f"line {table_line(i)}, column '{column}': empty cell in a "
                            f"control; fill it in (0 for no event)")
        values = pd.to_numeric(raw, errors="coerce")
        if values[raw != ""].notna().all():
            columns[column] = values.to_numpy(float)
            continue
        levels = raw.value_counts().index  # the most frequent level is the reference
        for level in sorted(levels[1:]):
            columns[f"{column}={level}"] = (raw == level).to_numpy(float)
    return pd.DataFrame(columns, index=frame.index)


def _check_dates(dates, path, lines) -> None:
    steps = pd.Series(dates).diff().dropna()
    if steps.empty:
        return
    usual = steps.mode().iloc[0]
    irregular = np.flatnonzero((steps != usual).to_numpy())
    if irregular.size:
        i = irregular[0] + 1
        where = f"line {table_line(lines[i])}: " if lines is not None else ""
        raise InputError(f"{path}: {where}the dates jump from {dates.iloc[i - 1]:%Y-%m-%d} to "
                         f"{dates.iloc[i]:%Y-%m-%d}, but the other periods are {usual.days} "
                         f"day(s) apart; fill the missing periods (spend 0) or remove the row.")


def _check_length(periods: int, path) -> None:
    if periods < MIN_PERIODS:
        raise InputError(f"{path}: only {periods} periods; fitting needs at least {MIN_PERIODS} "
                         f"(two to three years of weeks is typical).")


def _raise(path, problems) -> None:
    if problems:
        raise InputError.collected(f"{path}:", problems)


def with_holidays(history: History, path, *, country: str | None = None) -> History:
    """The history with a ``holidays`` control: holiday days falling in each period.

    The calendar is a CSV with columns ``ds`` (date) and ``holiday`` (name), and optionally
    ``country`` (Prophet's and Robyn's layout); ``country`` keeps only that country's rows.
    """
    frame = read_table(path, kind="holiday calendar")
    _require_columns(frame, path, ["ds", "holiday"])
    problems: list[str] = []
    days = _dates(frame, "ds", path, problems, unique=False)
    _raise(path, problems)
    if country is not None:
        if "country" not in frame.columns:
            raise ParameterError("country", f"needs a 'country' column in {path}.")
        days = days[frame["country"].str.strip() == country]
        if days.empty:
            raise InputError(f"{path}: no holidays for country '{country}'.")
    starts = history.dates
    ends = starts[1:].append(pd.DatetimeIndex([starts[-1] + (starts[-1] - starts[-2])]))
    counts = [float(((days >= start) & (days < end)).sum()) for start, end in zip(starts, ends)]
    controls = history.controls if history.controls is not None else pd.DataFrame(
        index=range(len(history)))
    return History(dates=history.dates, spend=history.spend, kpi=history.kpi,
                   channel_kpi=history.channel_kpi,
                   controls=controls.assign(holidays=counts), kpi_name=history.kpi_name,
                   source=history.source)
