"""No silent extrapolation (issue 10, item 3): fits store each channel's observed spend, and
recommendations stay inside it unless the rules or --allow-extrapolation say otherwise."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.allocate import allocate, plan_budget
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.fit.wide import implausible_roi_warnings, shape_at_limit
from budgetopt.optimizer.model.dynamics import simulate
from budgetopt.optimizer.model.files import read_model, write_model
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from conftest import run

pytestmark = pytest.mark.cli
DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
MODEL = {"format": "budgetopt-model/1", "period": "week", "channels": [
    {"name": "a", "curve": {"type": "log", "beta": 9000, "k": 100}, "current_spend": 100,
     "observed": {"min": 0, "max": 150, "mean": 90}},
    {"name": "b", "curve": {"type": "log", "beta": 100, "k": 1000}, "current_spend": 100,
     "observed": {"min": 20, "max": 400, "mean": 110}}]}


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(MODEL))
    return path


def test_the_observed_range_round_trips_and_curves_csv_take_observed_max(model_path, tmp_path):
    model = read_model(model_path)
    np.testing.assert_array_equal(model.observed, [[0, 150, 90], [20, 400, 110]])
    write_model(model, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["channels"][0]["observed"] == \
        MODEL["channels"][0]["observed"]
    curves = tmp_path / "curves.csv"
    curves.write_text("channel,type,beta,k,current_spend,observed_max\na,log,9000,100,100,150\n"
                      "b,log,100,1000,100,\n")
    np.testing.assert_array_equal(read_model(curves).observed_max, [150, np.nan])


def test_by_default_no_channel_goes_beyond_its_history(model_path, tmp_path):
    out, summary = tmp_path / "a.csv", tmp_path / "s.json"
    result = run("optimize", model_path, "--budget", 4000, "--periods", 10, "--out", out,
                 "--json", summary)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out).set_index("channel")
    assert frame.loc["a", "spend"] == pytest.approx(1500)  # 150 a week, its history's most
    assert frame.loc["a", "at_bound"] == "history" and not frame["beyond_history"].any()
    assert json.loads(summary.read_text())["beyond_history"] == []


def test_allow_extrapolation_or_an_explicit_max_lifts_the_cap_and_flags_it(model_path, tmp_path):
    out = tmp_path / "a.csv"
    result = run("optimize", model_path, "--budget", 4000, "--periods", 10,
                 "--allow-extrapolation", "--out", out)
    assert result.exit_code == 0
    frame = pd.read_csv(out).set_index("channel")
    assert frame.loc["a", "spend"] > 1500 and frame.loc["a", "beyond_history"]
    assert "beyond history: a spend more per period than their history ever did" in \
        result.output
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.a]\nmax = 3000\n")
    explicit = run("optimize", model_path, "--budget", 4000, "--periods", 10, "--constraints",
                   rules, "--out", out)
    assert explicit.exit_code == 0
    assert pd.read_csv(out).set_index("channel").loc["a", "beyond_history"]


def test_a_budget_the_history_cannot_absorb_names_the_held_channels(model_path):
    model = read_model(model_path)
    with pytest.raises(InfeasibleError, match="a, b stop at the largest spend their history "
                                              "shows: allow extrapolation"):
        allocate(model, 6000, periods=10)
    assert allocate(model, 6000, periods=10, allow_extrapolation=True).total_spend == \
        pytest.approx(6000)


def test_plans_stay_within_the_history_in_every_period(model_path):
    model = read_model(model_path)
    result = plan_budget(model, 2000, 6)
    assert result.spend[0].max() <= 150 + 1e-6
    rules = constraints_from_dict({"channels": {"a": {"max_per_period": 300, "max": 1800}}}, "r")
    lifted = plan_budget(model, 2000, 6, constraints=rules)
    assert lifted.spend[0].max() > 150


@pytest.mark.slow
def test_a_robyn_fit_stores_the_observed_range_and_keeps_inside_it(tmp_path):
    out = tmp_path / "model.json"
    result = run("fit", DATA / "robyn_dt_simulated_weekly.csv", "--date", "DATE", "--kpi",
                 "revenue", "--channels", "tv_S,ooh_S,print_S,facebook_S,search_S",
                 "--bootstrap", 0, "--out", out)
    assert result.exit_code == 0, result.output
    model = read_model(out)
    history = pd.read_csv(DATA / "robyn_dt_simulated_weekly.csv")
    np.testing.assert_allclose(model.observed_max, history[list(model.names)].max())
    allocation = tmp_path / "a.csv"
    optimized = run("optimize", out, "--budget", "+50%", "--periods", 13, "--out", allocation)
    assert optimized.exit_code == 0, optimized.output
    frame = pd.read_csv(allocation).set_index("channel")
    per_week = frame["spend"] / 13
    assert np.all(per_week.to_numpy() <= model.observed_max * (1 + 1e-9) + 0.01)
    assert "fit: channel" in optimized.output  # the fit's warnings come back at optimize time


def test_an_implausible_roi_is_warned_with_its_reason():
    notes = implausible_roi_warnings(["a", "b", "c", "d", "e"],
                                     np.array([2.0, 3.0, 900.0, 60.0, 4.0]),
                                     np.array([0.4, 0.3, 0.005, 0.195, 0.1]))
    assert len(notes) == 2
    assert notes[0].startswith("channel 'c': ROI 900.0 at current spend is 225x the median "
                               "channel's (4.00)")
    assert "0.5% of the spend, too little to identify its curve" in notes[0]
    assert "channel 'd'" in notes[1] and "cannot tell its effect apart" in notes[1]
    assert implausible_roi_warnings(["a", "b"], np.array([2.0, 3.0]), np.array([0.5, 0.5])) == []


def test_a_curve_shape_at_its_bound_is_named():
    assert "as steeply as the fit allows (s = 5.00" in shape_at_limit("hill", 5.0)
    assert "saturates as early as the fit allows (s = 0.30" in shape_at_limit("hill", 0.3)
    assert shape_at_limit("hill", 4.8) is None and shape_at_limit("hill", 1.0) is None
    assert shape_at_limit("log", 1.0) is None  # no shape parameter


def draws_that_disagree():
    """Two channels: the point fit favours a; half the draws say a's effect is far weaker."""
    from dataclasses import replace

    from budgetopt.optimizer.model.curves import CurveSet
    from budgetopt.optimizer.model.draws import ParameterDraws
    from budgetopt.optimizer.model.media import MediaModel

    curves = CurveSet.from_lists(["log", "log"], [1000.0, 800.0], [100.0, 100.0])
    model = MediaModel(("a", "b"), curves, np.full(2, np.nan), np.zeros(2, bool),
                       np.array([100.0, 100.0]), np.zeros(2))
    beta_a = np.r_[np.full(10, 1100.0), np.full(10, 500.0)]
    draws = ParameterDraws(beta=np.column_stack([beta_a, np.full(20, 800.0)]),
                           k=np.full((20, 2), 100.0), s=np.ones((20, 2)),
                           decay=np.full((20, 2), np.nan), peak=np.full((20, 2), np.nan))
    return replace(model, draws=draws)


