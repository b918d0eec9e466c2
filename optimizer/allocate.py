"""One call from a model, rules and an objective to a certified allocation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import brentq

from budgetopt.optimizer.problem.constraints import Constraints
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.objectives import TARGET_KPI, TARGET_ROI, Objective
from budgetopt.optimizer.problem.allocation import AllocationProblem, build_problem
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.solvers import SolverSettings, solve
from budgetopt.optimizer.result.uncertainty import compare_plans, shrink_towards_current

__all__ = ["allocate", "resolve_budget"]

TARGET_SEARCH_POINTS = 16


def resolve_budget(model: MediaModel, budget: float | None, constraints: Constraints | None,
                   periods: int) -> float:
    """The budget given, else the constraints file's, else the current plan's total."""
    if budget is not None:
        return budget
    if constraints is not None and constraints.budget is not None:
        return constraints.budget
    if np.isnan(model.current_spend).all():
        raise InputError("no budget: pass --budget, set `budget` in the constraints file, or "
                         "give the model's channels a current_spend.")
    return float(np.nansum(model.current_spend) * periods)


def allocate(model: MediaModel, budget: float | None = None, *, periods: int = 1,
             constraints: Constraints | None = None, objective: Objective | None = None,
             efficiency=1.0, risk_aware: bool = False,
             settings: SolverSettings = SolverSettings()) -> AllocationResult:
    """Best allocation of ``budget`` (a horizon total) over ``periods`` periods at steady state.

    ``efficiency`` (per channel, or one number) multiplies what the spend buys: 0.9 means the
    curve is evaluated at 0.9 x spend. With bootstrap draws in the model the result carries the
    KPI percentiles of the current and recommended plans; ``risk_aware`` then keeps only the part
    of the move that maximises the KPI's 10th percentile over the draws.

    For ``target_kpi`` and ``target_roi`` the budget is a ceiling and the spend is searched:
    the least spend whose best plan reaches the KPI target, or the most spend whose best plan
    keeps the ROI target.
    """
    objective = objective or Objective()
    budget = resolve_budget(model, budget, constraints, periods)
    build = lambda amount, goal: build_problem(model, amount, periods=periods,
                                               constraints=constraints, objective=goal,
                                               efficiency=efficiency)
    if objective.kind in (TARGET_KPI, TARGET_ROI):
        result = _search_spend(build, budget, objective, settings)
    else:
        result = solve(build(budget, objective), settings)
    result = replace(result, objective=objective.describe())
    result = _never_worse_than_current(result.problem, result)
    if risk_aware:
        result = _shrink(model, result, periods, efficiency)
    uncertainty = compare_plans(model, result.problem.current, result.spend, periods=periods,
                                efficiency=efficiency)
    return replace(result, uncertainty=uncertainty)


def _shrink(model, result: AllocationResult, periods, efficiency) -> AllocationResult:
    """Keep only the part of the move that the bootstrap draws support (best 10th percentile)."""
    problem = result.problem
    spend, share = shrink_towards_current(model, problem.current, result.spend,
                                          periods=periods, efficiency=efficiency)
    feasible = abs(spend.sum() - result.spend.sum()) <= 1e-9 * max(problem.budget, 1.0) and all(
        rule.lower - 1e-6 <= rule.activity(spend) <= rule.upper + 1e-6 for rule in problem.rules)
    if share == 1.0 or not feasible:
        return replace(result, notes=(*result.notes, "risk-aware: the full move has the best "
                                      "10th percentile over the draws"))
    return replace(result, spend=spend, notes=(
        *result.notes, f"risk-aware: {share:.0%} of the move from the current plan, which "
        f"maximises the KPI's 10th percentile over the bootstrap draws"))


def _search_spend(build, ceiling: float, objective: Objective,
                  settings: SolverSettings) -> AllocationResult:
    """Target objectives: the best plan at the spend level where the target binds."""
    plain = Objective()
    cache: dict[float, AllocationResult | None] = {}

    def best_at(amount: float) -> AllocationResult | None:
        if amount not in cache:
            try:
                cache[amount] = solve(build(amount, plain), settings)
            except InfeasibleError:
                cache[amount] = None
        return cache[amount]

    target = float(objective.target)
    if objective.kind == TARGET_KPI:
        surplus = lambda b: (best_at(b).total_kpi if best_at(b) else -np.inf) - target
        top = best_at(ceiling)
        if top is None or surplus(ceiling) < 0:
            reach = f"{top.total_kpi:,.2f}" if top else "nothing (the rules are infeasible)"
            raise InfeasibleError(f"target KPI {target:,.2f} is out of reach: the most the "
                                  f"budget {ceiling:,.2f} buys is {reach}; raise the budget "
                                  f"or lower the target.")
    else:
        surplus = lambda b: (best_at(b).total_kpi - target * b) if best_at(b) else -np.inf
    floor = float(build(ceiling, plain).lowest_spend.sum())
    if surplus(ceiling) >= 0 and objective.kind == TARGET_ROI:
        return _with_note(best_at(ceiling), f"ROI {best_at(ceiling).total_kpi / ceiling:.4g} "
                          f"meets the target {target:g} at the full budget")
    if objective.kind == TARGET_KPI and surplus(floor) >= 0:
        return _with_note(best_at(floor), "the least spend the rules allow already reaches "
                                          "the target")
    low, high = _bracket(surplus, floor, ceiling, objective.kind)
    tolerance = 1e-9 * max(ceiling, 1.0)
    root = brentq(lambda b: _finite(surplus(b)), low, high, xtol=tolerance)
    feasible_side = root
    step = tolerance
    while surplus(feasible_side) < 0 and step < (high - low):
        feasible_side = root + step if objective.kind == TARGET_KPI else root - step
        step *= 4
    result = best_at(feasible_side)
    word = "reaches KPI" if objective.kind == TARGET_KPI else "keeps ROI at least"
    return _with_note(result, f"spend {feasible_side:,.2f} {word} {target:,.4g}")


def _bracket(surplus, floor: float, ceiling: float, kind: str):
    """An interval where the surplus changes sign (target ROI: the highest such interval)."""
    if kind == TARGET_KPI:
        return floor, ceiling
    grid = np.linspace(ceiling, max(floor, 0.0), TARGET_SEARCH_POINTS + 1)
    for above, below in zip(grid[:-1], grid[1:]):
        if below > 0 and surplus(below) >= 0:
            return below, above
    raise InfeasibleError(f"no spend up to {ceiling:,.2f} reaches the ROI target: the best "
                          f"plans' ROI stays below it; lower the target.")


def _finite(value: float) -> float:
    return value if np.isfinite(value) else -1e300


def _with_note(result: AllocationResult, note: str) -> AllocationResult:
    return replace(result, notes=(*result.notes, note))


def _never_worse_than_current(problem: AllocationProblem,
                              result: AllocationResult) -> AllocationResult:
    """Keep the current plan when it meets every rule and is no worse than the answer found."""
    current = problem.current
    tolerance = 1e-9 * max(problem.budget, 1.0)
    total_ok = (current.sum() <= problem.budget + tolerance if problem.budget_is_ceiling
                else abs(current.sum() - problem.budget) <= tolerance)
    feasible = (total_ok
                and np.all(current >= problem.lower - tolerance)
                and np.all(current <= problem.upper + tolerance)
                and np.all((current >= problem.min_if_on - tolerance) | (current <= tolerance))
                and all(rule.lower - tolerance <= rule.activity(current) <= rule.upper + tolerance
                        for rule in problem.rules))
    if not feasible or problem.objective_value(current) <= result.objective_value:
        return result
    return replace(result, spend=current.copy(),
                   notes=(*result.notes, "the current plan beats every plan found within the "
                          "gap; it is kept"))
