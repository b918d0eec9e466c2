"""Target objectives: the spend level at which a KPI or ROI target binds, found by search.

For ``target_kpi`` the least spend whose best plan reaches the KPI target; for ``target_roi``
the most spend whose best plan keeps the ROI target. Each spend level is solved to a
certified optimum, so the answer is the best plan at the spend found.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.problem.objectives import TARGET_KPI, TARGET_ROI, Objective
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers import solve
from scipy.optimize import brentq

__all__ = ["search_spend"]

TARGET_SEARCH_POINTS = 16


def search_spend(build, ceiling: float, objective: Objective,
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
