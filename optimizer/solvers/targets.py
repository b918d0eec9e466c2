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

GRID_POINTS = 17  # spend levels scanned before the bisection (evenly and geometrically)
SMALLEST_SHARE = 1e-9  # the geometric scan reaches down to this share of the ceiling
RELATIVE_TOLERANCE = 1e-9  # the bisection stops when the bracket is this narrow


def search_spend(build, ceiling: float, objective: Objective,
                 settings: SolverSettings) -> AllocationResult:
    """Target objectives: the best plan at the spend level where the target binds.

    ``target_kpi``: the least spend whose best plan reaches the KPI; ``target_roi``: the most
    spend whose best plan keeps the ROI. Spend levels are scanned over the whole range from
    the rules' floor to the ceiling (the rules may allow only some levels), then the boundary
    is bisected between the last level that fails and the first that meets the target.
    """
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
        meets = lambda b: best_at(b) is not None and best_at(b).total_kpi >= target
    else:
        meets = lambda b: (best_at(b) is not None and b > 0
                           and best_at(b).total_kpi >= target * b)
    floor = _floor(build, ceiling, plain)
    levels = np.unique(np.concatenate([
        np.linspace(floor, ceiling, GRID_POINTS),
        np.geomspace(max(floor, ceiling * SMALLEST_SHARE, 1e-12), ceiling, GRID_POINTS)]))
    if objective.kind == TARGET_ROI:
        levels = levels[::-1]  # the most spend first
    hits = [j for j, b in enumerate(levels) if meets(float(b))]
    if not hits:
        raise InfeasibleError(_out_of_reach(objective, target, ceiling, best_at(ceiling)))
    first = hits[0]
    if first == 0:
        note = ("the least spend the rules allow already reaches the target"
                if objective.kind == TARGET_KPI else
                f"ROI {best_at(ceiling).total_kpi / ceiling:.4g} meets the target {target:g} "
                f"at the full budget")
        return _with_note(best_at(float(levels[0])), note)
    good, bad = float(levels[first]), float(levels[first - 1])
    tolerance = RELATIVE_TOLERANCE * max(ceiling, 1.0)
    if best_at(bad) is not None:  # both ends feasible: the surplus is continuous between them
        surplus = (lambda b: best_at(b).total_kpi - target if best_at(b) else -np.inf) \
            if objective.kind == TARGET_KPI else \
            (lambda b: best_at(b).total_kpi - target * b if best_at(b) else -np.inf)
        root = brentq(lambda b: max(surplus(b), -1e300), min(good, bad), max(good, bad),
                      xtol=tolerance)
        step = tolerance  # the side of the root that meets the target
        candidate = root
        while not meets(candidate) and step < abs(good - bad):
            candidate = root + step if objective.kind == TARGET_KPI else root - step
            step *= 4
        good = candidate if meets(candidate) else good
    else:  # the rules allow no plan at the failing end: bisect on "a plan meets the target"
        while abs(good - bad) > tolerance:
            middle = 0.5 * (good + bad)
            if meets(middle):
                good = middle
            else:
                bad = middle
    word = "reaches KPI" if objective.kind == TARGET_KPI else "keeps ROI at least"
    return _with_note(best_at(good), f"spend {good:,.2f} {word} {target:,.4g}")


def _floor(build, ceiling: float, plain: Objective) -> float:
    """The least total spend the channels' bounds allow (0 when even that cannot be built)."""
    try:
        return float(build(ceiling, plain).lowest_spend.sum())
    except InfeasibleError:
        return 0.0


def _out_of_reach(objective: Objective, target: float, ceiling: float, top) -> str:
    if objective.kind == TARGET_KPI:
        reach = (f"the most the budget {ceiling:,.2f} buys is {top.total_kpi:,.2f}" if top
                 else f"no spend up to {ceiling:,.2f} that the rules allow reaches it")
        return (f"target KPI {target:,.2f} is out of reach: {reach}; raise the budget or lower "
                f"the target.")
    return (f"no spend up to {ceiling:,.2f} reaches the ROI target {target:g}: the best plans' "
            f"ROI stays below it at every spend the rules allow; lower the target.")


def _with_note(result: AllocationResult, note: str) -> AllocationResult:
    return replace(result, notes=(*result.notes, note))
