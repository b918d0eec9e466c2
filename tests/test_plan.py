"""Per-period plans: rules kept, optimum against an independent LP, behaviour with seasons."""

import time
from dataclasses import replace

import numpy as np
import pytest
from budgetopt.optimizer.allocate import plan_budget
from budgetopt.optimizer.constants import (
    METHOD_COMMITTED_SUFFIX,
    METHOD_CONCAVE_PLAN,
    METHOD_PRICED_PLAN,
    METHOD_SHAPED_PLAN,
)
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.dynamics import adstock_levels, simulate, tail_length
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.problem.plan import build_plan_problem
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers import plan_search
from budgetopt.optimizer.solvers.plan_lp import Node, PlanLP
from budgetopt.optimizer.solvers.plan_search import LagrangianBound, PlanSearch
from budgetopt.scenarios.seasonality import read_seasonality
from scipy.optimize import linprog, minimize


def small_model(families=("log", "exponential", "hill"), s=(1.0, 1.0, 0.7),
                decay=(0.5, 0.2, 0.7)):
    n = len(families)
    curves = CurveSet.from_lists(list(families), [300.0, 250.0, 400.0][:n], [80.0, 60.0, 120.0][:n],
                                 list(s))
    return MediaModel(names=("a", "b", "c")[:n], curves=curves, decay=np.array(decay[:n]),
                      normalized=np.zeros(n, bool), current_spend=np.array([50.0, 40.0, 30.0][:n]),
                      carry_in=np.array([60.0, 10.0, 0.0][:n]))


def direct_kpi(model, spend, multipliers):
    """The plan's KPI by the geometric adstock recursion, written out period by period."""
    total = 0.0
    for c in range(len(model)):
        level = model.carry_in[c]
        for t in range(spend.shape[1]):
            level = spend[c, t] + model.decay[c] * level
            total += multipliers[c, t] * model.curves.channel_value(c, level)
    return float(total)


def reference_plan(model, budget, periods, multipliers, caps, pacing=(), tail=0):
    """scipy LP over spend and response bounds with 400 tangents per level: (bound, spend);
    ``tail`` more periods without spend count the carry-out (multiplier 1)."""
    n = len(model)
    decay = model.decay
    count, horizon = n * periods, periods + tail
    terms = n * horizon
    rows, rhs = [], []
    for c in range(n):
        for t in range(horizon):
            # level = sum_s decay^(t-s) x_s + decay^(t+1) carry
            coef = np.zeros(count + terms)
            for s in range(min(t + 1, periods)):
                coef[c * periods + s] = decay[c] ** (t - s)
            constant = decay[c] ** (t + 1) * model.carry_in[c]
            top = coef[:count] @ np.where(caps.ravel() > 0, caps.ravel(), 0) + constant
            multiplier = multipliers[c, t] if t < periods else 1.0
            for point in np.linspace(1e-6, max(top, 1.0), 400):
                value = model.curves.channel_value(c, point)
                slope = model.curves.channel_marginal(c, point)
                row = np.zeros(count + terms)
                row[count + c * horizon + t] = 1.0
                row[:count] -= multiplier * slope * coef[:count]
                rows.append(row)
                rhs.append(multiplier * (value + slope * (constant - point)))
    for first, last, low, high in pacing:
        row = np.zeros(count + terms)
        for c in range(n):
            row[c * periods + first - 1:c * periods + last] = 1.0
        if low is not None:
            rows.append(-row)
            rhs.append(-low * budget)
        if high is not None:
            rows.append(row)
            rhs.append(high * budget)
    equality = np.zeros((1, count + terms))
    equality[0, :count] = 1.0
    bounds = [(0, caps.ravel()[i]) for i in range(count)] + [(None, None)] * terms
    cost = np.concatenate([np.zeros(count), -np.ones(terms)])
    result = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), A_eq=equality,
                     b_eq=[budget], bounds=bounds, method="highs")
    assert result.success, result.message
    return -result.fun, result.x[:count].reshape(n, periods)


RULES = {"pacing": [{"periods": [1, 2], "min_share": 0.3, "max_share": 0.5}],
         "channels": {"a": {"max_per_period": 70.0}, "c": {"active_periods": [[2, 4], [6, 6]]}}}


