"""Solvers: the exact separable solver and the rule-aware PuLP engine, behind one call."""

from __future__ import annotations

from dataclasses import dataclass

from budgetopt.optimizer.constants import DEFAULT_GAP_TOLERANCE
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.solvers.constrained import ConstrainedSolver
from budgetopt.optimizer.solvers.separable import SeparableSolver

__all__ = ["SolverSettings", "solve"]


@dataclass(frozen=True)
class SolverSettings:
    """Optimality gap at which to stop, and seconds before reporting the gap reached."""

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE
    time_limit: float = 60.0


def solve(problem: AllocationProblem, settings: SolverSettings = SolverSettings()
          ) -> AllocationResult:
    """The separable solver when no rule links channels, else the PuLP engine."""
    kind = SeparableSolver if problem.is_separable else ConstrainedSolver
    return kind(gap_tolerance=settings.gap_tolerance, time_limit=settings.time_limit).solve(problem)
