"""Writing results as CSV and JSON files (each an output set of one; callers may nest them).

Text cells that a spreadsheet would run as a formula (starting with =, +, - or @) are written
with a leading apostrophe.
"""

from __future__ import annotations

import json

import pandas as pd
from budgetopt.optimizer.files.outputs import output_set, write_text
from budgetopt.optimizer.result.allocation import AllocationResult

__all__ = ["write_csv", "write_allocation", "write_json", "escape_formulas"]

FLOAT_FORMAT = "%.10g"
FORMULA_STARTS = ("=", "+", "-", "@")


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting like a spreadsheet formula, prefixed with ``'``."""
    text = frame.select_dtypes(include=["object", "string"]).columns
    if text.empty:
        return frame
    escaped = frame.copy()
    for column in text:
        values = escaped[column]
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        escaped[column] = values.where(~risky, "'" + values.astype(str))
    return escaped


def write_csv(frame: pd.DataFrame, path) -> None:
    with output_set() as outputs:
        escape_formulas(frame).to_csv(outputs.path(path), index=False,
                                      float_format=FLOAT_FORMAT)


def write_allocation(result: AllocationResult, path) -> None:
    """allocation.csv: one row per channel, contract columns, horizon totals."""
    write_csv(result.to_frame(), path)


def write_json(data: dict, path) -> None:
    write_text(path, json.dumps(data, indent=2, default=float) + "\n")
