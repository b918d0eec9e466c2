"""Rules across channels and every objective, against an independent MILP reference (scipy)."""

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.problem.objectives import Objective
from budgetopt.optimizer.result.certificate import NUMERICAL_SLACK
from reference import rules_hold, tangent_lp_reference

CONCAVE = ["hill", "exponential", "logistic", "log"]


def make_model(seed, n, families=CONCAVE, s_range=(0.5, 1.0)):
    rng = np.random.default_rng(seed)
    fam = [families[i % len(families)] for i in range(n)]
    curves = CurveSet.from_lists(fam, rng.uniform(50, 500, n), rng.uniform(10, 200, n),
                                 rng.uniform(*s_range, n))
    return MediaModel(names=tuple(f"c{i}" for i in range(n)), curves=curves,
                      decay=np.full(n, np.nan), normalized=np.zeros(n, bool),
                      current_spend=rng.uniform(20, 120, n), carry_in=np.zeros(n))


RULES = {
    "group-min-max": {"groups": [{"name": "g", "channels": ["c0", "c1", "c2"], "min": 300,
                                  "max": 420}]},
    "group-shares": {"groups": [{"name": "digital", "channels": ["c1", "c3", "c5"],
                                 "min_share": 0.55},
                                {"name": "rest", "channels": ["c0", "c2"], "max_share": 0.2}]},
    "ratio": {"ratios": [{"numerator": "c0", "denominator": "c1", "min": 1.5},
                         {"numerator": "c2", "denominator": "c3", "max": 0.5}]},
    "ratio-of-groups": {"groups": [{"name": "a", "channels": ["c0", "c1"], "max": 10000}],
                        "ratios": [{"numerator": "a", "denominator": "c4", "min": 3}]},
    "max-change-and-fixed": {"channels": {"c0": {"max_change": 0.2}, "c1": {"fixed": 50},
                                          "c2": {"min": 40, "max": 90}},
                             "groups": [{"name": "g", "channels": ["c3", "c4"], "max": 150}]},
    "min-if-on": {"channels": {"c0": {"min_if_on": 150}, "c3": {"min_if_on": 200}},
                  "groups": [{"name": "g", "channels": ["c0", "c1"], "min_share": 0.3}]},
}
BUDGET = 700.0


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
def test_kpi_objective_matches_the_reference(rules, seed):
    model = make_model(seed, 6)
    constraints = constraints_from_dict(rules, "rules.toml")
    result = allocate(model, BUDGET, constraints=constraints)
    bound, _ = tangent_lp_reference(model, BUDGET, rules)
    assert rules_hold(model, BUDGET, rules, result.spend)
    assert result.spend.sum() == pytest.approx(BUDGET, rel=1e-6)
    assert result.total_kpi == pytest.approx(bound, rel=1e-4)
    assert result.total_kpi <= bound * (1 + 1e-6)
    assert result.certificate.gap <= 1e-6


OBJECTIVES = {
    "profit": Objective("profit"),
    "profit-conversions": Objective("profit", kpi_value=0.8),
    "target-mroi": Objective("target_mroi", target=1.3),
    "target-roi": Objective("target_roi", target=2.2),
    "target-kpi": Objective("target_kpi", target=1200.0),
}


