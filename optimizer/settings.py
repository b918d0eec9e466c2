"""Defaults and limits of the library, as named constants (policy lives here, not in the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SolverSettings", "MAX_AMOUNT", "MAX_HORIZON_PERIODS", "MAX_PLAN_PERIODS",
           "MAX_PLAN_CELLS", "MAX_FRONTIER_STEPS", "DATE_RANGE", "DEFAULT_GAP_TOLERANCE",
           "PLAN_GAP_TOLERANCE", "DEFAULT_TIME_LIMIT", "MAX_LISTED", "SCHEDULER_TIMEOUT",
           "DRAWS_PER_PIECE", "PERIODS_PER_YEAR",
           "periods_per_year", "quarter_periods", "plural"]

DEFAULT_GAP_TOLERANCE = 1e-6  # relative optimality gap of allocations and frontiers
PLAN_GAP_TOLERANCE = 1e-4  # a plan's MILP with S-curves closes 1e-6 slowly; 0.01 % is far below
#                            the model's error
DEFAULT_TIME_LIMIT = 60.0  # seconds before a search reports the gap it reached
MAX_LISTED = 5  # rows or channels named per kind of problem in one error message
MAX_AMOUNT = 1e15  # largest money or KPI amount accepted (floating point keeps cents below it)
MAX_HORIZON_PERIODS = 5200  # periods a steady-state horizon may span (a century of weeks)
MAX_PLAN_PERIODS = 520  # periods a per-period plan may span (ten years of weeks)
MAX_PLAN_CELLS = 200_000  # channel x period spend variables of one plan
MAX_FRONTIER_STEPS = 10_000  # budgets of one frontier
DATE_RANGE = ("1900-01-01", "2200-12-31")  # dates outside are typos, not history
SCHEDULER_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before the run stops
DRAWS_PER_PIECE = 5  # bootstrap refits sent to a worker together (one copy of the fitter)



@dataclass(frozen=True)
class SolverSettings:
    """Optimality gap at which a search stops, and seconds before it reports the gap reached.

    Every sub-solve (hints, infeasibility explanations, duals) takes its time from the same
    limit."""

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE
    time_limit: float = DEFAULT_TIME_LIMIT


PERIODS_PER_YEAR = {"day": 365, "week": 52, "month": 12}


def periods_per_year(period: str) -> int:
    """Periods in a year for a model's ``period`` ("week", "day", "month" or "N days")."""
    if period in PERIODS_PER_YEAR:
        return PERIODS_PER_YEAR[period]
    days = period.split()[0]
    return max(1, round(365.25 / float(days))) if days.isdigit() and int(days) > 0 else 52


def quarter_periods(period: str) -> int:
    """Periods in a quarter: the window over which the current spend is the history's mean."""
    return max(1, round(periods_per_year(period) / 4))


def plural(period: str, count: int) -> str:
    """"13 weeks", "1 week", "13 periods of 14 days"."""
    if period in ("week", "day", "month", "period"):
        return f"{count:,} {period}{'s' if count != 1 else ''}"
    return f"{count:,} period{'s' if count != 1 else ''} of {period}"
