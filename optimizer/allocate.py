"""One call from a model and rules to a certified allocation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .constraints import Constraints
from .errors import InputError
from .model import MediaModel
from .problem import AllocationProblem, build_problem
from .result import AllocationResult
from .solvers.separable import SeparableSolver

__all__ = ["allocate", "resolve_budget"]


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
             constraints: Constraints | None = None,
             solver: SeparableSolver | None = None) -> AllocationResult:
    """Best split of ``budget`` (a horizon total) over ``periods`` periods at steady state."""
    budget = resolve_budget(model, budget, constraints, periods)
    problem = build_problem(model, budget, periods=periods, constraints=constraints)
    result = (solver or SeparableSolver()).solve(problem)
    return _never_worse_than_current(problem, result)


def _never_worse_than_current(problem: AllocationProblem,
                              result: AllocationResult) -> AllocationResult:
    """Keep the current plan when it is feasible and no worse than the answer found."""
    current = problem.current
    tolerance = 1e-9 * max(problem.budget, 1.0)
    feasible = (abs(current.sum() - problem.budget) <= tolerance
                and np.all(current >= problem.lower - tolerance)
                and np.all(current <= problem.upper + tolerance)
                and np.all((current >= problem.min_if_on - tolerance) | (current <= tolerance)))
    if not feasible or problem.value(current) <= result.total_kpi:
        return result
    return replace(result, spend=current.copy(),
                   notes=(*result.notes, "the current plan beats every plan found within the "
                          "gap; it is kept"))
