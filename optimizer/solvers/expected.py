"""The allocation with the most expected KPI over a model's parameter draws.

The draws' mean KPI is a sum over channels of each channel's mean curve, a mixture of the
draws' curves, which no curve family describes; the exact solvers need families. SLSQP climbs
it instead, under the problem's budget, bounds and linear rules, from the point fit's
certified optimum, keeping that optimum's channels that are switched off off. It is a local
method: the answer is a direction for the guard to move along (see
:func:`budgetopt.optimizer.result.uncertainty.guarded_path`), never reported as an optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.allocation import AllocationProblem
from scipy.optimize import minimize

__all__ = ["expected_optimum"]

MAX_ITERATIONS = 200
TOLERANCE = 1e-10  # on the objective scaled to the point optimum's KPI
SLOPE_FLOOR = 1e-6  # slopes are taken at no less than this share of the start's total spend
FEASIBILITY = 1e-7  # relative slack on the rules that SLSQP's answer must keep


def expected_optimum(problem: AllocationProblem, draws: list[CurveSet], start: np.ndarray
                     ) -> np.ndarray | None:
    """The spend near ``start`` with the most mean KPI over ``draws`` (each a horizon curve
    set of the problem's channels) less the problem's price of spend, under its rules; None
    when the climb fails or ends nowhere better than ``start``."""
    start = np.asarray(start, float)
    scale = max(float(start.sum()), 1.0)
    off = (start <= 0) & (problem.min_if_on > 0)
    lower = np.where(off, 0.0, np.maximum(problem.lower, np.where(start > 0,
                                                                  problem.min_if_on, 0.0)))
    upper = np.where(off, 0.0, problem.upper)
    size = max(abs(_mean_objective(problem, draws, start)), 1.0)

    def objective(y):
        return -_mean_objective(problem, draws, y * scale) / size

    def gradient(y):
        # a concave draw's slope at 0 can be infinite: take it a hair above 0
        spend = np.maximum(y, SLOPE_FLOOR) * scale
        slopes = np.mean([curves.marginal(spend) for curves in draws], axis=0)
        return -(slopes - problem.price) * scale / size

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SLSQP's bound clipping warnings; the result is checked
        found = minimize(objective, start / scale, jac=gradient, method="SLSQP",
                         bounds=list(zip(lower / scale, np.where(np.isfinite(upper),
                                                                 upper / scale, None))),
                         constraints=_linear_constraints(problem, scale),
                         options={"maxiter": MAX_ITERATIONS, "ftol": TOLERANCE})
    spend = np.clip(found.x * scale, lower, upper)
    if not problem.is_feasible(spend, tolerance=FEASIBILITY) or \
            _mean_objective(problem, draws, spend) <= _mean_objective(problem, draws, start):
        return None
    return spend


def _mean_objective(problem: AllocationProblem, draws: list[CurveSet], spend) -> float:
    return float(np.mean([curves.value(spend).sum() for curves in draws])
                 - problem.price * np.sum(spend))


def _linear_constraints(problem: AllocationProblem, scale: float) -> list[dict]:
    """The budget and every rule as SLSQP constraints on spend / ``scale``."""
    n = len(problem.names)
    ones, budget = np.ones(n), problem.budget / scale
    constraints = [{"type": "ineq" if problem.budget_is_ceiling else "eq",
                    "fun": (lambda y: budget - y.sum()) if problem.budget_is_ceiling
                    else (lambda y: y.sum() - budget),
                    "jac": (lambda y: -ones) if problem.budget_is_ceiling else (lambda y: ones)}]
    for rule in problem.rules:
        row = np.zeros(n)
        np.add.at(row, rule.index, rule.coef)
        for bound, sign in ((rule.lower, 1.0), (rule.upper, -1.0)):
            if np.isfinite(bound):
                constraints.append({"type": "ineq",
                                    "fun": lambda y, r=row, b=bound / scale, g=sign:
                                    g * (r @ y - b),
                                    "jac": lambda y, r=row, g=sign: g * r})
    return constraints
