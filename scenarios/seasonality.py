"""Seasonality files: response multipliers per period (and optionally per channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.files.checks import did_you_mean, table_line
from budgetopt.optimizer.history.tables import parse_date

__all__ = ["read_seasonality"]


def read_seasonality(path, names, periods: int) -> np.ndarray:
    """Multipliers of shape ``(channels, periods)`` from ``period,multiplier`` or
    ``period,channel,multiplier`` (missing periods and channels get 1)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such seasonality file.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable CSV file ({error}).") from None
    frame.columns = [c.strip() for c in frame.columns]
    if not {"period", "multiplier"} <= set(frame.columns):
        raise InputError(f"{path}: needs columns period,multiplier (or period,channel,"
                         f"multiplier); it has {','.join(frame.columns)}.")
    multipliers = np.ones((len(names), periods))
    index = {name: i for i, name in enumerate(names)}
    seen, problems = set(), []
    for row, record in enumerate(frame.to_dict("records")):
        line = table_line(row)
        try:
            period = int(record["period"])
        except ValueError:
            period = 0
        if not 1 <= period <= periods:
            problems.append(f"line {line}, column 'period': {record['period']!r} is not a "
                            f"period from 1 to {periods}")
            continue
        try:
            value = float(record["multiplier"])
        except ValueError:
            value = -1.0
        if not (np.isfinite(value) and value >= 0):
            problems.append(f"line {line}, column 'multiplier': {record['multiplier']!r} must "
                            f"be a number >= 0")
            continue
        channel = record.get("channel", "").strip()
        if channel and channel not in index:
            problems.append(f"line {line}, column 'channel': the model has no channel "
                            f"'{channel}'; {did_you_mean(channel, names)}".rstrip("; "))
            continue
        key = (period, channel)
        if key in seen:
            problems.append(f"line {line}: period {period}"
                            f"{' for ' + channel if channel else ''} appears twice")
        seen.add(key)
        rows = [index[channel]] if channel else slice(None)
        multipliers[rows, period - 1] = value
    if problems:
        raise InputError.collected(f"{path}:", problems)
    return multipliers


PERIOD_OFFSETS = {"week": pd.DateOffset(weeks=1), "day": pd.DateOffset(days=1),
                  "month": pd.DateOffset(months=1)}


def period_dates(start: str, periods: int, period: str) -> tuple[str, ...]:
    """Start dates of ``periods`` periods of the model's kind from ``start`` (YYYY-MM-DD, or
    day/month/year where a field shows which is the day)."""
    first = parse_date(start, "start")
    if period not in PERIOD_OFFSETS:
        raise ParameterError("start", f"cannot be used: the model's period is {period!r}; dates "
                                      f"can be given for week, day or month periods only.")
    return tuple((first + PERIOD_OFFSETS[period] * k).strftime("%Y-%m-%d")
                 for k in range(periods))


def seasonality_from_model(model, start: str, periods: int) -> pd.DataFrame:
    """``period,date,multiplier`` from the yearly seasonality a wide fit stored in the model.

    The multiplier is the fitted baseline's seasonal level relative to its mean: media response
    is assumed to rise and fall with the demand the baseline shows.
    """
    dates = pd.to_datetime(list(period_dates(start, periods, model.period)))
    if model.seasonality is None:
        raise InputError("the model has no fitted seasonality; fit a wide history "
                         "(budgetopt fit --format wide) to get one.")
    return pd.DataFrame({"period": np.arange(1, periods + 1),
                         "date": list(dates.strftime("%Y-%m-%d")),
                         "multiplier": model.seasonality.multipliers(dates)})
