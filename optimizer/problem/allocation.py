"""The allocation problem: curves over the horizon, a budget, spend bounds and linear rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.constants import KPI_REVENUE
from budgetopt.optimizer.errors import InfeasibleError, InputError, ParameterError
from budgetopt.optimizer.model.cells import GeoCells
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.cell_rules import entry_constraints
from budgetopt.optimizer.problem.constraints import Constraints
from budgetopt.optimizer.problem.objectives import Objective
from budgetopt.optimizer.settings import MAX_AMOUNT, MAX_HORIZON_PERIODS, MAX_LISTED

__all__ = ["AllocationProblem", "LinearRule", "build_problem"]


@dataclass(frozen=True)
class LinearRule:
    """``lower <= sum(coef * spend[index]) <= upper``, named for messages and shadow prices."""

    name: str
    index: np.ndarray
    coef: np.ndarray
    lower: float = -np.inf
    upper: float = np.inf

    def activity(self, spend) -> float:
        return float(self.coef @ np.asarray(spend)[self.index])


@dataclass(frozen=True)
class AllocationProblem:
    """Maximise ``sum(curves(spend)) - price * sum(spend)`` over channels.

    The spend adds up to exactly ``budget`` when ``price`` is 0, and to at most ``budget``
    otherwise. Arrays have shape ``(n_channels,)`` and hold horizon totals. A channel with
    ``min_if_on[i] > 0`` spends either 0 or between ``max(lower, min_if_on)`` and ``upper``.
    ``rules`` are linear constraints across channels (groups, ratios). The horizon is
    ``periods`` periods of the model's ``period`` ("week"), the budget spread evenly over them.
    ``history_cap`` is each channel's largest per-period spend in its history over the horizon
    (NaN where unknown). A geo model's problem keeps its ``cells`` (each entry's geo and
    channel) for the outputs.
    """

    names: tuple[str, ...]
    curves: CurveSet
    budget: float
    lower: np.ndarray
    upper: np.ndarray
    min_if_on: np.ndarray
    current: np.ndarray
    rules: tuple[LinearRule, ...] = ()
    price: float = 0.0
    periods: int = 1
    period: str = "period"
    kpi_type: str = KPI_REVENUE
    history_cap: np.ndarray | None = None
    held_by_history: np.ndarray | None = None
    cells: GeoCells | None = None

    @property
    def held(self) -> np.ndarray:
        """Channels whose maximum is the largest spend their history shows."""
        return (np.zeros(len(self.names), bool) if self.held_by_history is None
                else self.held_by_history)

    @property
    def history_caps(self) -> np.ndarray:
        """Horizon spend at the largest per-period spend each history shows (NaN: unknown)."""
        return (np.full(len(self.names), np.nan) if self.history_cap is None
                else self.history_cap)

    def beyond_history(self, spend) -> np.ndarray:
        """Channels whose spend per period is above the largest their history shows."""
        caps = self.history_caps
        with np.errstate(invalid="ignore"):
            return np.isfinite(caps) & (np.asarray(spend) > caps * (1 + 1e-9) + 1e-9)

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

    @property
    def budget_is_ceiling(self) -> bool:
        return self.price > 0

    @property
    def is_separable(self) -> bool:
        """No rule links channels: the exact separable solver applies."""
        return not self.rules

    @property
    def scale(self) -> float:
        """The most KPI the channels' maximums could buy: the size of the objective's terms."""
        return float(self.curves.value(self.upper).sum())

    def is_feasible(self, spend, tolerance: float = 1e-9) -> bool:
        """Whether ``spend`` keeps the budget, every bound, commitment and rule."""
        spend = np.asarray(spend, float)
        slack = tolerance * max(self.budget, 1.0)
        total = spend.sum()
        return bool((total <= self.budget + slack if self.budget_is_ceiling
                     else abs(total - self.budget) <= slack)
                    and np.all(spend >= self.lower - slack) and np.all(spend <= self.upper + slack)
                    and np.all((spend >= self.min_if_on - slack) | (spend <= slack))
                    and all(r.lower - slack <= r.activity(spend) <= r.upper + slack
                            for r in self.rules))

    def value(self, spend) -> float:
        """Total KPI of a spend vector."""
        return float(self.curves.value(spend).sum())

    def objective_value(self, spend) -> float:
        return self.value(spend) - self.price * float(np.sum(spend))


def build_problem(model: MediaModel, budget: float, *, periods: int = 1,
                  constraints: Constraints | None = None, objective: Objective | None = None,
                  efficiency=1.0, allow_extrapolation: bool = False) -> AllocationProblem:
    """Turn a model, a horizon budget and channel rules into an :class:`AllocationProblem`.

    Where the model knows a channel's observed spend, its spend per period stays within the
    largest its history shows, unless the rules give the channel an explicit ``max`` or
    ``fixed`` amount (or a ``min`` above it) or ``allow_extrapolation`` is set: no silent
    extrapolation of a curve beyond the data it was fitted on.

    Raises:
        InputError: a rule names an unknown channel or needs a current spend the model lacks.
        InfeasibleError: the bounds cannot add up to the budget; the message gives the numbers.
    """
    if not 1 <= periods <= MAX_HORIZON_PERIODS:
        raise ParameterError("periods", f"must be a whole number from 1 to "
                                        f"{MAX_HORIZON_PERIODS}, got {periods}.")
    if not (np.isfinite(budget) and 0 <= budget <= MAX_AMOUNT):
        raise ParameterError("budget", f"must be a number from 0 to {MAX_AMOUNT:g}, got "
                                       f"{budget:g}.")
    constraints = entry_constraints(constraints or Constraints(), model, periods)
    constraints.check_channels(model.names)
    n = len(model)
    current = np.nan_to_num(model.current_spend, nan=0.0) * periods
    lower, upper, min_if_on = np.zeros(n), np.full(n, np.inf), np.zeros(n)
    index = {name: i for i, name in enumerate(model.names)}
    history_cap = model.observed_max * periods
    held = np.isfinite(history_cap) & (not allow_extrapolation)
    for name, rules in constraints.channels.items():
        if rules.max is not None or rules.fixed is not None:
            held[index[name]] = False
    upper = np.where(held, history_cap, upper)
    problems = []
    for name, rules in constraints.channels.items():
        i = index[name]
        low = rules.min or 0.0
        high = max(upper[i], low) if rules.max is None else rules.max
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
        if min_if_on[i] > high and low <= 0:  # the commitment cannot be met: the channel is off
            min_if_on[i], high = 0.0, 0.0
        elif min_if_on[i] > high:
            problems.append(f"channel '{name}': min_if_on {min_if_on[i]:,.2f} is above its "
                            f"maximum {high:,.2f} while its minimum {low:,.2f} keeps it on")
        lower[i], upper[i] = low, high
    if problems:
        raise InfeasibleError.collected("the channel rules contradict each other:", problems)
    upper = np.minimum(upper, budget)
    objective = objective or Objective()
    problem = AllocationProblem(
        names=model.names, curves=model.horizon_curves(periods, efficiency), budget=float(budget),
        lower=lower, upper=upper, min_if_on=min_if_on, current=current,
        rules=linear_rules(constraints, model.names, exact_budget=float(budget)
                           if not objective.budget_is_ceiling else None),
        price=objective.price, periods=periods, period=model.period,
        kpi_type=model.kpi_type, history_cap=history_cap,
        held_by_history=held & (upper >= history_cap * (1 - 1e-12)), cells=model.cells)
    check_budget_fits(problem)
    return problem


def linear_rules(constraints: Constraints, names, *, exact_budget: float | None):
    """Groups and ratios as :class:`LinearRule` rows over the channel spend vector.

    Shares are of the total spend: with an exact budget that total is the budget (a sparse
    row); with a budget ceiling it is the sum of all spend (a dense row).
    """
    index = {name: i for i, name in enumerate(names)}
    everyone = np.arange(len(names))
    rules = []

    def row(name, weights: dict[int, float], lower=-np.inf, upper=np.inf):
        idx = np.fromiter(weights, dtype=np.int64, count=len(weights))
        coef = np.fromiter(weights.values(), dtype=float, count=len(weights))
        rules.append(LinearRule(name, idx, coef, lower, upper))

    for group in constraints.groups:
        members = {index[c]: 1.0 for c in group.channels}
        where = f"group '{group.name}'"
        if group.min is not None or group.max is not None:
            row(f"{where} min/max", members, group.min if group.min is not None else -np.inf,
                group.max if group.max is not None else np.inf)
        for key, share in (("min_share", group.min_share), ("max_share", group.max_share)):
            if share is None:
                continue
            bound = {"lower": 0.0} if key == "min_share" else {"upper": 0.0}
            if exact_budget is not None:
                bound = dict.fromkeys(bound, share * exact_budget)
                row(f"{where} {key}", members, **bound)
            else:
                weights = dict.fromkeys(everyone, -share)
                for i in members:
                    weights[i] += 1.0
                row(f"{where} {key}", weights, **bound)
    for ratio in constraints.ratios:
        for key, factor in (("min", ratio.min), ("max", ratio.max)):
            if factor is None:
                continue
            weights: dict[int, float] = {}
            for c in constraints.members(ratio.numerator):
                weights[index[c]] = weights.get(index[c], 0.0) + 1.0
            for c in constraints.members(ratio.denominator):
                weights[index[c]] = weights.get(index[c], 0.0) - factor
            bound = {"lower": 0.0} if key == "min" else {"upper": 0.0}
            row(f"ratio '{ratio.name}' {key} {factor:g}", weights, **bound)
    return tuple(rules)


def check_budget_fits(problem: AllocationProblem) -> None:
    """Raise :class:`InfeasibleError` when the bounds cannot add up to the budget."""
    lowest = problem.lowest_spend
    if lowest.sum() > problem.budget * (1 + 1e-12):
        raise InfeasibleError(
            f"channel minimums add up to {lowest.sum():,.2f}, more than the budget "
            f"{problem.budget:,.2f} ({_largest(problem.names, lowest)}); "
            f"lower a minimum or raise the budget.")
    if not problem.budget_is_ceiling and problem.upper.sum() < problem.budget * (1 - 1e-12):
        held = [problem.names[i] for i in np.flatnonzero(problem.held)]
        history = (f"; {', '.join(held[:MAX_LISTED])} stop at the largest spend their history "
                   f"shows: allow extrapolation beyond the data, or give them an explicit max"
                   if held else "")
        raise InfeasibleError(
            f"channel maximums add up to {problem.upper.sum():,.2f}, less than the budget "
            f"{problem.budget:,.2f}; raise a maximum or lower the budget (every curve is "
            f"increasing, so the whole budget is spent){history}.")


def _largest(names, amounts, count: int = 3) -> str:
    order = np.argsort(-amounts)[:count]
    return ", ".join(f"{names[i]} {amounts[i]:,.2f}" for i in order if amounts[i] > 0)
