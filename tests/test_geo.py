"""Geo models: one curve per geo and channel, allocated per cell under channel, geo and cell
rules, checked against an independent MILP reference; files, exports and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.allocate import allocate, plan_budget
from budgetopt.optimizer.constants import METHOD_KKT_GROUPS
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.model.files import read_model, write_model
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.result.curves import channel_curves_frame
from conftest import run
from reference import rules_hold, tangent_lp_reference

GEOS, CHANNELS = ("north", "south", "east", "west"), ("tv", "search", "social")
FAMILIES = {"tv": "hill", "search": "exponential", "social": "log"}


def geo_curves(seed=0, geos=GEOS, channels=CHANNELS) -> pd.DataFrame:
    """A curves CSV table with a geo column: every geo's curves differ."""
    rng = np.random.default_rng(seed)
    rows = []
    for geo in geos:
        for channel in channels:
            rows.append({"geo": geo, "channel": channel, "type": FAMILIES[channel],
                         "beta": rng.uniform(200, 900), "k": rng.uniform(40, 200),
                         "s": rng.uniform(0.6, 1.0) if channel == "tv" else "",
                         "current_spend": rng.uniform(30, 120)})
    return pd.DataFrame(rows)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "curves.csv"
    geo_curves().to_csv(path, index=False)
    return read_model(path)


RULES = {
    "channel totals": {"channels": {"tv": {"max": 250}, "search": {"min": 500}}},
    "geo totals and shares": {"geos": {"north": {"max_change": 0.1},
                                       "south": {"min_share": 0.3}, "east": {"max": 200}}},
    "cells": {"cells": {"north": {"tv": {"fixed": 80}, "social": {"min": 60, "max": 70}},
                        "west": {"search": {"max_change": 0.2}}}},
    "channels, geos and cells together": {
        "channels": {"social": {"max_change": 0.3}},
        "geos": {"west": {"min": 350}, "east": {"max_share": 0.2}},
        "cells": {"south": {"tv": {"max": 40}}}},
    "group restricted to geos": {"groups": [{"name": "digital north+south",
                                             "channels": ["search", "social"],
                                             "geos": ["north", "south"], "max": 300}]},
    "minimum commitment in a cell": {"channels": {"tv": {"max": 400}},
                                     "cells": {"east": {"tv": {"min_if_on": 150}},
                                               "west": {"tv": {"min_if_on": 160}}}},
}


@pytest.mark.parametrize("name", RULES)
def test_cell_allocations_match_an_independent_reference(model, name):
    rules = RULES[name]
    budget = float(np.nansum(model.current_spend))
    result = allocate(model, budget, constraints=constraints_from_dict(rules, name))
    assert rules_hold(model, budget, rules, result.spend)
    bound, reference = tangent_lp_reference(model, budget, rules)
    assert rules_hold(model, budget, rules, reference)
    reached = model.steady_state_curves().value(reference).sum()  # the reference's plan
    assert result.total_kpi == pytest.approx(reached, rel=1e-4)
    assert reached * (1 - 1e-6) <= result.total_kpi <= bound * (1 + 1e-9)


def test_disjoint_channel_totals_use_the_group_decomposition(model):
    rules = RULES["channel totals"]
    result = allocate(model, 900.0, constraints=constraints_from_dict(rules, "t"))
    assert result.certificate.method == METHOD_KKT_GROUPS
    spend = dict(zip(model.cells.channels, model.cells.by_channel(result.spend)))
    assert spend["tv"] <= 250 + 1e-6 and spend["search"] >= 500 - 1e-6


def test_rules_name_unknown_geos_channels_and_cells(model):
    rules = constraints_from_dict({"geos": {"nort": {"max": 1}},
                                   "cells": {"south": {"radio": {"max": 1}}},
                                   "channels": {"tv": {"min_if_on": 5}}}, "c.toml")
    with pytest.raises(InputError) as error:
        allocate(model, 500.0, constraints=rules)
    message = str(error.value)
    assert "[geos.nort]: the model has no geo 'nort'; did you mean 'north'" in message
    assert "[cells.south.radio]: the model has no channel 'radio'" in message
    assert "set min_if_on per cell in [cells.GEO.tv]" in message


def test_geo_rules_need_a_geo_model(tmp_path):
    path = tmp_path / "national.csv"
    geo_curves().query("geo == 'north'").drop(columns="geo").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"\[geos\.\*\], \[cells\.\*\] and group geos need a "
                                         r"geo model"):
        allocate(read_model(path), 300.0,
                 constraints=constraints_from_dict({"geos": {"north": {"max": 1}}}, "c"))


def test_infeasible_totals_are_explained_by_geo_and_channel(model):
    rules = constraints_from_dict({"channels": {"tv": {"min": 300}},
                                   "geos": {"north": {"max": 50}, "south": {"max": 50},
                                            "east": {"max": 50}},
                                   "cells": {"west": {"tv": {"max": 100}}}}, "c")
    with pytest.raises(InfeasibleError) as error:
        allocate(model, 500.0, constraints=rules)
    lines = str(error.value).splitlines()[1:]
    assert lines == ["  - group 'tv, all geos' min/max: >= 300.00",
                     "  - group 'geo north' min/max: <= 50.00",
                     "  - group 'geo south' min/max: <= 50.00",
                     "  - group 'geo east' min/max: <= 50.00",
                     "  - channel 'west/tv' max: <= 100.00"]
    rules = constraints_from_dict({"channels": {"tv": {"min": 400, "max_change": 0.1}}}, "c")
    with pytest.raises(InfeasibleError, match=r"tv, all geos: its minimum 400.00 is above its "
                                              r"maximum [\d.,]+ once max_change"):
        allocate(model, 500.0, constraints=rules)