def test_plan_matches_an_independent_lp_and_keeps_every_rule():
    model = small_model()
    periods, budget = 6, 600.0
    multipliers = np.ones((3, periods))
    multipliers[:, 3] = 1.6
    constraints = constraints_from_dict(RULES, "rules.toml")
    result = plan_budget(model, budget, periods, constraints=constraints,
                         multipliers=multipliers)
    caps = np.full((3, periods), budget)
    caps[0] = 70.0
    caps[2, [0, 4]] = 0.0
    bound, reference_spend = reference_plan(model, budget, periods, multipliers, caps,
                                            pacing=[(1, 2, 0.3, 0.5)])
    reference_kpi = direct_kpi(model, reference_spend, multipliers)
    assert result.certificate.method == METHOD_CONCAVE_PLAN  # concave: the LP planner, no branching
    assert direct_kpi(model, result.spend, multipliers) == pytest.approx(result.kpi.sum())
    assert result.kpi.sum() >= reference_kpi * (1 - 1e-4)
    assert result.kpi.sum() <= bound * (1 + 1e-6)
    spend = result.spend
    assert spend.sum() == pytest.approx(budget, rel=1e-9)
    assert np.all(spend[0] <= 70.0 + 1e-6)
    assert np.all(spend[2, [0, 4]] <= 1e-9)
    assert 0.3 * budget - 1e-6 <= spend[:, :2].sum() <= 0.5 * budget + 1e-6
    assert result.total_kpi >= result.flat_total_kpi * (1 - 1e-9)


def test_step_change_limit_is_kept():
    model = small_model()
    rules = constraints_from_dict({"channels": {"b": {"max_step_change": 0.2}}}, "r")
    multipliers = np.ones((3, 8))
    multipliers[:, 5] = 3.0
    result = plan_budget(model, 800.0, 8, constraints=rules, multipliers=multipliers)
    b = result.spend[1]
    assert np.all(b[1:] <= 1.2 * b[:-1] + 1e-6) and np.all(b[1:] >= 0.8 * b[:-1] - 1e-6)


def test_spend_moves_to_the_seasonal_peak_and_away_from_the_last_weeks():
    model = small_model(families=("log", "exponential"), s=(1.0, 1.0), decay=(0.6, 0.5))
    periods = 10
    multipliers = np.ones((2, periods))
    multipliers[:, 4] = 2.0
    result = plan_budget(model, 1000.0, periods, multipliers=multipliers)
    weekly = result.spend.sum(axis=0)
    assert weekly[4] == weekly.max()
    assert weekly[-1] < weekly[:-1].mean()  # its carryover would be lost
    counted = plan_budget(model, 1000.0, periods, multipliers=multipliers,
                          count_carryover=True)
    assert counted.spend.sum(axis=0)[-1] > weekly[-1]
    assert counted.total_kpi > counted.kpi.sum()


def test_carry_in_is_part_of_the_first_periods():
    model = small_model()
    zero = np.zeros((3, 4))
    levels = adstock_levels(model, zero)
    np.testing.assert_allclose(levels[0], 60.0 * 0.5 ** np.arange(1, 5))
    assert tail_length(model) > 0


def test_delayed_adstock_carries_the_history_into_the_plan():
    """Levels of the plan equal the delayed adstock of history + plan computed in one piece."""
    model = small_model()
    rng = np.random.default_rng(3)
    history = rng.uniform(0, 100, (3, 12))
    model = replace(model, peak=np.array([2.0, np.nan, 0.5]), recent_spend=history)
    plan = rng.uniform(0, 100, (3, 6))
    levels = adstock_levels(model, plan)
    for c in (0, 2):
        weights = model.decay[c] ** ((np.arange(13) - model.peak[c]) ** 2)
        whole = np.concatenate([history[c], plan[c]])
        expected = [weights[::-1] @ whole[t:t + 13] for t in range(6)]
        np.testing.assert_allclose(levels[c], expected)
    result = plan_budget(model, 1000.0, 6)
    for c in (0, 2):  # the delayed channels' KPI from the kernel written out above
        weights = model.decay[c] ** ((np.arange(13) - model.peak[c]) ** 2)
        whole = np.concatenate([history[c], result.spend[c]])
        levels = [weights[::-1] @ whole[t:t + 13] for t in range(6)]
        np.testing.assert_allclose(result.kpi[c], model.curves.channel_value(c, levels))
    assert tail_length(model) >= 12


def test_plan_csv_has_the_contract_columns():
    model = small_model()
    result = plan_budget(model, 300.0, 3, dates=("2027-01-04", "2027-01-11", "2027-01-18"))
    frame = result.to_frame()
    assert list(frame.columns) == ["period", "date", "channel", "spend", "kpi"]
    assert len(frame) == 9 and frame["spend"].sum() == pytest.approx(300.0)
    assert frame["date"].iloc[-1] == "2027-01-18"


