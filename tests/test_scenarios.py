"""Scenario files: each case equals optimize run by hand; errors name the case and key."""

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.model.files import model_to_dict, read_model, write_model
from budgetopt.optimizer.parallel import open_executor
from budgetopt.optimizer.problem.constraints import read_constraints
from budgetopt.optimizer.problem.objectives import Objective
from budgetopt.optimizer.synthetic import demo_truth_model
from budgetopt.scenarios.runner import file_names, run_cases, summary_frame, write_outputs
from budgetopt.scenarios.scenario_file import read_scenarios

EXAMPLES = Path(str(resources.files("budgetopt.scenarios") / "examples"))

SCENARIOS = """
model = "model.json"
[base]
budget = 1000000
periods = 13
constraints = "rules.toml"

[[case]]
name = "cut 20%"
budget = 800000
[[case]]
name = "no tv & dearer search"
channels.tv.max = 0
channels.tv.max_change = 1.0
efficiency.search = 0.85
[[case]]
name = "profit"
objective = "profit"
[[case]]
name = "roi 1.6"
objective = "target_roi"
target = 1.6
[[case]]
name = "reach 1.3M"
objective = "target_kpi"
target = 1300000
[[case]]
name = "mroi 1.2"
objective = "target_mroi"
target = 1.2
"""
RULES = """
[channels.tv]
max_change = 0.4
[[groups]]
name = "digital"
channels = ["search", "social", "display"]
min_share = 0.35
"""


@pytest.fixture
def scenario_file(tmp_path):
    write_model(demo_truth_model(), tmp_path / "model.json")
    (tmp_path / "rules.toml").write_text(RULES)
    path = tmp_path / "what-if.toml"
    path.write_text(SCENARIOS)
    return path


def test_each_case_equals_optimize_by_hand(scenario_file):
    scenario_set = read_scenarios(scenario_file)
    with open_executor(workers=2) as executor:  # the one test of local parallel cases
        outcomes = run_cases(scenario_set, executor=executor)
    model = read_model(scenario_file.parent / "model.json")
    rules = read_constraints(scenario_file.parent / "rules.toml")
    tv_free = read_constraints(scenario_file.parent / "rules.toml")
    by_hand = {
        "base": dict(budget=1e6),
        "cut 20%": dict(budget=8e5),
        "profit": dict(budget=1e6, objective=Objective("profit")),
        "roi 1.6": dict(budget=1e6, objective=Objective("target_roi", target=1.6)),
        "reach 1.3M": dict(budget=1e6, objective=Objective("target_kpi", target=1.3e6)),
        "mroi 1.2": dict(budget=1e6, objective=Objective("target_mroi", target=1.2)),
    }
    for outcome in outcomes:
        name = outcome.case.name
        if name == "no tv & dearer search":
            from dataclasses import replace

            from budgetopt.optimizer.problem.constraints import ChannelRules
            channels = dict(tv_free.channels, tv=ChannelRules(max=0.0, max_change=1.0))
            expected = allocate(model, 1e6, periods=13,
                                constraints=replace(tv_free, channels=channels),
                                efficiency=np.where(np.array(model.names) == "search", 0.85, 1))
        else:
            settings = by_hand[name]
            expected = allocate(model, settings["budget"], periods=13, constraints=rules,
                                objective=settings.get("objective"))
        assert outcome.result is not None, outcome.error
        assert outcome.result.total_kpi == pytest.approx(expected.total_kpi, rel=1e-6), name
        np.testing.assert_allclose(outcome.result.spend, expected.spend,
                                   atol=1e-4 * expected.problem.budget, err_msg=name)
    frame = summary_frame(outcomes)
    assert list(frame.columns) == ["scenario", "budget", "kpi", "roi", "kpi_vs_base",
                                   "kpi_vs_base_pct", "status", "spend"]
    assert frame["scenario"].iloc[0] == "base" and frame["kpi_vs_base"].iloc[0] == 0
    no_tv = outcomes[2].result
    assert no_tv.spend[no_tv.problem.names.index("tv")] == 0


def test_outputs_are_written_with_safe_names(scenario_file, tmp_path):
    outcomes = run_cases(read_scenarios(scenario_file))
    written = write_outputs(outcomes, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert "summary.csv" in names and "no-tv-dearer-search.csv" in names
    assert "cut-20-pct.csv" in names and len(names) == 8
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 7


def test_file_names_are_distinct_and_safe():
    names = file_names(["budget -20%", "budget +20%", "a/b\\c", "", "summary", "a b c"])
    assert names[:2] == ["budget-minus-20-pct.csv", "budget-plus-20-pct.csv"]
    assert names[2] == "a-b-c.csv" and names[5] == "a-b-c-2.csv"
    assert names[3] == "case-4.csv" and names[4] == "summary-2.csv"


@pytest.mark.parametrize("case,message", [
    ('name = "no tv"\nchannels.tv.max = -1', "case 'no tv': invalid constraints:"),
    ('name = "no tv"\nchannels.tv.max = -1',
     "channels.tv.max must be a number from 0 to 1e+15, got -1"),
    ('name = "x"\nchannels.radio.max = 5', "case 'x': unknown channel(s)"),
    ('name = "x"\nefficiency.serch = 0.9', "case 'x': efficiency.serch: the model has no "
                                           "channel 'serch'; did you mean 'search'?"),
    ('name = "x"\nefficiency.search = 0', "case 'x': efficiency.search must be a number > 0"),
    ('name = "x"\nobjective = "target_roi"', "case 'x': objective target_roi needs a target"),
    ('name = "x"\nbugdet = 5', "case 'x': unknown key 'bugdet'; did you mean 'budget'?"),
    ('budget = 5', "case 1: missing name"),
    ('name = "base"', "case 'base': the name is used twice"),
], ids=["bad-max", "bad-max-text", "unknown-channel", "efficiency-name", "efficiency-zero",
        "missing-target", "unknown-key", "no-name", "duplicate"])
def test_errors_name_the_case_and_key(scenario_file, case, message):
    scenario_file.write_text(SCENARIOS.split("[[case]]")[0] + "[[case]]\n" + case + "\n")
    with pytest.raises(InputError) as caught:
        read_scenarios(scenario_file)
    assert message in str(caught.value)


def test_shipped_examples_run(tmp_path):
    for name in ("quarter.toml",):
        outcomes = run_cases(read_scenarios(EXAMPLES / name))
        assert all(o.result is not None for o in outcomes), [o.error for o in outcomes]


def test_shipped_example_model_is_the_demo_truth():
    shipped = read_model(EXAMPLES / "demo_model.json")
    assert model_to_dict(shipped) == model_to_dict(demo_truth_model())
