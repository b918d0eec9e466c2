"""Writing results as CSV and JSON files (each an output set of one; callers may nest them).

Amounts are written to the cent and ratios with 10 significant digits; text cells that a
spreadsheet would run as a formula (starting with =, +, - or @) get a leading apostrophe.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from budgetopt.optimizer.files.outputs import output_set, write_text
from budgetopt.optimizer.result.allocation import AllocationResult

__all__ = ["write_csv", "write_allocation", "write_json", "escape_formulas"]

FLOAT_FORMAT = "%.10g"
FORMULA_STARTS = ("=", "+", "-", "@")
CENTS = 2  # money and KPI amounts are written to the cent
AMOUNT_COLUMNS = {"current_spend", "spend", "change", "kpi_current", "kpi", "lower", "upper",
                  "budget", "kpi_vs_base", "kpi_p10", "kpi_p90"}


def rounded_amounts(frame: pd.DataFrame) -> pd.DataFrame:
    """Amount columns (and ``spend_<channel>``) to the cent; ratios keep their digits. (A
    column's cents may then add up to its exact total give or take a few cents.)"""
    amounts = [c for c in frame.columns if (c in AMOUNT_COLUMNS or str(c).startswith("spend_"))
               and pd.api.types.is_float_dtype(frame[c])]
    return frame.round(dict.fromkeys(amounts, CENTS)) if amounts else frame


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting like a spreadsheet formula, prefixed with ``'``."""
    text = frame.select_dtypes(include=["object", "string"]).columns
    if text.empty:
        return frame
    escaped = frame.copy()
    for column in text:
        values = escaped[column]
        risky = values.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
        escaped[column] = values.where(~risky, "'" + values.astype(str))
    return escaped


def formatted_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns as text with FLOAT_FORMAT (empty where NaN): one pass per column over
    plain floats, several times faster than pandas' per-cell ``float_format``."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats:
        return frame
    out = frame.copy()
    for column in floats:
        values = out[column].to_numpy(float)
        text = np.array([FLOAT_FORMAT % v for v in values.tolist()], dtype=object)
        text[np.isnan(values)] = ""
        out[column] = text
    return out


def write_csv(frame: pd.DataFrame, path, *, cents: bool = True) -> None:
    """``frame`` as CSV; ``cents=False`` keeps every number's 10 significant digits (a table
    of a model, such as its curves, rather than money to pay)."""
    with output_set() as outputs:
        formatted_numbers(escape_formulas(rounded_amounts(frame) if cents else frame)).to_csv(
            outputs.path(path), index=False)


def write_allocation(result: AllocationResult, path) -> None:
    """allocation.csv: one row per channel, contract columns, horizon totals."""
    write_csv(result.to_frame(), path)


def write_json(data: dict, path) -> None:
    write_text(path, json.dumps(data, indent=2, default=float) + "\n")
