"""Lift tests (experiments) that calibrate a fit: ``channel,spend,spend_change,lift,
standard_error`` and optionally ``start,end``.

Per period: at a spend of ``spend``, changing it by ``spend_change`` changed the KPI by
``lift``, measured with ``standard_error``. With ``start,end`` (dates inside the history) the
test ran over that window and the prediction is the mean per-period KPI change there under the
adstock dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.files.checks import did_you_mean, table_line
from budgetopt.optimizer.history.tables import parse_dates, read_table
from budgetopt.optimizer.settings import MAX_AMOUNT

__all__ = ["LiftTest", "read_lift_tests", "REQUIRED", "CONTRADICTED"]

REQUIRED = ("channel", "spend", "spend_change", "lift", "standard_error")
CONTRADICTED = 3.0  # a test the fit misses by more than this many standard errors is named


@dataclass(frozen=True)
class LiftTest:
    """One experiment; ``window`` is (first, last) period index of the history, or None."""

    channel: str
    spend: float
    spend_change: float
    lift: float
    standard_error: float
    window: tuple[int, int] | None = None
    line: int = 0

    @property
    def label(self) -> str:
        return f"lift test on line {self.line} ({self.channel})"


def read_lift_tests(path, channels, dates: pd.DatetimeIndex) -> tuple[LiftTest, ...]:
    """The tests of a file, checked against the fitted channels and the history's dates."""
    frame = read_table(path, kind="lift-test")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a lift-test file has "
                         f"{','.join(REQUIRED)} and may have start,end.")
    problems, tests = [], []
    windowed = "start" in frame.columns or "end" in frame.columns
    starts = parse_dates(frame["start"]) if "start" in frame.columns else None
    ends = parse_dates(frame["end"]) if "end" in frame.columns else None
    for i, row in frame.iterrows():
        line = table_line(int(i))
        name = row["channel"]
        if name not in channels:
            problems.append(f"line {line}: channel '{name}' is not fitted; "
                            f"{did_you_mean(name, channels, 'fitted: ' + ', '.join(channels))}")
            continue
        numbers = {}
        for column in REQUIRED[1:]:
            value = pd.to_numeric(row[column], errors="coerce")
            if not (np.isfinite(value) and abs(value) <= MAX_AMOUNT):
                problems.append(f"line {line}, column '{column}': {row[column]!r} is not a number")
            numbers[column] = float(value)
        if len(numbers) < 4 or any(np.isnan(v) for v in numbers.values()):
            continue
        if not numbers["standard_error"] > 0:
            problems.append(f"line {line}, column 'standard_error': must be > 0, got "
                            f"{numbers['standard_error']:g}")
        if numbers["spend"] < 0 or numbers["spend"] + numbers["spend_change"] < 0:
            problems.append(f"line {line}: spend and spend + spend_change must be >= 0")
        if numbers["spend_change"] == 0:
            problems.append(f"line {line}, column 'spend_change': 0 changes nothing")
        window = None
        if windowed:
            window = _window(starts[i] if starts is not None else pd.NaT,
                             ends[i] if ends is not None else pd.NaT, dates, line, problems)
        tests.append(LiftTest(channel=name, spend=numbers["spend"],
                              spend_change=numbers["spend_change"], lift=numbers["lift"],
                              standard_error=numbers["standard_error"], window=window,
                              line=line))
    if problems:
        raise InputError.collected(f"{path}: invalid lift tests:", problems)
    if not tests:
        raise InputError(f"{path}: no lift tests below the header.")
    return tuple(tests)


def _window(start, end, dates: pd.DatetimeIndex, line: int, problems: list[str]):
    if pd.isna(start) and pd.isna(end):
        return None
    if pd.isna(start) or pd.isna(end) or end < start:
        problems.append(f"line {line}: give start and end as dates, start <= end")
        return None
    if start < dates[0] or end > dates[-1] + (dates[-1] - dates[-2]):
        problems.append(f"line {line}: the window {start:%Y-%m-%d} to {end:%Y-%m-%d} lies "
                        f"outside the history ({dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d})")
        return None
    first = int(np.searchsorted(dates, start, side="right") - 1)
    last = int(np.searchsorted(dates, end, side="right") - 1)
    return max(first, 0), max(last, first)
