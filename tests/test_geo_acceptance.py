"""Regions (issue 15), measured on generated geo panels with known geo-varying truth.

Three panels of 12 geos (156 weeks, 5 channels, each geo's effectiveness per channel uniform
within ±35 % of the national curve), fitted with 10 bootstrap draws. The default (guarded)
per-cell answer within ±50 % of each cell's current spend is scored under the TRUE cell
curves, beside what the same fit's national curves do (what budgetopt did before geo
models: every geo as effective per head as the nation): their best channel totals within
±50 % of each channel's current total, split across geos by population.
"""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_geo_history
from budgetopt.optimizer.problem.constraints import ChannelRules, Constraints
from budgetopt.optimizer.synthetic import simulate_geo_panel, wide_truth_model

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]
TRUTH = wide_truth_model()
CHANNELS = {name: f"{name}_spend" for name in TRUTH.names}
PANELS, GEOS, SPREAD, DRAWS = 3, 12, 0.35, 10
WITHIN = ChannelRules(max_change=0.5)


def fitted(history):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_wide_history(history, bootstrap=DRAWS)


def test_per_cell_advice_beats_the_national_split_under_the_true_cell_curves(tmp_path):
    captured, national_captured = [], []
    for seed in range(PANELS):
        frame, truth = simulate_geo_panel(TRUTH, geos=GEOS, spread=SPREAD, seed=seed)
        panel_path = tmp_path / f"geo{seed}.csv"
        frame.to_csv(panel_path, index=False)
        model = fitted(load_geo_history(panel_path, date="date", geo="geo", kpi="revenue",
                                        channels=CHANNELS, population="population"))
        cells = model.cells
        assert cells.labels == truth.cells.labels
        np.testing.assert_allclose(model.current_spend, truth.current_spend)
        per_cell = Constraints(cells=dict.fromkeys(zip(cells.geo, cells.channel), WITHIN))
        value = lambda spend: float(truth.steady_state_curves().value(spend).sum())
        current = model.current_spend
        achievable = allocate(truth, constraints=per_cell).total_kpi - value(current)
        captured.append((value(allocate(model, constraints=per_cell).spend) - value(current))
                        / achievable)

        # the national model of the same fit: every geo as effective per head as the nation
        national = replace(model, draws=None, curves=model.curves.scaled(
            1.0, 1 / model.fit.geo_effects.effectiveness.ravel()))
        totals = cells.by_channel(allocate(national, constraints=Constraints(
            channels=dict.fromkeys(TRUTH.names, WITHIN))).spend)
        people = np.array([cells.population[g] for g in cells.geo])
        split = totals[cells.channel_index] * people / cells.by_channel(people)[
            cells.channel_index]
        national_captured.append((value(split) - value(current)) / achievable)
    print(f"capture per cell {np.round(captured, 3)}, national split "
          f"{np.round(national_captured, 3)}")
    assert np.median(captured) >= 0.6
    assert min(captured) >= 0
    assert np.median(national_captured) < np.median(captured)