@pytest.mark.parametrize("rules", ["none", "group-shares", "ratio"])
@pytest.mark.parametrize("objective", OBJECTIVES.values(), ids=OBJECTIVES.keys())
def test_objectives_match_the_reference(objective, rules):
    model = make_model(3, 6)
    constraints = constraints_from_dict(RULES.get(rules, {}), "rules.toml")
    ceiling = 1500.0
    result = allocate(model, ceiling, constraints=constraints, objective=objective)
    table = RULES.get(rules, {})
    assert rules_hold(model, ceiling, table, result.spend, exact_budget=False)
    assert result.total_spend <= ceiling * (1 + 1e-9)
    bound, _ = tangent_lp_reference(model, ceiling, table, kind=objective.kind,
                                    target=objective.target, kpi_value=objective.kpi_value)
    if objective.kind == "target_kpi":
        assert result.total_kpi >= objective.target * (1 - 1e-9)
        assert result.total_spend == pytest.approx(bound, rel=1e-4)
        assert result.total_spend >= bound * (1 - 1e-6)
    elif objective.kind == "target_roi":
        assert result.total_kpi / result.total_spend >= objective.target * (1 - 1e-9)
        assert result.total_kpi == pytest.approx(bound, rel=1e-4)
    else:
        assert result.objective_value == pytest.approx(bound, rel=1e-4)
        assert result.objective_value <= bound * (1 + 1e-6)