def test_caps_below_the_budget_are_explained():
    model = small_model()
    rules = constraints_from_dict({"channels": {n: {"max_per_period": 10.0} for n in "abc"}}, "r")
    with pytest.raises(InfeasibleError, match="per-period caps and flighting let the plan "
                                              "spend at most 120.00"):
        plan_budget(model, 500.0, 4, constraints=rules)


def test_conflicting_pacing_is_named():
    model = small_model()
    rules = constraints_from_dict({"pacing": [{"periods": [1, 2], "min_share": 0.7},
                                              {"periods": [3, 4], "min_share": 0.7}],
                                   "channels": {"a": {"max_per_period": 1000.0}}}, "r")
    with pytest.raises(InfeasibleError) as caught:
        plan_budget(model, 500.0, 4, constraints=rules)
    text = str(caught.value)
    assert "pacing periods 1-2: >= 70%" in text and "pacing periods 3-4: >= 70%" in text
    assert "budget: total spend = 500.00" in text and "channel 'a'" not in text


def test_flight_past_the_plan_is_an_input_error():
    rules = constraints_from_dict({"channels": {"a": {"active_periods": [[1, 9]]}}}, "r")
    with pytest.raises(InputError, match=r"channels.a.active_periods: \[1, 9\] goes past"):
        plan_budget(small_model(), 100.0, 4, constraints=rules)


def test_seasonality_file(tmp_path):
    path = tmp_path / "season.csv"
    path.write_text("period,channel,multiplier\n2,,1.5\n3,b,2\n")
    multipliers = read_seasonality(path, ("a", "b"), 4)
    np.testing.assert_allclose(multipliers, [[1, 1.5, 1, 1], [1, 1.5, 2, 1]])
    path.write_text("period,multiplier\n9,1.5\n2,-1\n")
    with pytest.raises(InputError) as caught:
        read_seasonality(path, ("a",), 4)
    assert "line 2, column 'period'" in str(caught.value)
    assert "line 3, column 'multiplier'" in str(caught.value)


def test_a_plan_counting_its_carry_out_matches_the_independent_lp():
    """Carry-out counted: the same plan as the independent LP with the tail's periods as
    terms of their own."""
    model = small_model()
    periods, budget = 6, 600.0
    multipliers = np.ones((3, periods))
    multipliers[:, 3] = 1.6
    result = plan_budget(model, budget, periods, constraints=constraints_from_dict(RULES, "r"),
                         multipliers=multipliers, count_carryover=True)
    caps = np.full((3, periods), budget)
    caps[0] = 70.0
    caps[2, [0, 4]] = 0.0
    tail = tail_length(model)
    bound, spend = reference_plan(model, budget, periods, multipliers, caps,
                                  pacing=[(1, 2, 0.3, 0.5)], tail=tail)
    kpi, carried = simulate(model, spend, multipliers, tail)
    assert result.total_kpi >= (kpi.sum() + carried.sum()) * (1 - 1e-4)
    assert result.total_kpi <= bound * (1 + 1e-6)


@pytest.mark.parametrize("shape", [1.0, 2.5])
@pytest.mark.parametrize("carryover", [False, True])
def test_binding_commitments_match_every_on_off_choice(carryover, shape):
    """Minimum commitments that bind (b must take a large share or none; c more than it is
    worth): the search's branching on them finds the best of the four plans that fix each
    commitment off (max 0) or on (min = the commitment), and keeps both commitments."""
    model = small_model(s=(1.0, 1.0, shape))
    multipliers = np.ones((3, 6))
    multipliers[:, 2] = 1.7
    flight = {"active_periods": [[2, 4], [6, 6]]}

    def planned(b, c):
        rules = {**RULES, "channels": {**RULES["channels"], "b": b, "c": {**c, **flight}}}
        return plan_budget(model, 600.0, 6, constraints=constraints_from_dict(rules, "r"),
                           multipliers=multipliers, count_carryover=carryover)

    ours = planned({"min_if_on": 320.0}, {"min_if_on": 150.0})
    assert ours.certificate.method.endswith(METHOD_COMMITTED_SUFFIX)
    totals = ours.spend.sum(axis=1)
    assert totals[1] <= 1e-6 or totals[1] >= 320.0 * (1 - 1e-9)
    assert totals[2] <= 1e-6 or totals[2] >= 150.0 * (1 - 1e-9)
    choices = []
    for b in ({"max": 0.0}, {"min": 320.0}):
        for c in ({"max": 0.0}, {"min": 150.0}):
            try:
                choices.append(planned(b, c))
            except InfeasibleError:
                continue
    best = max(choices, key=lambda plan: plan.total_kpi)
    assert ours.total_kpi >= best.total_kpi * (1 - 1e-4)
    assert ours.certificate.bound >= best.total_kpi * (1 - 1e-9)
    assert best.certificate.bound >= ours.total_kpi * (1 - 1e-9)
    assert np.array_equal(totals > 1e-6, best.spend.sum(axis=1) > 1e-6)


