"""Exceptions raised by the budgetopt library.

Every error a user can cause is an :class:`InputError` (bad file, bad value) or an
:class:`InfeasibleError` (the rules admit no plan). The CLI turns both into exit code 1
with the message as-is, so messages name the file, line, column, channel or constraint.
"""

MAX_COLLECTED = 20  # problems listed under one error's header

__all__ = ["BudgetoptError", "InputError", "ParameterError", "InfeasibleError", "SolverError",
           "SchedulerError"]


class BudgetoptError(Exception):
    """Base class of every error budgetopt reports to a user."""

    @classmethod
    def collected(cls, header: str, problems: list[str]) -> "BudgetoptError":
        """One error listing several problems under a header line."""
        shown = problems[:MAX_COLLECTED]
        more = len(problems) - len(shown)
        lines = [header, *(f"  - {p}" for p in shown)]
        if more:
            lines.append(f"  ... and {more} more")
        return cls("\n".join(lines))


class InputError(BudgetoptError):
    """An input file or value is malformed or out of range."""


class ParameterError(InputError):
    """An argument of a library call is out of range; ``parameter`` names the argument.

    The library speaks of its own parameters (``kpi_value``); the command line maps them to
    its flags (``--kpi-value``) in one place.
    """

    def __init__(self, parameter: str, problem: str):
        self.parameter, self.problem = parameter, problem
        super().__init__(f"{parameter} {problem}")


class InfeasibleError(BudgetoptError):
    """The constraints admit no allocation; the message says which ones and by how much."""


class SolverError(BudgetoptError):
    """The solver stopped (time limit, numerical trouble) before it had any answer."""


class SchedulerError(BudgetoptError):
    """A Dask scheduler that cannot be reached."""
