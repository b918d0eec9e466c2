"""The allocation problem: curves over the horizon, a budget and per-channel spend bounds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constraints import Constraints
from .curves import CurveSet
from .errors import InfeasibleError, InputError
from .model import MediaModel

__all__ = ["AllocationProblem", "build_problem"]


@dataclass(frozen=True)
class AllocationProblem:
    """Maximise the sum of ``curves`` over channels, spending exactly ``budget``.

    Arrays have shape ``(n_channels,)`` and hold horizon totals. A channel with
    ``min_if_on[i] > 0`` spends either 0 or between ``max(lower, min_if_on)`` and ``upper``.
    """

    names: tuple[str, ...]
    curves: CurveSet
    budget: float
    lower: np.ndarray
    upper: np.ndarray
    min_if_on: np.ndarray
    current: np.ndarray

    def __post_init__(self):
        n = len(self.names)
        for label in ("lower", "upper", "min_if_on", "current"):
            if getattr(self, label).shape != (n,):
                raise ValueError(f"`{label}` must have shape ({n},).")
        if len(self.curves) != n:
            raise ValueError(f"`curves` must have {n} channels.")
        if not np.isfinite(self.budget) or self.budget < 0:
            raise ValueError("`budget` must be a finite number >= 0.")

    @property
    def can_switch_off(self) -> np.ndarray:
        """Channels whose spend may be 0 although their on-minimum is positive."""
        return (self.min_if_on > 0) & (self.lower <= 0)

    @property
    def lowest_spend(self) -> np.ndarray:
        """The least each channel can spend (0 for a channel that may switch off)."""
        return np.where(self.can_switch_off, 0.0, np.maximum(self.lower, self.min_if_on))

    def value(self, spend) -> float:
        return float(self.curves.value(spend).sum())


def build_problem(model: MediaModel, budget: float, *, periods: int = 1,
                  constraints: Constraints | None = None, efficiency=1.0) -> AllocationProblem:
    """Turn a model, a horizon budget and channel rules into an :class:`AllocationProblem`.

    Raises:
        InputError: a rule names an unknown channel or needs a current spend the model lacks.
        InfeasibleError: the bounds cannot add up to the budget; the message gives the numbers.
    """
    if periods < 1:
        raise InputError(f"--periods must be a whole number >= 1, got {periods}.")
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"the budget must be a number >= 0, got {budget}.")
    constraints = constraints or Constraints()
    constraints.check_channels(model.names)
    n = len(model)
    current = np.nan_to_num(model.current_spend, nan=0.0) * periods
    lower, upper, min_if_on = np.zeros(n), np.full(n, np.inf), np.zeros(n)
    index = {name: i for i, name in enumerate(model.names)}
    problems = []
    for name, rules in constraints.channels.items():
        i = index[name]
        low, high = rules.min or 0.0, np.inf if rules.max is None else rules.max
        if rules.max_change is not None:
            if np.isnan(model.current_spend[i]):
                raise InputError(f"{constraints.source}: channels.{name}.max_change needs the "
                                 f"channel's current_spend, which the model does not give.")
            low = max(low, current[i] * (1 - rules.max_change))
            high = min(high, current[i] * (1 + rules.max_change))
        if rules.fixed is not None:
            low = high = rules.fixed
        if rules.min_if_on is not None:
            min_if_on[i] = rules.min_if_on
        if low > high:
            problems.append(f"channel '{name}': its minimum {low:,.2f} is above its maximum "
                            f"{high:,.2f} once max_change (±{rules.max_change:.0%} of current "
                            f"{current[i]:,.2f}) is applied")
        if min_if_on[i] > high:
            problems.append(f"channel '{name}': min_if_on {min_if_on[i]:,.2f} is above its "
                            f"maximum {high:,.2f}, so it can only be off; set max = 0 instead")
        lower[i], upper[i] = low, high
    if problems:
        raise InfeasibleError.collected("the channel rules contradict each other:", problems)
    upper = np.minimum(upper, budget)
    problem = AllocationProblem(names=model.names, curves=model.horizon_curves(periods, efficiency),
                                budget=float(budget), lower=lower, upper=upper,
                                min_if_on=min_if_on, current=current)
    check_budget_fits(problem)
    return problem


def check_budget_fits(problem: AllocationProblem) -> None:
    """Raise :class:`InfeasibleError` when the bounds cannot add up to the budget."""
    lowest = problem.lowest_spend
    if lowest.sum() > problem.budget * (1 + 1e-12):
        raise InfeasibleError(
            f"channel minimums add up to {lowest.sum():,.2f}, more than the budget "
            f"{problem.budget:,.2f} ({_largest(problem.names, lowest)}); "
            f"lower a minimum or raise the budget.")
    if problem.upper.sum() < problem.budget * (1 - 1e-12):
        raise InfeasibleError(
            f"channel maximums add up to {problem.upper.sum():,.2f}, less than the budget "
            f"{problem.budget:,.2f}; raise a maximum or lower the budget (every curve is "
            f"increasing, so the whole budget is spent).")


def _largest(names, amounts, count: int = 3) -> str:
    order = np.argsort(-amounts)[:count]
    return ", ".join(f"{names[i]} {amounts[i]:,.2f}" for i in order if amounts[i] > 0)