def brute_force_plan(model, budget, periods, multipliers, steps=12):
    """The best plan on a grid of budget / ``steps`` per cell, polished by SLSQP from the ten
    best grid points: (KPI, spend), by the written-out recursion of :func:`direct_kpi`."""
    cells = len(model) * periods
    # every way to put ``steps`` equal parts of the budget into ``cells`` cells
    grid = [np.zeros(0, int)]
    for _ in range(cells - 1):
        grid = [np.append(g, k) for g in grid for k in range(steps + 1 - g.sum())]
    grid = np.array([np.append(g, steps - g.sum()) for g in grid]) * budget / steps
    values = np.array([direct_kpi(model, g.reshape(len(model), periods), multipliers)
                       for g in grid])
    best_value, best_spend = -np.inf, None
    for start in grid[np.argsort(-values)[:10]]:
        polished = minimize(lambda x: -direct_kpi(model, x.reshape(len(model), periods),
                                                  multipliers), start, method="SLSQP",
                            bounds=[(0, budget)] * cells,
                            constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget}])
        value = -polished.fun if polished.success else -np.inf
        for candidate, score in ((polished.x, value), (start, direct_kpi(
                model, start.reshape(len(model), periods), multipliers))):
            if score > best_value and abs(candidate.sum() - budget) < 1e-6 * budget:
                best_value, best_spend = score, candidate.reshape(len(model), periods)
    return best_value, best_spend


def test_s_curve_plan_is_the_global_optimum_by_brute_force():
    """An S-shaped channel beside a concave one over three weeks: the branch-and-bound plan
    is as good as the best of a grid search polished by SLSQP, and its bound is above it."""
    model = small_model(families=("hill", "exponential"), s=(3.0, 1.0), decay=(0.5, 0.3))
    periods, budget = 3, 180.0
    multipliers = np.array([[1.0, 1.8, 1.0], [1.0, 1.0, 1.2]])
    result = plan_budget(model, budget, periods, multipliers=multipliers)
    reference, _ = brute_force_plan(model, budget, periods, multipliers)
    assert result.certificate.method == METHOD_SHAPED_PLAN
    assert direct_kpi(model, result.spend, multipliers) == pytest.approx(result.kpi.sum())
    assert result.kpi.sum() >= reference * (1 - 1e-4)
    assert result.certificate.bound >= reference * (1 - 1e-9)
    assert result.certificate.gap <= 1e-4


def test_an_s_curve_plan_stopped_by_its_time_limit_says_so():
    """Twelve S-shaped channels pulsing into a seasonal peak, a gap of 1e-9 and one second:
    the search stops with a plan that keeps every rule, its true KPI and a bound above it."""
    rng = np.random.default_rng(2)
    n, periods = 16, 13
    s = np.where(np.arange(n) < 12, rng.uniform(1.5, 3.0, n), rng.uniform(0.5, 1.0, n))
    curves = CurveSet.from_lists(["hill"] * n, rng.uniform(5e4, 5e5, n),
                                 rng.uniform(1e4, 1e5, n), s)
    model = MediaModel(tuple(f"c{i}" for i in range(n)), curves, rng.uniform(0, 0.7, n),
                       np.zeros(n, bool), rng.uniform(5e3, 5e4, n), rng.uniform(0, 1e4, n))
    multipliers = np.ones((n, periods))
    multipliers[:, 5:8] = 1.4
    budget = float(model.current_spend.sum() * periods)
    rules = constraints_from_dict({"pacing": [{"periods": [1, 4], "min_share": 0.25}]}, "r")
    result = plan_budget(model, budget, periods, constraints=rules, multipliers=multipliers,
                         settings=SolverSettings(gap_tolerance=1e-9, time_limit=1.0))
    certificate = result.certificate
    assert certificate.method == METHOD_SHAPED_PLAN
    assert certificate.status == "feasible_gap" and certificate.gap > 1e-9
    assert certificate.bound >= result.total_kpi
    assert direct_kpi(model, result.spend, multipliers) == pytest.approx(result.kpi.sum())
    assert result.spend.sum() == pytest.approx(budget, rel=1e-9)
    assert result.spend[:, :4].sum() >= 0.25 * budget * (1 - 1e-9)


