"""Recommendations a planner can trust (issue 10), measured on generated histories.

Histories from known curves (156 weeks, 5 or 6 channels, 4 % noise, adstock, trend, season,
promo), 20 bootstrap draws each, the default (guarded) answer within ±50 % of each channel's
current spend, scored under the TRUE curves. The populations of benchmarks/trust.py: varied
truths (every history's Hill curves, decays and ROIs drawn at random, ``random_wide_truth``),
the one wide truth (two channels whose effects vary 0.1-0.25x the noise) and the demo's curves
on the same baseline (weak signal: every effect below 0.3x the noise). With lift tests: one
per channel drawn from the truth (10 % standard error).
"""

import warnings

import numpy as np
import pytest
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

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]
QUARTER, HISTORIES, DRAWS, TEST_ERROR = 13, 24, 20, 0.1


def advice_on_generated_histories(tmp_path, truths, with_tests: bool):
    """Per history: the share of the achievable uplift captured, whether the uplift's p10-p90
    covers the true uplift, and the share of the lift tests reproduced within 3 se."""
    captured, covered, reproduced = [], [], []
    for seed, truth in enumerate(truths):
        rules = constraints_from_dict(
            {"channels": {n: {"max_change": 0.5} for n in truth.names}}, "rules")
        true_kpi = lambda spend: float(truth.horizon_curves(QUARTER).value(spend).sum())
        current = truth.current_spend * QUARTER
        achievable = (allocate(truth, periods=QUARTER, constraints=rules).total_kpi
                      - true_kpi(current))
        path = tmp_path / f"h{seed}.csv"
        simulate_wide_history(truth, seed=seed).to_csv(path, index=False)
        history = load_wide_history(path, date="date", kpi="revenue", controls=("promo",),
                                    channels={n: f"{n}_spend" for n in truth.names})
        tests = (truthful_lift_tests(truth, seed=100 + seed, error=TEST_ERROR)
                 if with_tests else ())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit_wide_history(history, bootstrap=DRAWS, lift_tests=tests)
        result = allocate(model.with_current_spend(truth.current_spend), periods=QUARTER,
                          constraints=rules)
        uplift = true_kpi(result.spend) - true_kpi(current)
        low, _, high = result.uncertainty.uplift
        captured.append(uplift / achievable)
        covered.append(low <= uplift <= high)
        reproduced += [t.misses_by <= 3 for t in model.fit.lift_tests]
    return np.array(captured), np.array(covered), np.array(reproduced)


def varied_truths():
    return [random_wide_truth(1000 + seed) for seed in range(HISTORIES)]


def test_on_varied_truths_the_default_advice_loses_no_money_and_its_range_covers(tmp_path):
    captured, covered, _ = advice_on_generated_histories(tmp_path, varied_truths(), False)
    assert (captured < 0).sum() <= 1  # measured: 0 of 24
    assert covered.mean() >= 0.65  # measured: 17 of 24 (71 %)
    assert np.median(captured) >= 0.85  # measured: 0.866 (0.874 with the CLI's 50 draws)


def test_on_varied_truths_one_lift_test_per_channel_lifts_the_capture_above_0_92(tmp_path):
    captured, covered, reproduced = advice_on_generated_histories(tmp_path, varied_truths(),
                                                                  True)
    assert (captured < 0).sum() == 0
    assert np.median(captured) >= 0.92  # measured: 0.978
    assert reproduced.mean() >= 0.9  # measured: all
    assert covered.mean() >= 0.6  # measured: 15 of 24 (62 %; 71 % with 50 draws)


def test_on_the_wide_truth_the_default_advice_loses_no_money_and_its_range_covers(tmp_path):
    captured, covered, _ = advice_on_generated_histories(
        tmp_path, [wide_truth_model()] * HISTORIES, False)
    assert (captured < 0).sum() <= 2  # measured: 2 of 24 (1 with the CLI's 50 draws)
    assert covered.mean() >= 0.7  # measured: 17 of 24 (71 %)
    assert np.median(captured) >= 0.45  # measured: 0.465; the data leave little (method.md)


def test_where_the_signal_is_weak_the_guard_holds_and_the_range_says_so(tmp_path):
    """Half the benchmark's 24 histories (six channels each: the slowest to fit)."""
    captured, covered, _ = advice_on_generated_histories(
        tmp_path, [demo_truth_model()] * (HISTORIES // 2), False)
    assert (captured < 0).sum() <= 1  # measured: 1 of 12 (9 with the earlier share prior)
    assert covered.mean() >= 0.8  # measured: 11 of 12 (92 %; 25 % with the earlier prior)
