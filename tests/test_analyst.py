"""The analyst's day (issue 13): horizons, relative budgets, binding rules, break-even, files
as people have them and output people paste, through the CLI."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.synthetic import simulate_wide_history, wide_truth_model
from conftest import run

pytestmark = pytest.mark.cli
EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"
DEMO = EXAMPLES / "demo_model.json"  # current spend 86,000 a week


# --- 1. the --periods trap -------------------------------------------------------------------
def test_every_result_states_its_horizon_and_a_quarter_given_as_one_week_is_warned(tmp_path):
    result = run("optimize", DEMO, "--budget", 1_118_000, "--out", tmp_path / "a.csv")
    assert result.exit_code == 0
    assert "budget 1,118,000 over 1 week = 1,118,000 per week" in result.output
    assert ("warning: the budget 1,118,000 is 13.0x the current plan's spend per week (86,000) "
            "but is read as the budget of one week; for a budget over several periods pass "
            "--periods") in result.stderr
    quarter = run("optimize", DEMO, "--budget", 1_118_000, "--periods", 13,
                  "--out", tmp_path / "a.csv")
    assert "budget 1,118,000 over 13 weeks = 86,000 per week" in quarter.output
    assert "warning" not in quarter.stderr
    assert "--periods" in run("--help").output


# --- 2. relative budgets ---------------------------------------------------------------------
def test_budgets_relative_to_the_current_plan(tmp_path):
    out = tmp_path / "a.csv"
    assert run("optimize", DEMO, "--budget", "+20%", "--periods", 13, "--out", out).exit_code == 0
    assert pd.read_csv(out)["spend"].sum() == pytest.approx(1_118_000 * 1.2, abs=0.1)
    rules = tmp_path / "rules.toml"
    rules.write_text('budget = "-10%"\n')
    assert run("optimize", DEMO, "--periods", 13, "--constraints", rules,
               "--out", out).exit_code == 0
    assert pd.read_csv(out)["spend"].sum() == pytest.approx(1_118_000 * 0.9, abs=0.1)
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'model = "{DEMO}"\n[base]\nperiods = 13\n'
                        '[[case]]\nname = "up"\nbudget = "+5%"\n')
    assert run("scenarios", scenario, "--workers", 1, "--out", tmp_path / "r").exit_code == 0
    summary = pd.read_csv(tmp_path / "r" / "summary.csv").set_index("scenario")
    assert summary.loc["up", "budget"] == pytest.approx(1_118_000 * 1.05)
    bad = run("optimize", DEMO, "--budget", "lots", "--out", out)
    assert bad.exit_code == 1
    assert "--budget 'lots' is neither an amount nor a change such as +20%" in bad.stderr


# --- 3. binding rules: every one, with what loosening it gains -------------------------------
def test_binding_channel_bounds_are_listed_with_the_gain_of_loosening_them(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.tv]\nmax = 200000\n[channels.display]\nmin = 200000\n")
    summary = tmp_path / "s.json"
    result = run("optimize", DEMO, "--budget", 1_300_000, "--periods", 13, "--constraints",
                 rules, "--out", tmp_path / "a.csv", "--json", summary)
    assert "binding rules (what loosening each by one unit of money gains" in result.output
    gains = {item["name"]: item["shadow_price"]
             for item in json.loads(summary.read_text())["binding_constraints"]}
    assert set(gains) == {"budget", "channel 'tv' max", "channel 'display' min"}
    assert all(value > 0 for value in gains.values())
    model = read_model(DEMO)
    base = {"channels": {"tv": {"max": 200000}, "display": {"min": 200000}}}
    kpi = lambda table: allocate(model, 1_300_000, periods=13,
                                 constraints=constraints_from_dict(table, "r")).total_kpi
    step = 100.0
    looser_max = {"channels": {"tv": {"max": 200000 + step}, "display": {"min": 200000}}}
    looser_min = {"channels": {"tv": {"max": 200000}, "display": {"min": 200000 - step}}}
    assert (kpi(looser_max) - kpi(base)) / step == pytest.approx(gains["channel 'tv' max"],
                                                                 rel=0.02)
    assert (kpi(looser_min) - kpi(base)) / step == pytest.approx(
        gains["channel 'display' min"], rel=0.02)


def test_a_group_minimum_reads_as_a_gain_of_loosening_it(tmp_path):
    rules = {"groups": [{"name": "offline", "channels": ["tv", "ooh"], "min": 700000}]}
    model = read_model(DEMO)
    result = allocate(model, 1_300_000, periods=13, constraints=constraints_from_dict(rules, "r"))
    gain = {s.name: s.value for s in result.shadow_prices}["group 'offline' min/max (lower)"]
    looser = {"groups": [{"name": "offline", "channels": ["tv", "ooh"], "min": 699000}]}
    relaxed = allocate(model, 1_300_000, periods=13,
                       constraints=constraints_from_dict(looser, "r"))
    assert gain > 0
    assert (relaxed.total_kpi - result.total_kpi) / 1000 == pytest.approx(gain, rel=0.02)


# --- 4 and 5. break-even inside the range only; spend in summary.csv -------------------------
def test_break_even_is_marked_only_where_it_is_crossed(tmp_path):
    out = tmp_path / "f.csv"
    beyond = run("frontier", DEMO, "--from", 200000, "--to", 800000, "--steps", 4,
                 "--periods", 13, "--out", out)
    assert "the break-even budget lies beyond this range" in beyond.output
    assert "<- break-even" not in beyond.output and not pd.read_csv(out)["break_even"].any()
    inside = run("frontier", DEMO, "--from", 200000, "--to", 2000000, "--steps", 10,
                 "--periods", 13, "--out", out)
    frame = pd.read_csv(out)
    assert frame["break_even"].sum() == 1 and "<- break-even" in inside.output
    row = frame.index[frame["break_even"]][0]
    assert frame["marginal_roi"][row] < 1 <= frame["marginal_roi"][row - 1]


def test_scenario_summary_has_spend_and_a_missing_model_names_the_file_and_line(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'model = "{DEMO}"\n[base]\nperiods = 13\n[[case]]\n'
                        f'name = "ROI at least 1.6"\nobjective = "target_roi"\ntarget = 1.6\n')
    result = run("scenarios", scenario, "--workers", 1, "--out", tmp_path / "r")
    summary = pd.read_csv(tmp_path / "r" / "summary.csv").set_index("scenario")
    assert summary.loc["ROI at least 1.6", "spend"] < summary.loc["ROI at least 1.6", "budget"]
    scenario.write_text('# what-if\n\nmodel = "nowhere.json"\n[base]\nbudget = 1\n')
    missing = run("scenarios", scenario, "--out", tmp_path / "r2")
    assert missing.exit_code == 1 and result.exit_code == 0
    assert f"{scenario}: line 3: model = 'nowhere.json': no such model file" in missing.stderr


# --- 6. histories as analysts have them ------------------------------------------------------
TRUTH = wide_truth_model()


def generated(rows=60):
    frame = simulate_wide_history(TRUTH, periods=rows, seed=3)
    return frame[["date", "revenue", "tv_spend", "search_spend", "promo"]]


def fit(path, *options):
    out = path.with_suffix(".model.json")
    result = run("fit", path, "--date", "date", "--kpi", "revenue", "--channels",
                 "tv=tv_spend,search=search_spend", "--bootstrap", 0, *options, "--out", out)
    return result, out


@pytest.mark.slow
def test_semicolons_decimal_commas_day_first_dates_and_excel_read_the_same(tmp_path):
    frame = generated()
    plain = tmp_path / "plain.csv"
    frame.to_csv(plain, index=False)
    european = frame.copy()
    european["date"] = pd.to_datetime(frame["date"]).dt.strftime("%d/%m/%Y")
    text = european.to_csv(index=False, sep=";", decimal=",")
    (tmp_path / "eu.csv").write_text(text)
    excel = tmp_path / "history.xlsx"
    frame.assign(date=pd.to_datetime(frame["date"])).to_excel(excel, index=False)
    models = []
    for path in (plain, tmp_path / "eu.csv", excel):
        result, out = fit(path)
        assert result.exit_code == 0, result.output
        models.append(read_model(out))
    for other in models[1:]:
        np.testing.assert_allclose(other.curves.beta, models[0].curves.beta, rtol=1e-6)
        np.testing.assert_allclose(other.current_spend, models[0].current_spend, rtol=1e-9)


def test_ambiguous_dates_and_decimals_name_the_option_to_set(tmp_path):
    frame = generated(20)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%d/%m/%Y")
    frame = frame.iloc[[0, 4, 8]]  # 03/01, 31/01 ... day-first shows; now make it ambiguous
    ambiguous = pd.DataFrame({"date": ["01/02/2023", "02/02/2023", "03/02/2023"] * 6,
                              "revenue": 1.0, "tv": 1.0})
    path = tmp_path / "ambiguous.csv"
    ambiguous.to_csv(path, index=False)
    result = run("fit", path, "--channels", "tv", "--kpi", "revenue", "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert "--date-format is needed" in result.stderr and "ambiguous.csv" in result.stderr
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("date;revenue;tv\n2023-01-02;1,5;2.5\n")
    result = run("fit", mixed, "--channels", "tv", "--kpi", "revenue", "--out", tmp_path / "m")
    assert result.exit_code == 1 and "--decimal" in result.stderr


@pytest.mark.parametrize("start,expected", [("2027-01-04", "2027-01-04"),
                                            ("25/01/2027", "2027-01-25")])
def test_one_date_parser_for_every_verb(tmp_path, start, expected):
    out = tmp_path / "p.csv"
    result = run("plan", DEMO, "--periods", 2, "--start", start, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["date"].iloc[0] == expected
    season = run("seasonality", DEMO, "--start", start, "--periods", 2, "--out", out)
    assert season.exit_code == 1 and "--start" not in season.stderr  # no season in the model


def test_an_ambiguous_start_date_is_refused_by_plan_and_seasonality(tmp_path):
    for verb in ("plan", "seasonality"):
        result = run(verb, DEMO, "--periods", 2, "--start", "03/01/2027",
                     "--out", tmp_path / "p.csv")
        assert result.exit_code == 1
        assert "--start '03/01/2027' reads as day/month and as month/day" in result.stderr


@pytest.mark.slow
def test_channel_globs(tmp_path):
    path = tmp_path / "h.csv"
    generated().to_csv(path, index=False)
    out = tmp_path / "m.json"
    result = run("fit", path, "--date", "date", "--kpi", "revenue", "--channels", "*_spend",
                 "--bootstrap", 0, "--out", out)
    assert result.exit_code == 0, result.output
    assert read_model(out).names == ("tv_spend", "search_spend")
    none = run("fit", path, "--kpi", "revenue", "--channels", "radio*", "--out", out)
    assert none.exit_code == 1 and "no column matches the channel pattern 'radio*'" in \
        none.stderr


# --- 7. output people paste ------------------------------------------------------------------
def test_amounts_in_cents_cpa_for_conversions_and_no_minus_zero(tmp_path):
    out = tmp_path / "a.csv"
    result = run("optimize", DEMO, "--periods", 13, "--out", out)
    assert "-0.0%" not in result.output and "+0.0%" in result.output
    text = out.read_text().splitlines()[1]
    spend = text.split(",")[2]
    assert len(spend.split(".")[-1]) <= 2 if "." in spend else True
    model = json.loads(DEMO.read_text())
    model["kpi"] = {"name": "signups", "type": "conversions"}
    conversions = tmp_path / "conv.json"
    conversions.write_text(json.dumps(model))
    table = run("optimize", conversions, "--periods", 13, "--out", out).output
    assert " cpa " in table and "marginal cpa" in table and " roi " not in table


def test_fit_warnings_are_printed_once_and_a_next_step_follows(tmp_path):
    path = tmp_path / "h.csv"
    frame = generated()
    frame["search_spend"] = frame["tv_spend"] * 0.5  # collinear: a warning
    frame.to_csv(path, index=False)
    result, out = fit(path)
    assert result.exit_code == 0, result.output
    combined = result.output + result.stderr
    assert combined.count("move together") == 1
    assert f"next: budgetopt optimize {out} --periods 13" in result.output
    demo = run("demo", "--out", tmp_path / "demo")
    assert "next: budgetopt frontier" in demo.output


# --- 8. plan edges ---------------------------------------------------------------------------
@pytest.mark.slow
def test_plan_edges_are_explained_and_a_smoothing_option_fixes_them(tmp_path):
    out = tmp_path / "p.csv"
    raw = run("plan", DEMO, "--periods", 8, "--out", out)
    assert "edge effect" in raw.output and "max_step_change" in raw.output
    smooth = run("plan", DEMO, "--periods", 8, "--max-step-change", 0.3, "--out", out)
    assert smooth.exit_code == 0 and "edge effect" not in smooth.output
    plan = pd.read_csv(out).pivot(index="period", columns="channel", values="spend")
    steps = plan.pct_change().iloc[1:].abs()
    assert (steps[plan.shift().iloc[1:] > 1] <= 0.3 + 1e-4).all().all()
