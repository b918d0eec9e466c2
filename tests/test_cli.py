"""The command line: outputs, exit codes, error text, and no file written on failure."""

import json
import shutil
import subprocess
import sys
from importlib import resources

import click
import numpy as np
import pandas as pd
import pytest
from budgetopt.cli.main import COMMANDS, cli
from budgetopt.optimizer.constants import ALLOCATION_COLUMNS
from budgetopt.optimizer.synthetic import demo_truth_model, simulate_long_history
from conftest import run

pytestmark = pytest.mark.cli

MODEL = {
    "format": "budgetopt-model/1", "kpi": {"name": "revenue", "type": "revenue"},
    "channels": [
        {"name": "tv", "curve": {"type": "hill", "beta": 900000.0, "k": 250000.0, "s": 1.4},
         "adstock": {"type": "geometric", "decay": 0.55, "normalized": False},
         "current_spend": 80000.0},
        {"name": "search", "curve": {"type": "exponential", "beta": 300000.0, "k": 60000.0},
         "current_spend": 40000.0},
        {"name": "social", "curve": {"type": "log", "beta": 50000.0, "k": 20000.0},
         "current_spend": 30000.0},
    ],
}


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(MODEL))
    return path


def test_shipped_demo_history_is_the_documented_synthetic_sample():
    shipped = pd.read_csv(resources.files("budgetopt.optimizer") / "data" / "demo_history.csv")
    generated = simulate_long_history(demo_truth_model())
    pd.testing.assert_frame_equal(shipped.reset_index(drop=True),
                                  generated.reset_index(drop=True), check_dtype=False)