def test_a_curves_csv_with_geos_is_checked_row_by_row(tmp_path):
    frame = geo_curves()
    frame.loc[3, "geo"] = ""
    frame.loc[5, ["geo", "channel"]] = ["north", "search"]
    path = tmp_path / "curves.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        read_model(path)
    assert "line 5 (channel 'tv'): missing geo" in str(error.value)
    assert "line 7 (channel 'search'): duplicate geo and channel 'north/search'" in \
        str(error.value)


def test_a_geo_model_survives_the_json_round_trip(model, tmp_path):
    path = tmp_path / "model.json"
    write_model(model, path)
    data = json.loads(path.read_text())
    assert data["channels"][0]["geo"] == "north" and data["channels"][0]["name"] == "tv"
    again = read_model(path)
    assert again.cells == model.cells and again.names == model.names
    np.testing.assert_allclose(again.curves.beta, model.curves.beta)


def test_plan_over_period_geo_and_channel_keeps_channel_totals_and_flights(model):
    rules = constraints_from_dict({"channels": {"tv": {"max": 900,
                                                       "active_periods": [[1, 2]]}},
                                   "geos": {"north": {"min": 400}}}, "plan.toml")
    result = plan_budget(model, 4000.0, 4, constraints=rules)
    cells = model.cells
    tv = cells.of_channel("tv")
    assert result.spend[tv].sum() <= 900 + 1e-6
    assert np.all(result.spend[tv][:, 2:] == 0)
    assert result.spend[cells.of_geo("north")].sum() >= 400 - 1e-6
    frame = result.to_frame()
    assert list(frame.columns) == ["period", "date", "geo", "channel", "spend", "kpi"]
    assert len(frame) == 4 * len(model)


def test_the_report_sums_each_channel_over_its_geos(model):
    totals = model.cells.by_channel(model.current_spend)
    frame = channel_curves_frame(model, 3, 2 * totals)
    middle = frame.groupby("channel", sort=False)["kpi"].nth(1).to_numpy()  # at the current
    expected = model.cells.by_channel(model.steady_state_curves().value(model.current_spend))
    np.testing.assert_allclose(middle, expected, rtol=1e-12)


@pytest.mark.cli
def test_every_verb_writes_the_geo_column(model, tmp_path):
    path = tmp_path / "curves.csv"
    geo_curves().to_csv(path, index=False)
    rules = tmp_path / "c.toml"
    rules.write_text("[channels.tv]\nmax = 250\n[geos.north]\nmax_change = 0.2\n")
    result = run("optimize", str(path), "--constraints", str(rules), "--out",
                 str(tmp_path / "a.csv"), "--json", str(tmp_path / "a.json"))
    assert result.exit_code == 0, result.output
    assert "12 cells (4 geos x 3 channels); per channel, over all geos:" in result.output
    assert "per geo, over its channels:" in result.output
    assert "the largest moves between cells:" in result.output
    allocation = pd.read_csv(tmp_path / "a.csv")
    assert list(allocation.columns[:2]) == ["geo", "channel"] and len(allocation) == 12
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["by_channel"]["tv"]["spend"] <= 250 + 0.01
    assert set(summary["by_geo"]) == set(GEOS)

    result = run("curves", str(path), "--points", "3", "--out", str(tmp_path / "c.csv"))
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(tmp_path / "c.csv").columns[:2]) == ["geo", "channel"]

    result = run("frontier", str(path), "--from", "300", "--to", "900", "--steps", "3",
                 "--out", str(tmp_path / "f.csv"))
    assert result.exit_code == 0, result.output
    frontier = pd.read_csv(tmp_path / "f.csv")
    assert [c for c in frontier.columns if c.startswith("spend_")] == \
        ["spend_tv", "spend_search", "spend_social"]
    np.testing.assert_allclose(frontier.filter(like="spend_").sum(axis=1), frontier["budget"],
                               rtol=1e-6)

    result = run("plan", str(path), "--periods", "3", "--out", str(tmp_path / "p.csv"),
                 "--report", str(tmp_path / "p.html"))
    assert result.exit_code == 0, result.output
    assert "per geo over its channels:" in result.output
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == ["period", "date", "geo",
                                                              "channel", "spend", "kpi"]

    scenarios = tmp_path / "s.toml"
    scenarios.write_text(f'model = "{path.name}"\n[base]\nbudget = 800\n'
                         f'[[case]]\nname = "north capped"\ngeos.north.max = 100\n'
                         f'[[case]]\nname = "tv cell off"\ncells.south.tv.max = 0\n'
                         f'efficiency.search = 0.9\n')
    result = run("scenarios", str(scenarios), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    case = pd.read_csv(tmp_path / "out" / "north-capped.csv")
    assert case.loc[case["geo"] == "north", "spend"].sum() <= 100 + 0.01
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["status"]) == ["optimal"] * 3

    result = run("report", str(path), "--allocation", str(tmp_path / "a.csv"), "--out",
                 str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    assert "Per geo, over its channels" in page
    assert "12 cells (4 geos x 3 channels), KPI" in page


@pytest.mark.cli
def test_a_bad_geo_rule_exits_1_naming_it_and_writes_nothing(tmp_path):
    path = tmp_path / "curves.csv"
    geo_curves().to_csv(path, index=False)
    rules = tmp_path / "c.toml"
    rules.write_text("[geos.sout]\nmax = 100\n")
    result = run("optimize", str(path), "--constraints", str(rules), "--out",
                 str(tmp_path / "a.csv"))
    assert result.exit_code == 1
    assert "[geos.sout]: the model has no geo 'sout'; did you mean 'south'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "a.csv").exists()