def test_the_default_answer_moves_only_as_far_as_the_draws_support(tmp_path):
    model = draws_that_disagree()
    point = allocate(model, 200, point_estimate=True)
    guarded = allocate(model, 200)
    assert point.spend[0] > 120  # the point fit moves budget into a (current: 100 and 100)
    assert 100 <= guarded.spend[0] < point.spend[0]
    assert guarded.guard.startswith("moved") and "p10" in guarded.guard
    assert guarded.uncertainty.uplift[0] >= -1e-9  # its uplift's p10 stays at or above 0
    assert guarded.spend.sum() == pytest.approx(200)
    path = tmp_path / "model.json"
    write_model(model, path)
    out, summary = tmp_path / "a.csv", tmp_path / "s.json"
    result = run("optimize", path, "--budget", 200, "--out", out, "--json", summary)
    assert "guard: moved" in result.output
    # the status line's zero gap is the point optimum's; the guarded answer says how far below
    shortfall = (point.objective_value - guarded.objective_value) / guarded.objective_value
    assert f"this answer is {shortfall:.2%} below its proven bound" in result.output
    report = tmp_path / "r.html"
    assert run("optimize", path, "--budget", 200, "--out", out, "--report",
               report).exit_code == 0
    assert "guard: moved" in report.read_text()  # the report says how the answer was guarded
    assert json.loads(summary.read_text())["guard"].startswith("moved")
    pure = run("optimize", path, "--budget", 200, "--point-estimate", "--out", out)
    assert "guard:" not in pure.output
    assert pd.read_csv(out).set_index("channel").loc["a", "spend"] == pytest.approx(
        point.spend[0], abs=0.01)


def two_channel_model(point_beta, draw_beta):
    """Channels a and b (log curves, k 100, current spend 100 each) whose point fit has
    ``point_beta`` and whose draws have the rows of ``draw_beta``."""
    from dataclasses import replace

    from budgetopt.optimizer.model.curves import CurveSet
    from budgetopt.optimizer.model.draws import ParameterDraws
    from budgetopt.optimizer.model.media import MediaModel

    curves = CurveSet.from_lists(["log", "log"], point_beta, [100.0, 100.0])
    model = MediaModel(("a", "b"), curves, np.full(2, np.nan), np.zeros(2, bool),
                       np.array([100.0, 100.0]), np.zeros(2))
    n = len(draw_beta)
    draws = ParameterDraws(beta=np.asarray(draw_beta, float), k=np.full((n, 2), 100.0),
                           s=np.ones((n, 2)), decay=np.full((n, 2), np.nan),
                           peak=np.full((n, 2), np.nan))
    return replace(model, draws=draws)


