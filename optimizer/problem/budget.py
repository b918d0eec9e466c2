"""Budgets as planners give them: an amount, or a change on the current plan ("+20%")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import ParameterError
from budgetopt.optimizer.files.checks import is_number
from budgetopt.optimizer.settings import MAX_AMOUNT

__all__ = ["Budget", "parse_budget"]

RELATIVE = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")


@dataclass(frozen=True)
class Budget:
    """A horizon budget: ``amount``, or the current plan's total over the horizon changed by
    ``change`` (0.2 for "+20%")."""

    amount: float | None = None
    change: float | None = None

    def resolve(self, current_total: float | None) -> float:
        """The amount, given the current plan's total over the horizon (None: unknown)."""
        if self.change is None:
            return float(self.amount)
        if current_total is None:
            raise ParameterError("budget", f"{self.describe()} is relative to the current plan, "
                                           f"but the model gives no current_spend; give an "
                                           f"amount instead.")
        return current_total * (1 + self.change)

    def describe(self) -> str:
        if self.change is None:
            return f"{self.amount:,.2f}"
        return f"{100 * self.change:+g}%"


def parse_budget(value) -> Budget:
    """A budget from a number or from text such as "1300000", "+20%" or "-10%".

    Raises:
        ParameterError: for ``budget`` when the value is neither.
    """
    if is_number(value):
        amount = float(value)
    elif isinstance(value, str) and RELATIVE.match(value):
        sign, number, = RELATIVE.match(value).groups()
        change = float(number) / 100 * (1 if sign == "+" else -1)
        if change <= -1:
            raise ParameterError("budget", f"{value!r} would cut the whole budget; give an "
                                           f"amount.")
        return Budget(change=change)
    elif isinstance(value, str):
        try:
            amount = float(value.replace(",", "").replace("_", ""))
        except ValueError:
            raise ParameterError("budget", f"{value!r} is neither an amount nor a change such "
                                           f"as +20% or -10%.") from None
    else:
        raise ParameterError("budget", f"{value!r} is neither an amount nor a change such as "
                                       f"+20%.")
    if not (np.isfinite(amount) and 0 <= amount <= MAX_AMOUNT):
        raise ParameterError("budget", f"must be a number from 0 to {MAX_AMOUNT:g}, got "
                                       f"{value!r}")
    return Budget(amount=amount)
