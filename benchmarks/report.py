"""Benchmark: building the HTML report of 50 channels with 50 parameter draws.

Run: python benchmarks/report.py, or python benchmarks/run.py --only report (a table; the
target is <= 5 s).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.report.page import write_report
from budgetopt.optimizer.report.sections import ReportInputs

CHANNELS, DRAWS, REPEATS = 50, 50, 3


def model_with_draws(seed: int = 0) -> MediaModel:
    rng = np.random.default_rng(seed)
    n = CHANNELS
    beta, k, s = rng.uniform(1e4, 1e5, n), rng.uniform(5e3, 5e4, n), rng.uniform(0.6, 2.5, n)
    decay = rng.uniform(0.1, 0.6, n)
    current = rng.uniform(2e3, 3e4, n)
    model = MediaModel(names=tuple(f"channel{i:02d}" for i in range(n)),
                       curves=CurveSet.from_lists(["hill"] * n, beta, k, s), decay=decay,
                       normalized=np.zeros(n, bool), current_spend=current,
                       carry_in=np.zeros(n),
                       observed=np.column_stack([0 * current, 2 * current, current]))
    noise = lambda: rng.lognormal(0, 0.15, (DRAWS, n))
    draws = ParameterDraws(beta=beta * noise(), k=k * noise(), s=s * noise() ** 0.3,
                           decay=np.clip(decay * noise(), 0, 0.9), peak=np.full((DRAWS, n),
                                                                                  np.nan))
    return replace(model, draws=draws)


def main() -> None:
    model = model_with_draws()
    result = allocate(model, periods=13)
    inputs = ReportInputs(model, allocation=result.to_frame(), summary=result.summary())
    times = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        for _ in range(REPEATS):
            started = time.perf_counter()
            write_report(inputs, path)
            times.append(time.perf_counter() - started)
        size = path.stat().st_size
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'case':<36}{'median s':>10}{'size MB':>10}{'target s':>10}")
    print(f"{'report, 50 channels, 50 draws':<36}{np.median(times):>10.2f}"
          f"{size / 1e6:>10.1f}{5.0:>10.1f}")


if __name__ == "__main__":
    main()
