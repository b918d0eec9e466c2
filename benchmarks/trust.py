"""Trust on generated histories (issue 10): capture, losses and uplift coverage, with and
without lift tests drawn from the true curves; beside the guarded capture, the capture of the
point fit's own optimum (``--point-estimate``), which shows what the guard costs.

Three populations of truths: "varied truths" draws every history's curves at random
(``random_wide_truth``: Hill curves, decays 0-0.7, ROIs unrelated to spend); "the wide truth"
keeps one set of curves (``WIDE_TRUTH``, whose social and display effects vary 0.1-0.25x the
noise) and varies only the noise; "weak signal" puts the demo's six curves on the same
baseline (media about 7 % of the KPI, every effect varying at most 0.3x the noise, the
channels' marginal ROIs close: the best move is worth 0.2 % of the KPI), where a fit the noise
misleads loses money unless the guard holds.

Run: python benchmarks/trust.py [histories] [draws]  (default 24 per population and 20 draws,
about 3 s a history and setting; the CLI's default of 50 draws takes about 2.5x as long)
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
    demo_truth_model,
    random_wide_truth,
    simulate_wide_history,
    truthful_lift_tests,
    wide_truth_model,
)

QUARTER, DRAWS, TEST_ERROR = 13, 20, 0.1  # DRAWS: the default here; the CLI fits 50
POPULATIONS = {"varied truths": lambda seed: random_wide_truth(1000 + seed),
               "the wide truth": lambda seed: wide_truth_model(),
               "weak signal": lambda seed: demo_truth_model()}
SETTINGS = ("default (guarded)", "with lift tests")


def score(truth, seed: int, folder: Path, with_tests: bool, draws: int = DRAWS
          ) -> tuple[float, float, bool, float]:
    """One history: guarded and point capture, whether p10-p90 covers the true uplift, and the
    share of lift tests reproduced within 3 se (nan without tests)."""
    rules = constraints_from_dict({"channels": {n: {"max_change": 0.5} for n in truth.names}},
                                  "rules")
    true_kpi = lambda spend: float(truth.horizon_curves(QUARTER).value(spend).sum())
    current = truth.current_spend * QUARTER
    achievable = allocate(truth, periods=QUARTER, constraints=rules).total_kpi - true_kpi(current)
    path = folder / "h.csv"
    simulate_wide_history(truth, seed=seed).to_csv(path, index=False)
    history = load_wide_history(path, date="date", kpi="revenue", controls=("promo",),
                                channels={n: f"{n}_spend" for n in truth.names})
    tests = truthful_lift_tests(truth, seed=100 + seed, error=TEST_ERROR) if with_tests else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_wide_history(history, bootstrap=draws, lift_tests=tests)
    model = model.with_current_spend(truth.current_spend)
    result = allocate(model, periods=QUARTER, constraints=rules)
    point = allocate(model, periods=QUARTER, constraints=rules, point_estimate=True)
    uplift = true_kpi(result.spend) - true_kpi(current)
    low, _, high = result.uncertainty.uplift
    reproduced = np.mean([t.misses_by <= 3 for t in model.fit.lift_tests]) if tests else np.nan
    return (uplift / achievable, (true_kpi(point.spend) - true_kpi(current)) / achievable,
            low <= uplift <= high, reproduced)


def main(histories: int = 24, draws: int = DRAWS) -> None:
    print(f"load average {os.getloadavg()[0]:.2f}; {histories} histories per population, "
          f"{draws} draws")
    print(f"{'truths':<16}{'setting':<20}{'median capture':>16}{'point fit':>11}"
          f"{'below current':>15}{'p10-p90 covers':>16}{'tests within 3 se':>19}")
    with tempfile.TemporaryDirectory() as folder:
        for population, truth_of in POPULATIONS.items():
            for setting in SETTINGS:
                rows = [score(truth_of(seed), seed, Path(folder), setting == SETTINGS[1], draws)
                        for seed in range(histories)]
                capture, point, covered, reproduced = (np.array(v, float) for v in zip(*rows))
                tested = "-" if np.isnan(reproduced).all() else f"{np.nanmean(reproduced):.0%}"
                print(f"{population:<16}{setting:<20}{np.median(capture):>16.3f}"
                      f"{np.median(point):>11.3f}{int((capture < 0).sum()):>15}"
                      f"{covered.mean():>16.0%}{tested:>19}", flush=True)


if __name__ == "__main__":
    main(*(int(value) for value in sys.argv[1:3]))
