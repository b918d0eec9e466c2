"""Fitting long histories generated from known curves recovers what decisions depend on."""

from dataclasses import replace

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.fit.long import CurveFitter, NotFittedError, fit_long_history
from budgetopt.optimizer.history.loaders import load_long_history
from budgetopt.optimizer.synthetic import demo_truth_model, simulate_long_history


@pytest.fixture(scope="module")
def truth():
    return demo_truth_model()


def fitted_model(truth, tmp_path, seed):
    path = tmp_path / f"history{seed}.csv"
    simulate_long_history(truth, seed=seed).to_csv(path, index=False)
    return fit_long_history(load_long_history(path, kpi="revenue"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_marginal_roi_and_quality(truth, tmp_path, seed):
    model = fitted_model(truth, tmp_path, seed)
    assert model.fit.r2 > 0.9
    order = [model.names.index(name) for name in truth.names]
    # compare steady-state marginal ROI at the truth's current spend
    x = truth.current_spend
    true_mroi = truth.steady_state_curves().marginal(x)
    fitted_mroi = model.steady_state_curves().subset(order).marginal(x)
    relative = np.abs(fitted_mroi - true_mroi) / true_mroi
    assert np.median(relative) < 0.15
    assert np.all(relative < 0.5)


@pytest.mark.parametrize("seed", [4, 5])
def test_recommendation_from_fitted_curves_gains_under_the_true_curves(truth, tmp_path, seed):
    model = fitted_model(truth, tmp_path, seed)
    order = [model.names.index(name) for name in truth.names]
    model = model.with_current_spend(truth.current_spend[np.argsort(order)])
    recommended = allocate(model, periods=13).spend[order]
    # the truth's best plan within the same history (no channel beyond the spend it showed)
    best = allocate(replace(truth, observed=model.observed[order]), periods=13)
    true_curves = truth.horizon_curves(13)
    current = truth.current_spend * 13
    achievable = best.total_kpi - true_curves.value(current).sum()
    gained = true_curves.value(recommended).sum() - true_curves.value(current).sum()
    assert gained >= 0.7 * achievable


def test_fitter_is_deterministic_and_predicts(truth):
    rng = np.random.default_rng(0)
    spend = rng.uniform(0, 2000, 120)
    outcome = 3000 * (1 - np.exp(-spend / 800)) * (1 + 0.03 * rng.standard_normal(120))
    first = CurveFitter(adstock=False).fit(spend, outcome)
    second = CurveFitter(adstock=False).fit(spend, outcome)
    assert first.family_ == second.family_ and first.beta_ == second.beta_
    assert first.r2_ > 0.9
    assert first.predict(np.array([800.0]))[0] == pytest.approx(3000 * (1 - np.exp(-1)), rel=0.1)


def test_unfitted_fitter_refuses_to_predict():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CurveFitter().predict([1.0])


def test_channel_that_never_spends_is_an_error(truth, tmp_path):
    frame = simulate_long_history(truth, periods=40)
    frame.loc[frame["channel"] == "tv", "spend"] = 0.0
    path = tmp_path / "h.csv"
    frame.to_csv(path, index=False)
    from budgetopt.optimizer.errors import InputError
    with pytest.raises(InputError, match="channel 'tv': the channel never spends"):
        fit_long_history(load_long_history(path, kpi="revenue"))


def test_fitted_model_stores_planning_inputs(truth, tmp_path):
    model = fitted_model(truth, tmp_path, 9)
    assert np.all(model.carry_in > 0)
    assert np.all(model.current_spend > 0)
    assert set(model.fit.channels) == set(truth.names)
    assert model.period == "week"
