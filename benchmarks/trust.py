"""Trust on generated histories (issue 10): capture, losses and uplift coverage, with and
without lift tests drawn from the true curves; beside the guarded capture, the capture of the
point fit's own optimum (``--point-estimate``), which shows what the guard costs.

Run: python benchmarks/trust.py [histories]  (default 24; about 3 s a history and setting)
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_wide_history
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.synthetic import (
    simulate_wide_history,
    truthful_lift_tests,
    wide_truth_model,
)

TRUTH = wide_truth_model()
QUARTER, DRAWS, TEST_ERROR = 13, 20, 0.1
RULES = constraints_from_dict({"channels": {n: {"max_change": 0.5} for n in TRUTH.names}}, "r")


def true_kpi(spend) -> float:
    return float(TRUTH.horizon_curves(QUARTER).value(spend).sum())


def main(histories: int = 24) -> None:
    current = TRUTH.current_spend * QUARTER
    achievable = allocate(TRUTH, periods=QUARTER, constraints=RULES).total_kpi - true_kpi(current)
    rows = {"default (guarded)": [], "with lift tests": []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(histories):
            path = Path(folder) / "h.csv"
            simulate_wide_history(TRUTH, seed=seed).to_csv(path, index=False)
            history = load_wide_history(path, date="date", kpi="revenue", controls=("promo",),
                                        channels={n: f"{n}_spend" for n in TRUTH.names})
            measured = truthful_lift_tests(TRUTH, seed=100 + seed, error=TEST_ERROR)
            for label, tests in (("default (guarded)", ()), ("with lift tests", measured)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = fit_wide_history(history, bootstrap=DRAWS, lift_tests=tests)
                model = model.with_current_spend(TRUTH.current_spend)
                result = allocate(model, periods=QUARTER, constraints=RULES)
                point = allocate(model, periods=QUARTER, constraints=RULES, point_estimate=True)
                uplift = true_kpi(result.spend) - true_kpi(current)
                low, _, high = result.uncertainty.uplift
                reproduced = np.mean([t.misses_by <= 3 for t in model.fit.lift_tests]) \
                    if tests else np.nan
                rows[label].append((uplift / achievable,
                                    (true_kpi(point.spend) - true_kpi(current)) / achievable,
                                    low <= uplift <= high, reproduced))
    print(f"load average {os.getloadavg()[0]:.2f}; {histories} histories, {DRAWS} draws")
    print(f"{'setting':<20}{'median capture':>16}{'point fit':>11}{'below current':>15}"
          f"{'p10-p90 covers':>16}{'tests within 3 se':>19}")
    for label, values in rows.items():
        capture, point, covered, reproduced = (np.array(v, float) for v in zip(*values))
        tested = "-" if np.isnan(reproduced).all() else f"{np.nanmean(reproduced):.0%}"
        print(f"{label:<20}{np.median(capture):>16.3f}{np.median(point):>11.3f}"
              f"{int((capture < 0).sum()):>15}{covered.mean():>16.0%}{tested:>19}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