def test_where_the_draws_agree_against_the_point_fit_the_guard_follows_their_mean():
    # the point fit favours a; every draw says b is worth more, so the draws' expected-KPI
    # optimum lies the other way and moving towards it wins in every draw
    beta_b = np.linspace(950.0, 1050.0, 20)
    model = two_channel_model([1000.0, 800.0], np.column_stack([np.full(20, 700.0), beta_b]))
    point = allocate(model, 200, point_estimate=True)
    guarded = allocate(model, 200)
    assert point.spend[0] > 100 and guarded.spend[1] > 110
    assert "the draws' expected-KPI optimum" in guarded.guard.split(":")[0]
    assert guarded.uncertainty.probability_better == 1.0
    # the whole way there: b's and a's mean marginals equal, 1000 / (100 + b) = 700 / (100 + a)
    assert guarded.spend[1] == pytest.approx((200 + 200) * 1000 / 1700 - 100, rel=1e-3)
    assert np.isnan(guarded.multiplier) and guarded.shadow_prices == ()


def test_plans_are_guarded_by_the_draws_too(tmp_path):
    model = draws_that_disagree()
    point = plan_budget(model, 2600, 13, point_estimate=True)
    guarded = plan_budget(model, 2600, 13)
    assert point.spend[0].sum() > 13 * 120  # the point fit moves budget into a
    assert 13 * 100 <= guarded.spend[0].sum() < point.spend[0].sum()
    assert guarded.guard.startswith("moved") and "p10" in guarded.guard
    assert guarded.spend.sum() == pytest.approx(2600)
    flat_current = np.full((2, 13), 100.0)
    uplift = [sum(float(simulate(m, s, np.ones((2, 13)), 0)[0].sum()) * sign
                  for s, sign in ((guarded.spend, 1), (flat_current, -1)))
              for m in model.draw_models()]
    assert np.percentile(uplift, 10) >= -1e-6  # its uplift's p10 over the draws stays >= 0
    path = tmp_path / "model.json"
    write_model(model, path)
    out, summary = tmp_path / "plan.csv", tmp_path / "plan.json"
    result = run("plan", path, "--budget", 2600, "--periods", 13, "--out", out,
                 "--json", summary)
    assert result.exit_code == 0, result.output
    assert "guard: moved" in result.output
    assert json.loads(summary.read_text())["guard"].startswith("moved")
    pure = run("plan", path, "--budget", 2600, "--periods", 13, "--point-estimate",
               "--out", out)
    assert "guard:" not in pure.output
    frame = pd.read_csv(out)
    assert frame[frame.channel == "a"].spend.sum() == pytest.approx(point.spend[0].sum(),
                                                                   abs=0.1)


def with_history_media(model, media_per_period):
    """``model`` with a fit whose history got ``media_per_period`` from media (channel a)."""
    from dataclasses import replace

    from budgetopt.optimizer.model.report import FitReport, FitSeries

    count = len(media_per_period)
    series = FitSeries(dates=tuple(f"w{t}" for t in range(count)),
                       actual=np.zeros(count), fitted=np.zeros(count), baseline=np.zeros(count),
                       contributions={"a": np.asarray(media_per_period, float),
                                      "b": np.zeros(count)})
    fit = FitReport(layout="wide", method="test", r2=0.9, mape=0.1, periods=count,
                    channels={}, series=series)
    return replace(model, fit=fit)


def test_an_answer_asking_media_for_more_than_the_history_rarely_got_is_noted(model_path):
    # a's curve is steep and b's flat: the best split moves money from b to a, each inside
    # its own observed spend, and asks media for more KPI per week than almost every week
    # of this (made-up) history got
    model = read_model(model_path)
    now = allocate(model, periods=13, point_estimate=True)
    per_week = now.total_kpi / 13
    assert per_week > now.total_kpi_current / 13
    rare = with_history_media(model, np.r_[np.full(99, 0.5 * per_week), 1.1 * per_week])
    noted = allocate(rare, periods=13, point_estimate=True)
    note = [n for n in noted.notes if "KPI from media" in n]
    assert len(note) == 1 and "all but 1 of the history's 100 periods" in note[0]
    usual = with_history_media(model, np.r_[np.full(90, 0.5 * per_week), np.full(10, per_week)])
    assert not any("KPI from media" in n for n in allocate(usual, periods=13).notes)


def test_a_plan_asking_media_for_more_than_the_history_rarely_got_is_noted(model_path):
    model = read_model(model_path)
    plan = plan_budget(model, 2600, 13, point_estimate=True)
    busiest = plan.kpi.sum(axis=0).max()
    assert busiest > model.steady_state_curves().value(model.current_spend).sum()
    rare = with_history_media(model, np.r_[np.full(99, 0.5 * busiest), 1.1 * busiest])
    note = [n for n in plan_budget(rare, 2600, 13, point_estimate=True).notes
            if "KPI" in n and "beyond history" in n]
    assert len(note) == 1 and "all but 1 of the history's 100 periods" in note[0]
    assert "of the plan's 13 periods" in note[0] and f"{busiest:,.0f}" in note[0]
    # the season's multiplier is taken out: a plan twice as seasonal asks the same of media
    seasonal = plan_budget(rare, 2600, 13, point_estimate=True,
                           multipliers=np.full((len(model), 13), 2.0))
    assert [n for n in seasonal.notes if "beyond history" in n] == note
    usual = with_history_media(model, np.r_[np.full(90, 0.5 * busiest), np.full(10, busiest)])
    assert not any("beyond history" in n
                   for n in plan_budget(usual, 2600, 13, point_estimate=True).notes)
