"""The group decomposition (disjoint group rules, concave curves) against independent references.

Problems have several disjoint groups, some capped and some with floors that bind, channels in
no group, ramp limits, exact budgets and budget ceilings. Each answer must keep every rule of
the constraints table (checked from the table), lie within 1e-6 of a dense tangent MILP built
from the same table by scipy (an upper bound for concave curves), and price its binding group
rules as finite differences of independent re-solves do.
"""

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.constants import GAP_LIMIT, METHOD_KKT_GROUPS
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.allocation import build_problem
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.problem.objectives import Objective
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.solvers import solve
from budgetopt.optimizer.solvers.constrained import ConstrainedSolver
from budgetopt.optimizer.solvers.groups import disjoint_groups
from conftest import steady_model
from reference import rules_hold, tangent_lp_reference

FAMILIES = ["hill", "exponential", "logistic", "log"]


def grouped_case(seed: int, n: int = 9):
    rng = np.random.default_rng(seed)
    families = [FAMILIES[i % 4] for i in range(n)]
    curves = CurveSet.from_lists(families, rng.uniform(50, 500, n), rng.uniform(10, 200, n),
                                 rng.uniform(0.5, 1.0, n))
    model = steady_model(curves, rng.uniform(20, 150, n))
    names = model.names
    budget = float(rng.uniform(0.5, 1.2) * model.current_spend.sum())
    order = rng.permutation(n)
    groups = []
    for j, members in enumerate((order[:3], order[3:6])):  # order[6:] stays ungrouped
        even = budget * len(members) / n
        bound = {"max": float(rng.uniform(0.3, 0.8) * even)} if j == 0 else \
            {"min_share": float(rng.uniform(1.2, 1.6) * len(members) / n)}
        groups.append({"name": f"g{j}", "channels": [names[i] for i in members], **bound})
    channels = {names[order[6]]: {"max_change": 0.3}}
    return model, budget, {"channels": channels, "groups": groups, "ratios": []}


@pytest.mark.parametrize("seed", range(12))
def test_matches_the_independent_tangent_milp(seed):
    model, budget, rules = grouped_case(seed)
    result = allocate(model, budget, constraints=constraints_from_dict(rules, "groups"))
    assert result.certificate.method == METHOD_KKT_GROUPS
    assert rules_hold(model, budget, rules, result.spend)
    assert result.spend.sum() == pytest.approx(budget, rel=1e-9)
    bound, spend = tangent_lp_reference(model, budget, rules, tangents=1500)
    reference_value = model.curves.value(spend).sum()
    assert result.total_kpi <= bound * (1 + 1e-9)
    assert result.total_kpi >= reference_value * (1 - 1e-6)
    assert (bound - result.total_kpi) / result.total_kpi < 1e-4
    assert result.certificate.bound >= result.total_kpi - 1e-9 * abs(result.total_kpi)


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_rule_aware_engine_and_prices_groups(seed):
    model, budget, rules = grouped_case(seed)
    constraints = constraints_from_dict(rules, "groups")
    problem = build_problem(model, budget, constraints=constraints)
    fast = solve(problem)
    engine = ConstrainedSolver(gap_tolerance=1e-8).solve(problem)
    assert fast.objective_value == pytest.approx(engine.objective_value, rel=1e-7)
    cap = rules["groups"][0]["max"]
    capped = [s for s in fast.shadow_prices if s.name.startswith("group 'g0'")]
    if capped:  # the cap binds: its price is the gain of one more unit of it
        step = 1e-4 * cap
        looser = {**rules, "groups": [{**rules["groups"][0], "max": cap + step},
                                      rules["groups"][1]]}
        gain = solve(build_problem(model, budget, constraints=constraints_from_dict(
            looser, "groups"))).objective_value - fast.objective_value
        assert capped[0].value == pytest.approx(gain / step, rel=1e-3)
    assert capped or fast.spend[[int(c[1:]) for c in rules["groups"][0]["channels"]]].sum() \
        < cap * (1 - 1e-9)


def test_budget_ceiling_with_profit_objective():
    model, budget, rules = grouped_case(3)
    rules["groups"] = [rules["groups"][0]]  # an absolute cap: a sum row under a ceiling too
    constraints = constraints_from_dict(rules, "groups")
    result = allocate(model, budget * 3, constraints=constraints,
                      objective=Objective(kind="profit", kpi_value=1.0))
    assert result.certificate.method == METHOD_KKT_GROUPS
    assert rules_hold(model, budget * 3, rules, result.spend, exact_budget=False)
    bound, _ = tangent_lp_reference(model, budget * 3, rules, kind="profit", tangents=1500)
    profit = result.total_kpi - result.spend.sum()
    assert profit <= bound * (1 + 1e-9) and profit >= bound * (1 - 1e-4)


def test_other_rules_go_to_the_general_engine():
    model, budget, rules = grouped_case(1)
    overlapping = {**rules, "groups": [*rules["groups"],
                                       {"name": "both", "channels": ["c0", "c1", "c2", "c3"],
                                        "max": budget}]}
    ratio = {**rules, "ratios": [{"name": "r", "numerator": "c0", "denominator": "c1",
                                  "max": 2.0}]}
    for table in (overlapping, ratio):
        problem = build_problem(model, budget, constraints=constraints_from_dict(table, "t"))
        assert disjoint_groups(problem) is None
        assert solve(problem).certificate.method != METHOD_KKT_GROUPS


def test_infeasible_groups_are_explained_by_the_engine():
    model, budget, rules = grouped_case(2)
    rules["groups"][1]["min_share"] = 0.99  # the floor leaves the capped group too little
    rules["groups"][0]["min"] = 0.5 * budget
    with pytest.raises(Exception, match="g0|g1"):
        allocate(model, budget, constraints=constraints_from_dict(rules, "groups"))


def test_a_group_that_takes_the_whole_budget_keeps_a_finite_proven_bound():
    # c2 is so much better that all of the budget goes to its group (floor 0.78 x budget);
    # the free channels keep nothing and the budget's multiplier must stay finite, so the
    # dual bound is a number (it was NaN, and a NaN bound certified as optimal with gap 0)
    curves = CurveSet.from_lists(["exponential", "logistic", "log"], [50.0, 40.0, 5000.0],
                                 [30.0, 30.0, 20.0], [1.0, 1.0, 1.0])
    model = steady_model(curves, [20.0, 20.0, 40.0])
    budget = 84.62
    rules = {"channels": {}, "groups": [{"name": "g", "channels": [model.names[2]],
                                         "min": 0.78 * budget}], "ratios": []}
    result = allocate(model, budget, constraints=constraints_from_dict(rules, "groups"))
    assert result.certificate.method == METHOD_KKT_GROUPS
    assert result.spend == pytest.approx([0.0, 0.0, budget], abs=1e-9)
    assert np.isfinite(result.certificate.bound) and np.isfinite(result.multiplier)
    assert result.certificate.bound >= result.total_kpi
    bound, _ = tangent_lp_reference(model, budget, rules, tangents=1500)
    assert result.total_kpi == pytest.approx(bound, rel=1e-4)
    assert result.certificate.status == "optimal"


def test_a_bound_that_is_not_a_number_proves_nothing():
    certificate = certify(METHOD_KKT_GROUPS, 10.0, float("nan"), 1e-6)
    assert certificate.status == GAP_LIMIT and certificate.gap == np.inf
