"""Solvers: the exact separable solver and the rule-aware PuLP engine, behind one call."""

from __future__ import annotations

from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers.constrained import ConstrainedSolver
from budgetopt.optimizer.solvers.groups import GroupSolver, disjoint_groups
from budgetopt.optimizer.solvers.separable import SeparableSolver

__all__ = ["solve"]


def solve(problem: AllocationProblem, settings: SolverSettings = SolverSettings()
          ) -> AllocationResult:
    """The separable solver when no rule links channels; the group decomposition for disjoint
    group rules on concave curves; else (and to explain infeasible rules) the PuLP engine."""
    if problem.is_separable:
        return SeparableSolver(gap_tolerance=settings.gap_tolerance,
                               time_limit=settings.time_limit).solve(problem)
    groups = disjoint_groups(problem)
    if groups is not None:
        result = GroupSolver(gap_tolerance=settings.gap_tolerance).solve(problem, groups)
        if result is not None and result.certificate.gap <= settings.gap_tolerance:
            return result
    return ConstrainedSolver(gap_tolerance=settings.gap_tolerance,
                             time_limit=settings.time_limit).solve(problem)
