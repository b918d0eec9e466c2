"""The draws' expected-KPI optimum (the guard's second direction) against a brute-force grid
of the draws' mean KPI, which shares no code with the SLSQP climb."""

from dataclasses import replace

import numpy as np
import pytest
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import build_problem
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.problem.objectives import PROFIT, Objective
from budgetopt.optimizer.solvers import solve
from budgetopt.optimizer.solvers.expected import expected_optimum

STEP = 1.0  # grid step of the reference, in spend


def three_channels(seed: int) -> MediaModel:
    """Hill, log and exponential channels whose 30 draws put a's beta lower and c's higher
    than the point fit does, each scattered by ±40 %."""
    rng = np.random.default_rng(seed)
    curves = CurveSet.from_lists(["hill", "log", "exponential"], [900.0, 700.0, 500.0],
                                 [120.0, 80.0, 150.0], [0.8, 1.0, 1.0])
    model = MediaModel(("a", "b", "c"), curves, np.full(3, np.nan), np.zeros(3, bool),
                       np.array([100.0, 100.0, 100.0]), np.zeros(3))
    beta = curves.beta * np.array([0.7, 1.0, 1.3]) * rng.uniform(0.6, 1.4, (30, 3))
    draws = ParameterDraws(beta=beta, k=np.tile(curves.k, (30, 1)), s=np.tile(curves.s, (30, 1)),
                           decay=np.full((30, 3), np.nan), peak=np.full((30, 3), np.nan))
    return replace(model, draws=draws)


def mean_kpi(draws, spend):
    """Each row's KPI averaged over the draws, channel by channel."""
    return np.mean([sum(curves.channel_value(i, spend[:, i]) for i in range(spend.shape[1]))
                    for curves in draws], axis=0)


def grid_best(draws, spend, price=0.0):
    """The best row of ``spend`` by mean KPI less ``price`` x its total, and that value."""
    value = mean_kpi(draws, spend) - price * spend.sum(axis=1)
    j = int(np.argmax(value))
    return float(value[j]), spend[j]


def grid(total, ceiling=False):
    """Every (a, b, c) on a STEP grid adding up to ``total`` (or at most it)."""
    axis = np.arange(0.0, total + STEP / 2, STEP)
    a, b = (values.ravel() for values in np.meshgrid(axis, axis, indexing="ij"))
    rest = total - a - b
    keep = rest >= -1e-9
    if not ceiling:
        return np.column_stack([a[keep], b[keep], rest[keep]])
    rows = [np.column_stack([a[keep & (rest >= c)], b[keep & (rest >= c)],
                             np.full(int((keep & (rest >= c)).sum()), c)]) for c in axis]
    return np.vstack(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_expected_optimum_matches_a_grid_under_bounds_and_a_group_rule(seed):
    model = three_channels(seed)
    rules = constraints_from_dict({"channels": {"a": {"max": 160}, "c": {"min": 40}},
                                   "groups": [{"name": "ab", "channels": ["a", "b"],
                                               "max": 220}]}, "rules.toml")
    problem = build_problem(model, 300.0, constraints=rules)
    draws = [m.steady_state_curves() for m in model.draw_models()]
    spend = expected_optimum(problem, draws, solve(problem).spend)
    points = grid(300.0)
    a, b, c = points.T
    best, where = grid_best(draws, points[(a <= 160) & (c >= 40) & (a + b <= 220)])
    mean = np.mean([curves.value(spend).sum() for curves in draws])
    assert problem.is_feasible(spend, tolerance=1e-7)
    assert mean >= best - 1e-6 * abs(best)  # no grid point beats it
    np.testing.assert_allclose(spend, where, atol=2 * STEP)


def test_with_a_price_on_spend_the_budget_is_a_ceiling_and_the_grid_agrees():
    model = three_channels(3)
    problem = build_problem(model, 150.0, objective=Objective(PROFIT, kpi_value=0.5))
    draws = [m.steady_state_curves() for m in model.draw_models()]
    spend = expected_optimum(problem, draws, solve(problem).spend)
    best, _ = grid_best(draws, grid(150.0, ceiling=True), price=problem.price)
    value = np.mean([curves.value(spend).sum() for curves in draws]) - problem.price * spend.sum()
    assert spend.sum() <= 150.0 + 1e-6
    assert value >= best - 1e-6 * abs(best)


def test_no_expected_optimum_when_the_start_already_is_one():
    model = three_channels(0)
    problem = build_problem(model, 300.0)
    draws = [m.steady_state_curves() for m in model.draw_models()]
    spend = expected_optimum(problem, draws, solve(problem).spend)
    assert expected_optimum(problem, draws, spend) is None


def test_a_channel_at_zero_whose_draws_rise_infinitely_steeply_there_is_climbed_from():
    # Hill curves with s < 1 have an infinite slope at 0; the climb starts from b at 0
    curves = CurveSet.from_lists(["hill"] * 3, [900.0, 700.0, 500.0], [120.0, 80.0, 150.0],
                                 [0.6, 0.6, 0.6])
    model = replace(MediaModel(("a", "b", "c"), curves, np.full(3, np.nan), np.zeros(3, bool),
                               np.array([100.0, 100.0, 100.0]), np.zeros(3)),
                    draws=ParameterDraws(beta=np.tile(curves.beta, (4, 1)) *
                                         np.array([[1.0], [0.9], [1.1], [1.0]]),
                                         k=np.tile(curves.k, (4, 1)), s=np.tile(curves.s, (4, 1)),
                                         decay=np.full((4, 3), np.nan),
                                         peak=np.full((4, 3), np.nan)))
    problem = build_problem(model, 300.0)
    draws = [m.steady_state_curves() for m in model.draw_models()]
    spend = expected_optimum(problem, draws, np.array([150.0, 0.0, 150.0]))
    best, where = grid_best(draws, grid(300.0))
    assert spend is not None and spend[1] > 10
    assert np.mean([c.value(spend).sum() for c in draws]) >= best - 1e-6 * abs(best)
