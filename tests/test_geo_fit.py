"""Geo panels: loading, the per-head fit with shared week effects, and the geo model."""

import warnings

import numpy as np
import pandas as pd
import pytest
from budgetopt.cli.main import cli
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_geo_history, load_wide_history
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.synthetic import simulate_geo_history, wide_truth_model
from budgetopt.scenarios.seasonality import seasonality_from_model
from click.testing import CliRunner

pytestmark = pytest.mark.slow
TRUTH = wide_truth_model()
CHANNELS = {name: f"{name}_spend" for name in TRUTH.names}


def write_panel(tmp_path, seed=0, **changes):
    frame = simulate_geo_history(TRUTH, geos=8, seed=seed)
    for column, values in changes.items():
        frame[column] = values
    path = tmp_path / "geo.csv"
    frame.to_csv(path, index=False)
    return path, frame


def quiet_fit(history, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_wide_history(history, **options)


def test_panel_fit_separates_media_from_the_weekly_shock_all_geos_share(tmp_path):
    path, frame = write_panel(tmp_path)
    panel = quiet_fit(load_geo_history(path, date="date", geo="geo", kpi="revenue",
                                       channels=CHANNELS, population="population"),
                      bootstrap=3)
    national_path = tmp_path / "national.csv"
    frame.groupby("date", as_index=False).sum(numeric_only=True).to_csv(national_path,
                                                                         index=False)
    national = quiet_fit(load_wide_history(national_path, date="date", kpi="revenue",
                                           channels=CHANNELS), bootstrap=0)
    assert panel.fit.geos == 8 and panel.fit.r2 > 0.95 > national.fit.r2
    # the national response to a channel's total split by population: the sum of its cells
    cells = panel.cells
    share = np.array([cells.population[g] for g in cells.geo]) / sum(cells.population.values())
    national_mroi = cells.by_channel(share * panel.steady_state_curves().marginal(
        share * TRUTH.current_spend[cells.channel_index]))
    true_mroi = TRUTH.steady_state_curves().marginal(TRUTH.current_spend)
    error = national_mroi / true_mroi - 1
    identifiable = [TRUTH.names.index(name) for name in ("tv", "search", "video")]
    assert np.all(np.abs(error[identifiable]) < 0.3)
    np.testing.assert_allclose(cells.by_channel(panel.current_spend), frame.groupby(
        "date").sum(numeric_only=True)[list(CHANNELS.values())].to_numpy()[-13:].mean(axis=0))
    assert len(panel.draws) == 3
    # the week effects carry the simulated season: peak around week 11, trough around week 40
    season = seasonality_from_model(panel, "2025-01-06", 52)["multiplier"]
    assert season.iloc[8:14].mean() > 1.05 > 0.95 > season.iloc[36:44].mean()


def test_geo_panel_through_the_cli(tmp_path):
    path, _ = write_panel(tmp_path, seed=1)
    out = tmp_path / "model.json"
    result = CliRunner().invoke(cli, [
        "fit", str(path), "--geo", "geo", "--population", "population", "--kpi", "revenue",
        "--channels", ",".join(f"{n}={c}" for n, c in CHANNELS.items()), "--bootstrap", "2",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "per geo and period (8 geos, a week effect shared by all)" in result.output
    assert "geos whose effectiveness differs most from the national curve" in result.output
    assert "40 cells (8 geos x 5 channels)" in result.output
    model = read_model(out)
    assert model.fit.r2_geo > 0.5
    effects = model.fit.geo_effects
    assert effects.effectiveness.shape == (8, 5) and effects.geos == model.cells.geos
    assert np.all(effects.sd > 0) and np.all(effects.spread >= 0)
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(out), "--out", str(report)])
    assert result.exit_code == 0, result.output
    assert "Effectiveness per geo and channel" in report.read_text()


@pytest.mark.parametrize("change,message", [
    ("drop", "geo 'geo3' has 155 of the 156 periods"),
    ("duplicate", "geo geo0 on 2022-01-03 appears again"),
    ("population", "column 'population' changes within geo 'geo0'"),
    ("negative", "population must be > 0"),
])
def test_bad_panels_are_explained(tmp_path, change, message):
    path, frame = write_panel(tmp_path)
    if change == "drop":
        frame = frame.drop(index=frame.index[frame["geo"] == "geo3"][5])
    elif change == "duplicate":
        frame = pd.concat([frame, frame.iloc[:1]])
    elif change == "population":
        frame.loc[frame.index[1], "population"] += 10
    else:
        frame.loc[frame.index[0], "population"] = -1
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=message):
        load_geo_history(path, date="date", geo="geo", kpi="revenue", channels=CHANNELS,
                         population="population")


def test_population_needs_a_geo_column(tmp_path):
    path, _ = write_panel(tmp_path)
    result = CliRunner().invoke(cli, ["fit", str(path), "--population", "population",
                                      "--kpi", "revenue", "--channels", "tv=tv_spend",
                                      "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "--population needs --geo" in result.output
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("option", [["--geo", "geo"], ["--scheduler", "tcp://127.0.0.1:1"],
                                    ["--workers", "2"]])
def test_wide_options_do_not_apply_to_long_histories(tmp_path, option):
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "long.csv"), "--format", "long",
                                      *option, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2
    assert "--geo, --adstock, --lift-tests, --scheduler and --workers apply to wide " \
           "histories" in " ".join(result.output.split())
