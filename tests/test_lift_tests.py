"""Experiment calibration (issue 10, item 4): lift tests as measurements in the fit."""

import warnings

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.lift_tests import read_lift_tests
from budgetopt.optimizer.history.loaders import load_wide_history
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.synthetic import (
    simulate_wide_history,
    truthful_lift_tests,
    wide_truth_model,
)
from conftest import run

pytestmark = pytest.mark.slow
TRUTH = wide_truth_model()
STEADY = TRUTH.steady_state_curves()


def history(tmp_path, seed=5):
    path = tmp_path / "h.csv"
    simulate_wide_history(TRUTH, seed=seed).to_csv(path, index=False)
    return path, load_wide_history(path, date="date", kpi="revenue", controls=("promo",),
                                   channels={n: f"{n}_spend" for n in TRUTH.names})


def truthful_tests(path):
    """One steady-state test per channel (+30 % of current spend, lift from the truth, 10 %
    standard error), written as a lift-test CSV."""
    columns = ("channel", "spend", "spend_change", "lift", "standard_error")
    pd.DataFrame([{c: getattr(t, c) for c in columns} for t in truthful_lift_tests(TRUTH)]
                 ).to_csv(path, index=False)
    return path


def test_lift_tests_pull_the_curves_to_the_experiments(tmp_path):
    path, loaded = history(tmp_path)
    tests = read_lift_tests(truthful_tests(tmp_path / "lift.csv"), loaded.channels,
                            loaded.dates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = fit_wide_history(loaded, bootstrap=0)
        calibrated = fit_wide_history(loaded, bootstrap=0, lift_tests=tests)
    true = STEADY.marginal(TRUTH.current_spend)
    error = lambda model: np.abs(model.steady_state_curves().marginal(TRUTH.current_spend)
                                 / true - 1)
    assert np.median(error(calibrated)) < np.median(error(plain))
    reproduced = [t.misses_by <= 3 for t in calibrated.fit.lift_tests]
    assert np.mean(reproduced) >= 0.9 and len(reproduced) == len(TRUTH.names)


def test_lift_tests_through_the_cli_with_a_contradicted_one_named(tmp_path):
    path, _ = history(tmp_path)
    tests = truthful_tests(tmp_path / "lift.csv")
    frame = pd.read_csv(tests)
    frame.loc[0, "lift"] = -5 * abs(frame.loc[0, "lift"])  # tv "lost" KPI: the data disagree
    frame.loc[0, "standard_error"] = 0.01 * abs(frame.loc[0, "lift"])
    frame.to_csv(tests, index=False)
    out = tmp_path / "m.json"
    result = run("fit", path, "--date", "date", "--kpi", "revenue", "--controls", "promo",
                 "--channels", ",".join(f"{n}={n}_spend" for n in TRUTH.names),
                 "--bootstrap", 0, "--lift-tests", tests, "--out", out)
    assert result.exit_code == 0, result.output
    assert "lift tests (KPI change per period):" in result.output
    assert "lift test on line 2 (tv): the fit predicts" in result.output
    assert len(read_model(out).fit.lift_tests) == 5


@pytest.mark.parametrize("row,message", [
    ("tvv,60000,18000,5000,500", "line 2: channel 'tvv' is not fitted; did you mean 'tv'?"),
    ("tv,60000,18000,5000,0", "line 2, column 'standard_error': must be > 0"),
    ("tv,60000,18000,5000,500,2030-01-01,2030-02-01", "line 2: the window 2030-01-01 to "
                                                       "2030-02-01 lies outside the history"),
])
def test_bad_lift_tests_are_named(tmp_path, row, message):
    _, loaded = history(tmp_path)
    path = tmp_path / "lift.csv"
    header = "channel,spend,spend_change,lift,standard_error"
    path.write_text(header + (",start,end" if row.count(",") > 4 else "") + "\n" + row + "\n")
    with pytest.raises(InputError, match=message):
        read_lift_tests(path, loaded.channels, loaded.dates)


def test_a_window_test_is_predicted_over_its_window(tmp_path):
    path, loaded = history(tmp_path)
    window = tmp_path / "window.csv"
    window.write_text("channel,spend,spend_change,lift,standard_error,start,end\n"
                      "search,25000,-25000,-20000,4000,2022-06-06,2022-07-25\n")
    tests = read_lift_tests(window, loaded.channels, loaded.dates)
    assert tests[0].window == (22, 29)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_wide_history(loaded, bootstrap=0, lift_tests=tests)
    predicted = model.fit.lift_tests[0].predicted
    assert predicted < 0  # going dark in the window lowers the KPI there