def test_demo_writes_the_pipeline_files(tmp_path):
    result = run("demo", "--out", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    for name in ("history.csv", "model.json", "allocation.csv"):
        assert (tmp_path / "demo" / name).is_file()
    allocation = pd.read_csv(tmp_path / "demo" / "allocation.csv")
    assert tuple(allocation.columns) == (*ALLOCATION_COLUMNS, "beyond_history")
    assert allocation["spend"].sum() == pytest.approx(allocation["current_spend"].sum())
    assert "Open" in result.output and "status: optimal" in result.output


def test_optimize_writes_the_contract_csv_and_prints_the_comparison(model_path, tmp_path):
    out = tmp_path / "allocation.csv"
    result = run("optimize", model_path, "--budget", 1_950_000, "--periods", 13, "--out", out,
                 "--json", tmp_path / "summary.json")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert tuple(frame.columns) == ALLOCATION_COLUMNS
    assert frame["spend"].sum() == pytest.approx(1_950_000)
    assert list(frame["current_spend"]) == pytest.approx([80000 * 13, 40000 * 13, 30000 * 13])
    assert (frame["kpi"].sum() >= frame["kpi_current"].sum())
    for text in ("current", "recommended", "marginal roi", "method:", "status: optimal"):
        assert text in result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["budget"] == 1_950_000


def test_optimize_respects_a_constraints_file(model_path, tmp_path):
    constraints = tmp_path / "rules.toml"
    constraints.write_text("budget = 150000\n[channels.tv]\nmax = 20000\n"
                           "[channels.social]\nfixed = 30000\n")
    out = tmp_path / "allocation.csv"
    result = run("optimize", model_path, "--constraints", constraints, "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out).set_index("channel")
    assert frame.loc["tv", "spend"] <= 20000 + 1e-6
    assert frame.loc["social", "spend"] == pytest.approx(30000)
    assert frame.loc["social", "at_bound"] == "fixed"
    assert frame["spend"].sum() == pytest.approx(150000)


def test_fit_then_optimize_from_the_terminal(tmp_path):
    history = tmp_path / "history.csv"
    simulate_long_history(demo_truth_model(), seed=3).to_csv(history, index=False)
    result = run("fit", history, "--format", "long", "--kpi", "revenue",
                 "--channels", "TV=tv,search", "--out", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert "r2" in result.output
    model = json.loads((tmp_path / "m.json").read_text())
    assert [c["name"] for c in model["channels"]] == ["TV", "search"]
    assert model["fit"]["r2"] > 0.8
    result = run("optimize", tmp_path / "m.json", "--out", tmp_path / "a.csv")
    assert result.exit_code == 0, result.output


def failing(tmp_path, args, message, code=1):
    out = tmp_path / "allocation.csv"
    result = run(*args, "--out", out)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not out.exists()


def test_infeasible_minimums_are_explained_with_numbers(model_path, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.tv]\nmin = 600000\n[channels.search]\nmin = 500000\n")
    failing(tmp_path, ["optimize", model_path, "--budget", 1_000_000, "--constraints", rules],
            "channel minimums add up to 1,100,000.00, more than the budget 1,000,000.00")


def test_unknown_channel_in_constraints(model_path, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.tvv]\nmax = 5\n")
    failing(tmp_path, ["optimize", model_path, "--budget", 100, "--constraints", rules],
            "[channels.tvv]: the model has no channel 'tvv'; did you mean 'tv'?")


def test_bad_toml_names_the_file(model_path, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.tv\nmax = 5\n")
    failing(tmp_path, ["optimize", model_path, "--budget", 100, "--constraints", rules],
            f"{rules}: not valid TOML")


def test_bad_model_is_exit_1(tmp_path):
    model = tmp_path / "bad.json"
    model.write_text(json.dumps(dict(MODEL, channels=[{"name": "tv", "curve": {"type": "hil"}}])))
    failing(tmp_path, ["optimize", model, "--budget", 100], "unknown curve type 'hil'")


def test_existing_output_is_not_overwritten_on_failure(model_path, tmp_path):
    out = tmp_path / "allocation.csv"
    out.write_text("keep me\n")
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.tv]\nmin = 5000000\n")
    result = run("optimize", model_path, "--budget", 100, "--constraints", rules, "--out", out)
    assert result.exit_code == 1
    assert out.read_text() == "keep me\n"


def test_usage_errors_exit_2(model_path, tmp_path):
    result = run("optimize", model_path, "--periods", 0, "--out", tmp_path / "a.csv")
    assert result.exit_code == 2
    assert not (tmp_path / "a.csv").exists()
    assert run("optimize", model_path).exit_code == 2  # --out missing


def test_fit_reports_bad_history_cells(tmp_path):
    history = tmp_path / "history.csv"
    frame = simulate_long_history(demo_truth_model(), periods=30)
    frame["spend"] = frame["spend"].astype(str)
    frame.iloc[4, frame.columns.get_loc("spend")] = "n/a"
    frame.to_csv(history, index=False)
    failing(tmp_path, ["fit", history, "--format", "long", "--kpi", "revenue"],
            "line 6, column 'spend': 'n/a' is not a number")


def test_python_dash_m_budgetopt_works(tmp_path):
    result = subprocess.run([sys.executable, "-m", "budgetopt", "--help"], capture_output=True,
                            text=True, check=True, cwd=tmp_path)
    assert "optimize" in result.stdout and "demo" in result.stdout


def test_every_command_has_help_and_the_group_lists_it_truly():
    context = click.Context(cli)
    assert cli.list_commands(context) == list(COMMANDS)
    for name, (_, line) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command.name == name and command.help
        assert " ".join(command.help.split("\n\n")[0].split()) == line, name


def test_help_starts_without_the_numeric_libraries():
    probe = ("import sys; from click.testing import CliRunner; from budgetopt.cli.main import cli;"
             " assert CliRunner().invoke(cli, ['--help']).exit_code == 0;"
             " print(sorted({'numpy', 'pandas', 'scipy', 'pulp', 'plotly'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


GROUP_RULES = """
[channels.tv]
max_change = 0.6
[[groups]]
name = "digital"
channels = ["search", "social"]
max_share = 0.2
[[ratios]]
numerator = "tv"
denominator = "social"
min = 1.5
"""


def test_optimize_with_groups_prints_and_writes_shadow_prices(model_path, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(GROUP_RULES)
    out, summary = tmp_path / "a.csv", tmp_path / "s.json"
    result = run("optimize", model_path, "--budget", 2_000_000, "--periods", 13,
                 "--constraints", rules, "--out", out, "--json", summary)
    assert result.exit_code == 0, result.output
    assert "binding rules" in result.output
    data = json.loads(summary.read_text())
    names = [item["name"] for item in data["binding_constraints"]]
    assert "budget" in names and "group 'digital' max_share (upper)" in names
    frame = pd.read_csv(out).set_index("channel")
    assert frame.loc[["search", "social"], "spend"].sum() <= 0.2 * 2_000_000 * (1 + 1e-6)


@pytest.mark.parametrize("flags", [["--target-roi", 2.0], ["--target-kpi", 1_000_000],
                                   ["--target-mroi", 1.2], ["--objective", "profit"]],
                         ids=["target-roi", "target-kpi", "target-mroi", "profit"])
def test_every_objective_runs_from_the_terminal(model_path, tmp_path, flags):
    out = tmp_path / "a.csv"
    result = run("optimize", model_path, "--budget", 3_000_000, "--periods", 13, *flags,
                 "--out", out)
    assert result.exit_code == 0, result.output
    assert "objective:" in result.output
    frame = pd.read_csv(out)
    assert frame["spend"].sum() <= 3_000_000 + 0.01 * len(frame)  # amounts to the cent


def test_conflicting_objective_options_are_a_usage_error(model_path, tmp_path):
    result = run("optimize", model_path, "--target-roi", 2, "--target-kpi", 5,
                 "--out", tmp_path / "a.csv")
    assert result.exit_code == 2
    assert "use just one of --target-roi, --target-kpi" in result.stderr


def test_profit_of_conversions_needs_a_kpi_value(tmp_path):
    model = tmp_path / "conv.json"
    model.write_text(json.dumps(dict(MODEL, kpi={"name": "sales", "type": "conversions"})))
    failing(tmp_path, ["optimize", model, "--budget", 1000, "--objective", "profit"],
            "--kpi-value is needed for the profit of a conversions KPI")


def test_infeasible_group_exits_1_naming_the_group(model_path, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[channels.search]\nmax = 100\n[channels.social]\nmax = 200\n"
                     "[[groups]]\nname = \"digital\"\nchannels = [\"search\", \"social\"]\n"
                     "min = 600000\n")
    failing(tmp_path, ["optimize", model_path, "--budget", 1_000_000, "--constraints", rules],
            "group 'digital' min/max: needs >= 600,000.00, but its channels' maximums add up "
            "to 300.00")


def test_frontier_writes_the_contract_columns_and_marks_break_even(model_path, tmp_path):
    out = tmp_path / "frontier.csv"
    short = run("frontier", model_path, "--from", 100_000, "--to", 3_000_000, "--steps", 8,
                "--periods", 13, "--out", out)
    assert "marginal ROI is still 1.82 at 3,000,000: the break-even budget lies beyond" in \
        short.output
    assert not pd.read_csv(out)["break_even"].any()
    result = run("frontier", model_path, "--from", 100_000, "--to", 12_000_000, "--steps", 8,
                 "--periods", 13, "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["budget", "kpi", "roi", "marginal_roi", "break_even",
                                   "spend_tv", "spend_search", "spend_social"]
    assert len(frame) == 8
    assert frame["kpi"].is_monotonic_increasing
    spend = frame[["spend_tv", "spend_search", "spend_social"]].sum(axis=1)
    np.testing.assert_allclose(spend, frame["budget"], atol=0.02)  # cents
    assert "break-even budget (marginal ROI = 1)" in result.output
    crossed = frame.index[frame["break_even"]]
    assert len(crossed) == 1 and frame["marginal_roi"][crossed[0]] < 1
    assert frame["marginal_roi"][crossed[0] - 1] >= 1


def test_frontier_bad_range_is_an_input_error(model_path, tmp_path):
    failing(tmp_path, ["frontier", model_path, "--from", 5, "--to", 1, "--steps", 3],
            "--to must be above the first budget 5, got 1.")


EXAMPLES = resources.files("budgetopt.scenarios") / "examples"


def test_scenarios_verb_writes_summary_and_case_files(tmp_path):
    out = tmp_path / "results"
    result = run("scenarios", EXAMPLES / "quarter.toml", "--workers", 1, "--out", out)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["scenario", "budget", "kpi", "roi", "kpi_vs_base",
                                     "kpi_vs_base_pct", "status", "spend"]
    assert summary["scenario"].iloc[0] == "base"
    assert (out / "base.csv").is_file() and (out / "budget-minus-20-pct.csv").is_file()
    assert "vs base" in result.output


def test_scenarios_bad_case_exits_1_and_writes_nothing(tmp_path):
    shutil.copy(EXAMPLES / "demo_model.json", tmp_path / "model.json")
    path = tmp_path / "s.toml"
    path.write_text('model = "model.json"\n[base]\nbudget = 100\n[[case]]\nname = "no tv"\n'
                    'channels.tv.max = -1\n')
    out = tmp_path / "results"
    result = run("scenarios", path, "--out", out)
    assert result.exit_code == 1
    assert "case 'no tv'" in result.stderr
    assert "channels.tv.max must be a number from 0 to 1e+15" in result.stderr
    assert not out.exists()


def test_plan_verb_writes_the_plan_and_compares_with_flat(tmp_path):
    out = tmp_path / "plan.csv"
    result = run("plan", EXAMPLES / "demo_model.json", "--budget", 1_118_000, "--periods", 13,
                 "--start", "2027-01-04", "--constraints", EXAMPLES / "plan_rules.toml",
                 "--seasonality", EXAMPLES / "seasonality.csv", "--out", out,
                 "--json", tmp_path / "plan.json")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["period", "date", "channel", "spend", "kpi"]
    assert frame["spend"].sum() == pytest.approx(1_118_000, abs=0.01 * len(frame))  # cents
    assert frame["date"].iloc[0] == "2027-01-04" and frame["date"].iloc[-1] == "2027-03-29"
    tv = frame[frame["channel"] == "tv"].set_index("period")["spend"]
    assert tv.loc[[7, 8]].max() <= 1e-9 and tv.max() <= 60000 + 1e-6
    assert frame[frame["period"] <= 4]["spend"].sum() >= 0.25 * 1_118_000 - 0.01 * len(frame)
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert summary["kpi"] >= summary["flat_kpi"]
    assert "flat plan" in result.output


def test_plan_bad_start_date(tmp_path):
    failing(tmp_path, ["plan", EXAMPLES / "demo_model.json", "--periods", 4, "--start",
                       "someday"], "--start 'someday' is not a date")


def fit_generated_wide_history(tmp_path, seed, *options):
    """``budgetopt fit`` of a generated wide history: (result, model path)."""
    from budgetopt.optimizer.synthetic import simulate_wide_history, wide_truth_model

    history = tmp_path / "wide.csv"
    simulate_wide_history(wide_truth_model(), seed=seed).to_csv(history, index=False)
    model = tmp_path / "model.json"
    result = run("fit", history, "--date", "date", "--kpi", "revenue", "--channels",
                 "tv=tv_spend,search=search_spend,social=social_spend,display=display_spend,"
                 "video=video_spend", "--controls", "promo", *options, "--out", model)
    return result, model


def test_fit_wide_history_with_controls_then_seasonality_and_uncertainty(tmp_path):
    result, model = fit_generated_wide_history(tmp_path, 4, "--bootstrap", 5)
    assert result.exit_code == 0, result.output
    assert "R²" in result.output and "baseline" in result.output
    season = tmp_path / "season.csv"
    result = run("seasonality", model, "--start", "2026-01-05", "--periods", 13, "--out", season)
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(season).columns) == ["period", "date", "multiplier"]
    result = run("optimize", model, "--periods", 13, "--out", tmp_path / "a.csv")
    assert result.exit_code == 0, result.output
    assert "uncertainty over 5 bootstrap draws" in result.output
    result = run("plan", model, "--periods", 13, "--seasonality", season,
                 "--out", tmp_path / "plan.csv")
    assert result.exit_code == 0, result.output


def test_fit_with_delayed_adstock_prints_the_peak_and_plans(tmp_path):
    result, model = fit_generated_wide_history(tmp_path, 1, "--adstock", "delayed",
                                               "--bootstrap", 2)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("channel "))
    assert " decay  peak " in header
    saved = json.loads(model.read_text())["channels"][0]["adstock"]
    assert saved["type"] == "delayed" and len(saved["recent_spend"]) == 12
    result = run("plan", model, "--periods", 13, "--out", tmp_path / "plan.csv")
    assert result.exit_code == 0, result.output


def test_fit_wide_needs_channels(tmp_path):
    history = tmp_path / "h.csv"
    history.write_text("date,kpi\n2024-01-01,1\n")
    result = run("fit", history, "--out", tmp_path / "m.json")
    assert result.exit_code == 2 and "--channels is required" in result.stderr
