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
from budgetopt.optimizer.constants import METHOD_LP, METHOD_MILP
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult, ShadowPrice
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.settings import DEFAULT_GAP_TOLERANCE, DEFAULT_TIME_LIMIT
from budgetopt.optimizer.solvers.infeasibility import explain_infeasible
from budgetopt.optimizer.solvers.lp_engine import (
    CurveTerms,
    PiecewiseModel,
    make_solver,
    solve_certified,
    term_row,
)
from budgetopt.optimizer.solvers.rules import (
    BUDGET,
    LOWER,
    UPPER,
    RuleKey,
    RuleKind,
    add_budget_and_rules,
)
from budgetopt.optimizer.solvers.separable import SeparableSolver

__all__ = ["ConstrainedSolver"]

HINT_SHARE = 0.1  # share of the time limit the rule-free hint may use


@dataclass(frozen=True)
class ConstrainedSolver:
    """Settings of the rule-aware solver; :meth:`solve` does the work."""

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE
    time_limit: float = DEFAULT_TIME_LIMIT

    def solve(self, problem: AllocationProblem) -> AllocationResult:
        started = time.perf_counter()
        deadline = started + self.time_limit
        model = PiecewiseModel(_terms(problem), hints=self._hints(problem))

        def build(lp, add_terms):
            spend = [lp.add_variable(f"x{i}", lowBound=0) for i in range(len(problem.names))]
            responses = add_terms(spend)
            lp += pulp.lpSum(responses) - problem.price * pulp.lpSum(spend)
            add_budget_and_rules(lp, problem, spend)
            return spend

        def evaluate(variables):
            x = np.array([v.value() or 0.0 for v in variables])
            x = np.clip(x, 0.0, problem.upper)
            return problem.objective_value(x), x, x

        scale = problem.scale
        solution = solve_certified(model, build, evaluate, gap_tolerance=self.gap_tolerance,
                                   time_limit=_left(deadline), scale=scale)
        if solution is None:
            raise InfeasibleError(explain_infeasible(problem, _left(deadline)))
        shadow = _shadow_prices(problem, model, build, _left(deadline), solution.last)
        budget_price = next((s.value for s in shadow if s.key == BUDGET), problem.price)
        certificate = certify(METHOD_MILP if model.is_mip else METHOD_LP, solution.value,
                              solution.bound, self.gap_tolerance, scale=scale,
                              effort=solution.rounds,
                              effort_label="refinement round(s)",
                              seconds=time.perf_counter() - started)
        return AllocationResult(problem=problem, spend=solution.payload, certificate=certificate,
                                multiplier=budget_price, shadow_prices=shadow)

    def _hints(self, problem: AllocationProblem):
        """The separable optimum without the rules: where the first tangents are most useful."""
        try:
            solver = SeparableSolver(time_limit=HINT_SHARE * self.time_limit)
            return solver.solve(replace(problem, rules=())).spend
        except Exception:  # any failure only costs a few refinement rounds
            return None


def _left(deadline: float) -> float:
    """Seconds left before ``deadline`` (at least one, so a last solve can still answer)."""
    return max(deadline - time.perf_counter(), 1.0)


def _terms(problem: AllocationProblem) -> CurveTerms:
    return CurveTerms(curves=problem.curves, lo=np.maximum(problem.lower, problem.min_if_on),
                      hi=problem.upper, off=problem.can_switch_off)


def _shadow_prices(problem, model: PiecewiseModel, build, time_limit: float, last) -> tuple:
    """Duals of the binding rows of the final LP: the last one solved when the model is an LP,
    else the MILP with its chosen segments fixed, solved once more as an LP."""
    if model.is_mip or last is None or pulp.LpStatus[last.status] != "Optimal":
        model.fix_chosen()
        lp = pulp.LpProblem("budgetopt_duals", pulp.LpMaximize)
        build(lp, lambda expressions: model.add_to(lp, expressions))
        lp.solve(make_solver(time_limit))
    else:
        lp = last
    if pulp.LpStatus[lp.status] != "Optimal":
        return ()
    # (key, label, sign): what loosening the row by one unit gains is sign x its dual; a lower
    # row is loosened downwards, so its dual counts the other way round
    rows = {BUDGET.row(): (BUDGET, "budget", -1.0)}
    for k, rule in enumerate(problem.rules):
        key = RuleKey(RuleKind.LINEAR, k)
        rows[key.row(LOWER)] = (key, f"{rule.name} (lower)", 1.0)
        rows[key.row(UPPER)] = (key, f"{rule.name} (upper)", -1.0)
    for i, name in enumerate(problem.names):
        if problem.lower[i] > 0:
            rows[term_row(i, "lo")] = (RuleKey(RuleKind.CHANNEL_MIN, i),
                                       f"channel '{name}' min", 1.0)
        if problem.upper[i] < problem.budget:
            rows[term_row(i, "hi")] = (RuleKey(RuleKind.CHANNEL_MAX, i),
                                       f"channel '{name}' max", -1.0)
    prices = []
    for row, (key, label, sign) in rows.items():
        constraint = lp.get_constraint_by_name(row)
        if constraint is not None and constraint.pi is not None and abs(constraint.pi) > 1e-9:
            prices.append(ShadowPrice(label, sign * constraint.pi, key))
    return tuple(prices)