def _s_curve_problem(rules=None, periods=3, budget=180.0):
    model = small_model(families=("hill", "exponential"), s=(3.0, 1.0), decay=(0.5, 0.3))
    multipliers = np.array([[1.0, 1.8, 1.0], [1.0, 1.0, 1.2]])[:, :periods]
    return model, multipliers, build_plan_problem(
        model, budget, periods, multipliers=multipliers,
        constraints=None if rules is None else constraints_from_dict(rules, "r"))


@pytest.mark.parametrize("budget_price", [0.0, 0.5, 1.0, 2.0, -1.0])
def test_the_lagrangian_bound_is_above_the_optimum_at_any_price(budget_price):
    """Each channel's plan alone with the budget priced bounds the plan from above, whatever
    the price (a price of the wrong sign for a row without that bound is clipped to 0)."""
    model, multipliers, problem = _s_curve_problem()
    reference, _ = brute_force_plan(model, 180.0, 3, multipliers)
    lagrangian = LagrangianBound(problem, PlanLP(problem), 1e-6)
    priced = lagrangian.value(np.array([budget_price]), time.perf_counter() + 30)
    assert priced.bound >= reference * (1 - 1e-9)
    assert priced.slope == pytest.approx(180.0 - sum(plan.sum() for plan, _ in priced.plans))


def test_the_least_lagrangian_bound_is_near_the_optimum():
    """Minimised over the budget's price from the root LP's, the bound stays above the brute
    force optimum and below the bound at the starting price."""
    model, multipliers, problem = _s_curve_problem()
    reference, _ = brute_force_plan(model, 180.0, 3, multipliers)
    lp = PlanLP(problem)
    search = PlanSearch(lp, 1e-9, time.perf_counter() + 30, 30.0)
    search.start(Node(np.inf, {}))
    search.run(pause=time.perf_counter())  # the root node only
    lagrangian = LagrangianBound(problem, lp, 1e-6)
    start = lagrangian.value(search.prices, time.perf_counter() + 30).bound
    least = lagrangian.minimise(search.prices, search.best[0], np.inf, time.perf_counter() + 30)
    assert reference * (1 - 1e-9) <= least <= start
    assert least <= reference * (1 + 1e-2)


@pytest.mark.parametrize("carryover", [False, True])
def test_a_plan_certified_by_its_lagrangian_bound_keeps_the_rules(monkeypatch, carryover):
    """The levels search stopped after its root node: the Lagrangian bound and the searches
    it guides give the plan, whose bound is above the plan the levels search alone certifies
    under the same rules (pacing and flighting tie the channels), and which keeps every
    rule."""
    model = small_model(s=(1.0, 1.0, 2.5))
    multipliers = np.ones((3, 6))
    multipliers[:, 2] = 1.7
    searched = plan_budget(model, 600.0, 6, constraints=constraints_from_dict(RULES, "r"),
                           multipliers=multipliers, count_carryover=carryover)
    monkeypatch.setattr(plan_search, "DUAL_AFTER", 0.0)
    problem = build_plan_problem(model, 600.0, 6, multipliers=multipliers,
                                 constraints=constraints_from_dict(RULES, "r"),
                                 count_carryover=carryover)
    solution = plan_search.solve_plan_lp(problem, gap_tolerance=1e-4, time_limit=6.0)
    assert np.isfinite(solution.dual) and solution.dual >= searched.total_kpi * (1 - 1e-9)
    assert solution.bound >= searched.total_kpi * (1 - 1e-9)
    assert solution.value >= searched.total_kpi * (1 - 1e-4)
    assert problem.is_feasible(solution.payload)
    if not carryover:
        assert direct_kpi(model, solution.payload, multipliers) == pytest.approx(solution.value)
    priced = plan_budget(model, 600.0, 6, constraints=constraints_from_dict(RULES, "r"),
                         multipliers=multipliers, count_carryover=carryover,
                         settings=SolverSettings(time_limit=6.0))
    assert priced.certificate.method == METHOD_PRICED_PLAN
