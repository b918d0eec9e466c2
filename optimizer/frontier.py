"""The budget frontier: the best KPI for each budget in a range, and the break-even budget."""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.allocate import guard_result
from budgetopt.optimizer.constants import KPI_REVENUE
from budgetopt.optimizer.errors import InfeasibleError, ParameterError
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import build_problem
from budgetopt.optimizer.problem.constraints import Constraints
from budgetopt.optimizer.problem.objectives import PROFIT, Objective
from budgetopt.optimizer.result.frontier import Frontier
from budgetopt.optimizer.settings import MAX_FRONTIER_STEPS, SolverSettings
from budgetopt.optimizer.solvers import solve

__all__ = ["budget_frontier"]


def budget_frontier(model: MediaModel, start: float, stop: float, steps: int, *,
                    periods: int = 1, constraints: Constraints | None = None,
                    kpi_value: float | None = None, allow_extrapolation: bool = False,
                    point_estimate: bool = False,
                    settings: SolverSettings = SolverSettings()) -> Frontier:
    """Solve the best allocation at ``steps`` evenly spaced budgets from ``start`` to ``stop``.

    With parameter draws in the model each budget's answer is guarded as in :func:`allocate`
    (unless ``point_estimate``)."""
    if not 2 <= steps <= MAX_FRONTIER_STEPS:
        raise ParameterError("steps", f"must be from 2 to {MAX_FRONTIER_STEPS:,}, got {steps}.")
    if not start >= 0:
        raise ParameterError("start", f"must be a budget >= 0, got {start:g}.")
    if not start < stop:
        raise ParameterError("stop", f"must be above the first budget {start:g}, got {stop:g}.")
    results, infeasible = [], []
    for budget in np.linspace(start, stop, steps):
        try:
            result = solve(build_problem(model, float(budget), periods=periods,
                                         constraints=constraints,
                                         allow_extrapolation=allow_extrapolation), settings)
            guarded = model.draws is not None and not point_estimate
            results.append(guard_result(model, result, periods) if guarded else result)
        except InfeasibleError:
            infeasible.append(float(budget))
    if not results:
        raise InfeasibleError(f"no budget from {start:,.2f} to {stop:,.2f} meets the rules; "
                              f"run optimize at one budget to see which rules conflict.")
    return Frontier(tuple(results), tuple(infeasible),
                    _break_even(model, stop, periods, constraints, kpi_value, settings,
                                allow_extrapolation),
                    kpi_value=kpi_value or 1.0)


def _break_even(model, ceiling, periods, constraints, kpi_value, settings,
                allow_extrapolation) -> float | None:
    """Total spend of the most profitable plan: there the marginal ROI of budget equals 1."""
    if model.kpi_type != KPI_REVENUE and kpi_value is None:
        return None
    goal = Objective(kind=PROFIT, kpi_value=kpi_value or 1.0)
    try:
        problem = build_problem(model, ceiling, periods=periods, constraints=constraints,
                                objective=goal, allow_extrapolation=allow_extrapolation)
        return solve(problem, settings).total_spend
    except InfeasibleError:
        return None
