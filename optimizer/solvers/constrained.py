"""Allocation with rules across channels (groups, ratios), solved on the HiGHS engine.

The spend of each channel is a variable; its curve enters through :mod:`.lp_engine` as a
piecewise-linear upper bound refined until the gap is closed, in one HiGHS model kept between
rounds (:mod:`.allocation_lp`). The final LP's duals are the rules' shadow prices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from budgetopt.optimizer.constants import METHOD_LP, METHOD_MILP
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.settings import DEFAULT_GAP_TOLERANCE, DEFAULT_TIME_LIMIT
from budgetopt.optimizer.solvers.allocation_lp import AllocationLP
from budgetopt.optimizer.solvers.infeasibility import explain_infeasible
from budgetopt.optimizer.solvers.lp_engine import CurveTerms, PiecewiseModel, solve_certified
from budgetopt.optimizer.solvers.rules import BUDGET
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
        lp = AllocationLP(problem, model)

        def evaluate(spend):
            x = np.clip(spend, 0.0, problem.upper)
            return problem.objective_value(x), x, x

        scale = problem.scale
        solution = solve_certified(model, lp.solve_round, evaluate,
                                   gap_tolerance=self.gap_tolerance,
                                   time_limit=_left(deadline), scale=scale)
        if solution is None:
            raise InfeasibleError(explain_infeasible(problem, _left(deadline)))
        method = METHOD_MILP if model.is_mip else METHOD_LP
        shadow = lp.shadow_prices(_left(deadline))
        budget_price = next((s.value for s in shadow if s.key == BUDGET), problem.price)
        certificate = certify(method, solution.value,
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
