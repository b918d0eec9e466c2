"""The per-period plan problem: spend per channel and period under totals, pacing and flights."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import AllocationProblem, build_problem
from budgetopt.optimizer.problem.cell_rules import entry_constraints
from budgetopt.optimizer.problem.constraints import Constraints, PacingRule
from budgetopt.optimizer.settings import MAX_PLAN_CELLS, MAX_PLAN_PERIODS

__all__ = ["PlanProblem", "build_plan_problem", "spread"]


@dataclass(frozen=True)
class PlanProblem:
    """Maximise the KPI of a plan of ``periods`` periods over the model's dynamics.

    Attributes:
        model: the channels' curves and adstock (carry-in included).
        totals: bounds and rules on each channel's total over the plan (and the budget).
        caps: (channels, periods) most a channel may spend in a period (0 outside flights).
        step: per channel, the largest relative change from one period to the next (NaN: any).
        pacing: shares of the budget to spend in ranges of periods.
        multipliers: (channels, periods) seasonal factor on the response in each period.
        count_carryover: also count the KPI the plan's spend produces after its last period.
        dates: each period's start date ("" where unknown).
    """

    model: MediaModel
    totals: AllocationProblem
    caps: np.ndarray
    step: np.ndarray
    pacing: tuple[PacingRule, ...]
    multipliers: np.ndarray
    count_carryover: bool = False
    dates: tuple[str, ...] = ()

    @property
    def budget(self) -> float:
        return self.totals.budget

    @property
    def periods(self) -> int:
        return self.caps.shape[1]

    def channel(self, c: int) -> PlanProblem:
        """Channel ``c``'s plan alone: its curve, dynamics, caps, step limit and total bounds,
        without the rules that tie it to other channels (rules across channels, pacing)."""
        totals = self.totals
        index = [c]
        alone = replace(totals, names=(totals.names[c],), curves=totals.curves.subset(index),
                        lower=totals.lower[index], upper=totals.upper[index],
                        min_if_on=totals.min_if_on[index], current=totals.current[index],
                        rules=())
        return replace(self, model=self.model.subset(index), totals=alone,
                       caps=self.caps[index], step=self.step[index], pacing=(),
                       multipliers=self.multipliers[index])

    def is_feasible(self, spend: np.ndarray, tolerance: float = 1e-9) -> bool:
        """Whether a spend plan (channels x periods) keeps every rule of the problem."""
        slack = tolerance * max(self.budget, 1.0)
        if (spend < -slack).any() or (spend > self.caps + slack).any():
            return False
        if not self.totals.is_feasible(spend.sum(axis=1), tolerance):
            return False
        for pace in self.pacing:
            window = spend[:, pace.first - 1:pace.last].sum()
            if pace.min_share is not None and window < pace.min_share * self.budget - slack:
                return False
            if pace.max_share is not None and window > pace.max_share * self.budget + slack:
                return False
        for c in np.flatnonzero(~np.isnan(self.step)):
            both = (self.caps[c, 1:] > 0) & (self.caps[c, :-1] > 0)
            change = np.abs(spend[c, 1:] - spend[c, :-1]) - self.step[c] * spend[c, :-1]
            if (both & (change > slack)).any():
                return False
        return True


def spread(totals: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Each channel's total spread evenly over its active periods (caps > 0)."""
    active = caps > 0
    counts = np.maximum(active.sum(axis=1, keepdims=True), 1)
    return np.where(active, np.asarray(totals, float)[:, None] / counts, 0.0)


def build_plan_problem(model: MediaModel, budget: float, periods: int, *,
                       constraints: Constraints | None = None,
                       multipliers: np.ndarray | None = None, count_carryover: bool = False,
                       dates: tuple[str, ...] | None = None,
                       max_step_change: float | None = None,
                       allow_extrapolation: bool = False) -> PlanProblem:
    """The plan problem of a model, a budget over ``periods`` periods and the plan rules.

    ``max_step_change`` limits every channel without a limit of its own (a smoother plan).
    A channel held at its history's largest spend (see :func:`build_problem`) is held there
    in every period too.

    Raises:
        InputError: a flight or pacing window goes past the plan's periods.
        InfeasibleError: the channel rules cannot add up to the budget.
    """
    if not 1 <= periods <= MAX_PLAN_PERIODS or len(model) * periods > MAX_PLAN_CELLS:
        raise ParameterError("periods", f"must be from 1 to {MAX_PLAN_PERIODS}, and channels "
                                        f"x periods at most {MAX_PLAN_CELLS:,}; got {periods} "
                                        f"periods of {len(model)} channels.")
    constraints = entry_constraints(constraints or Constraints(), model, periods)
    totals = build_problem(model, budget, periods=periods, constraints=constraints,
                           allow_extrapolation=allow_extrapolation)
    caps = np.tile(totals.upper[:, None], (1, periods)).astype(float)
    held = totals.held
    caps[held] = np.minimum(caps[held], model.observed_max[held, None])
    if max_step_change is not None and not max_step_change >= 0:
        raise ParameterError("max_step_change", f"must be >= 0, got {max_step_change:g}.")
    step = np.full(len(model), np.nan if max_step_change is None else max_step_change)
    index = {name: i for i, name in enumerate(model.names)}
    problems = []
    for name, rules in constraints.channels.items():
        i = index[name]
        if rules.max_per_period is not None:
            caps[i] = np.minimum(caps[i], rules.max_per_period)
        if rules.active_periods is not None:
            active = np.zeros(periods, bool)
            for first, last in rules.active_periods:
                if last > periods:
                    problems.append(f"channels.{name}.active_periods: [{first}, {last}] goes "
                                    f"past the plan's {periods} periods")
                active[first - 1:last] = True
            caps[i, ~active] = 0.0
        if rules.max_step_change is not None:
            step[i] = rules.max_step_change
    for k, pace in enumerate(constraints.pacing):
        if pace.last > periods:
            problems.append(f"pacing[{k}].periods: [{pace.first}, {pace.last}] goes past the "
                            f"plan's {periods} periods")
    if problems:
        raise InputError.collected(f"{constraints.source}: plan rules do not fit the plan:",
                                   problems)
    multipliers = np.ones((len(model), periods)) if multipliers is None else multipliers
    return PlanProblem(model=model, totals=totals, caps=caps, step=step,
                       pacing=tuple(constraints.pacing), multipliers=multipliers,
                       count_carryover=count_carryover, dates=dates or ("",) * periods)
