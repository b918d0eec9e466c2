"""Random allocation problems against independent references (bounded and seeded).

For each problem: every rule of the constraints table holds in the answer (checked from the
table, not from the project's rows); "infeasible" only when scipy's MILP on the same table
finds no plan either; and on a subsample the answer is within its reported gap of a dense
tangent MILP reference's feasible plan, and (concave curves) below that reference's bound.
"""

import time

import numpy as np
import pytest
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from conftest import steady_model
from reference import reference_rules, rules_hold, tangent_lp_reference
from scipy.optimize import Bounds, LinearConstraint, milp

pytestmark = pytest.mark.slow

PROBLEMS = 1000
REFERENCE_EVERY = 25
SECONDS = 60
FAMILIES = ["hill", "exponential", "logistic", "log", "linear"]


def random_case(rng):
    n = int(rng.integers(2, 6))
    families = list(rng.choice(FAMILIES, n))
    curves = CurveSet.from_lists(families, rng.uniform(50, 500, n), rng.uniform(10, 200, n),
                                 rng.uniform(0.5, 3.0, n))
    model = steady_model(curves, rng.uniform(10, 150, n))
    names = model.names
    budget = float(rng.uniform(0.2, 1.5) * curves.k.sum())
    rules = {"channels": {}, "groups": [], "ratios": []}
    for name in names:
        if rng.random() < 0.5:
            continue
        table = {}
        if rng.random() < 0.4:
            table["min"] = float(rng.uniform(0, 0.4) * budget / n)
        if rng.random() < 0.4:
            table["max"] = float(table.get("min", 0) + rng.uniform(0.05, 1.0) * budget / n * 2)
        if rng.random() < 0.2:
            table["min_if_on"] = float(rng.uniform(0.1, 0.6) * budget / n)
        if rng.random() < 0.15:
            table = {"fixed": float(rng.uniform(0, 0.5) * budget / n)}
        if rng.random() < 0.15:
            table = {"max_change": float(rng.uniform(0.1, 0.9))}
        rules["channels"][name] = table
    if rng.random() < 0.5:
        members = [str(c) for c in rng.choice(names, int(rng.integers(1, n + 1)), replace=False)]
        group = {"name": "g", "channels": members}
        key = str(rng.choice(["min", "max", "min_share", "max_share"]))
        group[key] = float(rng.uniform(0.1, 0.9) * (1 if "share" in key else budget))
        rules["groups"].append(group)
    if rng.random() < 0.3:
        a, b = rng.choice(names, 2, replace=False)
        rules["ratios"].append({"numerator": str(a), "denominator": str(b),
                                str(rng.choice(["min", "max"])): float(rng.uniform(0.2, 3))})
    return model, budget, rules


def independently_feasible(model, budget, rules) -> bool:
    """Whether any spend meets the table's rules and the budget (scipy MILP, zero objective)."""
    lower, upper, min_if_on, rows = reference_rules(model, budget, rules)
    n = len(model.names)
    if np.any(lower > upper + 1e-9):
        return False
    constraints = [LinearConstraint(np.r_[np.ones(n), np.zeros(n)][None, :], budget, budget)]
    for coef, low, high in rows:
        constraints.append(LinearConstraint(np.r_[coef, np.zeros(n)][None, :], low, high))
    committed = min_if_on > 0
    for i in np.flatnonzero(committed):  # x_i = 0, or floor <= x_i <= upper: x_i >= floor z_i
        floor = max(lower[i], min_if_on[i])
        row = np.zeros(2 * n)
        row[i], row[n + i] = 1.0, -floor
        constraints.append(LinearConstraint(row[None, :], 0.0, np.inf))
        row = np.zeros(2 * n)
        row[i], row[n + i] = 1.0, -upper[i]
        constraints.append(LinearConstraint(row[None, :], -np.inf, 0.0))
    bounds = Bounds(np.r_[np.where(committed, 0.0, lower), np.zeros(n)],
                    np.r_[upper, committed.astype(float)])
    result = milp(np.zeros(2 * n), constraints=constraints, bounds=bounds,
                  integrality=np.r_[np.zeros(n), committed.astype(float)])
    return result.status == 0


def test_random_problems_keep_every_rule_and_are_honest():
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    solved = infeasible = compared = 0
    for number in range(PROBLEMS):
        model, budget, rules = random_case(rng)
        try:
            constraints = constraints_from_dict(rules, "random")
            result = allocate(model, budget, constraints=constraints)
        except InfeasibleError:
            assert not independently_feasible(model, budget, rules), (number, rules)
            infeasible += 1
            continue
        solved += 1
        assert rules_hold(model, budget, rules, result.spend), (number, rules)
        assert result.spend.sum() == pytest.approx(budget, rel=1e-6)
        if number % REFERENCE_EVERY == 0:
            bound, spend = tangent_lp_reference(model, budget, rules)
            reference_value = model.curves.value(spend).sum()
            gap = result.certificate.gap
            assert result.total_kpi >= reference_value * (1 - gap) - 1e-6 * budget, number
            if model.curves.is_concave().all():  # tangents bound concave curves from above
                assert result.total_kpi <= bound * (1 + 1e-6) + 1e-9, number
            compared += 1
    assert time.perf_counter() - started < SECONDS
    assert solved > PROBLEMS / 2 and infeasible > 0 and compared >= PROBLEMS // REFERENCE_EVERY / 2
