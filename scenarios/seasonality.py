"""Seasonality files: response multipliers per period (and optionally per channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.validation import did_you_mean

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
        line = row + 2
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
