"""Allocation with rules across channels (groups, ratios), solved on the PuLP engine.

The spend of each channel is a variable; its curve enters through :mod:`.lp_engine` as a
piecewise-linear upper bound refined until the gap is closed. The budget and every rule are
named rows, so the final LP's duals are the rules' shadow prices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pulp

from budgetopt.optimizer.constants import DEFAULT_GAP_TOLERANCE, GAP_LIMIT, METHOD_LP, METHOD_MILP, OPTIMAL
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult, ShadowPrice
from budgetopt.optimizer.solvers.lp_engine import CurveTerms, PiecewiseModel, make_solver, solve_certified
from budgetopt.optimizer.solvers.separable import SeparableSolver, relative_gap

__all__ = ["ConstrainedSolver", "add_rules"]

BUDGET = "budget"


@dataclass(frozen=True)
class ConstrainedSolver:
    """Settings of the rule-aware solver; :meth:`solve` does the work."""

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE
    time_limit: float = 60.0

    def solve(self, problem: AllocationProblem) -> AllocationResult:
        from budgetopt.optimizer.solvers.infeasibility import explain_infeasible  # the explainer builds on this module

        started = time.perf_counter()
        model = PiecewiseModel(_terms(problem), hints=_hints(problem))

        def build(lp, add_terms):
            spend = [lp.add_variable(f"x{i}", lowBound=0) for i in range(len(problem.names))]
            responses = add_terms(spend)
            lp += pulp.lpSum(responses) - problem.price * pulp.lpSum(spend)
            add_rules(lp, problem, spend)
            return spend

        def evaluate(variables):
            x = np.array([v.value() or 0.0 for v in variables])
            x = np.clip(x, 0.0, problem.upper)
            return problem.objective_value(x), x, x

        solution = solve_certified(model, build, evaluate, gap_tolerance=self.gap_tolerance,
                                   time_limit=self.time_limit)
        if solution is None:
            raise InfeasibleError(explain_infeasible(problem))
        method = METHOD_MILP if model.is_mip else METHOD_LP
        shadow = _shadow_prices(problem, model, build)
        gap = relative_gap(solution.bound, solution.value)
        budget_price = next((s.value for s in shadow if s.name == BUDGET), problem.price)
        return AllocationResult(
            problem=problem, spend=solution.payload, status=OPTIMAL
            if gap <= self.gap_tolerance else GAP_LIMIT, method=method, gap=gap,
            upper_bound=solution.bound, multiplier=budget_price, nodes=solution.rounds,
            node_label="refinement round(s)",
            seconds=time.perf_counter() - started, shadow_prices=shadow)


def add_rules(lp: pulp.LpProblem, problem: AllocationProblem, spend, *, skip=()) -> None:
    """The budget row and every rule's rows, named for duals (``skip``: names to leave out)."""
    if BUDGET not in skip:
        total = pulp.lpSum(spend)
        lp += (total <= problem.budget if problem.budget_is_ceiling else
               total == problem.budget, BUDGET)
    for k, rule in enumerate(problem.rules):
        if rule.name in skip:
            continue
        activity = pulp.lpSum(float(c) * spend[i] for i, c in zip(rule.index, rule.coef))
        if np.isfinite(rule.lower):
            lp += (activity >= rule.lower, f"rule{k}_lower")
        if np.isfinite(rule.upper):
            lp += (activity <= rule.upper, f"rule{k}_upper")


def _terms(problem: AllocationProblem) -> CurveTerms:
    return CurveTerms(curves=problem.curves, lo=np.maximum(problem.lower, problem.min_if_on),
                      hi=problem.upper, off=problem.can_switch_off)


def _hints(problem: AllocationProblem):
    """The separable optimum without the rules: where the first tangents are most useful."""
    try:
        return SeparableSolver(time_limit=5.0).solve(replace(problem, rules=())).spend
    except Exception:  # any failure only costs a few refinement rounds
        return None


def _shadow_prices(problem, model: PiecewiseModel, build) -> tuple:
    """Duals of the binding rows of the final LP (segments fixed where the model was a MILP)."""
    if model.is_mip:
        model.fix_chosen()
    lp = pulp.LpProblem("budgetopt_duals", pulp.LpMaximize)
    build(lp, lambda expressions: model.add_to(lp, expressions))
    lp.solve(make_solver(30.0))
    if pulp.LpStatus[lp.status] != "Optimal":
        return ()
    prices = []
    labels = {BUDGET: BUDGET}
    for k, rule in enumerate(problem.rules):
        labels[f"rule{k}_lower"] = f"{rule.name} (lower)"
        labels[f"rule{k}_upper"] = f"{rule.name} (upper)"
    for i, name in enumerate(problem.names):
        if problem.lower[i] > 0:
            labels[f"term{i}_lo"] = f"channel '{name}' min"
        if problem.upper[i] < problem.budget:
            labels[f"term{i}_hi"] = f"channel '{name}' max"
    for key, label in labels.items():
        constraint = lp.get_constraint_by_name(key)
        if constraint is not None and constraint.pi is not None and abs(constraint.pi) > 1e-9:
            prices.append(ShadowPrice(label, -constraint.pi))
    return tuple(prices)