def test_target_mroi_stops_each_channel_at_the_target_marginal():
    model = make_model(4, 5)
    result = allocate(model, 1e6, objective=Objective("target_mroi", target=1.5))
    interior = result.spend > 1e-6
    np.testing.assert_allclose(result.marginal_roi[interior], 1.5, rtol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_s_curves_groups_and_commitments_match_brute_force(seed):
    model = make_model(10 + seed, 3, families=["hill"], s_range=(1.3, 3.0))
    rules = {"channels": {"c0": {"min_if_on": 120}},
             "groups": [{"name": "g", "channels": ["c1", "c2"], "min_share": 0.35}]}
    constraints = constraints_from_dict(rules, "rules.toml")
    budget = 400.0
    result = allocate(model, budget, constraints=constraints)
    grid = np.linspace(0, budget, 801)
    x0, x1 = np.meshgrid(grid, grid, indexing="ij")
    x2 = budget - x0 - x1
    ok = (x2 >= -1e-9) & ((x0 == 0) | (x0 >= 120)) & (x1 + x2 >= 0.35 * budget - 1e-9)
    value = sum(model.curves.channel_value(i, x[ok]) for i, x in enumerate((x0, x1, x2)))
    brute = value.max()
    assert rules_hold(model, budget, rules, result.spend)
    assert result.total_kpi >= brute * (1 - 1e-4)
    slack = NUMERICAL_SLACK * result.problem.scale  # what the LP's tolerances leave
    assert result.total_kpi >= result.certificate.bound * (1 - result.certificate.gap) - slack


def test_shadow_prices_predict_the_gain_of_relaxing_a_rule():
    model = make_model(5, 6)
    rules = {"groups": [{"name": "g", "channels": ["c0", "c1"], "max": 100}]}
    result = allocate(model, BUDGET, constraints=constraints_from_dict(rules, "r"))
    prices = {s.name: s.value for s in result.shadow_prices}
    assert prices["group 'g' min/max (upper)"] > 0
    looser = {"groups": [{"name": "g", "channels": ["c0", "c1"], "max": 101}]}
    relaxed = allocate(model, BUDGET, constraints=constraints_from_dict(looser, "r"))
    gain = relaxed.total_kpi - result.total_kpi
    assert gain == pytest.approx(prices["group 'g' min/max (upper)"], rel=0.02)
    assert prices["budget"] == pytest.approx(result.multiplier)


@pytest.mark.parametrize("rules,message", [
    ({"channels": {"c0": {"max": 50}, "c1": {"max": 60}},
      "groups": [{"name": "digital", "channels": ["c0", "c1"], "min": 200}]},
     "group 'digital' min/max: needs >= 200.00, but its channels' maximums add up to 110.00"),
    ({"groups": [{"name": "a", "channels": ["c0", "c1"], "min": 400},
                 {"name": "b", "channels": ["c2", "c3"], "min": 400}]},
     "no allocation satisfies these rules together"),
    ({"groups": [{"name": "a", "channels": ["c0"], "min_share": 0.7},
                 {"name": "b", "channels": ["c1"], "min_share": 0.5}]},
     "group 'a' min_share"),
])
def test_impossible_rules_are_explained_by_name(rules, message):
    model = make_model(6, 5)
    with pytest.raises(InfeasibleError) as caught:
        allocate(model, BUDGET, constraints=constraints_from_dict(rules, "r"))
    assert message in str(caught.value)


def test_conflict_set_is_minimal():
    model = make_model(6, 5)
    rules = {"channels": {"c4": {"max": 10}},
             "groups": [{"name": "a", "channels": ["c0", "c1"], "min": 400},
                        {"name": "b", "channels": ["c2", "c3"], "min": 400},
                        {"name": "c", "channels": ["c4"], "max": 5}]}
    with pytest.raises(InfeasibleError) as caught:
        allocate(model, BUDGET, constraints=constraints_from_dict(rules, "r"))
    text = str(caught.value)
    assert "group 'a'" in text and "group 'b'" in text and "budget" in text
    assert "group 'c'" not in text and "c4" not in text


def test_unreachable_kpi_target_is_explained():
    model = make_model(7, 3)
    with pytest.raises(InfeasibleError, match="target KPI 1,000,000.00 is out of reach"):
        allocate(model, 500, objective=Objective("target_kpi", target=1e6))


def test_many_channels_in_overlapping_rules_match_the_reference():
    """150 channels in two overlapping groups and a ratio (the LP engine, not the group
    multipliers): within scipy's MILP on 30 tangents a channel, whose answer evaluated on the
    true curves bounds the optimum from below and whose optimum bounds it from above."""
    n = 150
    model = make_model(7, n)
    names = [f"c{i}" for i in range(n)]
    rules = {"groups": [{"name": "a", "channels": names[:80], "max_share": 0.45},
                        {"name": "b", "channels": names[40:], "min_share": 0.6}],
             "ratios": [{"numerator": "c0", "denominator": "c1", "min": 1.2}]}
    budget = 60.0 * n
    result = allocate(model, budget, constraints=constraints_from_dict(rules, "rules.toml"))
    bound, spend = tangent_lp_reference(model, budget, rules, tangents=30)
    below = model.curves.value(spend).sum()
    assert rules_hold(model, budget, rules, result.spend)
    assert below * (1 - 1e-9) <= result.total_kpi <= bound * (1 + 1e-9)
    assert result.certificate.gap <= 1e-6
    assert "HiGHS" in result.certificate.method


def test_shadow_prices_of_channel_bounds_and_a_ratio_floor():
    """The reduced costs of binding channel bounds and a group's dual are the gains of
    loosening each by one unit (finite differences on fresh solves); a binding ratio floor
    has a positive price and loosening it gains."""
    model = make_model(8, 5)

    def solved(c0_max=10.0, c3_min=540.0, group_max=140.0, ratio=8.0):
        rules = {"channels": {"c0": {"max": c0_max}, "c3": {"min": c3_min}},
                 "ratios": [{"numerator": "c1", "denominator": "c2", "min": ratio}],
                 "groups": [{"name": "g", "channels": ["c1", "c4"], "max": group_max}]}
        return allocate(model, BUDGET, constraints=constraints_from_dict(rules, "r"))

    result, step = solved(), 0.01
    prices = {s.name: s.value for s in result.shadow_prices}
    looser = {"channel 'c0' max": solved(c0_max=10 + step),
              "channel 'c3' min": solved(c3_min=540 - step),
              "group 'g' min/max (upper)": solved(group_max=140 + step)}
    for name, relaxed in looser.items():
        assert prices[name] == pytest.approx((relaxed.total_kpi - result.total_kpi) / step,
                                             rel=1e-2)
    floor = solved(c3_min=530.0)
    ratio = {s.name: s.value for s in floor.shadow_prices}["ratio 'c1/c2' min 8 (lower)"]
    assert ratio > 0
    assert solved(c3_min=530.0, ratio=8 - 1e-3).total_kpi > floor.total_kpi
