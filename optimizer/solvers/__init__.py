"""Solvers: the exact separable solver and the rule-aware PuLP engine, behind one call."""

from __future__ import annotations

from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers.constrained import ConstrainedSolver
from budgetopt.optimizer.solvers.separable import SeparableSolver

__all__ = ["solve"]


def solve(problem: AllocationProblem, settings: SolverSettings = SolverSettings()
          ) -> AllocationResult:
    """The separable solver when no rule links channels, else the PuLP engine."""
    kind = SeparableSolver if problem.is_separable else ConstrainedSolver
    return kind(gap_tolerance=settings.gap_tolerance, time_limit=settings.time_limit).solve(problem)
