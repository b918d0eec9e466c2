"""Recommendations a planner can trust (issue 10), measured on generated histories.

24 histories from known curves (156 weeks, 5 channels, 4 % noise, adstock + Hill and
logistic curves, trend, season, promo), 20 bootstrap draws each, the default (guarded) answer
within ±50 % of each channel's current spend, scored under the TRUE curves; with and without
one lift test per channel drawn from the truth (10 % standard error).
"""

import warnings

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_wide_history
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.synthetic import (
    simulate_wide_history,
    truthful_lift_tests,
    wide_truth_model,
)

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]
TRUTH = wide_truth_model()
QUARTER, HISTORIES, DRAWS, TEST_ERROR = 13, 24, 20, 0.1
RULES = constraints_from_dict({"channels": {n: {"max_change": 0.5} for n in TRUTH.names}}, "r")


def true_kpi(spend) -> float:
    return float(TRUTH.horizon_curves(QUARTER).value(spend).sum())


def advice_on_generated_histories(tmp_path, with_tests: bool):
    """Per history: the share of the achievable uplift captured, whether the uplift's p10-p90
    covers the true uplift, and the share of the lift tests reproduced within 3 se."""
    current = TRUTH.current_spend * QUARTER
    achievable = allocate(TRUTH, periods=QUARTER, constraints=RULES).total_kpi - true_kpi(current)
    captured, covered, reproduced = [], [], []
    for seed in range(HISTORIES):
        path = tmp_path / f"h{seed}.csv"
        simulate_wide_history(TRUTH, seed=seed).to_csv(path, index=False)
        history = load_wide_history(path, date="date", kpi="revenue", controls=("promo",),
                                    channels={n: f"{n}_spend" for n in TRUTH.names})
        tests = (truthful_lift_tests(TRUTH, seed=100 + seed, error=TEST_ERROR)
                 if with_tests else ())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit_wide_history(history, bootstrap=DRAWS, lift_tests=tests)
        result = allocate(model.with_current_spend(TRUTH.current_spend), periods=QUARTER,
                          constraints=RULES)
        uplift = true_kpi(result.spend) - true_kpi(current)
        low, _, high = result.uncertainty.uplift
        captured.append(uplift / achievable)
        covered.append(low <= uplift <= high)
        reproduced += [t.misses_by <= 3 for t in model.fit.lift_tests]
    return np.array(captured), np.array(covered), np.array(reproduced)


def test_the_default_advice_loses_no_money_and_its_uplift_range_covers_the_truth(tmp_path):
    captured, covered, _ = advice_on_generated_histories(tmp_path, with_tests=False)
    assert (captured < 0).sum() <= 1  # measured: 1 of 24
    assert covered.mean() >= 0.7  # measured: 19 of 24 (79 %); issue 10 asks 65 %
    assert np.median(captured) >= 0.58  # measured: 0.614; issue 10 asks 0.85 (not met)


def test_one_lift_test_per_channel_lifts_the_capture_above_0_92(tmp_path):
    captured, covered, reproduced = advice_on_generated_histories(tmp_path, with_tests=True)
    assert (captured < 0).sum() == 0
    assert np.median(captured) >= 0.92  # measured: 0.969
    assert reproduced.mean() >= 0.9
    assert covered.mean() >= 0.75  # measured: 20 of 24 (83 %)
