"""Writing results as CSV and JSON files (atomically)."""

from __future__ import annotations

import json

import pandas as pd
from budgetopt.optimizer.files.atomic import atomic_path, atomic_write_text
from budgetopt.optimizer.result.allocation import AllocationResult

__all__ = ["write_csv", "write_allocation", "write_json"]

FLOAT_FORMAT = "%.10g"


def write_csv(frame: pd.DataFrame, path) -> None:
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, float_format=FLOAT_FORMAT)


def write_allocation(result: AllocationResult, path) -> None:
    """allocation.csv: one row per channel, contract columns, horizon totals."""
    write_csv(result.to_frame(), path)


def write_json(data: dict, path) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=float) + "\n")
