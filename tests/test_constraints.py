"""Channel rules become bounds; contradictions and unknown names are errors."""

import numpy as np
import pytest
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.problem.allocation import build_problem
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.synthetic import demo_truth_model


@pytest.fixture
def model():
    return demo_truth_model()


def rules(text_dict):
    return constraints_from_dict(text_dict, "rules.toml")


def test_min_max_fixed_and_max_change_become_bounds(model):
    c = rules({"channels": {"tv": {"min": 1000, "max": 50000}, "search": {"fixed": 20000},
                            "social": {"max_change": 0.3}}})
    p = build_problem(model, 100000, constraints=c)
    i = {n: j for j, n in enumerate(model.names)}
    assert (p.lower[i["tv"]], p.upper[i["tv"]]) == (1000, 50000)
    assert p.lower[i["search"]] == p.upper[i["search"]] == 20000
    assert p.lower[i["social"]] == pytest.approx(7000)
    assert p.upper[i["social"]] == pytest.approx(13000)


def test_bounds_are_horizon_totals_and_current_scales_with_periods(model):
    p = build_problem(model, 1_000_000, periods=13)
    np.testing.assert_allclose(p.current, model.current_spend * 13)


@pytest.mark.parametrize("data,message", [
    ({"channels": {"tv": {"min": 5, "max": 1}}}, "channels.tv: min (5.00) is above max (1.00)"),
    ({"channels": {"tv": {"fixed": 9, "max": 1}}}, "channels.tv: fixed (9.00) is outside max"),
    ({"channels": {"tv": {"maxx": 1}}}, "[channels.tv]: unknown key 'maxx'; did you mean 'max'?"),
    ({"channels": {"tv": {"max": -1}}}, "channels.tv.max must be a number from 0 to 1e+15, got -1"),
    ({"channels": {"tv": {"max": "lots"}}}, "channels.tv.max must be a number from 0 to 1e+15"),
    ({"budget": -3}, "budget must be a number from 0 to 1e+15, got -3"),
    ({"bugdet": 3}, "top level: unknown key 'bugdet'; did you mean 'budget'?"),
])
def test_invalid_rules_are_named(data, message):
    with pytest.raises(InputError) as caught:
        rules(data)
    assert message in str(caught.value) and "rules.toml" in str(caught.value)


def test_max_change_that_contradicts_min_is_infeasible(model):
    c = rules({"channels": {"tv": {"min": 100000, "max_change": 0.1}}})
    with pytest.raises(InfeasibleError, match="channel 'tv': its minimum 100,000.00 is above"):
        build_problem(model, 500000, constraints=c)


def test_maximums_below_the_budget_are_infeasible(model):
    c = rules({"channels": {n: {"max": 10} for n in model.names}})
    with pytest.raises(InfeasibleError, match="channel maximums add up to 60.00, less than the "
                                              "budget 1,000.00"):
        build_problem(model, 1000, constraints=c)


def test_commitment_above_the_maximum_leaves_the_channel_off(model):
    off = build_problem(model, 1000, constraints=rules(
        {"channels": {"tv": {"min_if_on": 500, "max": 100}}}))
    tv = off.names.index("tv")
    assert off.upper[tv] == 0 and off.min_if_on[tv] == 0
    with pytest.raises(InfeasibleError, match="channel 'tv': min_if_on 500.00 is above its "
                                              "maximum 100.00 while its minimum 50.00"):
        build_problem(model, 1000, constraints=rules(
            {"channels": {"tv": {"min_if_on": 500, "max": 100, "min": 50}}}))
